"""What a channel may change after the order was received: amend it before allocation, or cancel it
before shipment (reserved stock goes back, warehouses already asked are told)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, model_validator
from pynamodb.exceptions import UpdateError

from oms.data.models import AddressAttribute, CustomerAttribute, OrderRecord
from oms.data.orders import (
    amendment_of,
    append_history,
    find_order,
    history_entry,
    record_cancellation_before_creation,
)
from oms.data.pricing import pricing_actions
from oms.domain.errors import InvalidTransitionError
from oms.domain.order import CanonicalOrder, SafeId, pricing_input_of
from oms.domain.status import ALLOWED_TRANSITIONS, OrderStatus
from oms.logic.channel_notifications import cancelled_notification, publish
from oms.logic.intake import receive_order, start_lifecycle
from oms.logic.outbox import flush_outbox
from oms.logic.releases import end_claim, plan_release
from oms.observability import MetricUnit, logger, metrics
from oms.privacy.classification import classified

AMENDABLE = ALLOWED_TRANSITIONS[OrderStatus.RECEIVED] | {OrderStatus.RECEIVED}
CANCELLABLE = ALLOWED_TRANSITIONS[OrderStatus.CANCELLED]


@classified(
    personal=("order",),
    operational=(
        "kind",
        "order_id",
        "by",
        "reason",
        "received_at",
    ),
)
class ChannelChange(BaseModel):
    """An update or cancellation from a channel, queued by intake for the channel-changes function."""

    kind: Literal["UPDATED", "CANCELLED"]
    order_id: SafeId
    order: CanonicalOrder | None = None
    by: str
    reason: str
    received_at: datetime

    @model_validator(mode="after")
    def _update_carries_the_order(self) -> ChannelChange:
        if self.kind == "UPDATED" and self.order is None:
            raise ValueError("an update carries the order")
        return self


@dataclass(frozen=True)
class ChangeResult:
    order_id: str
    status: str
    applied: bool
    note: str


def _note(record: OrderRecord, text: str, *, by: str, at: datetime) -> None:
    """Record, on the order's history, a channel change that was received but not applied."""
    record.update(actions=append_history(history_entry(record.status, record.status, at, by, text)))


def apply_change(
    change: ChannelChange,
    *,
    workflow_arn: str,
    event_bus: str,
    now: datetime,
    notifications_queue_url: str | None = None,
) -> ChangeResult:
    """Apply one queued channel change."""
    if change.kind == "CANCELLED":
        return cancel_order(
            change.order_id,
            by=change.by,
            reason=change.reason,
            event_bus=event_bus,
            now=now,
            notifications_queue_url=notifications_queue_url,
        )
    assert change.order is not None  # guaranteed by the model
    return amend_order(change.order, workflow_arn=workflow_arn, now=now)


def amend_order(order: CanonicalOrder, *, workflow_arn: str, now: datetime) -> ChangeResult:
    """Apply a channel's update to an order that has not been allocated yet, and validate it again.

    The write is conditional on the status and revision read, so an order that moved on (allocated) in
    between is not amended; the workflow steps, conditional on the revision, drop decisions taken on
    the old content. An update for an unknown order creates it (channels do not promise ordering).
    """
    record = find_order(order.order_id)
    if record is None or record.placeholder:  # never seen, or known only from its cancellation
        created = receive_order(order, workflow_arn=workflow_arn, received_at=now)
        return ChangeResult(created.order_id, created.status, applied=True, note="created from an update")
    status = OrderStatus(record.status)
    by = order.entered_by
    if status not in AMENDABLE or record.backorder_order_id:
        note = f"channel update not applied: order is already {status.value}"
        if record.backorder_order_id:
            note = f"channel update not applied: order was split into {record.backorder_order_id}"
        _note(record, note, by=by, at=now)
        metrics.add_metric(name="AmendmentsRefused", unit=MetricUnit.Count, value=1)
        return ChangeResult(record.order_id, status.value, applied=False, note=note)
    revision = int(record.revision)
    amendment = amendment_of(record) + 1
    actions = [
        OrderRecord.customer.set(CustomerAttribute(**order.customer.model_dump())),
        OrderRecord.shipping_address.set(AddressAttribute(**order.shipping_address.model_dump())),
        *pricing_actions(pricing_input_of(order)),
        OrderRecord.subtotal.set(order.subtotal),
        OrderRecord.discount_total.set(order.discount_total),
        OrderRecord.shipping_total.set(order.shipping_total),
        OrderRecord.tax_total.set(order.tax_total),
        OrderRecord.grand_total.set(order.grand_total),
        OrderRecord.revision.set(revision + 1),
        OrderRecord.amendment.set(amendment),
        OrderRecord.status.set(OrderStatus.RECEIVED.value),
        OrderRecord.hold_reason.remove(),
        OrderRecord.computed_tax_total.remove(),
        OrderRecord.tax_calculator.remove(),
        OrderRecord.updated_at.set(now),
        OrderRecord.amended_by.set(by),
        *append_history(
            history_entry(
                OrderStatus.RECEIVED.value,
                status.value,
                now,
                by,
                f"amended by the channel (revision {revision + 1})",
            )
        ),
    ]
    try:
        record.update(
            actions=actions,
            condition=(OrderRecord.status == status.value) & (OrderRecord.revision == revision),
        )
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        latest = find_order(order.order_id)
        note = (
            f"channel update not applied: order moved to {latest.status if latest else 'unknown'} meanwhile"
        )
        return ChangeResult(order.order_id, latest.status if latest else "UNKNOWN", applied=False, note=note)
    metrics.add_metric(name="OrdersAmended", unit=MetricUnit.Count, value=1)
    start_lifecycle(
        order.order_id,
        workflow_arn,
        amendment=amendment,
        execution_name=f"{order.order_id}-r{revision + 1}",
    )
    return ChangeResult(
        order.order_id, OrderStatus.RECEIVED.value, applied=True, note=f"revision {revision + 1}"
    )


