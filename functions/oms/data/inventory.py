"""Stock and reservations: every change is one DynamoDB transaction with conditions, so stock never goes
negative, a reservation is written together with the stock it holds, and each release happens once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from oms.data.credit import ExposureChange, exposure_update
from oms.data.models import (
    BackorderRecord,
    CustomerRecord,
    InventoryRecord,
    OrderRecord,
    ReservationRecord,
    WarehouseRecord,
)
from oms.data.orders import allocation_attribute, transition_update
from oms.domain.errors import ReservationConflictError
from oms.domain.order import AllocationLine
from oms.domain.status import OrderStatus
from oms.logic.allocation_plan import Warehouse

OPEN = "OPEN"
MAX_TRANSACTION_ITEMS = 100


class ReservationState:
    RESERVED = "RESERVED"
    RELEASED = "RELEASED"
    CONSUMED = "CONSUMED"


@dataclass(frozen=True)
class ReserveOutcome:
    reserved: bool
    """True when this call reserved; False when the order already held its reservation (a retry)."""
    stock_changed: bool = False
    """True when another order took the stock between read and write: re-plan and try again."""


def active_warehouses() -> list[Warehouse]:
    return [Warehouse(w.warehouse_id, int(w.priority)) for w in WarehouseRecord.scan() if w.active]


def available_stock(
    skus: Iterable[str], *, headroom: dict[tuple[str, str], int] | None = None
) -> dict[str, dict[str, int]]:
    """sku -> warehouse -> available units (strongly consistent).

    `headroom`, when given, is filled with (sku, warehouse) -> available minus reorder point, read in the
    same query: a reservation of more than that may cross the reorder point (a low-stock check is due).
    """
    stock: dict[str, dict[str, int]] = {}
    for sku in sorted(set(skus)):
        stock[sku] = {}
        for item in InventoryRecord.query(sku, consistent_read=True):
            stock[sku][item.warehouse_id] = int(item.available)
            if headroom is not None:
                headroom[(sku, item.warehouse_id)] = int(item.available) - int(item.reorder_point or 0)
    return stock


def get_reservation(order_id: str) -> ReservationRecord | None:
    try:
        return ReservationRecord.get(order_id, consistent_read=True)
    except DoesNotExist:
        return None


def _connection() -> Connection:
    return OrderRecord._get_connection().connection


def reserve(
    order_id: str,
    lines: Sequence[AllocationLine],
    *,
    reason: str,
    choices: Sequence[str] = (),
    by: str,
    at: datetime,
    expires_at: datetime,
    from_status: OrderStatus = OrderStatus.VALIDATED,
    revision: int | None = None,
    leave_queues: Sequence[tuple[str, str]] = (),
) -> ReserveOutcome:
    """Reserve all lines together with the order's move to ALLOCATED, or nothing at all.

    The same transaction takes the order out of the backorder queues it waited in (`leave_queues`:
    (sku, queue key) pairs), so a served backorder can neither be reserved twice nor stay queued.
    """
    reservation = ReservationRecord(
        order_id,
        state=ReservationState.RESERVED,
        lines=allocation_attribute(list(lines)),
        reason=reason,
        created_at=at,
        expires_at_key=utc_key(expires_at),
        open_state=OPEN,
    )
    order_actions, _ = transition_update(OrderStatus.ALLOCATED, by, at, reason, from_status)
    order_actions += [
        OrderRecord.allocation.set(allocation_attribute(list(lines))),
        OrderRecord.allocation_reason.set(reason),
        OrderRecord.allocation_choices.set(list(choices)),
    ]
    if leave_queues:
        order_actions += [OrderRecord.backorder.remove(), OrderRecord.backorder_queue_key.remove()]
    order_condition = OrderRecord.status == from_status.value
    if revision is not None:
        order_condition = order_condition & (OrderRecord.revision == revision)
    if len(lines) + len(leave_queues) + 2 > MAX_TRANSACTION_ITEMS:
        raise ValueError(
            f"order {order_id}: {len(lines)} lines and {len(leave_queues)} queue entries exceed "
            f"one transaction ({MAX_TRANSACTION_ITEMS} items)"
        )
    try:
        with TransactWrite(connection=_connection()) as tx:
            # A reservation released earlier (expired, compensated) gives way to the new one: the order's
            # status condition below is what stops a second reservation of the same allocation.
            tx.save(
                reservation,
                condition=ReservationRecord.order_id.does_not_exist()
                | (ReservationRecord.state == ReservationState.RELEASED),
            )
            tx.update(OrderRecord(order_id), actions=order_actions, condition=order_condition)
            for sku, key in leave_queues:
                tx.delete(BackorderRecord(sku, key))
            for line in lines:
                tx.update(
                    InventoryRecord(line.sku, line.warehouse_id),
                    actions=[
                        InventoryRecord.reserved.add(line.quantity),
                        InventoryRecord.available.add(-line.quantity),
                        InventoryRecord.updated_at.set(at),
                    ],
                    condition=InventoryRecord.available >= line.quantity,
                )
    except TransactWriteError as exc:
        codes = [r.code if r else None for r in exc.cancellation_reasons]
        if codes and codes[0] == "ConditionalCheckFailed":
            return ReserveOutcome(reserved=False)  # already reserved by an earlier attempt
        if codes and codes[1] == "ConditionalCheckFailed":
            return ReserveOutcome(reserved=False)  # order no longer VALIDATED (allocated already)
        if any(code in ("ConditionalCheckFailed", "TransactionConflict") for code in codes[2:]):
            return ReserveOutcome(reserved=False, stock_changed=True)
        raise
    return ReserveOutcome(reserved=True)


def utc_key(at: datetime) -> str:
    """A sortable ISO-8601 UTC string (index range keys)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def expired_reservations(now: datetime) -> Iterator[ReservationRecord]:
    """RESERVED reservations whose hold time has passed, oldest first (the sparse `open-by-expiry` index)."""
    yield from ReservationRecord.open_by_expiry.query(
        OPEN, range_key_condition=ReservationRecord.expires_at_key <= utc_key(now)
    )


