"""ShopifyChannel: signature with rotated secrets, and each topic → the right ChannelDelivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.channels.base import DeliveryKind
from oms.channels.errors import MalformedBodyError, UnsupportedContentTypeError
from oms.channels.shopify import ShopifyChannel, parse_shopify_order
from oms.channels.signatures import shopify_signature
from oms.domain.errors import ChannelPayloadError, SignatureError
from oms.money import ZERO
from tests.support.channel_math import TAX_RATES, line_tax
from tests.support.validation import assert_passes_oms_validation

EVENTS = Path(__file__).parents[1] / "events" / "shopify"
SECRET = "shpss_test_current"
OLD_SECRET = "shpss_test_previous"
NOW = datetime(2026, 11, 2, 14, 14, 30, tzinfo=UTC)
CHANNEL = ShopifyChannel()


def raw(name: str) -> bytes:
    return (EVENTS / name).read_bytes()


def headers(topic: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The recorded delivery's headers, lower-cased as the intake passes them, for another topic/body."""
    recorded = json.loads((EVENTS / "orders_create_headers.json").read_text())
    lowered = {k.lower(): v for k, v in recorded.items()}
    lowered["x-shopify-topic"] = topic
    lowered["x-shopify-hmac-sha256"] = shopify_signature(body, secret)
    return lowered


# --- topics -------------------------------------------------------------------------------------------------


def test_orders_create_is_a_created_delivery_keyed_by_the_event_id() -> None:
    # Given the recorded orders/create delivery
    body = raw("orders_create.json")
    # When it is verified and interpreted
    CHANNEL.verify(body, headers("orders/create", body), [SECRET], NOW)
    delivery = CHANNEL.interpret(body, headers("orders/create", body))
    # Then it is a new order, deduplicated by X-Shopify-Event-Id, parsed as parse_shopify_order parses it
    assert delivery.kind is DeliveryKind.CREATED
    assert delivery.delivery_id == "7c3f2a1e-5b8d-4e6a-9f0c-2d4b6a8e1f35"
    assert delivery.external_id == "5912345678901"
    assert delivery.order == parse_shopify_order(json.loads(body, parse_float=Decimal))
    assert delivery.order is not None
    assert delivery.order.grand_total == Decimal("273.43")


def test_orders_updated_carries_the_amended_order() -> None:
    # Given the recorded orders/updated delivery (power supplies reduced from 3 to 2)
    body = raw("orders_updated.json")
    # When it is interpreted
    delivery = CHANNEL.interpret(body, headers("orders/updated", body))
    # Then it is an UPDATED delivery with the order as Shopify now describes it, to the cent
    assert delivery.kind is DeliveryKind.UPDATED
    assert delivery.external_id == "5912345678901"
    order = delivery.order
    assert order is not None
    assert [line.quantity for line in order.lines] == [10, 4, 2]
    assert order.lines[2].discount == Decimal("7.99")
    assert order.lines[2].tax == Decimal("5.21")
    assert order.subtotal == Decimal("227.80")
    assert order.discount_total == Decimal("22.78")
    assert order.tax_total == Decimal("14.86")
    assert order.grand_total == Decimal("234.87")
    assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.grand_total
    assert_passes_oms_validation(order)


def test_recorded_create_passes_the_oms_validation() -> None:
    order = CHANNEL.interpret(raw("orders_create.json"), headers("orders/create", b"")).order
    assert order is not None
    assert_passes_oms_validation(order)


def test_orders_cancelled_names_the_order_without_parsing_it() -> None:
    # Given the recorded orders/cancelled delivery
    body = raw("orders_cancelled.json")
    # When it is interpreted
    delivery = CHANNEL.interpret(body, headers("orders/cancelled", body))
    # Then it cancels the order by its Shopify id, with the cancel reason as the note
    assert delivery.kind is DeliveryKind.CANCELLED
    assert delivery.external_id == "5912345678901"
    assert delivery.order is None
    assert delivery.note == "cancel_reason: customer"


def test_cancellation_needs_only_the_id() -> None:
    delivery = CHANNEL.interpret(b'{"id": 42}', headers("orders/cancelled", b""))
    assert (delivery.kind, delivery.external_id, delivery.note) == (DeliveryKind.CANCELLED, "42", None)


