"""The per-SKU backorder queues: one item per (SKU, waiting order), sorted by the order's age.

An order short of several SKUs waits in each of their queues; it leaves all of them in the same
transaction that reserves its stock (`oms.data.inventory.reserve`) or cancels it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from oms.data.models import BackorderLineAttribute, BackorderRecord, OrderDiscountAttribute, OrderRecord
from oms.data.orders import append_history, history_entry, transition_update
from oms.data.pricing import TaxKeys, lines_attribute
from oms.domain.errors import ReservationConflictError
from oms.domain.order import OrderLine
from oms.domain.status import OrderStatus


def queue_key(at: datetime, order_id: str) -> str:
    """Sorts by time first: the queue is served oldest first."""
    return f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{order_id}"


def backordered_skus(record: OrderRecord) -> dict[str, int]:
    return {line.sku: int(line.quantity) for line in record.backorder or []}


def older_waiters(skus: Iterable[str], *, ahead_of: str | None, ignoring: str | None = None) -> set[str]:
    """The SKUs whose queue holds an order older than `ahead_of` (any order, when None): stock of those
    SKUs belongs to the queue first, so a newer order may not take it. `ignoring`: an order that does not
    count (an order's own backorder child, split off from it)."""
    blocked = set()
    for sku in sorted(set(skus)):
        condition = BackorderRecord.queue_key < ahead_of if ahead_of else None
        entries = BackorderRecord.query(sku, range_key_condition=condition, limit=2, consistent_read=True)
        if any(entry.order_id != ignoring for entry in entries):
            blocked.add(sku)
    return blocked


def waiting_orders(sku: str) -> Iterator[BackorderRecord]:
    """The queue of one SKU, oldest first."""
    yield from BackorderRecord.query(sku, consistent_read=True)


def backorder_queues(sku: str | None = None) -> list[tuple[str, list[BackorderRecord]]]:
    """Every SKU's queue (or one SKU's), oldest first: what operations and purchasing look at."""
    skus = [sku] if sku else sorted({entry.sku for entry in BackorderRecord.scan(attributes_to_get=["sku"])})
    return [(each, list(waiting_orders(each))) for each in skus]


def overdue(now: datetime) -> Iterator[BackorderRecord]:
    """Waiting entries past their escalation time that have not escalated yet.

    A scan: the table holds only orders waiting now (an entry is deleted when its order is served or
    cancelled), so it stays small next to the orders table.
    """
    yield from BackorderRecord.scan(
        (BackorderRecord.escalate_at <= now) & BackorderRecord.escalated_at.does_not_exist()
    )


def mark_escalated(entry: BackorderRecord, now: datetime) -> bool:
    """Exactly once per entry: False when another sweep escalated it (or it left the queue)."""
    try:
        entry.update(
            actions=[BackorderRecord.escalated_at.set(now)],
            condition=BackorderRecord.order_id.exists() & BackorderRecord.escalated_at.does_not_exist(),
        )
    except UpdateError as exc:
        if "ConditionalCheckFailed" in str(exc):
            return False
        raise
    return True


def drop_entry(sku: str, key: str) -> None:
    BackorderRecord(sku, key).delete()


def place_backorder(
    record: OrderRecord,
    missing: Mapping[str, int],
    *,
    reason: str,
    choices: Sequence[str],
    escalate_after: timedelta,
    by: str,
    at: datetime,
) -> bool:
    """Put (or keep) the order in the queues of the SKUs it is short of, in one transaction with the order.

    From VALIDATED the order becomes BACKORDERED and gets its queue key (its age); an order already
    BACKORDERED keeps its key, joins the queues of newly short SKUs and leaves those it no longer waits
    for. Returns False when the order moved meanwhile (the caller reads it again).
    """
    status = OrderStatus(record.status)
    key = record.backorder_queue_key or queue_key(at, record.order_id)
    before = backordered_skus(record)
    lines = [BackorderLineAttribute(sku=sku, quantity=qty) for sku, qty in sorted(missing.items())]
    order_actions: list[Action] = [
        OrderRecord.backorder.set(lines),
        OrderRecord.backorder_queue_key.set(key),
        OrderRecord.allocation_reason.set(reason),
        OrderRecord.allocation_choices.set(list(choices)),
        OrderRecord.updated_at.set(at),
    ]
    if status is OrderStatus.VALIDATED:
        actions, _ = transition_update(OrderStatus.BACKORDERED, by, at, reason, status)
        order_actions = actions + order_actions[:-1]
    elif status is not OrderStatus.BACKORDERED:
        return False
    condition = (OrderRecord.status == status.value) & (OrderRecord.revision == int(record.revision))
    queued_at = _queued_at(key, at)
    try:
        with TransactWrite(connection=OrderRecord._get_connection().connection) as tx:
            tx.update(OrderRecord(record.order_id), actions=order_actions, condition=condition)
            for sku, qty in sorted(missing.items()):
                entry = BackorderRecord(
                    sku,
                    key,
                    order_id=record.order_id,
                    quantity=qty,
                    queued_at=queued_at,
                    escalate_at=queued_at + escalate_after,
                )
                if sku in before:
                    tx.update(entry, actions=[BackorderRecord.quantity.set(qty)])
                else:
                    tx.save(entry)
            for sku in sorted(set(before) - set(missing)):
                tx.delete(BackorderRecord(sku, key))
    except TransactWriteError as exc:
        codes = [r.code if r else None for r in exc.cancellation_reasons]
        if codes and codes[0] == "ConditionalCheckFailed":
            return False
        if "TransactionConflict" in codes:
            raise ReservationConflictError(f"backorder of {record.order_id} conflicted; retry") from exc
        raise
    return True


def entry_keys(record: OrderRecord) -> list[tuple[str, str]]:
    """(sku, queue key) of every queue entry the order holds."""
    if not record.backorder_queue_key:
        return []
    return [(sku, record.backorder_queue_key) for sku in sorted(backordered_skus(record))]


def _queued_at(key: str, default: datetime) -> datetime:
    try:
        return datetime.strptime(key.split("#", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return default


def split_order(
    record: OrderRecord,
    *,
    child_id: str,
    ships_now: Sequence[OrderLine],
    backordered: Sequence[OrderLine],
    child_totals: Mapping[str, Decimal],
    missing: Mapping[str, int],
    escalate_after: timedelta,
    by: str,
    at: datetime,
) -> bool:
    """One transaction: the order keeps `ships_now` (its totals reduced by the child's), a new BACKORDERED
    order `child_id` takes `backordered`, and the child waits in the queues of `missing`.

    Returns False when the order changed meanwhile (split already, amended, or moved on)."""
    key = queue_key(at, child_id)
    tax_keys = TaxKeys.stored(record)
    child_lines = lines_attribute(backordered, tax_keys)
    parent_lines = lines_attribute(ships_now, tax_keys)
    reason = f"split from {record.order_id}: the units not available at {at.isoformat()}"
    child = OrderRecord(
        child_id,
        channel=record.channel,
        external_id=f"{record.external_id}#backorder",
        status=OrderStatus.BACKORDERED.value,
        billing_status=record.billing_status,
        currency=record.currency,
        customer=record.customer,
        shipping_address=record.shipping_address,
        lines=child_lines,
        tax_keys=tax_keys.attribute(),
        prices_include_tax=record.prices_include_tax,
        tax_rounding=record.tax_rounding,
        tax_calculator=record.tax_calculator,
        # The parent's discounts by name, for the child invoice's labels; their amounts stay the parent's.
        discounts=[
            OrderDiscountAttribute(**{**dict(d.attribute_values), "amount": None})
            for d in record.discounts or []
        ]
        or None,
        computed_tax_total=child_totals["tax_total"],
        placed_at=record.placed_at,
        received_at=record.received_at,
        updated_at=at,
        entered_by=record.entered_by,
        revision=1,
        last_change=history_entry(OrderStatus.BACKORDERED.value, None, at, by, reason),
        change_no=1,
        split_from_order_id=record.order_id,
        backorder=[BackorderLineAttribute(sku=sku, quantity=qty) for sku, qty in sorted(missing.items())],
        backorder_queue_key=key,
        allocation_reason=f"backordered: {', '.join(f'{s} x{q}' for s, q in sorted(missing.items()))}",
    )
    for name in TOTALS:
        setattr(child, name, child_totals[name])
    units = sum(missing.values())
    parent_actions: list[Action] = [
        OrderRecord.lines.set(parent_lines),
        *([OrderRecord.tax_keys.set(tax_keys.attribute() or [])] if tax_keys.keys else []),
        OrderRecord.revision.add(1),
        OrderRecord.backorder_order_id.set(child_id),
        OrderRecord.updated_at.set(at),
        OrderRecord.allocation_reason.set(f"split: {units} unit(s) backordered as order {child_id}"),
        *append_history(
            history_entry(record.status, record.status, at, by, f"{units} unit(s) split off into {child_id}")
        ),
        *(getattr(OrderRecord, name).set(getattr(record, name) - child_totals[name]) for name in TOTALS),
    ]
    if record.computed_tax_total is not None:
        parent_actions.append(
            OrderRecord.computed_tax_total.set(record.computed_tax_total - child_totals["tax_total"])
        )
    condition = (
        (OrderRecord.status == OrderStatus.VALIDATED.value)
        & (OrderRecord.revision == int(record.revision))
        & OrderRecord.backorder_order_id.does_not_exist()
    )
    try:
        with TransactWrite(connection=OrderRecord._get_connection().connection) as tx:
            tx.update(OrderRecord(record.order_id), actions=parent_actions, condition=condition)
            tx.save(child, condition=OrderRecord.order_id.does_not_exist())
            for sku, qty in sorted(missing.items()):
                tx.save(
                    BackorderRecord(
                        sku,
                        key,
                        order_id=child_id,
                        quantity=qty,
                        queued_at=at,
                        escalate_at=at + escalate_after,
                    )
                )
    except TransactWriteError as exc:
        codes = [r.code if r else None for r in exc.cancellation_reasons]
        if "ConditionalCheckFailed" in codes[:2]:
            return False
        if "TransactionConflict" in codes:
            raise ReservationConflictError(f"split of {record.order_id} conflicted; retry") from exc
        raise
    return True


TOTALS = ("subtotal", "discount_total", "shipping_total", "tax_total", "grand_total")
