"""Order persistence: create-once, read, and audited status transitions with conditional writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from oms.data.models import (
    AddressAttribute,
    AllocationLineAttribute,
    CustomerAttribute,
    OrderRecord,
    StatusChangeAttribute,
)
from oms.data.pricing import lines_of, pricing_attributes
from oms.domain.errors import InvalidTransitionError, OrderNotFoundError
from oms.domain.order import (
    Address,
    AllocationLine,
    BackorderLine,
    CanonicalOrder,
    Customer,
    OrderView,
    StatusChange,
    Totals,
    pricing_input_of,
)
from oms.domain.status import ALLOWED_TRANSITIONS, BillingStatus, OrderStatus
from oms.observability import request_id


def _is_condition_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def history_entry(
    status: str, previous: str | None, at: datetime, by: str, reason: str | None = None
) -> StatusChangeAttribute:
    return StatusChangeAttribute(
        status=status, previous=previous, at=at, by=by, reason=reason, request_id=request_id()
    )


def append_history(entry: StatusChangeAttribute) -> list[Action]:
    """The update actions that record one change on the order (`last_change`, counted by `change_no`);
    the audit trail turns each into an entry of the order's hash-chained history (decision 0025)."""
    return [OrderRecord.last_change.set(entry), OrderRecord.change_no.set((OrderRecord.change_no | 0) + 1)]


def new_order_record(order: CanonicalOrder, received_at: datetime) -> OrderRecord:
    return OrderRecord(
        order.order_id,
        channel=order.channel,
        external_id=order.external_id,
        status=OrderStatus.RECEIVED.value,
        billing_status=BillingStatus.NOT_INVOICED.value,
        currency=order.currency,
        customer=CustomerAttribute(**order.customer.model_dump()),
        shipping_address=AddressAttribute(**order.shipping_address.model_dump()),
        **pricing_attributes(pricing_input_of(order)),
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        shipping_total=order.shipping_total,
        tax_total=order.tax_total,
        grand_total=order.grand_total,
        placed_at=order.placed_at,
        received_at=received_at.isoformat(timespec="microseconds"),
        updated_at=received_at,
        entered_by=order.entered_by,
        revision=1,
        last_change=history_entry(OrderStatus.RECEIVED.value, None, received_at, order.entered_by),
        change_no=1,
        **_channel_payment_attributes(order),
    )


def _channel_payment_attributes(order: CanonicalOrder) -> dict[str, Any]:
    paid = order.channel_payment
    if paid is None or paid.amount <= 0:
        return {}
    return {
        "channel_paid": paid.amount,
        "channel_paid_at": paid.paid_at,
        "channel_payment_ref": paid.reference,
    }


def create_order(order: CanonicalOrder, received_at: datetime) -> tuple[OrderRecord, bool]:
    """Persist the order once. Returns (record, created); a second delivery returns the first record.

    An order the channel cancelled before it arrived (a placeholder) gets its content now and stays
    CANCELLED: the creation starts nothing."""
    record = new_order_record(order, received_at)
    try:
        record.save(condition=OrderRecord.order_id.does_not_exist())
    except PutError as exc:
        if not _is_condition_failure(exc):
            raise
        existing = get_order(order.order_id)
        if existing.placeholder:
            return fill_placeholder(existing, order, received_at), False
        return existing, False
    return record, True


def record_cancellation_before_creation(order_id: str, *, by: str, reason: str, at: datetime) -> bool:
    """A cancellation of an order not received yet: a CANCELLED placeholder under the order's id, so its
    creation (whenever it arrives) cannot start it. False when the order exists by now."""
    channel, _, _ = by.partition(":")[2].partition(" ")
    item = OrderRecord(
        order_id,
        channel=channel or "unknown",
        external_id="unknown",
        status=OrderStatus.CANCELLED.value,
        billing_status=BillingStatus.NOT_INVOICED.value,
        currency="USD",
        customer=CustomerAttribute(customer_id="unknown", name="(not received yet)"),
        shipping_address=AddressAttribute(name="-", line1="-", city="-", country="US"),
        lines=[],
        subtotal=0,
        discount_total=0,
        shipping_total=0,
        tax_total=0,
        grand_total=0,
        placed_at=at,
        received_at=at.isoformat(timespec="microseconds"),
        updated_at=at,
        entered_by=by,
        revision=1,
        placeholder=True,
        last_change=history_entry(
            OrderStatus.CANCELLED.value, None, at, by, f"{reason} (cancelled before the order was received)"
        ),
        change_no=1,
    )
    try:
        item.save(condition=OrderRecord.order_id.does_not_exist())
    except PutError as exc:
        if not _is_condition_failure(exc):
            raise
        return False
    return True


def fill_placeholder(existing: OrderRecord, order: CanonicalOrder, at: datetime) -> OrderRecord:
    """Give a cancelled placeholder the order's content (it stays CANCELLED). Idempotent."""
    full = new_order_record(order, at)
    kept = {
        "order_id",
        "status",
        "billing_status",
        "last_change",
        "change_no",
        "revision",
        "received_at",
        "updated_at",
        "entered_by",
    }
    # Every content attribute the order brings (its pricing components included), whatever their names.
    actions: list[Action] = [
        getattr(OrderRecord, name).set(getattr(full, name))
        for name in sorted(full.attribute_values)
        if name not in kept and getattr(full, name) is not None
    ]
    actions += [
        OrderRecord.entered_by.set(order.entered_by),
        OrderRecord.placeholder.remove(),
        OrderRecord.updated_at.set(at),
        *append_history(
            history_entry(
                OrderStatus.CANCELLED.value,
                OrderStatus.CANCELLED.value,
                at,
                order.entered_by,
                "received after its cancellation: kept cancelled, not processed",
            )
        ),
    ]
    try:
        existing.update(actions=actions, condition=OrderRecord.placeholder.exists())
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise
    return get_order(order.order_id)