def cancel_order(
    order_id: str,
    *,
    by: str,
    reason: str,
    event_bus: str,
    now: datetime,
    notifications_queue_url: str | None = None,
) -> ChangeResult:
    """Cancel an order that has not shipped: release its stock, take it out of the backorder queues and
    tell the warehouses that may have its request (FulfillmentCancelled), in one transaction whose events
    are published after it (decision 0014). Idempotent: a retry finds it CANCELLED and publishes whatever
    the first attempt left owing.

    A cancellation of an order not received yet (channels do not promise ordering) is recorded as a
    cancelled placeholder, so the order's creation, when it arrives, finds it cancelled and starts nothing.
    A cancellation the channel did not ask for itself is told to the channel (on every attempt: the
    notifier tells it once).
    """
    for _ in range(5):
        record = find_order(order_id)
        if record is None:
            if record_cancellation_before_creation(order_id, by=by, reason=reason, at=now):
                metrics.add_metric(name="CancellationsBeforeCreation", unit=MetricUnit.Count, value=1)
                return ChangeResult(
                    order_id,
                    OrderStatus.CANCELLED.value,
                    applied=True,
                    note="cancelled before it was received",
                )
            continue  # created meanwhile: cancel it as it is
        status = OrderStatus(record.status)
        if status is OrderStatus.CANCELLED:
            flush_outbox(record, event_bus=event_bus, reread=False)
            if not record.placeholder and not record.split_from_order_id:
                publish(cancelled_notification(record, by=by, reason=reason, at=now), notifications_queue_url)
            return ChangeResult(order_id, status.value, applied=False, note="already cancelled")
        if status not in CANCELLABLE:
            note = f"cancellation not applied: order is already {status.value}"
            _note(record, note, by=by, at=now)
            metrics.add_metric(name="CancellationsRefused", unit=MetricUnit.Count, value=1)
            return ChangeResult(order_id, status.value, applied=False, note=note)
        release = plan_release(record, reason="order cancelled")
        if not end_claim(release, OrderStatus.CANCELLED, by=by, at=now, reason=reason, event_bus=event_bus):
            continue  # allocated, shipped or amended meanwhile: look again
        if record.backorder_order_id:  # the units split off to wait for stock are cancelled with it
            cancel_order(
                record.backorder_order_id,
                by=by,
                reason=f"{reason} (backorder of {order_id})",
                event_bus=event_bus,
                now=now,
            )
        if not record.split_from_order_id:  # a backorder child is the parent's business with the channel
            publish(cancelled_notification(record, by=by, reason=reason, at=now), notifications_queue_url)
        metrics.add_metric(name="OrdersCancelled", unit=MetricUnit.Count, value=1)
        return ChangeResult(order_id, OrderStatus.CANCELLED.value, applied=True, note=reason)
    logger.warning("cancellation kept racing the workflow", extra={"order_id": order_id})
    raise InvalidTransitionError(f"order {order_id} kept changing while being cancelled; retry")
