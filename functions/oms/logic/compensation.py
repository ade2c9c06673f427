"""Compensation for a failed workflow step: end the order's claim on stock and leave a visible FAILED order
with a code and a sentence (the full error for operations only)."""

from __future__ import annotations

from datetime import datetime

from oms.data.models import OrderRecord
from oms.data.orders import amendment_of, get_order
from oms.domain.failures import describe_failure
from oms.domain.status import ALLOWED_TRANSITIONS, OrderStatus
from oms.logic.outbox import flush_outbox
from oms.logic.releases import end_claim, plan_release
from oms.observability import MetricUnit, logger, metrics

ACTOR = "workflow:compensate"
SUPERSEDED = "SUPERSEDED"
MAX_ATTEMPTS = 5


def fail_order(
    order_id: str,
    *,
    error: str,
    cause: str,
    step: str | None,
    event_bus: str,
    now: datetime,
    amendment: int | None = None,
) -> str:
    """Release the order's reservation, withdraw its fulfillment requests, take it out of any backorder
    queue and mark it FAILED: one transaction, its events published after it. Idempotent: a retry finds
    the order FAILED and publishes whatever the first attempt left owing.

    An execution superseded by an amendment (`amendment` older than the order's) fails nothing."""
    failure = describe_failure(order_id, step, error, cause)
    for _ in range(MAX_ATTEMPTS):
        record = get_order(order_id)
        if amendment is not None and amendment_of(record) != amendment:
            logger.info(
                "compensation of a superseded execution: nothing to do", extra={"amendment": amendment}
            )
            return SUPERSEDED
        status = OrderStatus(record.status)
        if status is OrderStatus.FAILED:
            flush_outbox(record, event_bus=event_bus, reread=False)
            return status.value
        if status not in ALLOWED_TRANSITIONS[OrderStatus.FAILED]:
            logger.warning("order not failed: already past the point of failure", extra={"status": status})
            return status.value
        release = plan_release(record, reason=f"order failed: {failure.code}")
        extra = [
            OrderRecord.failure_reason.set(failure.reason),
            OrderRecord.failure_code.set(failure.code),
            OrderRecord.failure_detail.set(failure.detail),
            OrderRecord.failed_step.set(step) if step else OrderRecord.failed_step.remove(),
        ]
        if end_claim(
            release,
            OrderStatus.FAILED,
            by=ACTOR,
            at=now,
            reason=f"{failure.code}: {failure.reason}",
            extra=extra,
            event_bus=event_bus,
        ):
            if release.reservation is not None:
                metrics.add_metric(name="ReservationsReleased", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="OrdersFailed", unit=MetricUnit.Count, value=1)
            logger.error(
                "order failed",
                extra={"code": failure.code, "step": step, "error": error, "detail": failure.detail},
            )
            return OrderStatus.FAILED.value
    raise RuntimeError(f"order {order_id} kept changing while being failed; retry")
