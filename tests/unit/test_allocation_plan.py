"""Allocation planning: three strategies, reasons per warehouse, never more than is available."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.logic.allocation_plan import AllocationPlan, Strategy, Warehouse, demand_by_sku, plan_allocation
from oms.logic.allocation_policy import AllocationPolicy, BackorderPolicy, RulesOverride

WAREHOUSES = [Warehouse("WH-NJ", 1), Warehouse("WH-TX", 2), Warehouse("WH-NV", 3)]
TO_CALIFORNIA = {"WH-NV": 2, "WH-TX": 5, "WH-NJ": 8}


def shipments(plan: AllocationPlan) -> list[tuple[str, str, int]]:
    return [(line.sku, line.warehouse_id, line.quantity) for line in plan.lines]


def test_single_warehouse_that_holds_everything_wins_over_priority() -> None:
    # Given the first-priority warehouse lacks one SKU but the second holds both
    available = {"A": {"WH-NJ": 5, "WH-TX": 5}, "B": {"WH-NJ": 0, "WH-TX": 2}}
    # When planning an order for both with the default strategy
    plan = plan_allocation({"A": 2, "B": 1}, available, WAREHOUSES)
    # Then one shipment from WH-TX is chosen, and the reason says why
    assert plan.complete
    assert {line.warehouse_id for line in plan.lines} == {"WH-TX"}
    assert plan.reason == "fewest shipments: WH-TX ships all"
    assert plan.choices[0].warehouse_id == "WH-TX"
    assert "holds every line" in plan.choices[0].reason


def test_priority_breaks_ties_between_warehouses_that_can_each_ship_all() -> None:
    plan = plan_allocation({"A": 3}, {"A": {"WH-NJ": 5, "WH-TX": 5}}, WAREHOUSES)
    assert shipments(plan) == [("A", "WH-NJ", 3)]
    assert "1 other(s) could too" in plan.choices[0].reason


def test_fewest_shipments_split_takes_the_warehouse_that_covers_most_first() -> None:
    # Given no warehouse holds everything; WH-NV holds most of the order
    available = {"A": {"WH-NJ": 1, "WH-TX": 0, "WH-NV": 4}, "B": {"WH-NJ": 2, "WH-NV": 1}}
    # When planning 4 A and 2 B
    plan = plan_allocation({"A": 4, "B": 2}, available, WAREHOUSES)
    # Then WH-NV (5 of 6 units) is chosen first and WH-NJ supplies the rest: two shipments
    assert plan.complete
    assert [c.warehouse_id for c in plan.choices] == ["WH-NV", "WH-NJ"]
    assert sorted(shipments(plan)) == [("A", "WH-NV", 4), ("B", "WH-NJ", 1), ("B", "WH-NV", 1)]
    assert "supplies 5 of the 6 open units" in plan.choices[0].reason


def test_fixed_priority_fills_from_the_first_warehouse_even_if_another_could_ship_all() -> None:
    available = {"A": {"WH-NJ": 1, "WH-TX": 5}}
    plan = plan_allocation({"A": 3}, available, WAREHOUSES, strategy=Strategy.PRIORITY)
    assert shipments(plan) == [("A", "WH-NJ", 1), ("A", "WH-TX", 2)]
    assert plan.reason == "fixed priority: 2 shipments from WH-NJ, WH-TX"
    assert plan.choices[0].reason.startswith("priority 1")


def test_nearest_warehouse_ships_to_the_address_from_the_zone_table() -> None:
    # Given all three warehouses hold the SKU and the customer is in California
    available = {"A": {"WH-NJ": 5, "WH-TX": 5, "WH-NV": 5}}
    # When planning with the nearest strategy
    plan = plan_allocation(
        {"A": 2},
        available,
        WAREHOUSES,
        strategy=Strategy.NEAREST,
        distances=TO_CALIFORNIA,
        destination="US-CA",
    )
    # Then Reno ships it, because it is nearest to California
    assert shipments(plan) == [("A", "WH-NV", 2)]
    assert "zone distance 2 to US-CA" in plan.choices[0].reason


def test_nearest_splits_to_the_next_nearest_when_the_nearest_runs_short() -> None:
    available = {"A": {"WH-NJ": 5, "WH-TX": 1, "WH-NV": 1}}
    plan = plan_allocation(
        {"A": 3},
        available,
        WAREHOUSES,
        strategy=Strategy.NEAREST,
        distances=TO_CALIFORNIA,
        destination="US-CA",
    )
    assert shipments(plan) == [("A", "WH-NV", 1), ("A", "WH-TX", 1), ("A", "WH-NJ", 1)]


def test_shortfall_lists_what_is_available_and_names_every_missing_sku() -> None:
    available = {"A": {"WH-NJ": 1}, "B": {}}
    plan = plan_allocation({"A": 3, "B": 1}, available, WAREHOUSES)
    assert not plan.complete
    assert plan.missing == {"A": 2, "B": 1}
    assert shipments(plan) == [("A", "WH-NJ", 1)]
    assert "A short by 2" in plan.reason
    assert "B short by 1" in plan.reason


def test_demand_merges_lines_of_the_same_sku() -> None:
    assert demand_by_sku([("A", 1), ("B", 2), ("A", 3)]) == {"A": 4, "B": 2}


def test_rules_resolve_customer_over_channel_over_default() -> None:
    # Given a policy with a channel override and a customer override
    policy = AllocationPolicy(
        channels={"woocommerce": RulesOverride(strategy=Strategy.NEAREST, reservation_hold_hours=24)},
        customers={"CUST-1": RulesOverride(strategy=Strategy.PRIORITY)},
    )
    # When rules are resolved
    web = policy.rules_for("woocommerce", "CUST-2")
    key_account = policy.rules_for("woocommerce", "CUST-1")
    other = policy.rules_for("shopify", "CUST-2")
    # Then each level overrides only what it names
    assert (web.strategy, web.reservation_hold_hours) == (Strategy.NEAREST, 24)
    assert (key_account.strategy, key_account.reservation_hold_hours) == (Strategy.PRIORITY, 24)
    assert other == policy.default
    assert other.backorder is BackorderPolicy.HOLD_UNTIL_COMPLETE


def test_zone_lookup_falls_back_from_region_to_country() -> None:
    policy = AllocationPolicy(zones={"US-CA": TO_CALIFORNIA, "US": {"WH-TX": 3}})
    assert policy.distances_to("US", "CA") == ("US-CA", TO_CALIFORNIA)
    assert policy.distances_to("US", "OH") == ("US", {"WH-TX": 3})
    assert policy.distances_to("DE", None) == ("DE", {})


stock = st.dictionaries(
    st.sampled_from(["A", "B", "C", "D"]),
    st.fixed_dictionaries({w.warehouse_id: st.integers(0, 20) for w in WAREHOUSES}),
    min_size=1,
)


@settings(max_examples=200, derandomize=True, deadline=None)  # no timing assertion in a test
@given(available=stock, strategy=st.sampled_from(list(Strategy)), data=st.data())
def test_plan_never_takes_more_than_available_and_accounts_for_every_unit(  # type: ignore[no-untyped-def]
    available, strategy, data
) -> None:
    demand = data.draw(st.dictionaries(st.sampled_from(sorted(available)), st.integers(1, 30), min_size=1))
    plan = plan_allocation(demand, available, WAREHOUSES, strategy=strategy, distances=TO_CALIFORNIA)
    taken: dict[tuple[str, str], int] = {}
    for line in plan.lines:
        assert line.quantity > 0
        taken[(line.sku, line.warehouse_id)] = taken.get((line.sku, line.warehouse_id), 0) + line.quantity
    for (sku, warehouse), quantity in taken.items():
        assert quantity <= available[sku][warehouse]
    for sku, quantity in demand.items():
        planned = sum(q for (s, _), q in taken.items() if s == sku)
        # every unit is either planned or missing, and missing only when the SKU is really short
        assert planned + plan.missing.get(sku, 0) == quantity
        assert plan.missing.get(sku, 0) == max(0, quantity - sum(available[sku].values()))
    assert {c.warehouse_id for c in plan.choices} == {w for (_, w) in taken}
