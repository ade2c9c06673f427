"""Allocate an order's stock: plan by the order's policy, reserve atomically, or backorder what is short.

Used by the workflow's Allocate task (a VALIDATED order) and by the backorder queue when stock arrives
(a BACKORDERED order); `explain_allocation` is the same decision without any write (the dry run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from oms.data.backorders import entry_keys, older_waiters, place_backorder
from oms.data.inventory import active_warehouses, available_stock, reserve
from oms.data.models import OrderRecord
from oms.data.orders import amendment_of, get_order
from oms.domain.allocation import AllocationPreview, AllocationPreviewRequest
from oms.domain.errors import ReservationConflictError
from oms.domain.order import BackorderLine
from oms.domain.status import OrderStatus
from oms.logic.allocation_plan import AllocationPlan, demand_by_sku, plan_allocation, shortfall_reason
from oms.logic.allocation_policy import AllocationPolicy, AllocationRules, BackorderPolicy
from oms.logic.backorder_split import split_off_backorder
from oms.logic.stock_alerts import check_low_stock
from oms.observability import MetricUnit, metrics

ACTOR = "workflow:allocate"
MAX_ATTEMPTS = 5
ALLOCATABLE = (OrderStatus.VALIDATED.value, OrderStatus.BACKORDERED.value)


@dataclass(frozen=True)
class AllocationResult:
    outcome: OrderStatus
    reason: str
    missing: dict[str, int] = field(default_factory=dict)
    """While BACKORDERED: sku -> units the order still waits for."""
    superseded: bool = False


@dataclass(frozen=True)
class AllocationDecision:
    """What allocation would do for an order now: the plan, the rules behind it, and whether it reserves."""

    rules: AllocationRules
    destination: str
    plan: AllocationPlan
    blocked: frozenset[str]
    """SKUs the order may not take because older backorders wait for them."""
    headroom: dict[tuple[str, str], int] = field(default_factory=dict)
    """(sku, warehouse) -> available minus reorder point, as read for this plan."""

    def may_cross_reorder_point(self) -> set[tuple[str, str]]:
        """The stock items this plan's reservation could take below their reorder point (only those need a
        low-stock check after reserving; the others had more than enough headroom when read)."""
        taken: dict[tuple[str, str], int] = {}
        for line in self.plan.lines:
            key = (line.sku, line.warehouse_id)
            taken[key] = taken.get(key, 0) + line.quantity
        return {key for key, units in taken.items() if units > self.headroom.get(key, 0)}

    @property
    def reason(self) -> str:
        if self.plan.complete:
            return self.plan.reason
        head = self.plan.reason.split("; insufficient stock")[0]
        waiting = {sku: 1 for sku in self.blocked}
        return f"{head}; {shortfall_reason(self.plan.missing, waiting)}"

    @property
    def choices(self) -> list[str]:
        return [f"{c.warehouse_id}: {c.reason}" for c in self.plan.choices]


def decide(record: OrderRecord, policy: AllocationPolicy) -> AllocationDecision:
    """Plan the order's allocation against current stock, without writing anything."""
    address = record.shipping_address
    return plan_for(
        policy,
        channel=record.channel,
        customer_id=record.customer.customer_id,
        country=address.country,
        region=address.region,
        lines=[(line.sku, int(line.quantity)) for line in record.lines],
        ahead_of=record.backorder_queue_key if record.status == OrderStatus.BACKORDERED.value else None,
        ignoring=record.backorder_order_id,
    )


def plan_for(
    policy: AllocationPolicy,
    *,
    channel: str,
    customer_id: str,
    country: str,
    region: str | None,
    lines: list[tuple[str, int]],
    ahead_of: str | None = None,
    ignoring: str | None = None,
) -> AllocationDecision:
    """The allocation decision for these lines now (reads stock and the backorder queues, writes nothing).

    `ahead_of`: the order's own place in the backorder queues, when it waits there (only older waiters
    then come first); None for an order that is not queued (every waiter comes first).
    """
    rules = policy.rules_for(channel, customer_id)
    destination, distances = policy.distances_to(country, region)
    demand = demand_by_sku(lines)
    # Stock of a SKU that older orders are waiting for goes to them first (oldest first, when it arrives).
    blocked = older_waiters(demand, ahead_of=ahead_of, ignoring=ignoring)
    headroom: dict[tuple[str, str], int] = {}
    stock = available_stock(demand, headroom=headroom)
    for sku in blocked:
        stock[sku] = {}
    plan = plan_allocation(
        demand,
        stock,
        active_warehouses(),
        strategy=rules.strategy,
        distances=distances,
        destination=destination,
    )
    return AllocationDecision(rules, destination, plan, frozenset(blocked), headroom)


SUPERSEDED = "SUPERSEDED"


