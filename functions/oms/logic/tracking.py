"""Shipment confirmations from warehouses and scans from carriers move the order towards DELIVERED."""

from __future__ import annotations

import json
from datetime import datetime

from pynamodb.expressions.update import Action

from oms.aws import client
from oms.data.inventory import (
    OrderChange,
    ReservationState,
    consume_released,
    consume_reservation,
    get_reservation,
)
from oms.data.models import OrderRecord, ShipmentRecord
from oms.data.orders import append_history, get_order, history_entry, transition
from oms.data.shipments import get_shipment, record_shipment, shipments_of
from oms.domain.events import ShipmentConfirmed, TrackingStatus, TrackingUpdated
from oms.domain.status import BillingStatus, OrderStatus, can_transition
from oms.logic.channel_notifications import delivered_notification, publish, shipped_notification
from oms.observability import MetricUnit, logger, metrics

S = OrderStatus
SHIPPED_PHASE = (S.SHIPPED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERY_EXCEPTION, S.DELIVERED)
_RANK = {"SHIPPED": 0, "IN_TRANSIT": 1, "OUT_FOR_DELIVERY": 2, "DELIVERED": 3}


class NotReadyError(Exception):
    """The event is ahead of the order (e.g. a scan before the shipment confirmation): retry later."""


def confirm_shipment(
    event: ShipmentConfirmed,
    *,
    invoice_queue_url: str,
    now: datetime,
    notifications_queue_url: str | None = None,
) -> OrderStatus:
    """Record a warehouse's shipment and tell the channel (per shipment, with carrier and tracking number);
    when every allocated warehouse has shipped, the reservation is consumed (stock leaves on hand), the
    order moves to SHIPPED and an invoice is requested.

    A shipment of an order whose stock was released meanwhile (cancelled, expired or failed while the
    request was on its way) is not dropped: the units left the warehouse, so they leave stock, and the
    order records the exception for a person (`shipment_exception`)."""
    for _ in range(MAX_ATTEMPTS):
        record = get_order(event.order_id)
        status = OrderStatus(record.status)
        allocated = {line.warehouse_id for line in record.allocation or []}
        if event.warehouse_id not in allocated:
            raise ValueError(f"warehouse {event.warehouse_id} holds no allocation of order {event.order_id}")
        released_shipment = status in RELEASED_STATUSES
        if status not in (S.FULFILLMENT_REQUESTED, *SHIPPED_PHASE) and not released_shipment:
            raise NotReadyError(f"order {event.order_id} is {status}; shipment cannot be confirmed yet")
        if record_shipment(
            order_id=event.order_id,
            shipment_id=event.shipment_id,
            warehouse_id=event.warehouse_id,
            carrier=event.carrier,
            tracking_number=event.tracking_number,
            shipped_at=event.shipped_at,
        ):
            metrics.add_metric(name="ShipmentsConfirmed", unit=MetricUnit.Count, value=1)
        shipped = {s.warehouse_id for s in shipments_of(event.order_id)}
        if not released_shipment:
            # Sent on every delivery of the confirmation: the notifier tells the channel once.
            publish(
                shipped_notification(
                    record,
                    shipment_id=event.shipment_id,
                    carrier=event.carrier,
                    tracking_number=event.tracking_number,
                    lines=event.lines,
                    all_shipped=allocated <= shipped,
                    at=event.shipped_at,
                ),
                notifications_queue_url,
            )
        if not allocated <= shipped:
            return status
        by = f"warehouse:{event.warehouse_id}"
        if released_shipment:
            if _consume_after_release(record, event, by=by, now=now):
                return status
            continue
        if status is S.FULFILLMENT_REQUESTED:
            shipped_record = _ship(record, event, by=by, now=now)
            if shipped_record is None:
                continue  # the order or its reservation moved meanwhile: look again
            record, status = shipped_record, S.SHIPPED
        if record.billing_status == BillingStatus.NOT_INVOICED.value:
            # Sent on every delivery until invoiced: invoicing is idempotent, a lost request is not.
            client("sqs").send_message(
                QueueUrl=invoice_queue_url, MessageBody=json.dumps({"order_id": event.order_id})
            )
        return status
    raise NotReadyError(f"order {event.order_id} kept changing while its shipment was recorded; retry")


MAX_ATTEMPTS = 5
RELEASED_STATUSES = (S.CANCELLED, S.ON_HOLD, S.FAILED)


