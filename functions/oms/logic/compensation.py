"""Compensation for a failed workflow step: release what was reserved and leave a visible FAILED order."""

from __future__ import annotations

from datetime import datetime

from oms.data.inventory import ReservationState, close_reservation
from oms.data.orders import get_order, transition
from oms.domain.status import ALLOWED_TRANSITIONS, OrderStatus
from oms.observability import MetricUnit, logger, metrics

ACTOR = "workflow:compensate"


def fail_order(order_id: str, *, reason: str, now: datetime) -> str:
    """Release the order's reservation (exactly once) and mark it FAILED with the reason. Idempotent."""
    released = close_reservation(
        order_id, to_state=ReservationState.RELEASED, by=ACTOR, at=now, reason=reason
    )
    if released:
        metrics.add_metric(name="ReservationsReleased", unit=MetricUnit.Count, value=1)
    record = get_order(order_id)
    if OrderStatus(record.status) in ALLOWED_TRANSITIONS[OrderStatus.FAILED]:
        transition(record, OrderStatus.FAILED, by=ACTOR, at=now, reason=reason)
        metrics.add_metric(name="OrdersFailed", unit=MetricUnit.Count, value=1)
        return OrderStatus.FAILED.value
    logger.warning("order not failed: already past the point of failure", extra={"status": record.status})
    return record.status
