"""Price, discount, tax and total checks: each failure is a hold with a machine-readable reason that names
the component and the amounts, never a rejection. Expected amounts are worked by hand in the comments."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.order import Address, OrderLine, PricingInput
from oms.domain.pricing import ChannelTotals, Charge, DiscountAllocation, OrderDiscount, TaxLevel, TaxLine
from oms.domain.status import HoldReason
from oms.logic.validation import CatalogPrice, PricingPolicy, ValidationResult, calculator_for, check_order
from oms.tax.policy import TaxPolicy
from oms.tax.rates import load_rate_table
from tests.support.channel_math import half_up

D = Decimal
CATALOG = {
    "ELC-A": CatalogPrice(D("19.99"), "USD"),
    "ELC-B": CatalogPrice(D("249.00"), "USD"),
    "ELC-C": CatalogPrice(D("267.75"), "USD"),
}
POLICY = PricingPolicy(
    price_tolerance=D("0.01"),
    max_discount_percent={"RETAIL": D("15"), "DEFAULT": D("10")},
    tax={"default": TaxPolicy(calculator="rate_table")},
)
CA = Address(name="A", line1="1 Main St", city="Oakland", region="CA", postal_code="94607", country="US")


def ca_tax(amount: str) -> list[TaxLine]:
    return [TaxLine(title="CA State Tax", rate=D("0.0725"), amount=D(amount), level=TaxLevel.STATE)]


def line(
    line_id: str, sku: str, qty: int, price: str, discount: str = "0", tax: str = "0", **extra: object
) -> OrderLine:
    return OrderLine(
        line_id=line_id,
        sku=sku,
        name=sku,
        quantity=qty,
        unit_price=D(price),
        discount=D(discount),
        tax=D(tax),
        **extra,  # type: ignore[arg-type]
    )


def pricing(
    lines: list[OrderLine], *, tax: str, total: str, shipping: str = "0", **extra: object
) -> PricingInput:
    return PricingInput(
        currency="USD",
        lines=lines,
        shipping_lines=[Charge(charge_id="s1", title="UPS Ground", amount=D(shipping))]
        if D(shipping)
        else [],
        shipping_total=D(shipping),
        tax_total=D(tax),
        grand_total=D(total),
        **extra,  # type: ignore[arg-type]
    )


def check(
    p: PricingInput,
    *,
    to: Address = CA,
    policy: PricingPolicy = POLICY,
    tier: str = "DEFAULT",
    channel: str = "shopify",
) -> ValidationResult:
    return check_order(
        pricing=p,
        channel=channel,
        destination=to,
        catalog=CATALOG,
        policy=policy,
        calculator=calculator_for(channel, policy),
        customer_tier=tier,
    )


def test_consistent_order_passes_with_the_computed_tax() -> None:
    # Given 3 x 19.99 with 5.00 discount (net 54.97) and 1 x 249.00 shipped to California (7.25 %):
    # tax 54.97 x 0.0725 = 3.985 -> 3.99 and 249.00 x 0.0725 = 18.0525 -> 18.05, 22.04 in all
    p = pricing(
        [line("1", "ELC-A", 3, "19.99", "5.00", "3.99"), line("2", "ELC-B", 1, "249.00", tax="18.05")],
        tax="22.04",
        total="336.00",  # 54.97 + 249.00 + 9.99 + 22.04
        shipping="9.99",
    )
    result = check(p)
    assert result.hold_reason is None, result.detail
    assert result.computed_tax_total == D("22.04")
    # And the lines' tax, stated as amounts only, is itemized as California's state tax
    assert result.resolved is not None
    assert [(t.title, t.rate, t.amount) for t in result.resolved.lines[1].taxes] == [
        ("CA State Tax", D("0.0725"), D("18.05"))
    ]


def test_unknown_sku_is_held() -> None:
    result = check(pricing([line("1", "NOPE", 1, "1.00", tax="0.07")], tax="0.07", total="1.07"))
    assert result.hold_reason is HoldReason.UNKNOWN_SKU
    assert "NOPE" in result.detail


def test_price_outside_tolerance_is_held_inside_is_not() -> None:
    inside = check(pricing([line("1", "ELC-A", 1, "20.00", tax="1.45")], tax="1.45", total="21.45"))
    outside = check(pricing([line("1", "ELC-A", 1, "18.99", tax="1.38")], tax="1.38", total="20.37"))
    assert inside.hold_reason is None, inside.detail
    assert outside.hold_reason is HoldReason.PRICE_MISMATCH


def test_tax_off_by_one_cent_is_held_with_the_line_and_the_amounts() -> None:
    # 249.00 x 0.0725 = 18.0525 -> 18.05, the channel sent 18.06
    result = check(pricing([line("2", "ELC-B", 1, "249.00", tax="18.06")], tax="18.06", total="267.06"))
    assert result.hold_reason is HoldReason.TAX_MISMATCH
    assert result.computed_tax_total == D("18.05")
    assert "tax on line 2 (ELC-B) 18.05 expected (CA State Tax 7.25 %), 18.06 sent" in result.detail


def test_total_that_does_not_add_up_is_held_with_the_components() -> None:
    result = check(pricing([line("1", "ELC-B", 1, "249.00", tax="18.05")], tax="18.05", total="300.00"))
    assert result.hold_reason is HoldReason.TOTAL_MISMATCH
    assert "total 300.00 sent, the components add up to 267.05" in result.detail


def test_unknown_jurisdiction_is_held() -> None:
    nowhere = Address(name="A", line1="1 Main St", city="X", country="ZZ")
    result = check(pricing([line("1", "ELC-B", 1, "249.00")], tax="0", total="249.00"), to=nowhere)
    assert result.hold_reason is HoldReason.UNKNOWN_JURISDICTION


def test_catalog_currency_must_match() -> None:
    p = pricing([line("1", "ELC-A", 1, "19.99", tax="3.80")], tax="3.80", total="23.79")
    result = check(p.model_copy(update={"currency": "EUR"}))
    assert result.hold_reason is HoldReason.CURRENCY_MISMATCH


def test_a_discount_code_not_reflected_in_the_lines_is_held_naming_the_code_and_amount() -> None:
    # Given a Shopify-like order declaring TENOFF 10.00 whose line carries no discount
    p = pricing(
        [line("1", "ELC-B", 1, "249.00", tax="18.05")],
        tax="18.05",
        total="257.05",  # what the channel charged: 249.00 - 10.00 + 18.05
        discounts=[OrderDiscount(key="TENOFF", code="TENOFF", amount=D("10.00"))],
    )
    result = check(p)
    assert result.hold_reason is HoldReason.DISCOUNT_MISMATCH
    assert "discount TENOFF 10.00 is not reflected in the line totals (0.00 allocated)" in result.detail


def test_a_discount_allocated_to_the_lines_passes_and_is_shown_per_code() -> None:
    # 249.00 - 10.00 = 239.00; 239.00 x 0.0725 = 17.3275 -> 17.33
    p = pricing(
        [
            line(
                "1",
                "ELC-B",
                1,
                "249.00",
                "10.00",
                "17.33",
                discounts=[DiscountAllocation(discount="TENOFF", amount=D("10.00"))],
            )
        ],
        tax="17.33",
        total="256.33",
        discounts=[OrderDiscount(key="TENOFF", code="TENOFF", amount=D("10.00"))],
    )
    assert check(p).hold_reason is None


def test_shipping_tax_is_expected_where_the_state_taxes_shipping() -> None:
    # New York taxes shipping (the table's common case): 14.99 x 0.04 = 0.5996 -> 0.60 at the state rate
    ny = Address(name="A", line1="17 Lark St", city="Albany", region="NY", postal_code="12210", country="US")
    # 249.00 x 0.04 = 9.96
    p = pricing([line("1", "ELC-B", 1, "249.00", tax="9.96")], tax="9.96", total="273.95", shipping="14.99")
    result = check(p, to=ny)
    assert result.hold_reason is HoldReason.TAX_MISMATCH
    assert "shipping tax 0.60 expected (NY State Tax 4 %), 0.00 sent" in result.detail


def test_shipping_tax_stated_by_the_channel_must_be_on_the_shipping_lines() -> None:
    p = pricing(
        [line("1", "ELC-B", 1, "249.00", tax="18.05")],
        tax="18.05",
        total="267.05",
        channel_totals=ChannelTotals(shipping_tax=D("0.72")),
    )
    result = check(p)
    assert result.hold_reason is HoldReason.TAX_MISMATCH
    assert "shipping tax 0.72 sent, the shipping lines carry 0.00" in result.detail


@pytest.mark.parametrize(
    "jurisdiction", sorted(k for k in load_rate_table().jurisdictions if k.startswith("US-"))
)
def test_an_order_to_every_state_and_dc_is_priced_not_held(jurisdiction: str) -> None:
    # Given an order to each of the 50 states and DC, taxed at the state's rate as the table gives it
    region = jurisdiction.split("-")[1]
    to = Address(
        name="A", line1="1 Main St", city="Capital", region=region, postal_code="00000", country="US"
    )
    rate = load_rate_table().jurisdictions[jurisdiction].rate
    tax = half_up(D("249.00") * rate)
    p = pricing([line("1", "ELC-B", 1, "249.00", tax=str(tax))], tax=str(tax), total=str(D("249.00") + tax))
    # When it is checked with the rate table
    result = check(p, to=to)
    # Then it is priced
    assert result.hold_reason is None, result.detail


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    quantities=st.lists(
        st.tuples(st.sampled_from(sorted(CATALOG)), st.integers(1, 50), st.integers(0, 500)),
        min_size=1,
        max_size=8,
    ),
    shipping=st.sampled_from([D("0"), D("9.99"), D("14.99")]),
)
def test_any_order_built_by_the_rules_passes(quantities, shipping) -> None:  # type: ignore[no-untyped-def]
    # Given lines whose discount never exceeds the line amount, with California's tax computed per line
    # half-up by the channel's own arithmetic (tests.support.channel_math)
    lines = []
    for i, (sku, qty, discount_cents) in enumerate(quantities):
        gross = CATALOG[sku].unit_price * qty
        discount = min(D(discount_cents) / 100, gross)
        tax = half_up((gross - discount) * D("0.0725"))
        lines.append(line(str(i), sku, qty, str(CATALOG[sku].unit_price), str(discount), str(tax)))
    tax_total = sum((x.tax for x in lines), D("0"))
    total = sum((x.net_amount for x in lines), D("0")) + shipping + tax_total
    # Then the validator agrees to the cent (under a policy that allows any discount)
    generous = POLICY.model_copy(update={"max_discount_percent": {"DEFAULT": D("100")}})
    p = pricing(lines, tax=str(tax_total), total=str(total), shipping=str(shipping))
    assert check(p, policy=generous).hold_reason is None


def test_a_discount_over_the_customers_tier_limit_is_held_and_within_it_passes() -> None:
    # Given 2 x 249.00 with 60.00 off (12.05 %): over DEFAULT's 10 %, within RETAIL's 15 %;
    # 438.00 x 0.0725 = 31.755 -> 31.76
    p = pricing([line("1", "ELC-B", 2, "249.00", "60.00", "31.76")], tax="31.76", total="469.76")
    # When a guest (DEFAULT) and a RETAIL account order it
    guest = check(p)
    retail = check(p, tier="RETAIL")
    # Then the guest's order is held with the numbers, the account's passes
    assert guest.hold_reason is HoldReason.DISCOUNT_OVER_POLICY
    assert "12.05% of 498.00; at most 10% for DEFAULT customers" in guest.detail
    assert retail.hold_reason is None, retail.detail


def test_an_unknown_tier_falls_back_to_the_default_limit() -> None:
    assert POLICY.discount_limit("WHOLESALE") == D("10")
    assert PricingPolicy(max_discount_percent={}).discount_limit("X") == D("0")


def test_the_discount_limit_is_rounded_to_the_cent_like_the_channels_allocation() -> None:
    # Given 10 % off 267.75 is 26.775: the channel allocates 26.78 (10.002 %), at a 10 % limit
    def order_with(discount: str, tax: str) -> ValidationResult:
        net = D("267.75") - D(discount)
        return check(
            pricing([line("1", "ELC-C", 1, "267.75", discount, tax)], tax=tax, total=str(net + D(tax)))
        )

    # 240.97 x 0.0725 = 17.470325 -> 17.47; 240.96 x 0.0725 = 17.4696 -> 17.47
    assert order_with("26.78", "17.47").hold_reason is None
    assert order_with("26.79", "17.47").hold_reason is HoldReason.DISCOUNT_OVER_POLICY
