"""Orders waiting for a person: holds (listed, released as they are) and failed orders (listed, retried
from where they failed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from oms.data.models import OrderRecord
from oms.data.orders import amendment_of, get_order, transition
from oms.domain.errors import InvalidTransitionError
from oms.domain.status import HoldReason, OrderStatus
from oms.governance.audit_trail import order_history
from oms.logic.intake import start_lifecycle
from oms.logic.validation import credit_hold_of


def orders_on_hold(reason: HoldReason | None = None) -> Iterator[OrderRecord]:
    """ON_HOLD orders, oldest first, optionally of one reason (the `by-status` index)."""
    condition = OrderRecord.hold_reason == reason.value if reason else None
    yield from OrderRecord.by_status.query(OrderStatus.ON_HOLD.value, filter_condition=condition)


def release_hold(order_id: str, *, by: str, note: str, workflow_arn: str, now: datetime) -> OrderRecord:
    """Accept a held order as it is: VALIDATED with who released it and why, then on to allocation.

    An expired reservation (RESERVATION_EXPIRED) is released the same way: allocation is tried again. An
    order held for approval is decided by its approvers, not here; one whose approval expired, or whose
    customer was on credit hold (once credit control released the account), is validated and routed again.
    """
    record = get_order(order_id)
    if record.status != OrderStatus.ON_HOLD.value:
        raise InvalidTransitionError(f"order {order_id} is {record.status}, not ON_HOLD")
    if not by.startswith("user:"):
        raise InvalidTransitionError("a hold is released by a person (user:<id>), not by a system")
    if record.hold_reason in (HoldReason.APPROVAL_REQUIRED.value, HoldReason.CREDIT_LIMIT.value):
        raise InvalidTransitionError(
            f"order {order_id} waits for approval {record.approval_id}: its approvers decide it "
            "(POST /approvals/{id}/approve), a hold release cannot"
        )
    if record.hold_reason == HoldReason.CREDIT_HOLD.value:
        held = credit_hold_of(record.customer.customer_id)
        if held is not None:
            raise InvalidTransitionError(
                f"order {order_id} waits for its customer's credit hold ({held}): credit control releases "
                f"the account first (PUT /customers/{record.customer.customer_id}/credit-hold)"
            )
    if record.hold_reason in (HoldReason.APPROVAL_EXPIRED.value, HoldReason.CREDIT_HOLD.value):
        # Nobody approved it in time, or its customer's account was on credit hold: resubmitted, it is
        # validated and routed again (approvers, credit limit and exposure as for any new order).
        record, _ = transition(
            record,
            OrderStatus.RECEIVED,
            by=by,
            at=now,
            reason=f"resubmitted after {record.hold_reason}: {note}",
            extra=[OrderRecord.hold_reason.remove()],
        )
        start_lifecycle(
            order_id,
            workflow_arn,
            amendment=amendment_of(record),
            execution_name=f"{order_id}-resubmit-{int(record.change_no)}",
        )
        return record
    reason = f"hold {record.hold_reason} released: {note}"
    record, _ = transition(
        record, OrderStatus.VALIDATED, by=by, at=now, reason=reason, extra=[OrderRecord.hold_reason.remove()]
    )
    start_lifecycle(
        order_id,
        workflow_arn,
        amendment=amendment_of(record),
        execution_name=f"{order_id}-release-{int(record.change_no)}",
        resume_at_allocation=True,
    )
    return record


def failed_orders() -> Iterator[OrderRecord]:
    """FAILED orders, oldest first (the `by-status` index)."""
    yield from OrderRecord.by_status.query(OrderStatus.FAILED.value)


def retry_failed_order(order_id: str, *, by: str, note: str, workflow_arn: str, now: datetime) -> OrderRecord:
    """Send a FAILED order back to the step that failed, recorded in its history (who, when, why).

    Failed in validation: back to RECEIVED, validated again. Failed at or after allocation: its stock was
    released by the compensation, so back to VALIDATED and allocated again (then on to the warehouse)."""
    record = get_order(order_id)
    if record.status != OrderStatus.FAILED.value:
        raise InvalidTransitionError(f"order {order_id} is {record.status}, not FAILED")
    if not by.startswith("user:"):
        raise InvalidTransitionError("a failed order is retried by a person (user:<id>), not by a system")
    history = order_history(order_id, record)
    failed_from = next((h.previous for h in reversed(history) if h.status == OrderStatus.FAILED), None)
    to = OrderStatus.RECEIVED if failed_from == OrderStatus.RECEIVED.value else OrderStatus.VALIDATED
    reason = f"retried after {record.failure_code or 'a failure'} at {record.failed_step or 'a step'}: {note}"
    record, _ = transition(
        record,
        to,
        by=by,
        at=now,
        reason=reason,
        extra=[
            OrderRecord.failure_code.remove(),
            OrderRecord.failure_reason.remove(),
            OrderRecord.failure_detail.remove(),
            OrderRecord.failed_step.remove(),
        ],
    )
    start_lifecycle(
        order_id,
        workflow_arn,
        amendment=amendment_of(record),
        execution_name=f"{order_id}-retry-{int(record.change_no)}",
        resume_at_allocation=to is OrderStatus.VALIDATED,
    )
    return record
