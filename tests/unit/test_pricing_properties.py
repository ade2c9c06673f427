"""Property: for any consistent channel order (random lines, discounts, shipping, fees, tax rates,
tax-inclusive or exclusive prices), the OMS finds nothing to hold, the invoice total equals the channel's
total and the tax per jurisdiction adds up to the tax total.

The orders are built in Shopify's and WooCommerce's real shapes by the channels' own arithmetic
(`tests.events.corpus.build`, independent of `oms.pricing`); the expected totals are the ones the channel
wrote into the payload.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from oms.channels.shopify import parse_shopify_order
from oms.channels.woocommerce import parse_woocommerce_order
from oms.data.models import InvoiceRecord
from oms.data.orders import new_order_record
from oms.domain.order import CanonicalOrder, pricing_input_of
from oms.logic.invoicing import SellerProfile, invoice_document
from oms.logic.validation import CatalogPrice, PricingPolicy, calculator_for, check_order
from oms.money import ZERO
from oms.pricing.breakdown import compute_breakdown
from oms.tax.policy import TaxPolicy
from tests.events.corpus.build import across_fixed, across_percentage, shopify, woo

D = Decimal
SKUS = ["ELC-A", "ELC-B", "ELC-C", "ELC-D", "ELC-E", "ELC-F"]
NY = {"province_code": "NY", "province": "New York", "city": "New York", "zip": "10024", "country_code": "US"}
LOCALS = [("New York City Tax", "0.045"), ("Metropolitan Commuter Transportation District", "0.00375")]
SELLER = SellerProfile(name="Voltline", address_lines=["1 Way"], tax_id="EIN 1")
POLICY = PricingPolicy(
    max_discount_percent={"DEFAULT": D(100)},
    tax={"default": TaxPolicy(calculator="channel")},
)

prices = st.integers(min_value=1, max_value=50_000).map(lambda cents: f"{D(cents).scaleb(-2):.2f}")
lines_strategy = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(min_value=1, max_value=20), prices),
    min_size=1,
    max_size=6,
    unique_by=lambda line: line[0],
)


def _parse(channel: str, payload: dict[str, Any]) -> CanonicalOrder:
    body = json.loads(json.dumps(payload), parse_float=D)
    return parse_shopify_order(body) if channel == "shopify" else parse_woocommerce_order(body)


def _invoiced(order: CanonicalOrder) -> tuple[Any, Any]:
    catalog = {}
    for line in order.lines:
        price = line.unit_price
        if order.prices_include_tax and line.taxes:
            price = (price / (1 + sum((t.rate or ZERO for t in line.taxes), ZERO))).quantize(D("0.01"))
        catalog[line.sku] = CatalogPrice(price, order.currency)
    result = check_order(
        pricing=pricing_input_of(order),
        channel=order.channel,
        destination=order.shipping_address,
        catalog=catalog,
        policy=POLICY,
        calculator=calculator_for(order.channel, POLICY),
    )
    assert result.hold_reason is None, result.detail
    assert result.resolved is not None
    now = datetime(2026, 11, 3, tzinfo=UTC)
    record = new_order_record(order, now)
    invoice = InvoiceRecord(order.order_id, invoice_number="INV-2026-0000001", issued_at=now)
    document = invoice_document(
        compute_breakdown(result.resolved), record=record, invoice=invoice, seller=SELLER, terms_days=0
    )
    return result, document


@settings(max_examples=120, derandomize=True, deadline=None)
@given(
    lines=lines_strategy,
    discount=st.sampled_from(["none", "percent", "fixed"]),
    percent=st.integers(min_value=1, max_value=30),
    shipping=st.one_of(st.none(), prices.filter(lambda p: D(p) < 80)),
    shipping_taxed=st.booleans(),
    locals_=st.integers(min_value=0, max_value=2),
    inclusive=st.booleans(),
)
def test_any_consistent_shopify_order_is_invoiced_at_the_channels_total(
    lines: list[tuple[str, int, str]],
    discount: str,
    percent: int,
    shipping: str | None,
    shipping_taxed: bool,
    locals_: int,
    inclusive: bool,
) -> None:
    # Given a Shopify order to New York City: state tax and some local lines, or a UK shop's VAT inclusive
    if inclusive:
        rates = [("VAT", "0.20")]
        address = {"province_code": "", "city": "London", "zip": "E9 5LN", "country_code": "GB"}
    else:
        rates = [("NY State Tax", "0.04"), *LOCALS[:locals_]]
        address = NY
    applications: list[dict[str, Any]] = []
    allocations: dict[int, list[tuple[int, str]]] = {}
    gross = sum((D(p) * q for _, q, p in lines), ZERO)
    if discount == "percent":
        applications = [
            {
                "type": "discount_code",
                "code": "PCT",
                "value": str(percent),
                "value_type": "percentage",
                "allocation_method": "across",
                "target_selection": "all",
                "target_type": "line_item",
            }
        ]
        allocations = across_percentage(lines, str(percent))
    elif discount == "fixed" and gross > 10:
        applications = [
            {
                "type": "automatic",
                "title": "Promo",
                "value": "10.00",
                "value_type": "fixed_amount",
                "allocation_method": "across",
                "target_selection": "all",
                "target_type": "line_item",
            }
        ]
        allocations = across_fixed(lines, "10.00")
    payload = shopify(
        7200000000001,
        lines,
        rates=rates,
        address=address,
        applications=applications,
        allocations=allocations,
        shipping=("Ground", shipping) if shipping else None,
        shipping_taxed=shipping_taxed,
        taxes_included=inclusive,
        currency="GBP" if inclusive else "USD",
    )
    # When the OMS reads, checks and invoices it
    _, invoice = _invoiced(_parse("shopify", payload))
    # Then the invoice total is the channel's and the tax per jurisdiction adds up to the tax total
    assert invoice.grand_total == D(payload["total_price"])
    assert invoice.tax_total == D(payload["total_tax"])
    assert sum((t.amount for t in invoice.taxes), ZERO) == invoice.tax_total


fees_strategy = st.lists(
    st.tuples(
        st.sampled_from(["COD", "Handling", "Credit"]),
        st.integers(min_value=-2_000, max_value=2_000),
        st.booleans(),
    ),
    max_size=2,
    unique_by=lambda fee: fee[0],
)


@settings(max_examples=120, derandomize=True, deadline=None)
@given(
    lines=lines_strategy,
    discount_percent=st.integers(min_value=0, max_value=20),
    coupons=st.integers(min_value=1, max_value=2),
    shipping=st.one_of(st.none(), prices.filter(lambda p: D(p) < 80)),
    shipping_taxed=st.booleans(),
    fees=fees_strategy,
    rates_count=st.integers(min_value=1, max_value=3),
    inclusive=st.booleans(),
)
def test_any_consistent_woocommerce_order_is_invoiced_at_the_channels_total(
    lines: list[tuple[str, int, str]],
    discount_percent: int,
    coupons: int,
    shipping: str | None,
    shipping_taxed: bool,
    fees: list[tuple[str, int, bool]],
    rates_count: int,
    inclusive: bool,
) -> None:
    # Given a WooCommerce order with coupons, fees (some negative, some taxed) and one to three tax rates
    woo_lines = [
        (sku, quantity, price, f"{(D(price) * quantity * discount_percent / 100).quantize(D('0.01')):.2f}")
        for sku, quantity, price in lines
    ]
    rates = [(3, "NY State Tax", "4"), (4, "New York City Tax", "4.5"), (5, "MCTD", "0.375")][:rates_count]
    if inclusive:
        rates = [(31, "VAT", "20")]
    payload = woo(
        4900,
        woo_lines,
        rates=rates,
        state="" if inclusive else "NY",
        city="London" if inclusive else "New York",
        postcode="E9 5LN" if inclusive else "10024",
        country="GB" if inclusive else "US",
        shipping=("Flat rate", shipping) if shipping else None,
        shipping_taxed=shipping_taxed,
        fees=[(name, f"{D(cents).scaleb(-2):.2f}", taxable) for name, cents, taxable in fees],
        prices_include_tax=inclusive,
        currency="GBP" if inclusive else "USD",
    )
    # a negative fee larger than the order (or its tax) is no order
    assume(D(payload["total"]) >= 0 and D(payload["total_tax"]) >= 0)
    total_discount_ex = D(payload["discount_total"])
    if total_discount_ex:
        # The discount comes from one or two coupons, their amounts adding up to the order's discount
        first = (total_discount_ex / coupons).quantize(D("0.01"))
        shares = [first, total_discount_ex - first][:coupons] if coupons == 2 else [total_discount_ex]
        tax = D(payload["discount_tax"])
        tax_first = (tax / coupons).quantize(D("0.01")) if coupons == 2 else tax
        taxes = [tax_first, tax - tax_first] if coupons == 2 else [tax]
        payload["coupon_lines"] = [
            {
                "id": 100 + i,
                "code": f"C{i}",
                "discount": f"{s:.2f}",
                "discount_tax": f"{t:.2f}",
                "meta_data": [],
            }
            for i, (s, t) in enumerate(zip(shares, taxes, strict=True))
        ]
    # When the OMS reads, checks and invoices it
    _, invoice = _invoiced(_parse("woocommerce", payload))
    # Then the invoice total is the channel's and the tax per jurisdiction adds up to the tax total
    assert invoice.grand_total == D(payload["total"])
    assert invoice.tax_total == D(payload["total_tax"])
    assert sum((t.amount for t in invoice.taxes), ZERO) == invoice.tax_total
