"""Orders on hold: what ops lists, and the release that accepts an order as it is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from oms.data.models import OrderRecord
from oms.data.orders import get_order, transition
from oms.domain.errors import InvalidTransitionError
from oms.domain.status import HoldReason, OrderStatus
from oms.logic.intake import start_lifecycle


def orders_on_hold(reason: HoldReason | None = None) -> Iterator[OrderRecord]:
    """ON_HOLD orders, oldest first, optionally of one reason (the `by-status` index)."""
    condition = OrderRecord.hold_reason == reason.value if reason else None
    yield from OrderRecord.by_status.query(OrderStatus.ON_HOLD.value, filter_condition=condition)


def release_hold(order_id: str, *, by: str, note: str, workflow_arn: str, now: datetime) -> OrderRecord:
    """Accept a held order as it is: VALIDATED with who released it and why, then on to allocation.

    An expired reservation (RESERVATION_EXPIRED) is released the same way: allocation is tried again.
    """
    record = get_order(order_id)
    if record.status != OrderStatus.ON_HOLD.value:
        raise InvalidTransitionError(f"order {order_id} is {record.status}, not ON_HOLD")
    if not by.startswith("user:"):
        raise InvalidTransitionError("a hold is released by a person (user:<id>), not by a system")
    reason = f"hold {record.hold_reason} released: {note}"
    record, _ = transition(
        record, OrderStatus.VALIDATED, by=by, at=now, reason=reason, extra=[OrderRecord.hold_reason.remove()]
    )
    start_lifecycle(order_id, workflow_arn, execution_name=f"{order_id}-release-{int(record.change_no)}")
    return record
