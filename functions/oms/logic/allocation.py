"""Allocate a validated order's stock: plan, reserve atomically, and hold the order when stock is short."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oms.data.inventory import active_warehouses, available_stock, reserve
from oms.data.models import OrderRecord
from oms.data.orders import get_order, transition
from oms.domain.errors import ReservationConflictError
from oms.domain.status import HoldReason, OrderStatus
from oms.logic.allocation_plan import AllocationPlan, demand_by_sku, plan_allocation
from oms.observability import MetricUnit, metrics

ACTOR = "workflow:allocate"
MAX_ATTEMPTS = 5
MAX_TRANSACTION_LINES = 98  # DynamoDB's 100 items, less the order and the reservation record


@dataclass(frozen=True)
class AllocationResult:
    outcome: OrderStatus
    reason: str


def allocate_order(order_id: str, *, now: datetime) -> AllocationResult:
    """Reserve stock for every line of a VALIDATED order, or put it ON_HOLD as OUT_OF_STOCK.

    Idempotent: a retried task finds the order ALLOCATED (the reservation and the status change are one
    transaction) and reports the first attempt's decision.
    """
    for _ in range(MAX_ATTEMPTS):
        record = get_order(order_id)
        if record.status != OrderStatus.VALIDATED.value:
            return AllocationResult(OrderStatus(record.status), record.allocation_reason or record.status)
        demand = demand_by_sku([(line.sku, int(line.quantity)) for line in record.lines])
        plan = plan_allocation(demand, available_stock(demand), active_warehouses())
        if not isinstance(plan, AllocationPlan):
            transition(
                record,
                OrderStatus.ON_HOLD,
                by=ACTOR,
                at=now,
                reason=f"{HoldReason.OUT_OF_STOCK.value}: {plan.reason}",
                extra=[
                    OrderRecord.hold_reason.set(HoldReason.OUT_OF_STOCK.value),
                    OrderRecord.allocation_reason.set(plan.reason),
                ],
            )
            metrics.add_metric(name="OrdersHeld", unit=MetricUnit.Count, value=1)
            return AllocationResult(OrderStatus.ON_HOLD, plan.reason)
        if len(plan.lines) > MAX_TRANSACTION_LINES:
            raise ReservationConflictError(
                f"order {order_id} needs {len(plan.lines)} reservation lines; at most {MAX_TRANSACTION_LINES}"
            )
        outcome = reserve(order_id, plan.lines, reason=plan.reason, by=ACTOR, at=now)
        if outcome.stock_changed:
            continue  # another order took stock between our read and write: plan again
        if outcome.reserved:
            metrics.add_metric(name="OrdersAllocated", unit=MetricUnit.Count, value=1)
            return AllocationResult(OrderStatus.ALLOCATED, plan.reason)
        latest = get_order(order_id)  # an earlier attempt reserved: report what it decided
        return AllocationResult(OrderStatus(latest.status), latest.allocation_reason or plan.reason)
    raise ReservationConflictError(f"stock for order {order_id} kept changing; retry later")