def find_order(order_id: str) -> OrderRecord | None:
    try:
        return OrderRecord.get(order_id, consistent_read=True)
    except DoesNotExist:
        return None


def get_order(order_id: str, *, consistent: bool = True) -> OrderRecord:
    try:
        return OrderRecord.get(order_id, consistent_read=consistent)
    except DoesNotExist as exc:
        raise OrderNotFoundError(f"order {order_id} not found") from exc


def transition_update(
    to: OrderStatus, by: str, at: datetime, reason: str | None = None, previous: OrderStatus | None = None
) -> tuple[list[Action], Condition]:
    """The update actions and condition that move an order to `to`, for use alone or inside a transaction."""
    allowed = sorted(s.value for s in ALLOWED_TRANSITIONS[to])
    actions: list[Action] = [
        OrderRecord.status.set(to.value),
        OrderRecord.updated_at.set(at),
        *append_history(history_entry(to.value, previous.value if previous else None, at, by, reason)),
    ]
    return actions, OrderRecord.status.is_in(*allowed)


def transition(
    order: str | OrderRecord,
    to: OrderStatus,
    *,
    by: str,
    at: datetime,
    reason: str | None = None,
    extra: Sequence[Action] | None = None,
) -> tuple[OrderRecord, bool]:
    """Move an order to `to` if the transition table allows it from where it is now.

    `order` is an order id, or a record the caller just read (saving a read: the write is conditional on
    the status it shows, so a stale record cannot do harm). Idempotent: when the order is already in `to`
    (a retried step), nothing is written and (record, False) is returned. Any other disallowed move
    raises InvalidTransitionError.
    """
    current = get_order(order) if isinstance(order, str) else order
    order_id = current.order_id
    if current.status == to.value:
        return current, False
    previous = OrderStatus(current.status)
    if previous not in ALLOWED_TRANSITIONS[to]:
        raise InvalidTransitionError(f"order {order_id} cannot go from {previous} to {to}")
    actions, _ = transition_update(to, by, at, reason, previous)
    # Conditional on what the caller saw: the status, and the content revision (an amendment in between
    # makes a decision taken on the old content void).
    condition = (OrderRecord.status == previous.value) & (OrderRecord.revision == int(current.revision))
    try:
        current.update(actions=[*actions, *(extra or [])], condition=condition)
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise
        # Someone moved it concurrently: re-read and decide again (idempotent if it is now in `to`).
        latest = get_order(order_id)
        if latest.status == to.value:
            return latest, False
        raise InvalidTransitionError(
            f"order {order_id} moved to {latest.status} while going to {to}"
        ) from exc
    return current, True


def set_billing_status(
    order_id: str, to: BillingStatus, *, by: str, at: datetime, extra: Sequence[Action]
) -> bool:
    """Move the billing dimension once; returns False when it already was there."""
    record = OrderRecord(order_id)
    try:
        record.update(
            actions=[
                OrderRecord.billing_status.set(to.value),
                OrderRecord.updated_at.set(at),
                *append_history(history_entry(to.value, None, at, by)),
                *extra,
            ],
            condition=OrderRecord.order_id.exists() & (OrderRecord.billing_status != to.value),
        )
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise
        return False
    return True


def amendment_of(record: OrderRecord) -> int:
    """The channel amendment the order's content is at (0: as first received)."""
    return int(record.amendment or 0)


def ship_to(record: OrderRecord) -> Address:
    """The order's shipping address as the domain model."""
    return Address(**record.shipping_address.attribute_values)


def to_view(record: OrderRecord, history: Sequence[StatusChange] = ()) -> OrderView:
    """The API's view of an order record, with its history (read from the audit trail by the caller)."""
    currency = record.currency

    def dump(attr: Any) -> dict[str, Any]:
        return dict(attr.attribute_values)

    return OrderView(
        order_id=record.order_id,
        channel=record.channel,
        external_id=record.external_id,
        status=OrderStatus(record.status),
        billing_status=BillingStatus(record.billing_status),
        payment_status=record.payment_status,
        hold_reason=record.hold_reason,  # type: ignore[arg-type]
        failure_code=record.failure_code,
        failure_reason=record.failure_reason,
        shipment_exception=record.shipment_exception,
        customer=Customer(**dump(record.customer)),
        shipping_address=ship_to(record),
        lines=lines_of(record),
        totals=Totals(
            currency=currency,
            subtotal=record.subtotal,
            discount_total=record.discount_total,
            shipping_total=record.shipping_total,
            tax_total=record.tax_total,
            grand_total=record.grand_total,
        ),
        computed_tax_total=record.computed_tax_total,
        allocation=[AllocationLine(**dump(a)) for a in (record.allocation or [])],
        allocation_reason=record.allocation_reason,
        allocation_choices=list(record.allocation_choices or []),
        backorder=[BackorderLine(sku=b.sku, quantity=int(b.quantity)) for b in (record.backorder or [])],
        backorder_order_id=record.backorder_order_id,
        split_from_order_id=record.split_from_order_id,
        invoice_number=record.invoice_number,
        invoice_pdf_key=record.invoice_pdf_key,
        carrier=record.carrier,
        tracking_number=record.tracking_number,
        placed_at=record.placed_at,
        received_at=datetime.fromisoformat(record.received_at),
        updated_at=record.updated_at,
        entered_by=record.entered_by,
        history=list(history),
    )


def allocation_attribute(lines: list[AllocationLine]) -> list[AllocationLineAttribute]:
    return [AllocationLineAttribute(**line.model_dump()) for line in lines]