@dataclass(frozen=True)
class OrderChange:
    """What logic asks to change on the order item, committed with a reservation's closing."""

    actions: Sequence[Action]
    condition: Condition


def commit_order_change(
    order_id: str,
    change: OrderChange,
    *,
    reservation: ReservationRecord | None,
    to_state: str,
    by: str,
    at: datetime,
    reason: str,
    leave_queues: Sequence[tuple[str, str]] = (),
    exposure: ExposureChange | None = None,
) -> bool:
    """One transaction: the order's change, the reservation's closing (RESERVED -> RELEASED: units back
    to available; -> CONSUMED: units leave on hand) when `reservation` is given, the removal of the
    order's backorder queue entries, and the change of its customer's credit exposure (`exposure`: a
    cancelled order no longer counts). All or nothing.

    Returns False when the order or the reservation was not as read (moved or closed concurrently: the
    caller reads again); raises ReservationConflictError when another transaction was on the same items.
    """
    lines = list(reservation.lines) if reservation is not None else []
    if len(lines) + len(leave_queues) + 3 > MAX_TRANSACTION_ITEMS:
        raise ValueError(f"order {order_id}: change exceeds one transaction ({MAX_TRANSACTION_ITEMS} items)")
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.update(OrderRecord(order_id), actions=list(change.actions), condition=change.condition)
            if reservation is not None:
                tx.update(
                    ReservationRecord(order_id),
                    actions=_closing(to_state, by, at, reason),
                    condition=ReservationRecord.state == ReservationState.RESERVED,
                )
                for line in lines:
                    tx.update(
                        InventoryRecord(line.sku, line.warehouse_id),
                        actions=_stock_closing(to_state, int(line.quantity), at),
                        condition=InventoryRecord.reserved >= int(line.quantity),
                    )
            for sku, key in leave_queues:
                tx.delete(BackorderRecord(sku, key))
            if exposure is not None:  # last: the checks below read the first two items' reasons
                credit_actions, credit_condition = exposure_update(exposure)
                tx.update(
                    CustomerRecord(exposure.customer_id), actions=credit_actions, condition=credit_condition
                )
    except TransactWriteError as exc:
        codes = [r.code if r else None for r in exc.cancellation_reasons]
        if "ConditionalCheckFailed" in codes[:2]:
            return False
        if "TransactionConflict" in codes:
            raise ReservationConflictError(f"change of order {order_id} conflicted; retry") from exc
        raise
    return True


