"""The tax port's local adapters and the rate table: what each calculator expects, and when it holds.
Every expected amount is worked by hand in the comments."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from oms.channels.woocommerce import parse_woocommerce_order
from oms.domain.order import Address, pricing_input_of
from oms.domain.pricing import ItemKind, TaxLevel, TaxLine
from oms.domain.status import HoldReason
from oms.logic.validation import CatalogPrice, PricingPolicy, calculator_for, check_order
from oms.pricing.breakdown import compute_breakdown
from oms.pricing.taxmath import RateSpec, distribute, exact_taxes
from oms.tax.calculators import ChannelCalculator, RateTableCalculator
from oms.tax.policy import TaxPolicy
from oms.tax.port import TaxableItem, TaxRequest
from oms.tax.rates import TABLE_FILE, guess_level, load_rate_table
from tests.events.corpus.build import woo

D = Decimal
TABLE = load_rate_table()
NYC = Address(name="A", line1="1 Main St", city="New York", region="NY", postal_code="10024", country="US")
CT = Address(name="A", line1="1 Main St", city="Hartford", region="CT", postal_code="06103", country="US")
GB = Address(name="A", line1="1 Main St", city="London", postal_code="E9 5LN", country="GB")


def item(
    item_id: str, amount: str, *taxes: tuple[str, str, str, TaxLevel], kind: ItemKind = ItemKind.LINE
) -> TaxableItem:
    lines = [TaxLine(title=t, rate=D(r), amount=D(a), level=level) for t, r, a, level in taxes]
    return TaxableItem(
        item_id=item_id,
        kind=kind,
        description=item_id,
        amount=D(amount),
        channel_taxes=lines,
        channel_tax=sum((t.amount for t in lines), D(0)),
    )


def request(to: Address, *items: TaxableItem, inclusive: bool = False) -> TaxRequest:
    return TaxRequest(
        channel="test", currency="USD", destination=to, prices_include_tax=inclusive, items=list(items)
    )


# --- the table ------------------------------------------------------------------------------------------


def test_the_table_covers_every_state_and_dc_with_its_source_and_date() -> None:
    raw = json.loads(TABLE_FILE.read_text())
    us = [key for key in TABLE.jurisdictions if key.startswith("US-")]
    assert len(us) == 51
    assert "US-DC" in us
    assert raw["version"] == "2025-01-01"
    assert raw["sources"]["us_rates"]["url"].startswith("https://taxfoundation.org/")
    # A few rates from the source, by hand: California 7.25 %, Tennessee 7 %, Colorado 2.9 %, none in Oregon
    assert TABLE.get("US-CA").rate == D("0.0725")  # type: ignore[union-attr]
    assert TABLE.get("US-TN").rate == D("0.07")  # type: ignore[union-attr]
    assert TABLE.get("US-CO").rate == D("0.029")  # type: ignore[union-attr]
    assert TABLE.get("US-OR").rate == 0  # type: ignore[union-attr]
    # 12 states and DC have no local sales taxes
    assert sum(1 for key in us if not TABLE.get(key).local_taxes) == 13  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("CA State Tax", TaxLevel.STATE),
        ("Los Angeles County Tax", TaxLevel.COUNTY),
        ("New York City Tax", TaxLevel.CITY),
        ("Metropolitan Commuter Transportation District", TaxLevel.DISTRICT),
        ("GST", TaxLevel.COUNTRY),
        ("Sales Tax", TaxLevel.COMBINED),
    ],
)
def test_a_tax_lines_level_is_read_from_its_title(title: str, level: TaxLevel) -> None:
    assert guess_level(title) is level


# --- the rate table calculator ----------------------------------------------------------------------------


def test_rate_table_takes_the_channels_local_lines_when_they_are_plausible() -> None:
    # 100.00 to New York City: state 4 % = 4.00, city 4.5 % = 4.50, district 0.375 % = 0.375 -> 0.38
    line = item(
        "line:1",
        "100.00",
        ("NY State Tax", "0.04", "4.00", TaxLevel.STATE),
        ("New York City Tax", "0.045", "4.50", TaxLevel.CITY),
        ("MCTD", "0.00375", "0.38", TaxLevel.DISTRICT),
    )
    quote = RateTableCalculator(TABLE, TaxPolicy()).quote(request(NYC, line))
    assert quote.problems == []
    assert [t.amount for t in quote.items[0].lines] == [D("4.00"), D("4.50"), D("0.38")]


def test_rate_table_refuses_local_lines_where_the_state_has_no_local_taxes() -> None:
    # Connecticut has no local sales taxes: a "Hartford City Tax" is not plausible
    line = item(
        "line:1",
        "100.00",
        ("CT State Tax", "0.0635", "6.35", TaxLevel.STATE),
        ("Hartford City Tax", "0.01", "1.00", TaxLevel.CITY),
    )
    quote = RateTableCalculator(TABLE, TaxPolicy()).quote(request(CT, line))
    assert [p.reason for p in quote.problems] == [HoldReason.TAX_MISMATCH]
    assert "no local sales taxes" in quote.problems[0].message
    assert [t.amount for t in quote.items[0].lines] == [D("6.35")]


def test_rate_table_expects_no_tax_where_the_seller_does_not_collect() -> None:
    line = item("line:1", "100.00")
    quote = RateTableCalculator(TABLE, TaxPolicy(nexus=["US-NJ"])).quote(request(NYC, line))
    assert quote.items[0].lines == []


def test_rate_table_taxes_shipping_as_the_table_or_the_policy_says() -> None:
    shipping = item("shipping:1", "10.00", kind=ItemKind.SHIPPING)
    # New York taxes shipping by the table: 10.00 x 4 % = 0.40
    taxed = RateTableCalculator(TABLE, TaxPolicy()).quote(request(NYC, shipping))
    assert taxed.items[0].total == D("0.40")
    # unless the policy says otherwise for the jurisdiction
    untaxed = RateTableCalculator(TABLE, TaxPolicy(shipping_taxable={"US-NY": False})).quote(
        request(NYC, shipping)
    )
    assert untaxed.items[0].lines == []


def test_rate_table_holds_for_a_jurisdiction_it_does_not_know() -> None:
    nowhere = Address(name="A", line1="1", city="Tokyo", region="13", country="JP")
    quote = RateTableCalculator(TABLE, TaxPolicy()).quote(request(nowhere, item("line:1", "1.00")))
    assert [p.reason for p in quote.problems] == [HoldReason.UNKNOWN_JURISDICTION]


# --- the channel as calculator of record ---------------------------------------------------------------


def test_the_channel_is_trusted_within_the_destinations_range_and_recomputed() -> None:
    # 8.875 % combined in New York (4 % state + up to 9 % local) is plausible;
    # 100.00 x 8.875 % = 8.875 -> 8.88
    good = item("line:1", "100.00", ("Sales Tax", "0.08875", "8.88", TaxLevel.COMBINED))
    quote = ChannelCalculator(TABLE, TaxPolicy()).quote(request(NYC, good))
    assert quote.problems == []
    assert quote.items[0].total == D("8.88")


@pytest.mark.parametrize(
    ("taxes", "message"),
    [
        (
            (("Sales Tax", "0.02", "2.00", TaxLevel.COMBINED),),
            "tax rate 2 % on line:1 is not plausible for US-NY",
        ),
        (
            (("Sales Tax", "0.15", "15.00", TaxLevel.COMBINED),),
            "tax rate 15 % on line:1 is not plausible for US-NY",
        ),
        (
            (("NY State Tax", "0.05", "5.00", TaxLevel.STATE),),
            "NY State Tax 5 % on line:1 is not US-NY's state rate",
        ),
    ],
)
def test_an_implausible_channel_rate_is_held(
    taxes: tuple[tuple[str, str, str, TaxLevel], ...], message: str
) -> None:
    quote = ChannelCalculator(TABLE, TaxPolicy()).quote(request(NYC, item("line:1", "100.00", *taxes)))
    assert [p.reason for p in quote.problems] == [HoldReason.TAX_MISMATCH]
    assert message in quote.problems[0].message


def test_vat_above_the_standard_rate_is_not_plausible_reduced_rates_are() -> None:
    over = ChannelCalculator(TABLE, TaxPolicy()).quote(
        request(GB, item("line:1", "120.00", ("VAT", "0.25", "24.00", TaxLevel.COUNTRY)), inclusive=True)
    )
    reduced = ChannelCalculator(TABLE, TaxPolicy()).quote(
        request(GB, item("line:1", "105.00", ("VAT", "0.05", "5.00", TaxLevel.COUNTRY)), inclusive=True)
    )
    assert over.problems
    assert reduced.problems == []
    # 105.00 includes 5 % VAT: 105.00 x 0.05 / 1.05 = 5.00
    assert reduced.items[0].total == D("5.00")


# --- arithmetic ------------------------------------------------------------------------------------------


def test_compound_tax_is_charged_on_the_amount_plus_the_other_taxes() -> None:
    # 100.00 with 5 % GST and a 9.975 % compound tax on top: 5.00 and (105.00 x 9.975 %) = 10.47375
    exact = exact_taxes(
        D("100.00"), [RateSpec("GST", D("0.05")), RateSpec("QST", D("0.09975"), True)], inclusive=False
    )
    assert exact == [D("5.0000"), D("10.4737500")]


def test_an_order_level_rounding_is_spread_with_every_part_within_a_cent() -> None:
    # 0.53 over three parts of 0.1766125 each: 0.18, 0.18, 0.17
    assert distribute(D("0.53"), [D("0.1766125")] * 3, "USD") == [D("0.18"), D("0.18"), D("0.17")]


def test_woocommerce_rounding_at_subtotal_level_is_held_unless_the_policy_says_so() -> None:
    # Given a WooCommerce store that rounds tax at subtotal level: three 1.99 lines at 8.875 % are 0.1766125
    # each (0.18 shown per line), and the order's tax is 0.5298375 rounded once: 0.53, total 5.97 + 0.53
    payload = woo(
        4950,
        [
            ("ELC-A", 1, "1.99", "0.00"),
            ("ELC-B", 1, "1.99", "0.00"),
            ("ELC-C", 1, "1.99", "0.00"),
        ],
        rates=[(3, "Sales Tax", "8.875")],
        state="NY",
        shipping=None,
    )
    for line in payload["line_items"]:
        line["taxes"][0]["total"] = "0.1766125"
    payload["tax_lines"][0]["tax_total"] = "0.53"
    payload.update(cart_tax="0.53", total_tax="0.53", total="6.50")
    order = parse_woocommerce_order(json.loads(json.dumps(payload), parse_float=D))
    catalog = {sku: CatalogPrice(D("1.99"), "USD") for sku in ("ELC-A", "ELC-B", "ELC-C")}

    def check(rounding: str | None) -> object:
        policy = PricingPolicy(tax={"default": TaxPolicy(calculator="channel", rounding=rounding)})  # type: ignore[arg-type]
        return check_order(
            pricing=pricing_input_of(order),
            channel="woocommerce",
            destination=order.shipping_address,
            catalog=catalog,
            policy=policy,
            calculator=calculator_for("woocommerce", policy),
        )

    # When checked as a store that rounds per line, the difference is named
    per_line = check(None)
    assert per_line.hold_reason is HoldReason.TAX_MISMATCH  # type: ignore[attr-defined]
    assert "tax total 0.53 sent, the tax lines add up to 0.54" in per_line.detail  # type: ignore[attr-defined]
    # And with the store's setting in the policy it passes, its invoice spreading the rounding over the lines
    per_order = check("order")
    assert per_order.hold_reason is None, per_order.detail  # type: ignore[attr-defined]
    breakdown = compute_breakdown(per_order.resolved)  # type: ignore[attr-defined]
    assert [line.tax for line in breakdown.lines] == [D("0.18"), D("0.18"), D("0.17")]
    assert (breakdown.tax_total, breakdown.grand_total) == (D("0.53"), D("6.50"))
