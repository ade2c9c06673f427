"""The approvals table and the writes that change an approval together with its order and its customer's
credit exposure, each in one transaction. No business rule lives here: logic (oms.governance.approvals)
decides what changes; this module commits it, conditional on what logic read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from oms.data.credit import ExposureChange, exposure_update
from oms.data.models import ApprovalRecord, CustomerRecord, OrderRecord, StatusChangeAttribute
from oms.data.orders import history_entry


class ApprovalConflictError(Exception):
    """What a write was conditional on changed meanwhile (another decision, an amendment, the credit)."""


def _connection() -> Connection:
    return OrderRecord._get_connection().connection


def _conflict(exc: Exception) -> bool:
    text = str(getattr(exc, "cause_response_message", "")) + str(exc)
    return "ConditionalCheckFailed" in text or getattr(exc, "cause_response_code", None) in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


def get_approval(approval_id: str) -> ApprovalRecord | None:
    try:
        return ApprovalRecord.get(approval_id, consistent_read=True)
    except DoesNotExist:
        return None


def approval_change(status: str, *, by: str, at: datetime, reason: str | None) -> list[Action]:
    """The actions that record one change of an approval (the audit trail reads `last_change` from the
    table's stream)."""
    entry: StatusChangeAttribute = history_entry(status, None, at, by, reason)
    return [
        ApprovalRecord.last_change.set(entry),
        ApprovalRecord.change_no.set((ApprovalRecord.change_no | 0) + 1),
        ApprovalRecord.updated_at.set(at),
    ]


@dataclass(frozen=True)
class OrderWrite:
    """An update of the order, conditional on what the caller read."""

    actions: Sequence[Action]
    condition: Condition


def commit(
    *,
    order: OrderWrite | None = None,
    order_id: str | None = None,
    new_approval: ApprovalRecord | None = None,
    approval_id: str | None = None,
    approval_actions: Sequence[Action] = (),
    approval_condition: Condition | None = None,
    exposure: ExposureChange | None = None,
) -> None:
    """Write what logic decided, all or nothing. Raises ApprovalConflictError when a condition failed."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            if new_approval is not None:
                tx.save(new_approval, condition=ApprovalRecord.approval_id.does_not_exist())
            if approval_id is not None and approval_actions:
                tx.update(
                    ApprovalRecord(approval_id), actions=list(approval_actions), condition=approval_condition
                )
            if order is not None and order_id is not None:
                tx.update(OrderRecord(order_id), actions=list(order.actions), condition=order.condition)
            if exposure is not None:
                actions, condition = exposure_update(exposure)
                tx.update(CustomerRecord(exposure.customer_id), actions=actions, condition=condition)
    except TransactWriteError as exc:
        if _conflict(exc):
            raise ApprovalConflictError(str(exc)) from exc
        raise


def update_approval(approval_id: str, actions: Sequence[Action], condition: Condition) -> bool:
    """One conditional update of an approval alone; False when the condition failed."""
    try:
        ApprovalRecord(approval_id).update(actions=list(actions), condition=condition)
    except UpdateError as exc:
        if _conflict(exc):
            return False
        raise
    return True


def open_for_group(group: str) -> Iterator[ApprovalRecord]:
    """Approvals whose current level waits for `group`, soonest due first (the open-by-group index)."""
    yield from ApprovalRecord.open_by_group.query(group)


def approvals_of_order(order_id: str) -> list[ApprovalRecord]:
    return list(ApprovalRecord.by_order.query(order_id))
