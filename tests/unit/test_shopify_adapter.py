"""Shopify orders/create payload → CanonicalOrder."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.channels.shopify import parse_shopify_order
from oms.domain.errors import ChannelPayloadError
from oms.domain.order import MAX_LINES_PER_ORDER, CanonicalOrder
from oms.money import ZERO
from tests.support.channel_math import TAX_RATES, line_tax

EVENTS = Path(__file__).parents[1] / "events" / "shopify"

Payload = dict[str, Any]


def load_payload() -> Payload:
    """The sample body, parsed as the intake handler parses it: JSON numbers become exact Decimals."""
    result: Payload = json.loads((EVENTS / "orders_create.json").read_bytes(), parse_float=Decimal)
    return result


@pytest.fixture
def payload() -> Payload:
    return load_payload()


# --- the good payload ---------------------------------------------------------------------------------------


def test_sample_payload_maps_to_the_expected_canonical_order(payload: Payload) -> None:
    # Given the sample orders/create body
    # When it is parsed
    order = parse_shopify_order(payload)
    # Then every canonical field carries the Shopify value, amounts exactly
    assert order.channel == "shopify"
    assert order.external_id == "5912345678901"
    assert order.entered_by == "channel:shopify"
    assert order.currency == "USD"
    assert order.customer.customer_id == "shopify-7400000000003"
    assert order.customer.name == "Dana Whitfield"
    assert order.customer.email == "dana.whitfield@baysiderobotics.example"
    address = order.shipping_address
    assert (address.name, address.line1, address.line2) == (
        "Dana Whitfield",
        "1450 Bayshore Blvd",
        "Suite 300",
    )
    assert (address.city, address.region, address.postal_code, address.country) == (
        "Burlingame",
        "CA",
        "94010",
        "US",
    )
    assert address.jurisdiction == "US-CA"
    assert [(line.line_id, line.sku, line.quantity) for line in order.lines] == [
        ("15601235001", "ELC-USB-C-1M", 10),
        ("15601235002", "ELC-HDMI-2M", 4),
        ("15601235003", "ELC-PSU-65W", 3),
    ]
    assert [line.unit_price for line in order.lines] == [Decimal("8.99"), Decimal("14.50"), Decimal("39.95")]
    assert [line.discount for line in order.lines] == [Decimal("8.99"), Decimal("5.80"), Decimal("11.99")]
    assert [line.tax for line in order.lines] == [Decimal("5.87"), Decimal("3.78"), Decimal("7.82")]
    assert order.subtotal == Decimal("267.75")
    assert order.discount_total == Decimal("26.78")
    assert order.shipping_total == Decimal("14.99")
    assert order.tax_total == Decimal("17.47")
    assert order.grand_total == Decimal("273.43")
    assert order.placed_at == datetime(2026, 11, 2, 14, 14, 27, tzinfo=UTC)
    assert order.placed_at.utcoffset() is not None
    assert order.placed_at.tzinfo == UTC


def test_sample_payload_is_internally_consistent(payload: Payload) -> None:
    # Given the sample order
    order = parse_shopify_order(payload)
    # When its amounts are recomputed (7.25 % per line, half-up, on the net of discount)
    recomputed_tax = sum((line_tax(line.net_amount, TAX_RATES["US-CA"], "USD") for line in order.lines), ZERO)
    # Then the channel's tax and total agree with the recomputation to the cent
    assert [line_tax(line.net_amount, TAX_RATES["US-CA"], "USD") for line in order.lines] == [
        line.tax for line in order.lines
    ]
    assert recomputed_tax == order.tax_total
    assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.grand_total


def test_floats_from_a_plain_json_parse_are_accepted_exactly(payload: Payload) -> None:
    # Given money sent as JSON numbers and parsed without parse_float (Python floats)
    payload["line_items"][0]["price"] = 8.99
    payload["total_price"] = 273.43
    # When it is parsed
    order = parse_shopify_order(payload)
    # Then the amounts are the exact decimals of the JSON tokens
    assert order.lines[0].unit_price == Decimal("8.99")
    assert order.grand_total == Decimal("273.43")


def test_json_numbers_parsed_as_decimal_are_accepted(payload: Payload) -> None:
    # Given a body whose money fields are JSON numbers, parsed with parse_float=Decimal
    payload["line_items"][1]["price"] = "REPLACE"
    raw = json.dumps(payload, default=str).replace('"REPLACE"', "14.50")
    # When it is parsed
    order = parse_shopify_order(json.loads(raw, parse_float=Decimal))
    # Then the amount keeps its exact token
    assert order.lines[1].unit_price == Decimal("14.50")


def test_guest_checkout_gets_a_stable_customer_id_from_the_email(payload: Payload) -> None:
    # Given two guest orders (no customer object) with the same e-mail written differently
    payload.pop("customer")
    other = copy.deepcopy(payload)
    other["id"] = 5912345678999
    other["email"] = "  Dana.Whitfield@BaysideRobotics.example "
    # When both are parsed
    first, second = parse_shopify_order(payload), parse_shopify_order(other)
    # Then both get the same guest customer id, named from the shipping address
    assert first.customer.customer_id.startswith("shopify-guest-")
    assert first.customer.customer_id == second.customer.customer_id
    assert first.customer.name == "Dana Whitfield"


def test_guest_checkout_without_email_gets_a_per_order_customer(payload: Payload) -> None:
    payload.pop("customer")
    payload.pop("email")
    order = parse_shopify_order(payload)
    assert order.customer.customer_id == "shopify-guest-order-5912345678901"
    assert order.customer.email is None


def test_deprecated_total_discount_is_used_when_there_are_no_allocations(payload: Payload) -> None:
    # Given a line without discount allocations but with the legacy total_discount
    payload["line_items"][0]["discount_allocations"] = []
    payload["line_items"][0]["total_discount"] = "8.99"
    # When / Then the line's discount comes from total_discount
    assert parse_shopify_order(payload).lines[0].discount == Decimal("8.99")


def test_shipping_discount_reduces_the_shipping_total(payload: Payload) -> None:
    # Given a free-shipping discount allocated to the shipping line
    payload["shipping_lines"][0]["discount_allocations"] = [{"amount": "14.99"}]
    # When / Then shipping is what the customer pays for it
    assert parse_shopify_order(payload).shipping_total == Decimal("0.00")


def test_iso_3166_2_province_code_is_reduced_to_the_region(payload: Payload) -> None:
    payload["shipping_address"].update({"country_code": "JP", "province_code": "JP-13"})
    assert parse_shopify_order(payload).shipping_address.region == "13"


def test_unknown_fields_are_ignored(payload: Payload) -> None:
    payload["some_future_field"] = {"nested": [1, 2, 3]}
    payload["line_items"][0]["another_new_field"] = "x"
    assert parse_shopify_order(payload).external_id == "5912345678901"


# --- bad payloads -------------------------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Payload], None]:
    """A mutation setting `path` (dotted, with integer list indexes) to `value`; `...` deletes the key."""

    def mutate(payload: Payload) -> None:
        parts = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = payload
        for part in parts[:-1]:
            target = target[part]
        if value is ...:
            del target[parts[-1]]
        else:
            target[parts[-1]] = value

    return mutate


def _too_many_lines(payload: Payload) -> None:
    template = payload["line_items"][0]
    payload["line_items"] = [
        {**template, "id": 100 + i, "discount_allocations": []} for i in range(MAX_LINES_PER_ORDER + 1)
    ]


def _duplicate_line_id(payload: Payload) -> None:
    payload["line_items"][2]["id"] = payload["line_items"][0]["id"]


BAD_CASES: list[tuple[str, Callable[[Payload], None], str]] = [
    ("missing id", _set("id", ...), "id: is required"),
    ("non-numeric id", _set("id", "abc"), "id: must be an integer id"),
    ("boolean id", _set("id", True), "id: must be an integer id"),
    ("missing currency", _set("currency", ...), "currency: is required"),
    ("unsupported currency", _set("currency", "XYZ"), "currency: 'XYZ' is not a supported currency"),
    ("missing created_at", _set("created_at", ...), "created_at: is required"),
    ("unparseable created_at", _set("created_at", "yesterday"), "created_at: must be an ISO-8601 date-time"),
    ("naive created_at", _set("created_at", "2026-11-02T09:14:27"), "created_at: must include a UTC offset"),
    ("missing shipping address", _set("shipping_address", ...), "shipping_address: is required"),
    ("shipping address not object", _set("shipping_address", "x"), "shipping_address: must be an object"),
    (
        "missing country",
        _set("shipping_address.country_code", ...),
        "shipping_address.country_code: is required",
    ),
    (
        "bad country",
        _set("shipping_address.country_code", "u1"),
        "shipping_address.country_code: has characters",
    ),
    ("missing address1", _set("shipping_address.address1", ...), "shipping_address.address1: is required"),
    ("customer not object", _set("customer", "dana"), "customer: must be an object"),
    ("customer without id", _set("customer.id", ...), "customer.id: is required"),
    ("missing line items", _set("line_items", ...), "line_items: is required"),
    ("line items not a list", _set("line_items", {"a": 1}), "line_items: must be a list"),
    ("no line items", _set("line_items", []), "line_items: must have at least 1 item(s)"),
    (
        "too many lines",
        _too_many_lines,
        f"line_items: must have at most {MAX_LINES_PER_ORDER} item(s) (got 41)",
    ),
    ("zero quantity", _set("line_items.2.quantity", 0), "line_items[2].quantity: must be greater than 0"),
    (
        "negative quantity",
        _set("line_items.1.quantity", -3),
        "line_items[1].quantity: must be greater than 0",
    ),
    (
        "fractional quantity",
        _set("line_items.0.quantity", Decimal("2.5")),
        "line_items[0].quantity: must be an",
    ),
    ("text quantity", _set("line_items.0.quantity", "two"), "line_items[0].quantity: must be an integer"),
    ("boolean quantity", _set("line_items.0.quantity", True), "line_items[0].quantity: must be an integer"),
    ("missing quantity", _set("line_items.0.quantity", ...), "line_items[0].quantity: is required"),
    ("missing price", _set("line_items.0.price", ...), "line_items[0].price: is required"),
    (
        "non-numeric price",
        _set("line_items.0.price", "12,50"),
        "line_items[0].price: must be a decimal amount",
    ),
    ("NaN price", _set("line_items.0.price", "NaN"), "line_items[0].price: must be a finite amount"),
    ("negative price", _set("line_items.0.price", "-8.99"), "line_items[0].price: must not be negative"),
    ("price below the cent", _set("line_items.0.price", "8.999"), "line_items[0].price: has more decimals"),
    ("missing sku", _set("line_items.1.sku", ...), "line_items[1].sku: is required"),
    ("null sku", _set("line_items.1.sku", None), "line_items[1].sku: is required"),
    ("empty sku", _set("line_items.1.sku", ""), "line_items[1].sku: must not be empty"),
    ("sku with spaces", _set("line_items.1.sku", "ELC HDMI"), "line_items[1].sku: has characters"),
    ("duplicate line id", _duplicate_line_id, "line_items[2].id: duplicate line item id"),
    (
        "bad discount amount",
        _set("line_items.0.discount_allocations.0.amount", "ten"),
        "line_items[0].discount_allocations[0].amount: must be a decimal amount",
    ),
    (
        "discount above the line",
        _set("line_items.0.discount_allocations.0.amount", "1000.00"),
        "line_items[0].discount_allocations: exceed the line amount",
    ),
    (
        "bad tax line",
        _set("line_items.2.tax_lines.0.price", None),
        "line_items[2].tax_lines[0].price: must be a",
    ),
    ("missing total_tax", _set("total_tax", ...), "total_tax: is required"),
    ("missing total_price", _set("total_price", ...), "total_price: is required"),
    ("negative total", _set("total_price", "-1"), "total_price: must not be negative"),
    (
        "bad shipping price",
        _set("shipping_lines.0.price", "free"),
        "shipping_lines[0].price: must be a decimal",
    ),
    (
        "long street",
        _set("shipping_address.address1", "x" * 256),
        "shipping_address.address1: must be at most",
    ),
    ("long email", _set("customer.email", "x" * 250 + "@x.example"), "customer.email: must be at most 254"),
]


@pytest.mark.parametrize(("mutate", "reason"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_payload_is_rejected_with_a_reason_naming_the_field(
    payload: Payload, mutate: Callable[[Payload], None], reason: str
) -> None:
    # Given the sample payload with one structural problem
    mutate(payload)
    # When it is parsed
    with pytest.raises(ChannelPayloadError) as caught:
        parse_shopify_order(payload)
    # Then the reason is short, human-readable and names the field
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert caught.value.code == "INVALID_PAYLOAD"
    assert "pydantic" not in caught.value.reason
    assert "Input should be" not in caught.value.reason
    assert len(caught.value.reason) < 300


@pytest.mark.parametrize("body", [[], "order", None, 42])
def test_non_object_payload_is_rejected(body: Any) -> None:
    with pytest.raises(ChannelPayloadError, match="payload: must be a JSON object"):
        parse_shopify_order(body)


def test_reason_never_echoes_personal_data(payload: Payload) -> None:
    # Given a payload whose customer e-mail is not a string
    payload["customer"]["email"] = {"secret": "dana@example.com"}
    # When / Then the reason names the field but not the value
    with pytest.raises(ChannelPayloadError) as caught:
        parse_shopify_order(payload)
    assert caught.value.reason.startswith("customer.email: must be a string")
    assert "dana@example.com" not in caught.value.reason


# --- property: parse(generate(lines)) preserves the sums -------------------------------------------------

_line_spec = st.tuples(
    st.integers(min_value=0, max_value=500_000),  # unit price in cents
    st.integers(min_value=1, max_value=200),  # quantity
    st.integers(min_value=0, max_value=100),  # discount percent
)


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def build_payload(specs: list[tuple[int, int, int]], rate: Decimal, shipping_cents: int) -> Payload:
    """A minimal orders/create body for the given lines, amounts as Shopify formats them (strings)."""
    base = load_payload()
    items = []
    subtotal = discounts = taxes = ZERO
    for i, (price_cents, quantity, percent) in enumerate(specs):
        price = _cents(price_cents)
        gross = price * quantity
        discount = (gross * percent / 100).quantize(Decimal("0.01"))
        tax = line_tax(gross - discount, rate, "USD")
        subtotal, discounts, taxes = subtotal + gross, discounts + discount, taxes + tax
        items.append(
            {
                "id": 1_000 + i,
                "sku": f"SKU-{i}",
                "title": f"Item {i}",
                "quantity": quantity,
                "price": str(price),
                "total_discount": "0.00",
                "discount_allocations": [{"amount": str(discount)}] if discount else [],
                "tax_lines": [{"price": str(tax), "rate": float(rate), "title": "Tax"}],
            }
        )
    shipping = _cents(shipping_cents)
    base.update(
        line_items=items,
        shipping_lines=[{"price": str(shipping)}],
        total_discounts=str(discounts),
        total_tax=str(taxes),
        total_price=str(subtotal - discounts + shipping + taxes),
    )
    return base


@settings(derandomize=True, max_examples=150, deadline=None)
@given(
    specs=st.lists(_line_spec, min_size=1, max_size=MAX_LINES_PER_ORDER),
    rate=st.sampled_from(sorted(set(TAX_RATES.values()))),
    shipping_cents=st.sampled_from([0, 999, 1499]),
)
def test_parse_preserves_the_sums_to_the_cent(
    specs: list[tuple[int, int, int]], rate: Decimal, shipping_cents: int
) -> None:
    # Given a payload generated from random valid lines, serialised and parsed as the intake handler does
    payload = build_payload(specs, rate, shipping_cents)
    raw = json.dumps(payload, default=str).encode()
    # When it is parsed
    order: CanonicalOrder = parse_shopify_order(json.loads(raw, parse_float=Decimal))
    # Then every sum survives exactly
    assert order.subtotal == sum((_cents(p) * q for p, q, _ in specs), ZERO)
    assert order.discount_total == Decimal(payload["total_discounts"])
    assert sum((line.tax for line in order.lines), ZERO) == order.tax_total == Decimal(payload["total_tax"])
    assert order.shipping_total == _cents(shipping_cents)
    assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.grand_total
    assert len(order.lines) == len(specs)


# ------------------------------------------------------------------ the compliance webhooks (issue 16)
@pytest.mark.parametrize(
    ("topic", "event", "kind", "orders"),
    [
        ("customers/redact", "customers_redact", "ERASURE", ("7160001", "7160002")),
        ("customers/data_request", "customers_data_request", "ACCESS", ("7160001", "7160002")),
        ("shop/redact", "shop_redact", "SHOP_REDACT", ()),
    ],
)
def test_the_compliance_webhooks_become_privacy_requests(
    topic: str, event: str, kind: str, orders: tuple[str, ...]
) -> None:
    from oms.channels.base import DeliveryKind
    from oms.channels.shopify import ShopifyChannel

    body = (Path(__file__).resolve().parents[1] / "events" / "shopify" / f"{event}.json").read_bytes()
    headers = {"content-type": "application/json", "x-shopify-topic": topic, "x-shopify-event-id": "ev-1"}
    delivery = ShopifyChannel().interpret(body, headers)
    assert delivery.kind is DeliveryKind.PRIVACY
    assert delivery.privacy is not None
    assert delivery.privacy.kind == kind
    assert delivery.privacy.orders == orders
    expected_customer = None if kind == "SHOP_REDACT" else "shopify-7400000000003"
    assert delivery.privacy.customer_id == expected_customer