@pytest.mark.parametrize("bad_id", ["../x", "a/b", "%00", "' OR 1=1", "", None, True, "1" * 21])
def test_cancellation_with_an_unsafe_id_is_rejected(bad_id: Any) -> None:
    body = json.dumps({"id": bad_id, "cancel_reason": "customer"}).encode()
    with pytest.raises(ChannelPayloadError, match=r"^id: must be an integer id"):
        CHANNEL.interpret(body, headers("orders/cancelled", body))


def test_cancellation_without_id_is_rejected() -> None:
    with pytest.raises(ChannelPayloadError, match=r"^id: is required"):
        CHANNEL.interpret(b"{}", headers("orders/cancelled", b"{}"))


@pytest.mark.parametrize("topic", ["orders/paid", "orders/fulfilled", "products/update", "app/uninstalled"])
def test_other_topics_are_ignored_with_a_note(topic: str) -> None:
    # Given a delivery of a topic the OMS does not act on (even with a body that is no order)
    body = b'{"id": 1}'
    # When it is interpreted
    delivery = CHANNEL.interpret(body, headers(topic, body))
    # Then it is answered as IGNORED (so Shopify does not retry it for 4 hours), nothing parsed
    assert delivery.kind is DeliveryKind.IGNORED
    assert delivery.order is None
    assert delivery.note is not None
    assert topic in delivery.note


def test_missing_topic_is_a_payload_error() -> None:
    body = raw("orders_create.json")
    hdrs = headers("", body)
    with pytest.raises(ChannelPayloadError, match="x-shopify-topic header: is required"):
        CHANNEL.interpret(body, hdrs)


# --- delivery id ------------------------------------------------------------------------------------------


def test_webhook_id_is_the_fallback_delivery_id() -> None:
    body = raw("orders_create.json")
    hdrs = headers("orders/create", body)
    del hdrs["x-shopify-event-id"]
    assert CHANNEL.interpret(body, hdrs).delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


def test_missing_delivery_ids_are_a_payload_error() -> None:
    body = raw("orders_create.json")
    hdrs = headers("orders/create", body)
    del hdrs["x-shopify-event-id"], hdrs["x-shopify-webhook-id"]
    with pytest.raises(ChannelPayloadError, match="x-shopify-event-id or x-shopify-webhook-id header"):
        CHANNEL.interpret(body, hdrs)


@pytest.mark.parametrize("event_id", ["../x", "a/b", "%00", "' OR 1=1", "x\x00y"])
def test_unsafe_delivery_id_is_rejected(event_id: str) -> None:
    body = raw("orders_create.json")
    hdrs = headers("orders/create", body) | {"x-shopify-event-id": event_id}
    with pytest.raises(ChannelPayloadError, match="x-shopify-event-id header: has characters"):
        CHANNEL.interpret(body, hdrs)


# --- body and content type --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_content_types_are_accepted(content_type: str) -> None:
    body = raw("orders_create.json")
    hdrs = headers("orders/create", body) | {"content-type": content_type}
    assert CHANNEL.interpret(body, hdrs).kind is DeliveryKind.CREATED


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "", "json"])
def test_other_content_types_are_unsupported(content_type: str) -> None:
    body = raw("orders_create.json")
    hdrs = headers("orders/create", body) | {"content-type": content_type}
    with pytest.raises(UnsupportedContentTypeError) as caught:
        CHANNEL.interpret(body, hdrs)
    assert caught.value.code == "UNSUPPORTED_CONTENT_TYPE"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"order"', b"\xff\xfe", b""])
def test_malformed_body_is_a_malformed_body_error(body: bytes) -> None:
    with pytest.raises(MalformedBodyError) as caught:
        CHANNEL.interpret(body, headers("orders/create", body))
    assert caught.value.code == "MALFORMED_BODY"


def test_schema_problems_are_payload_errors_not_malformed_bodies() -> None:
    body = json.loads(raw("orders_create.json"))
    body["line_items"][0]["quantity"] = 0
    encoded = json.dumps(body).encode()
    with pytest.raises(ChannelPayloadError) as caught:
        CHANNEL.interpret(encoded, headers("orders/updated", encoded))
    assert not isinstance(caught.value, MalformedBodyError)
    assert caught.value.reason.startswith("line_items[0].quantity: must be greater than 0")


# --- signatures -------------------------------------------------------------------------------------------


def test_signature_with_the_current_secret_is_accepted() -> None:
    body = raw("orders_create.json")
    CHANNEL.verify(body, headers("orders/create", body), [SECRET], NOW)


