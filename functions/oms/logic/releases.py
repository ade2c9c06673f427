"""Ending an order's claim on stock: compensation (FAILED), cancellation (CANCELLED) and expiry (ON_HOLD).

Each is ONE transaction (decision 0014): the order's new status, the reservation released with its stock,
the order's backorder queue entries removed, and the events that must follow (StockReleased per stock
item so waiting backorders are served, FulfillmentCancelled per warehouse that may have the request,
BackorderWithdrawn per queue the order left) written to the order's outbox. The events are published right
after the commit; a process that dies in between leaves them on the order for the next attempt or the
sweeper. So either all of it happens or none, and a retry after any crash finishes what was committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pynamodb.expressions.update import Action

from oms.data.backorders import entry_keys
from oms.data.credit import ExposureChange
from oms.data.inventory import OrderChange, ReservationState, commit_order_change, get_reservation
from oms.data.models import OrderRecord, ReservationRecord
from oms.data.orders import transition_update
from oms.data.outbox import OutboxEvent, outbox_actions
from oms.domain.errors import InvalidTransitionError
from oms.domain.events import (
    INVENTORY_SOURCE,
    ORDERS_SOURCE,
    BackorderWithdrawn,
    FulfillmentCancelled,
    StockReleased,
)
from oms.domain.status import OrderStatus
from oms.logic.outbox import flush_outbox

#: Statuses in which warehouses may hold a fulfillment request of the order: FULFILLMENT_REQUESTED, and
#: ALLOCATED too (the request step publishes before it records the status, so a crash between the two
#: leaves requests out for an order still ALLOCATED).
MAY_HAVE_REQUESTS = (OrderStatus.ALLOCATED.value, OrderStatus.FULFILLMENT_REQUESTED.value)


class ShipmentBeingRecorded(InvalidTransitionError):
    """The order's reservation was consumed by its shipment, which is moving it to SHIPPED: there is
    nothing to release (a cancellation is refused once the order is SHIPPED; try again)."""


@dataclass(frozen=True)
class Release:
    """What ending the order's claim involves, as read (the transaction is conditional on all of it)."""

    record: OrderRecord
    reservation: ReservationRecord | None
    events: list[OutboxEvent]
    queue_entries: list[tuple[str, str]]


def plan_release(record: OrderRecord, *, reason: str, withdraw_requests: bool = True) -> Release:
    """The reservation to release, the queue entries to leave and the events that must follow."""
    reservation = get_reservation(record.order_id)
    if (
        reservation is not None
        and reservation.state == ReservationState.CONSUMED
        and record.status in MAY_HAVE_REQUESTS
    ):
        raise ShipmentBeingRecorded(f"order {record.order_id} shipped; its status is being recorded")
    if reservation is not None and reservation.state != ReservationState.RESERVED:
        reservation = None
    events: list[OutboxEvent] = []
    if reservation is not None:
        events += [
            OutboxEvent(
                INVENTORY_SOURCE,
                StockReleased.detail_type,
                StockReleased(
                    sku=line.sku, warehouse_id=line.warehouse_id, quantity=int(line.quantity), reason=reason
                ).model_dump(mode="json"),
                (f"sku/{line.sku}",),
            )
            for line in reservation.lines
        ]
    if withdraw_requests and record.status in MAY_HAVE_REQUESTS:
        events += [
            OutboxEvent(
                ORDERS_SOURCE,
                FulfillmentCancelled.detail_type,
                FulfillmentCancelled(
                    order_id=record.order_id, warehouse_id=warehouse, reason=reason
                ).model_dump(mode="json"),
                (f"order/{record.order_id}",),
            )
            for warehouse in sorted({line.warehouse_id for line in record.allocation or []})
        ]
    queue_entries = entry_keys(record) if record.status == OrderStatus.BACKORDERED.value else []
    events += [
        OutboxEvent(
            INVENTORY_SOURCE,
            BackorderWithdrawn.detail_type,
            BackorderWithdrawn(sku=sku, order_id=record.order_id, reason=reason).model_dump(mode="json"),
            (f"sku/{sku}", f"order/{record.order_id}"),
        )
        for sku, _ in queue_entries
    ]
    return Release(record, reservation, events, queue_entries)


def end_claim(
    release: Release,
    to: OrderStatus,
    *,
    by: str,
    at: datetime,
    reason: str,
    extra: Sequence[Action] = (),
    event_bus: str,
) -> bool:
    """Commit the release with the order's move to `to` in one transaction, then publish what it owes.

    False when the order, its reservation or its queue entries changed since `release` was read (the caller
    reads again and decides anew)."""
    record = release.record
    previous = OrderStatus(record.status)
    actions, _ = transition_update(to, by, at, reason, previous)
    actions += [*extra, *outbox_actions(release.events, at)]
    if release.queue_entries:
        actions += [OrderRecord.backorder.remove(), OrderRecord.backorder_queue_key.remove()]
    condition = (OrderRecord.status == previous.value) & (OrderRecord.revision == int(record.revision))
    exposure = None
    if to in (OrderStatus.CANCELLED, OrderStatus.REJECTED) and record.credit_exposure is not None:
        # the order no longer counts in its customer's credit exposure (decision 0028)
        actions += [OrderRecord.credit_exposure.remove(), OrderRecord.credit_revision.remove()]
        condition = condition & OrderRecord.credit_exposure.exists()
        exposure = ExposureChange(record.customer.customer_id, -Decimal(record.credit_exposure))
    committed = commit_order_change(
        record.order_id,
        OrderChange(actions, condition),
        reservation=release.reservation,
        to_state=ReservationState.RELEASED,
        by=by,
        at=at,
        reason=reason,
        leave_queues=release.queue_entries,
        exposure=exposure,
    )
    if committed:
        flush_outbox(record.order_id, event_bus=event_bus)
    return committed
