"""Compensation for a failed workflow step: release what was reserved and leave a visible FAILED order."""

from __future__ import annotations

from datetime import datetime

from oms.data.inventory import ReservationState, close_reservation
from oms.data.orders import get_order, transition
from oms.domain.status import ALLOWED_TRANSITIONS, OrderStatus
from oms.logic.backorders import announce_stock_returned, leave_queues, reservation_lines
from oms.observability import MetricUnit, logger, metrics

ACTOR = "workflow:compensate"


def fail_order(order_id: str, *, reason: str, event_bus: str, now: datetime) -> str:
    """Release the order's reservation (exactly once), take it out of any backorder queue, and mark it
    FAILED with the reason. Idempotent. Released stock is announced so waiting backorders get it."""
    released = close_reservation(
        order_id, to_state=ReservationState.RELEASED, by=ACTOR, at=now, reason=reason
    )
    record = get_order(order_id)
    if released:
        metrics.add_metric(name="ReservationsReleased", unit=MetricUnit.Count, value=1)
        announce_stock_returned(reservation_lines(record), reason="workflow step failed", event_bus=event_bus)
    leave_queues(record, reason="order failed", event_bus=event_bus)
    if OrderStatus(record.status) in ALLOWED_TRANSITIONS[OrderStatus.FAILED]:
        transition(record, OrderStatus.FAILED, by=ACTOR, at=now, reason=reason)
        metrics.add_metric(name="OrdersFailed", unit=MetricUnit.Count, value=1)
        return OrderStatus.FAILED.value
    logger.warning("order not failed: already past the point of failure", extra={"status": record.status})
    return record.status
