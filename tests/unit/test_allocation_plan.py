"""Allocation planning: fewest shipments first, split by priority, never more than is available."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.logic.allocation_plan import AllocationPlan, Shortfall, Warehouse, demand_by_sku, plan_allocation

WAREHOUSES = [Warehouse("WH-NJ", 1), Warehouse("WH-TX", 2), Warehouse("WH-NV", 3)]


def test_single_warehouse_that_holds_everything_wins_over_priority() -> None:
    # Given the first-priority warehouse lacks one SKU but the second holds both
    available = {"A": {"WH-NJ": 5, "WH-TX": 5}, "B": {"WH-NJ": 0, "WH-TX": 2}}
    # When planning an order for both
    plan = plan_allocation({"A": 2, "B": 1}, available, WAREHOUSES)
    # Then one shipment from WH-TX is chosen, and the reason says why
    assert isinstance(plan, AllocationPlan)
    assert {line.warehouse_id for line in plan.lines} == {"WH-TX"}
    assert "single shipment" in plan.reason


def test_priority_breaks_ties_between_warehouses_that_can_each_ship_all() -> None:
    available = {"A": {"WH-NJ": 5, "WH-TX": 5}}
    plan = plan_allocation({"A": 3}, available, WAREHOUSES)
    assert isinstance(plan, AllocationPlan)
    assert [(line.warehouse_id, line.quantity) for line in plan.lines] == [("WH-NJ", 3)]


def test_split_when_no_single_warehouse_can_fill() -> None:
    available = {"A": {"WH-NJ": 2, "WH-TX": 1, "WH-NV": 4}}
    plan = plan_allocation({"A": 5}, available, WAREHOUSES)
    assert isinstance(plan, AllocationPlan)
    assert [(line.warehouse_id, line.quantity) for line in plan.lines] == [
        ("WH-NJ", 2),
        ("WH-TX", 1),
        ("WH-NV", 2),
    ]
    assert plan.reason.startswith("split shipment")


def test_shortfall_names_every_missing_sku() -> None:
    available = {"A": {"WH-NJ": 1}, "B": {}}
    result = plan_allocation({"A": 3, "B": 1}, available, WAREHOUSES)
    assert isinstance(result, Shortfall)
    assert result.missing == {"A": 2, "B": 1}
    assert "A short by 2" in result.reason


def test_demand_merges_lines_of_the_same_sku() -> None:
    assert demand_by_sku([("A", 1), ("B", 2), ("A", 3)]) == {"A": 4, "B": 2}


stock = st.dictionaries(
    st.sampled_from(["A", "B", "C", "D"]),
    st.fixed_dictionaries({w.warehouse_id: st.integers(0, 20) for w in WAREHOUSES}),
    min_size=1,
)


@settings(max_examples=200, derandomize=True)
@given(available=stock, data=st.data())
def test_plan_fills_demand_exactly_and_never_takes_more_than_available(available, data) -> None:  # type: ignore[no-untyped-def]
    demand = data.draw(st.dictionaries(st.sampled_from(sorted(available)), st.integers(1, 30), min_size=1))
    result = plan_allocation(demand, available, WAREHOUSES)
    total_available = {sku: sum(available[sku].values()) for sku in demand}
    if isinstance(result, Shortfall):
        assert any(demand[sku] > total_available[sku] for sku in demand)
        for sku, missing in result.missing.items():
            assert missing == demand[sku] - total_available[sku]
        return
    taken: dict[tuple[str, str], int] = {}
    for line in result.lines:
        taken[(line.sku, line.warehouse_id)] = taken.get((line.sku, line.warehouse_id), 0) + line.quantity
    for (sku, warehouse), quantity in taken.items():
        assert quantity <= available[sku][warehouse]
    for sku, quantity in demand.items():
        assert sum(q for (s, _), q in taken.items() if s == sku) == quantity
