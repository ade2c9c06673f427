"""Choosing warehouses for an order's lines: pure logic, no I/O.

Policy (issue 2's baseline; per-channel policies come later): fewest shipments first. If one warehouse can
fill every line, the highest-priority such warehouse ships it all; otherwise each line is filled from
warehouses in priority order, split where one does not hold enough. Every plan says why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oms.domain.order import AllocationLine


@dataclass(frozen=True)
class Warehouse:
    warehouse_id: str
    priority: int


@dataclass(frozen=True)
class AllocationPlan:
    lines: tuple[AllocationLine, ...]
    reason: str


@dataclass(frozen=True)
class Shortfall:
    """Stock is short: sku -> units missing across all warehouses."""

    missing: Mapping[str, int]

    @property
    def reason(self) -> str:
        parts = ", ".join(f"{sku} short by {qty}" for sku, qty in sorted(self.missing.items()))
        return f"insufficient stock: {parts}"


def demand_by_sku(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    demand: dict[str, int] = defaultdict(int)
    for sku, quantity in lines:
        demand[sku] += quantity
    return dict(demand)


def plan_allocation(
    demand: Mapping[str, int],
    available: Mapping[str, Mapping[str, int]],
    warehouses: Sequence[Warehouse],
) -> AllocationPlan | Shortfall:
    """Plan which warehouse ships which units.

    `demand`: sku -> units ordered. `available`: sku -> warehouse id -> units available now.
    """
    ranked = sorted(warehouses, key=lambda w: (w.priority, w.warehouse_id))
    for warehouse in ranked:
        if all(available.get(sku, {}).get(warehouse.warehouse_id, 0) >= qty for sku, qty in demand.items()):
            lines = tuple(
                AllocationLine(sku=sku, warehouse_id=warehouse.warehouse_id, quantity=qty)
                for sku, qty in sorted(demand.items())
            )
            return AllocationPlan(
                lines,
                f"single shipment: {warehouse.warehouse_id} (priority {warehouse.priority}) holds every line",
            )

    planned: list[AllocationLine] = []
    missing: dict[str, int] = {}
    for sku, qty in sorted(demand.items()):
        remaining = qty
        for warehouse in ranked:
            if remaining == 0:
                break
            take = min(remaining, available.get(sku, {}).get(warehouse.warehouse_id, 0))
            if take > 0:
                planned.append(AllocationLine(sku=sku, warehouse_id=warehouse.warehouse_id, quantity=take))
                remaining -= take
        if remaining:
            missing[sku] = remaining
    if missing:
        return Shortfall(missing)
    used = sorted({line.warehouse_id for line in planned})
    return AllocationPlan(
        tuple(planned),
        f"split shipment: no single warehouse holds every line; filled by priority from {', '.join(used)}",
    )