def allocate_order(
    order_id: str, *, policy: AllocationPolicy, now: datetime, amendment: int | None = None
) -> AllocationResult:
    """Reserve stock for every line of a VALIDATED or BACKORDERED order, or (re)queue it as BACKORDERED.

    Idempotent: a retried task finds the order ALLOCATED (the reservation and the status change are one
    transaction) and reports the first attempt's decision. `amendment`: the channel amendment the execution
    was started for; an order amended since is left to the newer execution (outcome SUPERSEDED).
    """
    for _ in range(MAX_ATTEMPTS):
        record = get_order(order_id)
        if amendment is not None and amendment_of(record) != amendment:
            return AllocationResult(OrderStatus(record.status), SUPERSEDED, superseded=True)
        if record.status not in ALLOCATABLE:
            return AllocationResult(OrderStatus(record.status), record.allocation_reason or record.status)
        decision = decide(record, policy)
        plan = decision.plan
        if not plan.complete:
            if (
                decision.rules.backorder is BackorderPolicy.SHIP_AVAILABLE
                and plan.lines
                and record.status == OrderStatus.VALIDATED.value
                and not record.backorder_order_id
            ):
                escalate_after = timedelta(hours=decision.rules.backorder_escalation_hours)
                if split_off_backorder(
                    record, plan.missing, escalate_after=escalate_after, by=ACTOR, now=now
                ):
                    metrics.add_metric(name="OrdersSplitForBackorder", unit=MetricUnit.Count, value=1)
                continue  # the order now holds only what can ship (or moved meanwhile): plan it again
            placed = place_backorder(
                record,
                plan.missing,
                reason=decision.reason,
                choices=decision.choices,
                escalate_after=timedelta(hours=decision.rules.backorder_escalation_hours),
                by=ACTOR,
                at=now,
            )
            if not placed:
                continue  # the order moved meanwhile: look again
            if record.status == OrderStatus.VALIDATED.value:
                metrics.add_metric(name="OrdersBackordered", unit=MetricUnit.Count, value=1)
            return AllocationResult(OrderStatus.BACKORDERED, decision.reason, dict(plan.missing))
        outcome = reserve(
            order_id,
            plan.lines,
            reason=decision.reason,
            choices=decision.choices,
            by=ACTOR,
            at=now,
            expires_at=now + timedelta(hours=decision.rules.reservation_hold_hours),
            from_status=OrderStatus(record.status),
            revision=int(record.revision),
            leave_queues=entry_keys(record),
        )
        if outcome.stock_changed:
            continue  # another order took stock between our read and write: plan again
        if outcome.reserved:
            metrics.add_metric(name="OrdersAllocated", unit=MetricUnit.Count, value=1)
            check_low_stock(decision.may_cross_reorder_point(), now=now)
            return AllocationResult(OrderStatus.ALLOCATED, decision.reason)
        latest = get_order(order_id)  # an earlier attempt reserved, or the order moved: report what it is
        if latest.status in ALLOCATABLE:
            continue
        return AllocationResult(OrderStatus(latest.status), latest.allocation_reason or decision.reason)
    raise ReservationConflictError(f"stock for order {order_id} kept changing; retry later")


def preview_allocation(
    request: AllocationPreviewRequest, *, policy: AllocationPolicy, now: datetime
) -> AllocationPreview:
    """The dry run: what allocation would decide now for an order or for lines. Reads, never writes."""
    record = get_order(request.order_id, consistent=False) if request.order_id else None
    if record is not None:
        decision = decide(record, policy)
    else:
        assert request.lines is not None  # the request model guarantees lines with ship_to
        assert request.ship_to is not None
        decision = plan_for(
            policy,
            channel=request.channel,
            customer_id=request.customer_id,
            country=request.ship_to.country,
            region=request.ship_to.region,
            lines=[(line.sku, line.quantity) for line in request.lines],
        )
    plan = decision.plan
    if plan.complete:
        would = "ALLOCATE"
    elif decision.rules.backorder is BackorderPolicy.SHIP_AVAILABLE and plan.lines:
        would = "SPLIT"
    else:
        would = "BACKORDER"
    return AllocationPreview(
        order_id=request.order_id,
        order_status=record.status if record is not None else None,
        would=would,
        strategy=decision.rules.strategy.value,
        backorder_policy=decision.rules.backorder.value,
        destination=decision.destination,
        reason=decision.reason,
        lines=list(plan.lines) if would != "BACKORDER" else [],
        choices=decision.choices if would != "BACKORDER" else [],
        missing=[BackorderLine(sku=sku, quantity=qty) for sku, qty in sorted(plan.missing.items())],
        waiting_behind_older_backorders=sorted(decision.blocked),
        reservation_hold_hours=decision.rules.reservation_hold_hours,
        evaluated_at=now,
    )
