"""Ship what is available, backorder the rest: the split of an order's lines and money is exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.logic.backorder_split import LineMoney, backorder_order_id, split_lines, totals_of

CENT = Decimal("0.01")


def line(line_id: str, sku: str, quantity: int, price: str, discount: str = "0", tax: str = "0") -> LineMoney:
    return LineMoney(
        line_id=line_id,
        sku=sku,
        name=sku,
        quantity=quantity,
        unit_price=Decimal(price),
        discount=Decimal(discount),
        tax=Decimal(tax),
    )


def test_the_missing_units_move_to_the_child_with_their_share_of_discount_and_tax() -> None:
    # Given a line of 3 units with a discount and tax, and a line of another SKU
    lines = [line("1", "A", 3, "10.00", discount="1.00", tax="2.00"), line("2", "B", 1, "5.00", tax="0.41")]
    # When 2 units of A are missing
    split = split_lines(lines, {"A": 2}, "USD")
    # Then the child gets 2 units with two thirds of the discount and tax, rounded to the cent
    assert split.backordered == (line("1-bo", "A", 2, "10.00", discount="0.67", tax="1.33"),)
    # And the parent keeps the rest, so that parent + child equal the original
    assert split.ships_now == (line("1", "A", 1, "10.00", discount="0.33", tax="0.67"), lines[1])


def test_whole_lines_move_when_all_their_units_are_missing() -> None:
    lines = [line("1", "A", 2, "10.00"), line("2", "A", 1, "10.00"), line("3", "B", 1, "5.00")]
    split = split_lines(lines, {"A": 2}, "USD")
    # the SKU's last lines go first: line 2 entirely, then one unit of line 1
    assert [(x.line_id, x.quantity) for x in split.backordered] == [("1-bo", 1), ("2-bo", 1)]
    assert [(x.line_id, x.quantity) for x in split.ships_now] == [("1", 1), ("3", 1)]


def test_more_missing_than_ordered_is_refused() -> None:
    with pytest.raises(ValueError, match="more than was ordered"):
        split_lines([line("1", "A", 1, "10.00")], {"A": 2}, "USD")


def test_the_child_id_is_derived_from_the_parent_and_fits_the_order_id_format() -> None:
    child = backorder_order_id("ord_0123456789abcdef01234567")
    assert child == backorder_order_id("ord_0123456789abcdef01234567")
    assert child.startswith("ord_")
    assert len(child) == 28


money = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)
lines_strategy = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(1, 9), money, money, money),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, derandomize=True, deadline=None)  # no timing assertion in a test
@given(raw=lines_strategy, data=st.data())
def test_parent_plus_child_equals_the_original_to_the_cent(raw, data) -> None:  # type: ignore[no-untyped-def]
    lines = [
        line(str(i), sku, q, str(price), str(min(discount, price * q)), str(tax))
        for i, (sku, q, price, discount, tax) in enumerate(raw)
    ]
    ordered: dict[str, int] = {}
    for x in lines:
        ordered[x.sku] = ordered.get(x.sku, 0) + x.quantity
    missing = {sku: data.draw(st.integers(0, q)) for sku, q in ordered.items()}
    split = split_lines(lines, missing, "USD")
    both = split.ships_now + split.backordered
    # every unit is in exactly one part, the child holds exactly what is missing
    for sku, quantity in ordered.items():
        assert sum(x.quantity for x in both if x.sku == sku) == quantity
        assert sum(x.quantity for x in split.backordered if x.sku == sku) == missing[sku]
    # money: each total of parent + child equals the original's, and every amount is whole cents, >= 0
    original, parent, child = totals_of(lines), totals_of(split.ships_now), totals_of(split.backordered)
    for name, amount in original.items():
        assert parent[name] + child[name] == amount
    for x in both:
        assert x.quantity > 0
        assert min(x.discount, x.tax) >= 0
        assert x.discount == x.discount.quantize(CENT)
        assert x.tax == x.tax.quantize(CENT)
