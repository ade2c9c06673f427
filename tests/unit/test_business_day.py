"""The synthetic business day: deterministic, realistic and parseable, with labelled problem orders."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from demo.business_day import (
    DISCOUNT_CODE,
    UNKNOWN_PRODUCT,
    ShopifyDelivery,
    generate_shopify_orders,
    sign_delivery,
)
from demo.reference_data import (
    CATALOG,
    CUSTOMERS,
    CUSTOMERS_BY_ID,
    PRODUCTS,
    STOCK,
    WAREHOUSES,
    channel_tax_lines,
)
from oms.channels.shopify import parse_shopify_order
from oms.channels.signatures import verify_shopify
from oms.domain.status import HoldReason
from oms.money import ZERO
from oms.tax.rates import load_rate_table
from tests.support.channel_math import line_tax
from tests.support.validation import assert_passes_oms_validation

START = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # midnight in the shop's time zone (EST)
SECRET = "demo-shopify-app-secret"


@pytest.fixture(scope="module")
def day() -> list[ShopifyDelivery]:
    return generate_shopify_orders(1000, seed=42, start=START)


def test_same_seed_gives_the_same_day() -> None:
    # Given two generations with the same seed
    first = generate_shopify_orders(50, seed=7, start=START)
    second = generate_shopify_orders(50, seed=7, start=START)
    # When / Then they are identical, down to the signed bytes
    assert first == second
    assert [sign_delivery(d, SECRET) for d in first] == [sign_delivery(d, SECRET) for d in second]


def test_different_seeds_give_different_days() -> None:
    first = generate_shopify_orders(20, seed=1, start=START)
    second = generate_shopify_orders(20, seed=2, start=START)
    assert [d.payload for d in first] != [d.payload for d in second]


def test_problem_share_does_not_change_the_normal_orders() -> None:
    # Given the same seed with and without problem orders
    clean = generate_shopify_orders(200, seed=3, start=START, problem_share=0.0)
    noisy = generate_shopify_orders(200, seed=3, start=START, problem_share=0.5)
    # Then the orders left unspoiled are the same orders
    assert all(d.expected_hold is None for d in clean)
    for plain, maybe in zip(clean, noisy, strict=True):
        if maybe.expected_hold is None:
            assert plain == maybe


def test_every_normal_order_parses_and_its_tax_and_total_match_a_recomputation(
    day: list[ShopifyDelivery],
) -> None:
    # Given a business day, each order as the intake handler receives it (signed bytes)
    for delivery in day:
        if delivery.expected_hold is not None:
            continue
        headers, body = sign_delivery(delivery, SECRET)
        verify_shopify(body, headers["X-Shopify-Hmac-Sha256"], SECRET)
        # When it is parsed
        order = parse_shopify_order(json.loads(body, parse_float=Decimal))
        # Then prices are catalog prices, each tax line is its rate on the net half-up (as Shopify rounds
        # per tax line), and tax and total add up to the cent
        rates = dict(channel_tax_lines(order.shipping_address))
        for line in order.lines:
            assert line.unit_price == PRODUCTS[line.sku].unit_price
            assert {t.title for t in line.taxes} == set(rates)
            for tax in line.taxes:
                assert tax.rate == rates[tax.title]
                assert tax.amount == line_tax(line.net_amount, rates[tax.title], "USD")
        shipping_tax = sum((c.tax for c in order.shipping_lines), ZERO)
        assert order.tax_total == sum((line.tax for line in order.lines), ZERO) + shipping_tax
        expected_total = order.subtotal - order.discount_total + order.shipping_total + order.tax_total
        assert order.grand_total == expected_total
        assert_passes_oms_validation(order)
        assert order.customer.customer_id in CUSTOMERS_BY_ID
        assert order.external_id == str(delivery.payload["id"])


def test_problem_orders_are_labelled_and_still_parse(day: list[ShopifyDelivery]) -> None:
    # Given the deliberately wrong orders of the day
    problems = [d for d in day if d.expected_hold is not None]
    # Then about 2 % of the day is wrong, both kinds occur, and each is wrong the way its label says
    assert 5 <= len(problems) <= 40
    assert {d.expected_hold for d in problems} == {HoldReason.PRICE_MISMATCH, HoldReason.UNKNOWN_SKU}
    for delivery in problems:
        order = parse_shopify_order(json.loads(sign_delivery(delivery, SECRET)[1], parse_float=Decimal))
        if delivery.expected_hold is HoldReason.UNKNOWN_SKU:
            assert UNKNOWN_PRODUCT.sku in {line.sku for line in order.lines}
        else:
            assert any(line.unit_price != PRODUCTS[line.sku].unit_price for line in order.lines)
        # Internally consistent all the same: only the catalog check can catch them.
        assert (
            order.subtotal - order.discount_total + order.shipping_total + order.tax_total
            == order.grand_total
        )


def test_the_mix_looks_like_a_business_day(day: list[ShopifyDelivery]) -> None:
    # Given a day of 1,000 orders
    line_counts = Counter(len(d.payload["line_items"]) for d in day)
    quantities = [item["quantity"] for d in day for item in d.payload["line_items"]]
    discounted = [d for d in day if d.payload["discount_codes"]]
    shipping = Counter(d.payload["shipping_lines"][0]["price"] for d in day)
    # Then lines, quantities, discounts and shipping follow the intended distribution
    assert set(line_counts) == {1, 2, 3, 4, 5, 6}
    assert line_counts[1] > line_counts[3] > line_counts[6]
    assert sorted(quantities)[len(quantities) // 2] <= 3  # skewed small
    assert 100 <= len(discounted) <= 200  # ~15 %
    assert all(d.payload["discount_codes"][0]["code"] == DISCOUNT_CODE for d in discounted)
    assert set(shipping) == {"0.00", "9.99", "14.99"}
    assert {d.payload["customer"]["id"] for d in day} <= {c.shopify_id for c in CUSTOMERS}


def test_ids_are_unique_and_times_fall_within_the_day(day: list[ShopifyDelivery]) -> None:
    assert len({d.payload["id"] for d in day}) == len(day)
    assert len({d.payload["name"] for d in day}) == len(day)
    assert len({d.event_id for d in day}) == len(day)
    assert len({d.webhook_id for d in day}) == len(day)
    line_ids = [item["id"] for d in day for item in d.payload["line_items"]]
    assert len(set(line_ids)) == len(line_ids)
    placed = [datetime.fromisoformat(d.payload["created_at"]) for d in day]
    assert placed == sorted(placed)
    assert all(START <= p < START + timedelta(days=1) for p in placed)
    assert all(p <= d.triggered_at <= p + timedelta(seconds=5) for p, d in zip(placed, day, strict=True))


def test_signed_delivery_carries_the_shopify_headers(day: list[ShopifyDelivery]) -> None:
    # Given a delivery
    delivery = day[0]
    # When it is signed
    headers, body = sign_delivery(delivery, SECRET)
    # Then the body is the payload and the headers are Shopify's, with a verifiable HMAC
    assert json.loads(body) == delivery.payload
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Shop-Domain"].endswith(".myshopify.com")
    assert headers["X-Shopify-Event-Id"] == delivery.event_id
    assert headers["X-Shopify-Webhook-Id"] == delivery.webhook_id
    assert headers["X-Shopify-Triggered-At"].endswith("Z")
    assert datetime.fromisoformat(headers["X-Shopify-Triggered-At"]) == delivery.triggered_at
    assert headers["X-Shopify-API-Version"]
    verify_shopify(body, headers["X-Shopify-Hmac-Sha256"], SECRET)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        generate_shopify_orders(1, seed=1, start=datetime(2026, 11, 2))  # noqa: DTZ001 - the case under test


def test_reference_data_is_coherent() -> None:
    # Given the seed data
    # Then SKUs and customer ids are unique, every customer's jurisdiction has a tax rate,
    # stock covers every SKU in every warehouse, and some SKUs are scarce
    assert 35 <= len(CATALOG) <= 45
    assert len(PRODUCTS) == len(CATALOG)
    assert len(CUSTOMERS_BY_ID) == len(CUSTOMERS) >= 30
    assert all(load_rate_table().get(c.address.jurisdiction) is not None for c in CUSTOMERS)
    assert all(channel_tax_lines(c.address) is not None for c in CUSTOMERS)
    assert {c.payment_terms_days for c in CUSTOMERS} == {0, 30}
    assert {(s.sku, s.warehouse_id) for s in STOCK} == {
        (p.sku, w.warehouse_id) for p in CATALOG for w in WAREHOUSES
    }
    totals = Counter[str]()
    for level in STOCK:
        totals[level.sku] += level.on_hand
    assert sum(1 for total in totals.values() if total < 10) >= 3
    assert all(p.unit_price == p.unit_price.quantize(Decimal("0.01")) for p in CATALOG)