def test_signature_with_the_previous_secret_is_accepted_during_rotation() -> None:
    # Given a delivery still signed with the old secret while the new one is configured first
    body = raw("orders_create.json")
    # When / Then it verifies against the list
    CHANNEL.verify(body, headers("orders/create", body, OLD_SECRET), [SECRET, OLD_SECRET], NOW)


def test_wrong_secret_is_rejected() -> None:
    body = raw("orders_create.json")
    with pytest.raises(SignatureError, match="does not match"):
        CHANNEL.verify(body, headers("orders/create", body, "someone-else"), [SECRET, OLD_SECRET], NOW)


def test_signature_over_another_body_is_rejected() -> None:
    body = raw("orders_create.json")
    hdrs = headers("orders/create", raw("orders_cancelled.json"))
    with pytest.raises(SignatureError, match="does not match"):
        CHANNEL.verify(body, hdrs, [SECRET], NOW)


def test_missing_signature_is_rejected() -> None:
    body = raw("orders_create.json")
    hdrs = headers("orders/create", body)
    del hdrs["x-shopify-hmac-sha256"]
    with pytest.raises(SignatureError, match="missing"):
        CHANNEL.verify(body, hdrs, [SECRET], NOW)


def test_no_configured_secret_rejects_everything() -> None:
    body = raw("orders_create.json")
    with pytest.raises(SignatureError, match="no webhook secret"):
        CHANNEL.verify(body, headers("orders/create", body), [], NOW)
    with pytest.raises(SignatureError):
        CHANNEL.verify(body, headers("orders/create", body, ""), [""], NOW)


# --- property: generated consistent orders survive interpret to the cent ------------------------------------


_line_spec = st.tuples(
    st.integers(min_value=0, max_value=300_000),  # unit price in cents
    st.integers(min_value=1, max_value=500),  # quantity
    st.integers(min_value=0, max_value=100),  # discount percent
)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(
    specs=st.lists(_line_spec, min_size=1, max_size=40),
    shipping_cents=st.integers(min_value=0, max_value=10_000),
    topic=st.sampled_from(["orders/create", "orders/updated"]),
)
def test_generated_orders_round_trip_to_the_cent(
    specs: list[tuple[int, int, int]], shipping_cents: int, topic: str
) -> None:
    # Given a consistent order at the recorded address (US-CA) built from random lines
    payload = json.loads(raw("orders_create.json"))
    rate = TAX_RATES["US-CA"]
    items = []
    subtotal = discounts = taxes = ZERO
    for i, (cents, quantity, percent) in enumerate(specs):
        gross = Decimal(cents).scaleb(-2) * quantity
        discount = (gross * percent / 100).quantize(Decimal("0.01"))
        tax = line_tax(gross - discount, rate, "USD")
        subtotal, discounts, taxes = subtotal + gross, discounts + discount, taxes + tax
        items.append(
            {
                "id": 500 + i,
                "sku": f"SKU-{i}",
                "name": f"Item {i}",
                "quantity": quantity,
                "price": str(Decimal(cents).scaleb(-2)),
                "discount_allocations": [{"amount": str(discount)}],
                "tax_lines": [{"price": str(tax), "rate": 0.0725, "title": "CA State Tax"}],
            }
        )
    shipping = Decimal(shipping_cents).scaleb(-2)
    total = subtotal - discounts + shipping + taxes
    payload.update(
        line_items=items,
        shipping_lines=[{"price": str(shipping)}],
        discount_codes=[],
        discount_applications=[],
        total_discounts=str(discounts),
        total_line_items_price=str(subtotal),
        subtotal_price=str(subtotal - discounts),
        tax_lines=[{"title": "CA State Tax", "price": str(taxes), "rate": 0.0725}],
        total_tax=str(taxes),
        total_price=str(total),
    )
    body = json.dumps(payload).encode()
    # When the delivery is interpreted
    delivery = CHANNEL.interpret(body, headers(topic, body))
    # Then the canonical order has the channel's amounts to the cent and passes the OMS's checks
    order = delivery.order
    assert order is not None
    assert (order.subtotal, order.discount_total, order.tax_total) == (subtotal, discounts, taxes)
    assert (order.shipping_total, order.grand_total) == (shipping, total)
    assert_passes_oms_validation(order)
