"""CustomShopChannel: Standard Webhooks verification and our envelope/order schema → ChannelDelivery."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.channels.base import DeliveryKind
from oms.channels.custom import CustomShopChannel
from oms.channels.errors import MalformedBodyError, UnsupportedContentTypeError
from oms.channels.signatures import standard_webhook_signature
from oms.domain.errors import ChannelPayloadError, SignatureError
from oms.money import ZERO
from tests.support.channel_math import TAX_RATES, line_tax
from tests.support.validation import assert_passes_oms_validation

EVENTS = Path(__file__).parents[1] / "events" / "webshop"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the secret the recorded headers were signed with
NEW_SECRET = "whsec_dGhlIG5ldyBzZWNyZXQgYWZ0ZXIgcm90YXRpb24="
SENT_AT = datetime(2026, 11, 2, 14, 20, 5, tzinfo=UTC)
NOW = SENT_AT + timedelta(seconds=2)
CHANNEL = CustomShopChannel()

Envelope = dict[str, Any]


def raw() -> bytes:
    return (EVENTS / "order_created.json").read_bytes()


def recorded_headers() -> dict[str, str]:
    recorded = json.loads((EVENTS / "order_created_headers.json").read_text())
    return {k.lower(): v for k, v in recorded.items()}


def load() -> Envelope:
    result: Envelope = json.loads(raw())
    return result


def signed(body: bytes, *secrets: str, msg_id: str = "msg_test_1", at: datetime = SENT_AT) -> dict[str, str]:
    timestamp = int(at.timestamp())
    signatures = " ".join(
        standard_webhook_signature(msg_id, timestamp, body, s) for s in secrets or (SECRET,)
    )
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def encode(envelope: Envelope) -> bytes:
    return json.dumps(envelope, ensure_ascii=False).encode()


@pytest.fixture
def envelope() -> Envelope:
    return load()


# --- the recorded delivery ----------------------------------------------------------------------------------


def test_recorded_order_created_verifies_and_maps_to_the_expected_order() -> None:
    # Given the recorded order.created delivery and its Standard Webhooks headers
    body, hdrs = raw(), recorded_headers()
    # When it is verified two seconds after it was sent, and interpreted
    CHANNEL.verify(body, hdrs, [SECRET], NOW)
    delivery = CHANNEL.interpret(body, hdrs)
    # Then it is a new order keyed by webhook-id, every field taken over exactly
    assert delivery.kind is DeliveryKind.CREATED
    assert delivery.delivery_id == "msg_2pT7cQe9Xk4LmN8rV3sW6yZ1aB0"
    assert delivery.external_id == "WS-2026-100234"
    order = delivery.order
    assert order is not None
    assert (order.channel, order.entered_by, order.currency) == ("webshop", "channel:webshop", "GBP")
    assert order.customer.customer_id == "webshop-C-88412"
    assert order.customer.name == "Siobhán Ó Ceallaigh"
    assert order.customer.email == "siobhan@brightwire.example"
    address = order.shipping_address
    assert (address.name, address.line1, address.line2) == (
        "Brightwire Studios Ltd",
        "Unit 4, Hackney Wick Yard",
        "12 Wallis Road",
    )
    assert (address.city, address.region, address.postal_code, address.jurisdiction) == (
        "London",
        None,
        "E9 5LN",
        "GB",
    )
    assert [(x.line_id, x.sku, x.quantity) for x in order.lines] == [
        ("1", "ELC-USB-C-1M", 20),
        ("2", "ELC-DOCK-TB4", 2),
        ("3", "ELC-PSU-65W", 3),
    ]
    assert [x.name for x in order.lines] == [
        "USB-C Kabel 1 m \u2013 geflochten",
        "Thunderbolt 4 Dock “Pro”",
        "65 W GaN-Netzteil ⚡",
    ]
    assert [x.unit_price for x in order.lines] == [Decimal("7.49"), Decimal("189.00"), Decimal("34.95")]
    assert [x.discount for x in order.lines] == [Decimal("0.00"), Decimal("18.90"), Decimal("5.24")]
    assert [x.tax for x in order.lines] == [Decimal("29.96"), Decimal("71.82"), Decimal("19.92")]
    assert order.shipping_total == Decimal("7.95")
    assert order.tax_total == Decimal("121.70")
    assert order.grand_total == Decimal("738.16")
    assert order.placed_at == datetime(2026, 11, 2, 14, 19, 58, tzinfo=UTC)
    assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.grand_total
    assert_passes_oms_validation(order)


def test_order_updated_is_an_update(envelope: Envelope) -> None:
    envelope["type"] = "order.updated"
    envelope["data"]["lines"] = envelope["data"]["lines"][:1]
    envelope["data"].update(shipping_total="7.95", tax_total="29.96", grand_total="187.71")
    body = encode(envelope)
    delivery = CHANNEL.interpret(body, signed(body))
    assert delivery.kind is DeliveryKind.UPDATED
    assert delivery.order is not None
    assert delivery.order.grand_total == Decimal("187.71")
    assert_passes_oms_validation(delivery.order)


def test_order_cancelled_needs_only_the_order_id() -> None:
    body = b'{"type": "order.cancelled", "data": {"order_id": "WS-2026-100234"}}'
    delivery = CHANNEL.interpret(body, signed(body))
    assert (delivery.kind, delivery.external_id, delivery.order) == (
        DeliveryKind.CANCELLED,
        "WS-2026-100234",
        None,
    )


def test_order_cancelled_with_the_full_order_reads_only_the_id(envelope: Envelope) -> None:
    envelope["type"] = "order.cancelled"
    envelope["data"]["lines"] = "whatever"
    body = encode(envelope)
    assert CHANNEL.interpret(body, signed(body)).external_id == "WS-2026-100234"


@pytest.mark.parametrize("event_type", ["order.paid", "customer.created", "ping"])
def test_other_event_types_are_ignored(event_type: str) -> None:
    body = json.dumps({"type": event_type, "data": {}}).encode()
    delivery = CHANNEL.interpret(body, signed(body))
    assert delivery.kind is DeliveryKind.IGNORED
    assert delivery.note is not None
    assert event_type in delivery.note


@pytest.mark.parametrize(
    ("envelope_body", "reason"),
    [
        (b'{"data": {}}', "type: is required"),
        (b'{"type": 7, "data": {}}', "type: is required"),
        (b'{"type": "order.created"}', "data: is required"),
        (b'{"type": "order.created", "data": [1]}', "data: must be a JSON object"),
        (b'{"type": "order.cancelled", "data": {}}', "data.order_id: is required"),
    ],
)
def test_bad_envelopes_name_the_field(envelope_body: bytes, reason: str) -> None:
    with pytest.raises(ChannelPayloadError) as caught:
        CHANNEL.interpret(envelope_body, signed(envelope_body))
    assert caught.value.reason.startswith(reason), caught.value.reason


@pytest.mark.parametrize("order_id", ["../x", "a/b", "%00", "' OR 1=1", "", "x" * 65, "a b"])
def test_unsafe_order_ids_are_rejected(envelope: Envelope, order_id: str) -> None:
    for event_type in ("order.created", "order.cancelled"):
        envelope["type"] = event_type
        envelope["data"]["order_id"] = order_id
        body = encode(envelope)
        with pytest.raises(
            ChannelPayloadError, match=r"^data\.order_id: has characters that are not allowed"
        ):
            CHANNEL.interpret(body, signed(body))


# --- Standard Webhooks verification -----------------------------------------------------------------------


def test_second_rotated_secret_is_accepted() -> None:
    # Given a message signed with the new secret only, while the OMS holds the old and the new one
    body = raw()
    hdrs = signed(body, NEW_SECRET)
    # When / Then it verifies
    CHANNEL.verify(body, hdrs, [SECRET, NEW_SECRET], NOW)


def test_message_signed_with_both_secrets_verifies_against_either() -> None:
    body = raw()
    hdrs = signed(body, SECRET, NEW_SECRET)
    CHANNEL.verify(body, hdrs, [NEW_SECRET], NOW)
    CHANNEL.verify(body, hdrs, [SECRET], NOW)


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        CHANNEL.verify(raw(), recorded_headers(), [NEW_SECRET], NOW)


def test_signature_over_another_body_is_rejected() -> None:
    body = raw().replace(b"738.16", b"7.38")
    with pytest.raises(SignatureError, match="does not match"):
        CHANNEL.verify(body, recorded_headers(), [SECRET], NOW)


def test_signature_for_another_message_id_is_rejected() -> None:
    hdrs = recorded_headers() | {"webhook-id": "msg_other"}
    with pytest.raises(SignatureError, match="does not match"):
        CHANNEL.verify(raw(), hdrs, [SECRET], NOW)


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_rejected(header: str) -> None:
    hdrs = recorded_headers()
    del hdrs[header]
    with pytest.raises(SignatureError, match=f"missing {header}"):
        CHANNEL.verify(raw(), hdrs, [SECRET], NOW)


def test_stale_timestamp_is_rejected() -> None:
    with pytest.raises(SignatureError, match="too old"):
        CHANNEL.verify(raw(), recorded_headers(), [SECRET], SENT_AT + timedelta(minutes=5, seconds=1))


def test_future_timestamp_is_rejected() -> None:
    with pytest.raises(SignatureError, match="future"):
        CHANNEL.verify(raw(), recorded_headers(), [SECRET], SENT_AT - timedelta(minutes=5, seconds=1))


def test_timestamps_within_five_minutes_are_accepted() -> None:
    CHANNEL.verify(raw(), recorded_headers(), [SECRET], SENT_AT + timedelta(minutes=5))
    CHANNEL.verify(raw(), recorded_headers(), [SECRET], SENT_AT - timedelta(minutes=5))


# --- request shape ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_unsupported(content_type: str) -> None:
    hdrs = recorded_headers() | {"content-type": content_type}
    with pytest.raises(UnsupportedContentTypeError):
        CHANNEL.interpret(raw(), hdrs)


def test_json_with_charset_is_accepted() -> None:
    hdrs = recorded_headers() | {"content-type": "application/json; charset=utf-8"}
    assert CHANNEL.interpret(raw(), hdrs).kind is DeliveryKind.CREATED


@pytest.mark.parametrize("body", [b"{", b"[]", b"42", b"\xff"])
def test_malformed_json_is_a_malformed_body_error(body: bytes) -> None:
    with pytest.raises(MalformedBodyError):
        CHANNEL.interpret(body, signed(body))


@pytest.mark.parametrize("msg_id", ["../x", "a/b", "%00", "' OR 1=1"])
def test_unsafe_webhook_id_is_rejected(msg_id: str) -> None:
    body = raw()
    with pytest.raises(ChannelPayloadError, match="webhook-id header: has characters"):
        CHANNEL.interpret(body, signed(body, msg_id=msg_id))


# --- the order schema -------------------------------------------------------------------------------------


def test_guest_customer_is_identified_by_the_email_hash(envelope: Envelope) -> None:
    envelope["data"]["customer"]["id"] = None
    body = encode(envelope)
    order = CHANNEL.interpret(body, signed(body)).order
    assert order is not None
    assert order.customer.customer_id.startswith("webshop-guest-")
    assert "siobhan" not in order.customer.customer_id


def test_unicode_survives_and_control_characters_are_stripped(envelope: Envelope) -> None:
    envelope["data"]["lines"][0]["name"] = "USB-C 线缆\t1 m\x00\x1b"
    envelope["data"]["customer"]["name"] = "Zoë\r\nÅngström"
    body = encode(envelope)
    order = CHANNEL.interpret(body, signed(body)).order
    assert order is not None
    assert order.lines[0].name == "USB-C 线缆 1 m"
    assert order.customer.name == "Zoë  Ångström"


def _set(path: str, value: Any) -> Callable[[Envelope], None]:
    """Set `data.<path>` (dotted, integer list indexes); `...` deletes the key."""

    def mutate(envelope: Envelope) -> None:
        parts = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = envelope["data"]
        for part in parts[:-1]:
            target = target[part]
        if value is ...:
            del target[parts[-1]]
        else:
            target[parts[-1]] = value

    return mutate


BAD_CASES: list[tuple[str, Callable[[Envelope], None], str]] = [
    ("missing order id", _set("order_id", ...), "data.order_id: is required"),
    ("unsupported currency", _set("currency", "XAU"), "data.currency: 'XAU' is not a supported currency"),
    ("lower-case currency", _set("currency", "gbp"), "data.currency: has characters"),
    (
        "naive placed_at",
        _set("placed_at", "2026-11-02T14:19:58"),
        "data.placed_at: must include a UTC offset",
    ),
    ("missing customer", _set("customer", ...), "data.customer: is required"),
    ("unsafe customer id", _set("customer.id", "../admin"), "data.customer.id: has characters"),
    ("lower-case country", _set("shipping_address.country", "gb"), "data.shipping_address.country: has"),
    ("long region", _set("shipping_address.region", "ABCD"), "data.shipping_address.region: has"),
    ("empty line1", _set("shipping_address.line1", ""), "data.shipping_address.line1: must not be empty"),
    ("no lines", _set("lines", []), "data.lines: must have at least 1 item(s)"),
    ("zero quantity", _set("lines.0.quantity", 0), "data.lines[0].quantity: must be greater than 0"),
    ("negative quantity", _set("lines.1.quantity", -2), "data.lines[1].quantity: must be greater than 0"),
    ("string quantity", _set("lines.1.quantity", "2"), "data.lines[1].quantity: must be an integer"),
    ("float quantity", _set("lines.1.quantity", 2.0), "data.lines[1].quantity: must be an integer"),
    ("too many decimals", _set("lines.0.unit_price", "7.499"), "data.lines[0].unit_price: has more decimals"),
    ("tax decimals", _set("lines.2.tax", "19.921"), "data.lines[2].tax: has more decimals"),
    ("total decimals", _set("grand_total", "738.165"), "data.grand_total: has more decimals"),
    (
        "money as number",
        _set("lines.0.unit_price", 7.49),
        "data.lines[0].unit_price: must be a decimal string",
    ),
    ("negative money", _set("shipping_total", "-1"), "data.shipping_total: must not be negative"),
    ("NaN money", _set("tax_total", "NaN"), "data.tax_total: must be a finite amount"),
    ("discount above line", _set("lines.1.discount", "400.00"), "data.lines[1].discount: exceeds the line"),
    ("duplicate line id", _set("lines.2.line_id", "1"), "data.lines[2].line_id: duplicate line id 1"),
    ("unsafe sku", _set("lines.0.sku", "a/b"), "data.lines[0].sku: has characters"),
    ("sql line id", _set("lines.0.line_id", "' OR 1=1"), "data.lines[0].line_id: has characters"),
    ("unknown field", _set("lines.0.discunt", "1.00"), "data.lines[0].discunt: is not a field"),
    ("long name", _set("lines.0.name", "x" * 256), "data.lines[0].name: must be at most 255"),
]


@pytest.mark.parametrize(("mutate", "reason"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_order_is_rejected_with_a_reason_naming_the_field(
    envelope: Envelope, mutate: Callable[[Envelope], None], reason: str
) -> None:
    mutate(envelope)
    body = encode(envelope)
    with pytest.raises(ChannelPayloadError) as caught:
        CHANNEL.interpret(body, signed(body))
    assert not isinstance(caught.value, MalformedBodyError)
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert "Input should be" not in caught.value.reason


# --- property: generated consistent orders round-trip to the cent -------------------------------------------

_line_spec = st.tuples(
    st.integers(min_value=0, max_value=300_000),  # unit price in minor units
    st.integers(min_value=1, max_value=500),  # quantity
    st.integers(min_value=0, max_value=100),  # discount percent
)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(
    specs=st.lists(_line_spec, min_size=1, max_size=40),
    place=st.sampled_from(
        [("GB", None, "GBP"), ("DE", None, "EUR"), ("US", "NY", "USD"), ("CA", "ON", "CAD")]
    ),
    shipping=st.integers(min_value=0, max_value=10_000),
)
def test_generated_orders_round_trip_to_the_cent(
    specs: list[tuple[int, int, int]], place: tuple[str, str | None, str], shipping: int
) -> None:
    # Given a consistent order of our schema in some jurisdiction, sent as a signed webhook
    country, region, currency = place
    rate = TAX_RATES[f"{country}-{region}" if region else country]
    envelope = load()
    lines = []
    subtotal = discounts = taxes = ZERO
    for i, (minor, quantity, percent) in enumerate(specs):
        unit = Decimal(minor).scaleb(-2)
        discount = (unit * quantity * percent / 100).quantize(Decimal("0.01"))
        tax = line_tax(unit * quantity - discount, rate, currency)
        subtotal, discounts, taxes = subtotal + unit * quantity, discounts + discount, taxes + tax
        lines.append(
            {
                "line_id": f"L{i}",
                "sku": f"SKU-{i}",
                "name": f"Item {i}",
                "quantity": quantity,
                "unit_price": str(unit),
                "discount": str(discount),
                "tax": str(tax),
            }
        )
    ship = Decimal(shipping).scaleb(-2)
    total = subtotal - discounts + ship + taxes
    envelope["data"].update(
        currency=currency,
        lines=lines,
        shipping_total=str(ship),
        tax_total=str(taxes),
        grand_total=str(total),
    )
    envelope["data"]["shipping_address"].update(country=country, region=region)
    body = encode(envelope)
    # When it is verified and interpreted
    hdrs = signed(body)
    CHANNEL.verify(body, hdrs, [SECRET], NOW)
    order = CHANNEL.interpret(body, hdrs).order
    # Then every amount is the sender's to the cent and the OMS's checks pass
    assert order is not None
    assert (order.subtotal, order.discount_total, order.tax_total) == (subtotal, discounts, taxes)
    assert (order.shipping_total, order.grand_total) == (ship, total)
    assert_passes_oms_validation(order)
