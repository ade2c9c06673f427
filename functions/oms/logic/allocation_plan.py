"""Choosing warehouses for an order's lines: pure logic, no I/O.

Three strategies (chosen per channel or customer by the allocation policy, `oms.logic.allocation_policy`):

* FEWEST_SHIPMENTS: one warehouse if any can fill the whole order (the best-ranked such warehouse);
  otherwise, repeatedly, the warehouse that can supply the most of what is still open.
* NEAREST: warehouses ranked by their zone distance to the ship-to address; each line is filled from the
  nearest warehouse that holds it, split to the next nearest where one does not hold enough.
* PRIORITY: the same fill, in the warehouses' fixed priority order.

Ties are broken by priority, then by warehouse id, so a plan is deterministic. Every plan says why each
warehouse was chosen. When stock is short the plan still lists what is available now (for a
ship-what-is-available policy) and `missing` says what is not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from oms.domain.order import AllocationLine

UNKNOWN_DISTANCE = 1_000_000
"""Rank of a warehouse the zone table does not list for the destination: after every listed one."""


class Strategy(StrEnum):
    FEWEST_SHIPMENTS = "FEWEST_SHIPMENTS"
    NEAREST = "NEAREST"
    PRIORITY = "PRIORITY"


@dataclass(frozen=True)
class Warehouse:
    warehouse_id: str
    priority: int


@dataclass(frozen=True)
class WarehouseChoice:
    warehouse_id: str
    reason: str


@dataclass(frozen=True)
class AllocationPlan:
    lines: tuple[AllocationLine, ...]
    """What can be reserved now (all of the demand when `complete`)."""
    reason: str
    choices: tuple[WarehouseChoice, ...] = ()
    """Why each warehouse in `lines` was chosen."""
    missing: Mapping[str, int] = field(default_factory=dict)
    """sku -> units that no warehouse can supply now (or that older backorders are waiting for)."""

    @property
    def complete(self) -> bool:
        return not self.missing


def demand_by_sku(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    demand: dict[str, int] = defaultdict(int)
    for sku, quantity in lines:
        demand[sku] += quantity
    return dict(demand)


def shortfall_reason(missing: Mapping[str, int], blocked: Mapping[str, int] | None = None) -> str:
    parts = []
    for sku, qty in sorted(missing.items()):
        waiting = (blocked or {}).get(sku)
        queue = f" (behind {waiting} older backorder(s))" if waiting else ""
        parts.append(f"{sku} short by {qty}{queue}")
    return "insufficient stock: " + ", ".join(parts)


def plan_allocation(
    demand: Mapping[str, int],
    available: Mapping[str, Mapping[str, int]],
    warehouses: Sequence[Warehouse],
    *,
    strategy: Strategy = Strategy.FEWEST_SHIPMENTS,
    distances: Mapping[str, int] | None = None,
    destination: str = "",
) -> AllocationPlan:
    """Plan which warehouse ships which units.

    `demand`: sku -> units ordered. `available`: sku -> warehouse id -> units available now.
    `distances`: warehouse id -> zone distance to the ship-to address (`destination` names it in reasons).
    """
    distances = distances or {}

    def distance(w: Warehouse) -> int:
        return distances.get(w.warehouse_id, UNKNOWN_DISTANCE)

    def units(sku: str, w: Warehouse) -> int:
        return max(0, available.get(sku, {}).get(w.warehouse_id, 0))

    if strategy is Strategy.NEAREST:
        ranked = sorted(warehouses, key=lambda w: (distance(w), w.priority, w.warehouse_id))
    else:
        ranked = sorted(warehouses, key=lambda w: (w.priority, w.warehouse_id))

    def describe(w: Warehouse) -> str:
        if strategy is Strategy.NEAREST:
            known = distance(w) != UNKNOWN_DISTANCE
            where = f"zone distance {distance(w)} to {destination or 'the ship-to address'}"
            return where if known else f"no zone distance to {destination or 'the ship-to address'}"
        return f"priority {w.priority}"

    if strategy is Strategy.FEWEST_SHIPMENTS:
        whole = [w for w in ranked if all(units(sku, w) >= qty for sku, qty in demand.items())]
        if whole:
            chosen = whole[0]
            lines = tuple(
                AllocationLine(sku=sku, warehouse_id=chosen.warehouse_id, quantity=qty)
                for sku, qty in sorted(demand.items())
            )
            others = f"; {len(whole) - 1} other(s) could too" if len(whole) > 1 else ""
            choice = WarehouseChoice(
                chosen.warehouse_id,
                f"holds every line: one shipment ({describe(chosen)}, best ranked{others})",
            )
            return AllocationPlan(lines, f"fewest shipments: {chosen.warehouse_id} ships all", (choice,))
        return _greedy_fewest(demand, ranked, units, describe)
    return _fill_in_rank_order(demand, ranked, units, describe, strategy)


def _fill_in_rank_order(
    demand: Mapping[str, int],
    ranked: Sequence[Warehouse],
    units: Callable[[str, Warehouse], int],
    describe: Callable[[Warehouse], str],
    strategy: Strategy,
) -> AllocationPlan:
    planned: list[AllocationLine] = []
    missing: dict[str, int] = {}
    first_use: dict[str, str] = {}
    for sku, qty in sorted(demand.items()):
        remaining = qty
        for warehouse in ranked:
            if remaining == 0:
                break
            take = min(remaining, units(sku, warehouse))
            if take > 0:
                planned.append(AllocationLine(sku=sku, warehouse_id=warehouse.warehouse_id, quantity=take))
                remaining -= take
                first_use.setdefault(warehouse.warehouse_id, describe(warehouse))
        if remaining:
            missing[sku] = remaining
    label = "nearest warehouse" if strategy is Strategy.NEAREST else "fixed priority"
    order = [w.warehouse_id for w in ranked if w.warehouse_id in first_use]
    choices = tuple(
        WarehouseChoice(wid, f"{first_use[wid]}: rank {rank} of {len(ranked)} with stock of the line(s)")
        for rank, wid in enumerate(order, start=1)
    )
    shipments = "one shipment" if len(order) == 1 else f"{len(order)} shipments"
    reason = f"{label}: {shipments} from {', '.join(order)}" if order else f"{label}: nothing available"
    if missing:
        reason += "; " + shortfall_reason(missing)
    return AllocationPlan(tuple(planned), reason, choices, missing)


def _greedy_fewest(
    demand: Mapping[str, int],
    ranked: Sequence[Warehouse],
    units: Callable[[str, Warehouse], int],
    describe: Callable[[Warehouse], str],
) -> AllocationPlan:
    remaining = dict(demand)
    left = {(sku, w.warehouse_id): units(sku, w) for sku in demand for w in ranked}
    planned: list[AllocationLine] = []
    choices: list[WarehouseChoice] = []
    used: set[str] = set()
    while any(remaining.values()):
        best: Warehouse | None = None
        best_units = 0
        for warehouse in ranked:
            if warehouse.warehouse_id in used:
                continue
            supply = sum(min(q, left[(sku, warehouse.warehouse_id)]) for sku, q in remaining.items())
            if supply > best_units:
                best, best_units = warehouse, supply
        if best is None:
            break
        open_units = sum(remaining.values())
        for sku in sorted(remaining):
            take = min(remaining[sku], left[(sku, best.warehouse_id)])
            if take > 0:
                planned.append(AllocationLine(sku=sku, warehouse_id=best.warehouse_id, quantity=take))
                remaining[sku] -= take
        used.add(best.warehouse_id)
        choices.append(
            WarehouseChoice(
                best.warehouse_id,
                f"supplies {best_units} of the {open_units} open units, the most of any warehouse "
                f"({describe(best)})",
            )
        )
    missing = {sku: qty for sku, qty in remaining.items() if qty}
    if len(choices) == 1:
        reason = f"fewest shipments: {choices[0].warehouse_id} ships what is available"
    elif choices:
        shippers = ", ".join(c.warehouse_id for c in choices)
        reason = f"fewest shipments: no single warehouse holds every line; split over {shippers}"
    else:
        reason = "fewest shipments: nothing available"
    if missing:
        reason += "; " + shortfall_reason(missing)
    planned.sort(key=lambda line: (line.sku, [c.warehouse_id for c in choices].index(line.warehouse_id)))
    return AllocationPlan(tuple(planned), reason, tuple(choices), missing)