def _ship(record: OrderRecord, event: ShipmentConfirmed, *, by: str, now: datetime) -> OrderRecord | None:
    """Consume the reservation (its stock leaves on hand, one transaction with the stock items), then move
    the order to SHIPPED. The consumed reservation is the durable marker between the two writes: a
    redelivery after a crash finds it consumed and only moves the order, and a release racing the shipment
    cannot pass it (oms.logic.releases refuses a consumed reservation). Two writes rather than one
    transaction with the order: in a transaction the order item costs twice its write units, on every
    order (decision 0014). Returns the order as written (the update's own answer, no read after it), None
    when the reservation was closed meanwhile."""
    reservation = get_reservation(event.order_id)
    if reservation is None or reservation.state == ReservationState.RELEASED:
        raise NotReadyError(
            f"order {event.order_id} is FULFILLMENT_REQUESTED without an open reservation "
            f"({reservation.state if reservation else 'none'}); stock must not be left as it is"
        )
    if reservation.state == ReservationState.RESERVED and not consume_reservation(
        event.order_id, reservation, by=by, at=now, reason="shipped"
    ):
        return None  # closed meanwhile: look again
    shipped, _ = transition(
        record,
        S.SHIPPED,
        by=by,
        at=now,
        reason=f"{event.carrier} {event.tracking_number}",
        extra=[
            OrderRecord.carrier.set(event.carrier),
            OrderRecord.tracking_number.set(event.tracking_number),
        ],
    )
    return shipped


def _consume_after_release(record: OrderRecord, event: ShipmentConfirmed, *, by: str, now: datetime) -> bool:
    """True when done (the units are off stock, now or by an earlier attempt)."""
    reservation = get_reservation(event.order_id)
    if reservation is None:
        raise ValueError(
            f"order {event.order_id} was never reserved; shipment by {event.warehouse_id} refused"
        )
    if reservation.state == ReservationState.CONSUMED:
        return True  # recorded by an earlier attempt
    if reservation.state == ReservationState.RESERVED:
        raise NotReadyError(f"order {event.order_id} is {record.status} with an open reservation; retry")
    note = (
        f"SHIPPED_AFTER_RELEASE: {event.warehouse_id} shipped ({event.carrier} {event.tracking_number}) "
        f"after "
        f"the order was {record.status}; the units left stock: recover the goods or bill the customer"
    )
    condition = (OrderRecord.status == record.status) & (OrderRecord.revision == int(record.revision))
    actions = [
        OrderRecord.shipment_exception.set(note),
        OrderRecord.carrier.set(event.carrier),
        OrderRecord.tracking_number.set(event.tracking_number),
        OrderRecord.updated_at.set(now),
        *append_history(history_entry(record.status, record.status, now, by, note)),
    ]
    if consume_released(
        event.order_id, OrderChange(actions, condition), reservation=reservation, by=by, at=now, reason=note
    ):
        metrics.add_metric(name="ShipmentsAfterRelease", unit=MetricUnit.Count, value=1)
        logger.warning("shipment after the order's stock was released", extra={"order_id": event.order_id})
        return True
    return False


def _order_status_from(shipments: list[ShipmentRecord]) -> OrderStatus:
    if any(s.status == TrackingStatus.EXCEPTION.value for s in shipments):
        return S.DELIVERY_EXCEPTION
    slowest = min(_RANK[s.status] for s in shipments)
    return {0: S.SHIPPED, 1: S.IN_TRANSIT, 2: S.OUT_FOR_DELIVERY, 3: S.DELIVERED}[slowest]


def apply_tracking(
    event: TrackingUpdated, *, now: datetime, notifications_queue_url: str | None = None
) -> OrderStatus:
    """Apply a carrier scan to its shipment, then move the order to the slowest shipment's state; a
    delivery is told to the channel (per shipment)."""
    shipment = get_shipment(event.order_id, event.shipment_id)
    if shipment is None:
        raise NotReadyError(f"shipment {event.shipment_id} of order {event.order_id} is not confirmed yet")
    seen = any(e.status == event.status.value and e.at == event.occurred_at for e in shipment.events)
    if not seen:
        actions: list[Action] = [
            ShipmentRecord.events.set(
                ShipmentRecord.events.append(
                    [
                        history_entry(
                            event.status.value,
                            shipment.status,
                            event.occurred_at,
                            f"carrier:{event.carrier}",
                            event.description,
                        )
                    ]
                )
            )
        ]
        moves_forward = event.status is TrackingStatus.EXCEPTION or (
            _RANK.get(event.status.value, -1) > _RANK.get(shipment.status, -1)
        )
        if moves_forward or shipment.status == TrackingStatus.EXCEPTION.value:
            actions.append(ShipmentRecord.status.set(event.status.value))
        shipment.update(actions=actions)
    record = get_order(event.order_id)
    current = OrderStatus(record.status)
    if current not in SHIPPED_PHASE:
        raise NotReadyError(f"order {event.order_id} is {current}; not shipped yet")
    if event.status is TrackingStatus.DELIVERED:
        publish(
            delivered_notification(
                record,
                shipment_id=event.shipment_id,
                carrier=event.carrier,
                tracking_number=event.tracking_number,
                at=event.occurred_at,
            ),
            notifications_queue_url,
        )
    # Read after this shipment's update: of two scans applied at once, the later read sees both.
    target = _order_status_from(shipments_of(event.order_id))
    if target is not current and can_transition(current, target):
        transition(record, target, by=f"carrier:{event.carrier}", at=now, reason=event.description)
        if target is S.DELIVERED:
            metrics.add_metric(name="OrdersDelivered", unit=MetricUnit.Count, value=1)
        return target
    return current
