"""Serving the backorder queues when stock comes back, and the scheduled sweep that keeps stock honest.

* `serve_backorders`: stock of a SKU arrived (a receipt) or came back (a release): the SKU's queue is
  served oldest first. Each order is allocated as a whole; the first one that still cannot get this SKU
  stops the serving (strict first come, first served: a large old order is not starved by small new
  ones). Allocated orders continue through the workflow from the Allocate step.
* `expire_reservations`: stock reserved for an order that has not shipped within its hold time goes back,
  exactly once; the order is put ON_HOLD (RESERVATION_EXPIRED) and its warehouses are told.
* `escalate_overdue_backorders`: a backorder waiting longer than its limit escalates once
  (BackorderOverdue on the bus for purchasing and operations).
* `resume_stranded_allocations`: an order left RECEIVED, VALIDATED or ALLOCATED without a workflow (the
  process that was to start it died, or the execution did) goes on from where it stands.
* the outbox pass: events a crashed step committed but did not publish go out (decision 0014).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from oms.data.backorders import drop_entry, mark_escalated, overdue, waiting_orders
from oms.data.bus import put_events
from oms.data.inventory import expired_reservations
from oms.data.models import OrderRecord
from oms.data.orders import amendment_of, find_order
from oms.domain.events import ORDERS_SOURCE, BackorderOverdue
from oms.domain.status import HoldReason, OrderStatus
from oms.logic.allocation import ALLOCATABLE, allocate_order
from oms.logic.allocation_policy import AllocationPolicy
from oms.logic.intake import start_lifecycle
from oms.logic.outbox import flush_pending_outboxes
from oms.logic.releases import ShipmentBeingRecorded, end_claim, plan_release
from oms.observability import MetricUnit, logger, metrics

SWEEPER = "schedule:stock-sweeper"


@dataclass
class ServeResult:
    sku: str
    allocated: list[str] = field(default_factory=list)
    still_waiting_head: str | None = None
    """The oldest order that still cannot get the SKU (serving stopped there), if any."""
    dropped: list[str] = field(default_factory=list)
    """Entries of orders that no longer wait (cancelled, allocated elsewhere): removed from the queue."""


def serve_backorders(sku: str, *, policy: AllocationPolicy, workflow_arn: str, now: datetime) -> ServeResult:
    """Serve one SKU's queue oldest first. Safe to run twice or concurrently: allocation is idempotent and
    conditional, and a served order leaves the queue in the transaction that reserves its stock."""
    result = ServeResult(sku)
    for entry in waiting_orders(sku):
        record = find_order(entry.order_id)
        if (
            record is None
            or record.status not in ALLOCATABLE
            or record.backorder_queue_key != entry.queue_key
        ):
            drop_entry(sku, entry.queue_key)  # its order no longer waits here
            result.dropped.append(entry.order_id)
            continue
        outcome = allocate_order(entry.order_id, policy=policy, now=now)
        if outcome.outcome is OrderStatus.ALLOCATED:
            start_lifecycle(
                entry.order_id,
                workflow_arn,
                amendment=amendment_of(record),
                execution_name=f"{entry.order_id}-backorder-{int(now.timestamp() * 1000)}",
                resume_at_allocation=True,
            )
            metrics.add_metric(name="BackordersServed", unit=MetricUnit.Count, value=1)
            result.allocated.append(entry.order_id)
        elif outcome.outcome is OrderStatus.BACKORDERED and sku in outcome.missing:
            result.still_waiting_head = entry.order_id
            break
    logger.debug(
        "backorder queue served",
        extra={"sku": sku, "allocated": len(result.allocated), "head": result.still_waiting_head},
    )
    return result


STRANDED_AFTER = timedelta(minutes=15)
"""An order ALLOCATED this long ago and not yet sent to the warehouse lost its workflow execution."""


@dataclass
class SweepResult:
    reservations_expired: list[str] = field(default_factory=list)
    backorders_escalated: list[str] = field(default_factory=list)
    allocations_resumed: list[str] = field(default_factory=list)
    outboxes_flushed: list[str] = field(default_factory=list)


def expire_reservations(*, event_bus: str, now: datetime) -> list[str]:
    """Release every reservation past its hold time whose order has not shipped: the release, the order's
    move to ON_HOLD (RESERVATION_EXPIRED) and the events that follow (StockReleased, FulfillmentCancelled
    to the warehouses) in one transaction (decision 0014), exactly once per reservation; returns the
    orders whose stock went back."""
    expired = []
    for reservation in expired_reservations(now):
        order_id = reservation.order_id
        record = find_order(order_id)
        status = OrderStatus(record.status) if record else None
        if record is None or status not in (OrderStatus.ALLOCATED, OrderStatus.FULFILLMENT_REQUESTED):
            # Shipped, delivered or cancelled: the reservation is consumed or released by that path.
            logger.warning(
                "open reservation of an order past allocation", extra={"order_id": order_id, "status": status}
            )
            continue
        reason = f"reservation expired at {reservation.expires_at_key} before the order shipped"
        try:
            release = plan_release(record, reason="reservation expired")
        except ShipmentBeingRecorded:
            continue  # shipped: the shipment path owns it
        if not end_claim(
            release,
            OrderStatus.ON_HOLD,
            by=SWEEPER,
            at=now,
            reason=f"{HoldReason.RESERVATION_EXPIRED.value}: {reason}",
            extra=[OrderRecord.hold_reason.set(HoldReason.RESERVATION_EXPIRED.value)],
            event_bus=event_bus,
        ):
            continue  # shipped, cancelled or swept meanwhile: that path owns it
        metrics.add_metric(name="ReservationsExpired", unit=MetricUnit.Count, value=1)
        expired.append(order_id)
    return expired


def escalate_overdue_backorders(*, event_bus: str, now: datetime) -> list[str]:
    """Escalate, once each, the backorders waiting longer than their limit: BackorderOverdue events."""
    escalated = []
    for entry in overdue(now):
        if not mark_escalated(entry, now):
            continue
        waited = now - entry.queued_at
        detail = BackorderOverdue(
            order_id=entry.order_id,
            sku=entry.sku,
            quantity=int(entry.quantity),
            backordered_at=entry.queued_at,
            waiting_hours=round(waited.total_seconds() / 3600, 1),
        ).model_dump(mode="json")
        resources = [f"order/{entry.order_id}", f"sku/{entry.sku}"]
        put_events(event_bus, ORDERS_SOURCE, BackorderOverdue.detail_type, [(detail, resources)])
        metrics.add_metric(name="BackordersEscalated", unit=MetricUnit.Count, value=1)
        escalated.append(entry.order_id)
    return escalated


def resume_stranded_allocations(*, workflow_arn: str, now: datetime) -> list[str]:
    """Orders whose workflow was lost (the process that was to start it died, or the execution itself did):
    RECEIVED, VALIDATED or ALLOCATED and untouched for STRANDED_AFTER. The order's status is the durable
    marker of where it stands; the workflow starts again there (validation, or the Allocate step, which
    finds an existing reservation and goes on to RequestFulfillment)."""
    resumed = []
    stale = OrderRecord.updated_at < now - STRANDED_AFTER
    for status in (OrderStatus.RECEIVED, OrderStatus.VALIDATED, OrderStatus.ALLOCATED):
        for record in OrderRecord.by_status.query(status.value, filter_condition=stale):
            if record.placeholder:
                continue
            start_lifecycle(
                record.order_id,
                workflow_arn,
                amendment=amendment_of(record),
                execution_name=f"{record.order_id}-resume-{int(now.timestamp())}",
                resume_at_allocation=status is not OrderStatus.RECEIVED,
            )
            logger.warning("stranded order resumed", extra={"order_id": record.order_id, "status": status})
            metrics.add_metric(name="StrandedAllocationsResumed", unit=MetricUnit.Count, value=1)
            resumed.append(record.order_id)
    return resumed


def sweep(*, event_bus: str, workflow_arn: str, now: datetime) -> SweepResult:
    return SweepResult(
        reservations_expired=expire_reservations(event_bus=event_bus, now=now),
        backorders_escalated=escalate_overdue_backorders(event_bus=event_bus, now=now),
        allocations_resumed=resume_stranded_allocations(workflow_arn=workflow_arn, now=now),
        # Last: what a crashed step (or this sweep) committed but did not publish.
        outboxes_flushed=flush_pending_outboxes(event_bus=event_bus),
    )