def consume_reservation(
    order_id: str, reservation: ReservationRecord, *, by: str, at: datetime, reason: str
) -> bool:
    """RESERVED -> CONSUMED with its units leaving on hand and reserved, in one transaction. False when
    the reservation was closed meanwhile (released by a cancellation or an expiry that won the race)."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.update(
                ReservationRecord(order_id),
                actions=_closing(ReservationState.CONSUMED, by, at, reason),
                condition=ReservationRecord.state == ReservationState.RESERVED,
            )
            for line in reservation.lines:
                tx.update(
                    InventoryRecord(line.sku, line.warehouse_id),
                    actions=_stock_closing(ReservationState.CONSUMED, int(line.quantity), at),
                    condition=InventoryRecord.reserved >= int(line.quantity),
                )
    except TransactWriteError as exc:
        codes = [r.code if r else None for r in exc.cancellation_reasons]
        if codes and codes[0] == "ConditionalCheckFailed":
            return False
        if "TransactionConflict" in codes:
            raise ReservationConflictError(f"shipment of order {order_id} conflicted; retry") from exc
        raise
    return True


def consume_released(
    order_id: str, change: OrderChange, *, reservation: ReservationRecord, by: str, at: datetime, reason: str
) -> bool:
    """A warehouse shipped units whose reservation had been released (the order was cancelled, expired or
    failed meanwhile): the units left the building all the same, so they leave on hand and available now,
    the reservation becomes CONSUMED, and the order records the exception. One transaction.

    Available may go below zero when the released units were reserved again by another order: that is a
    real oversell, left visible for a person (the invariant check reports it), never hidden."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.update(OrderRecord(order_id), actions=list(change.actions), condition=change.condition)
            tx.update(
                ReservationRecord(order_id),
                actions=_closing(ReservationState.CONSUMED, by, at, reason),
                condition=ReservationRecord.state == ReservationState.RELEASED,
            )
            for line in reservation.lines:
                qty = int(line.quantity)
                tx.update(
                    InventoryRecord(line.sku, line.warehouse_id),
                    actions=[
                        InventoryRecord.on_hand.add(-qty),
                        InventoryRecord.available.add(-qty),
                        InventoryRecord.updated_at.set(at),
                    ],
                )
    except TransactWriteError as exc:
        codes = [r.code if r else None for r in exc.cancellation_reasons]
        if "ConditionalCheckFailed" in codes[:2]:
            return False
        if "TransactionConflict" in codes:
            raise ReservationConflictError(f"shipment of order {order_id} conflicted; retry") from exc
        raise
    return True


def _closing(to_state: str, by: str, at: datetime, reason: str) -> list[Action]:
    return [
        ReservationRecord.state.set(to_state),
        ReservationRecord.closed_at.set(at),
        ReservationRecord.closed_by.set(by),
        ReservationRecord.close_reason.set(reason),
        ReservationRecord.open_state.remove(),
    ]


def _stock_closing(to_state: str, qty: int, at: datetime) -> list[Action]:
    actions: list[Action] = [InventoryRecord.reserved.add(-qty), InventoryRecord.updated_at.set(at)]
    if to_state == ReservationState.RELEASED:
        actions.append(InventoryRecord.available.add(qty))
    else:
        actions.append(InventoryRecord.on_hand.add(-qty))
    return actions
