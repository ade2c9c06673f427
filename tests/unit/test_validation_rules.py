"""Price, tax and total checks: each failure is a hold with a machine-readable reason, never a rejection."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.status import HoldReason
from oms.domain.tax import line_tax
from oms.logic.validation import CatalogPrice, LineFacts, PricingPolicy, ValidationResult, check_order

D = Decimal
CATALOG = {
    "ELC-A": CatalogPrice(D("19.99"), "USD"),
    "ELC-B": CatalogPrice(D("249.00"), "USD"),
    "ELC-C": CatalogPrice(D("267.75"), "USD"),
}
POLICY = PricingPolicy(
    price_tolerance=D("0.01"), max_discount_percent={"RETAIL": D("15"), "DEFAULT": D("10")}
)
NO_SHIPPING = D("0")


def _check(
    lines: list[LineFacts],
    *,
    tax: Decimal,
    total: Decimal,
    shipping: Decimal = NO_SHIPPING,
    jur: str = "US-CA",
    policy: PricingPolicy = POLICY,
    tier: str = "DEFAULT",
) -> ValidationResult:
    return check_order(
        currency="USD",
        jurisdiction=jur,
        lines=lines,
        shipping_total=shipping,
        tax_total=tax,
        grand_total=total,
        catalog=CATALOG,
        policy=policy,
        customer_tier=tier,
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
        policy=POLICY,
    )
    assert result.hold_reason is HoldReason.CURRENCY_MISMATCH


@settings(max_examples=150, derandomize=True, deadline=None)  # no timing assertion in a test
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
    # Then the validator agrees to the cent (under a policy that allows any discount)
    generous = PricingPolicy(max_discount_percent={"DEFAULT": D("100")})
    assert _check(lines, tax=tax, total=total, shipping=shipping, policy=generous).hold_reason is None


def test_a_discount_over_the_customers_tier_limit_is_held_and_within_it_passes() -> None:
    # Given 2 x 249.00 with 60.00 off (12.05 %): over DEFAULT's 10 %, within RETAIL's 15 %
    lines = [LineFacts("1", "ELC-B", 2, D("249.00"), D("60.00"))]
    tax = line_tax(D("438.00"), D("0.0725"), "USD")
    total = D("438.00") + tax
    # When a guest (DEFAULT) and a RETAIL account order it
    guest = _check(lines, tax=tax, total=total)
    retail = _check(lines, tax=tax, total=total, tier="RETAIL")
    # Then the guest's order is held with the numbers, the account's passes
    assert guest.hold_reason is HoldReason.DISCOUNT_OVER_POLICY
    assert "12.05% of 498.00; at most 10% for DEFAULT customers" in guest.detail
    assert retail.hold_reason is None


def test_an_unknown_tier_falls_back_to_the_default_limit() -> None:
    assert POLICY.discount_limit("WHOLESALE") == D("10")
    assert PricingPolicy(max_discount_percent={}).discount_limit("X") == D("0")


def test_the_discount_limit_is_rounded_to_the_cent_like_the_channels_allocation() -> None:
    # Given 10 % off 267.75 is 26.775: the channel allocates 26.78 (10.002 %), at a 10 % limit
    def order_with(discount: str) -> ValidationResult:
        lines = [LineFacts("1", "ELC-C", 1, D("267.75"), D(discount))]
        net = D("267.75") - D(discount)
        tax = line_tax(net, D("0.0725"), "USD")
        return _check(lines, tax=tax, total=net + tax)

    # Then 26.78 is within the policy and one cent more is not
    assert order_with("26.78").hold_reason is None
    assert order_with("26.79").hold_reason is HoldReason.DISCOUNT_OVER_POLICY
