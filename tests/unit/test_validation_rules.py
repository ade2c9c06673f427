"""Price, tax and total checks: each failure is a hold with a machine-readable reason, never a rejection."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.status import HoldReason
from oms.domain.tax import line_tax
from oms.logic.validation import CatalogPrice, LineFacts, ValidationResult, check_order

D = Decimal
CATALOG = {"ELC-A": CatalogPrice(D("19.99"), "USD"), "ELC-B": CatalogPrice(D("249.00"), "USD")}
TOL = D("0.01")
NO_SHIPPING = D("0")


def _check(
    lines: list[LineFacts],
    *,
    tax: Decimal,
    total: Decimal,
    shipping: Decimal = NO_SHIPPING,
    jur: str = "US-CA",
) -> ValidationResult:
    return check_order(
        currency="USD",
        jurisdiction=jur,
        lines=lines,
        shipping_total=shipping,
        tax_total=tax,
        grand_total=total,
        catalog=CATALOG,
        price_tolerance=TOL,
    )


def test_consistent_order_passes_with_the_computed_tax() -> None:
    # Given 3 x 19.99 with 5.00 discount and 1 x 249.00 shipped to California (7.25%)
    lines = [
        LineFacts("1", "ELC-A", 3, D("19.99"), D("5.00")),
        LineFacts("2", "ELC-B", 1, D("249.00"), D("0")),
    ]
    tax = line_tax(D("54.97"), D("0.0725"), "USD") + line_tax(D("249.00"), D("0.0725"), "USD")
    # When checked
    result = _check(lines, tax=tax, total=D("54.97") + D("249.00") + D("9.99") + tax, shipping=D("9.99"))
    # Then it passes
    assert result.hold_reason is None
    assert result.computed_tax_total == tax == D("22.04")


def test_unknown_sku_is_held() -> None:
    result = _check([LineFacts("1", "NOPE", 1, D("1.00"), D("0"))], tax=D("0.07"), total=D("1.07"))
    assert result.hold_reason is HoldReason.UNKNOWN_SKU
    assert "NOPE" in result.detail


def test_price_outside_tolerance_is_held_inside_is_not() -> None:
    inside = _check([LineFacts("1", "ELC-A", 1, D("20.00"), D("0"))], tax=D("1.45"), total=D("21.45"))
    outside = _check([LineFacts("1", "ELC-A", 1, D("18.99"), D("0"))], tax=D("1.38"), total=D("20.37"))
    assert inside.hold_reason is None
    assert outside.hold_reason is HoldReason.PRICE_MISMATCH


def test_tax_off_by_one_cent_is_held() -> None:
    result = _check([LineFacts("1", "ELC-B", 1, D("249.00"), D("0"))], tax=D("18.06"), total=D("267.06"))
    assert result.hold_reason is HoldReason.TAX_MISMATCH
    assert result.computed_tax_total == D("18.05")


def test_total_that_does_not_add_up_is_held() -> None:
    result = _check([LineFacts("1", "ELC-B", 1, D("249.00"), D("0"))], tax=D("18.05"), total=D("300.00"))
    assert result.hold_reason is HoldReason.TOTAL_MISMATCH


def test_unknown_jurisdiction_is_held() -> None:
    result = _check(
        [LineFacts("1", "ELC-B", 1, D("249.00"), D("0"))], tax=D("0"), total=D("249.00"), jur="ZZ"
    )
    assert result.hold_reason is HoldReason.UNKNOWN_JURISDICTION


def test_catalog_currency_must_match() -> None:
    result = check_order(
        currency="EUR",
        jurisdiction="DE",
        lines=[LineFacts("1", "ELC-A", 1, D("19.99"), D("0"))],
        shipping_total=D("0"),
        tax_total=D("3.80"),
        grand_total=D("23.79"),
        catalog=CATALOG,
        price_tolerance=TOL,
    )
    assert result.hold_reason is HoldReason.CURRENCY_MISMATCH


@settings(max_examples=150, derandomize=True)
@given(
    quantities=st.lists(
        st.tuples(st.sampled_from(sorted(CATALOG)), st.integers(1, 50), st.integers(0, 500)),
        min_size=1,
        max_size=8,
    ),
    shipping=st.sampled_from([D("0"), D("9.99"), D("14.99")]),
)
def test_any_order_built_by_the_rules_passes(quantities, shipping) -> None:  # type: ignore[no-untyped-def]
    # Given lines whose discount never exceeds the line amount, with tax computed per line by the rule
    lines = []
    for i, (sku, qty, discount_cents) in enumerate(quantities):
        gross = CATALOG[sku].unit_price * qty
        discount = min(D(discount_cents) / 100, gross)
        lines.append(LineFacts(str(i), sku, qty, CATALOG[sku].unit_price, discount))
    tax = sum((line_tax(l.unit_price * l.quantity - l.discount, D("0.0725"), "USD") for l in lines), D("0"))  # noqa: E741
    total = sum((l.unit_price * l.quantity - l.discount for l in lines), D("0")) + shipping + tax  # noqa: E741
    # Then the validator agrees to the cent
    assert _check(lines, tax=tax, total=total, shipping=shipping).hold_reason is None
