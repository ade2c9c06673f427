"""WooCommerce adapter: order webhooks (REST API v3 order JSON) → `ChannelDelivery` with a `CanonicalOrder`.

Deliveries:

* the creation ping: a form-encoded body `webhook_id=N`, usually unsigned, which must be answered 200
  (WooCommerce disables a webhook whose endpoint keeps failing) → PING;
* `X-WC-Webhook-Topic` `order.created` / `order.updated` → CREATED / UPDATED with the order, except an
  `order.updated` whose status is `cancelled` (how a cancellation in the admin arrives) → CANCELLED;
  `order.deleted` (body `{"id": N}`) → CANCELLED; anything else (`order.restored`, `action.*`) → IGNORED.

Money: line `subtotal` (before discounts), `total` (after discounts) and `total_tax` are decimal strings; the
line's `price` is a float of the discounted unit price and is never read. The canonical unit price is
`subtotal / quantity`, which must come out exact to the currency's minor unit, and the line discount is
`subtotal - total`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from oms.channels.base import ChannelDelivery, DeliveryKind
from oms.channels.errors import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    MalformedBodyError,
    decode_json_object,
    delivery_id_from,
    payload_error,
    require_content_type,
)
from oms.channels.fields import ChannelModel, IntegerId, Quantity, integer_id, not_bool
from oms.channels.shopify import guest_customer_id
from oms.channels.signatures import verify_woocommerce
from oms.domain.errors import ChannelPayloadError, SignatureError
from oms.domain.order import MAX_LINES_PER_ORDER, Address, CanonicalOrder, Customer, OrderLine
from oms.money import MINOR_UNITS, ZERO, has_valid_scale, non_negative, parse_decimal, scale_violation

CHANNEL = "woocommerce"
ENTERED_BY = "channel:woocommerce"
TOPIC_HEADER = "x-wc-webhook-topic"
SIGNATURE_HEADER = "x-wc-webhook-signature"
DELIVERY_HEADER = "x-wc-webhook-delivery-id"
_NAME_MAX = 200

# The creation ping, exactly: nothing else is ever accepted without a signature.
_PING = re.compile(rb"webhook_id=([0-9]{1,20})")

_ORDER_TOPICS: dict[str, DeliveryKind] = {
    "order.created": DeliveryKind.CREATED,
    "order.updated": DeliveryKind.UPDATED,
}
_DELETE_TOPIC = "order.deleted"


def ping_webhook_id(raw_body: bytes) -> str | None:
    """The webhook id of a creation ping body (`webhook_id=N`), or None for any other body."""
    match = _PING.fullmatch(raw_body)
    return match.group(1).decode("ascii") if match else None


# --- field types -------------------------------------------------------------------------------------------


def _decimal(value: object) -> Decimal:
    return parse_decimal(value)


def _gmt(value: datetime) -> datetime:
    """`date_created_gmt` has no offset (it is GMT by definition); an explicit offset is honoured."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


WooMoney = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(non_negative)]
WooSignedMoney = Annotated[Decimal, BeforeValidator(_decimal)]
WooId = IntegerId


# --- the payload, as far as the OMS reads it -------------------------------------------------------------


class WooBilling(ChannelModel):
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    email: str | None = None


class WooShipping(ChannelModel):
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""


class WooLineItem(ChannelModel):
    id: WooId
    name: str = ""
    sku: str | None = None
    quantity: Quantity
    subtotal: WooMoney
    total: WooMoney
    total_tax: WooMoney = ZERO


class WooShippingLine(ChannelModel):
    total: WooMoney
    total_tax: WooMoney = ZERO


class WooFeeLine(ChannelModel):
    total: WooSignedMoney = ZERO


class WooOrder(ChannelModel):
    id: WooId
    number: str | None = None
    status: str = ""
    currency: str
    date_created_gmt: Annotated[datetime, AfterValidator(_gmt)]
    prices_include_tax: bool = False
    customer_id: Annotated[int, BeforeValidator(not_bool), Field(ge=0)] = 0
    billing: WooBilling = Field(default_factory=WooBilling)
    shipping: WooShipping = Field(default_factory=WooShipping)
    line_items: list[WooLineItem] = Field(min_length=1, max_length=MAX_LINES_PER_ORDER)
    shipping_lines: list[WooShippingLine] = Field(default_factory=list)
    fee_lines: list[WooFeeLine] = Field(default_factory=list)
    discount_total: WooMoney = ZERO
    total_tax: WooMoney
    total: WooMoney


# --- checks ------------------------------------------------------------------------------------------------


def _unit_price(item: WooLineItem, index: int, currency: str) -> Decimal:
    """`subtotal / quantity`, which must be exact in the currency (WooCommerce's own `price` is a float)."""
    unit = item.subtotal / item.quantity
    if not has_valid_scale(unit, currency) or unit * item.quantity != item.subtotal:
        raise ChannelPayloadError(
            f"line_items[{index}].subtotal: {item.quantity} units do not have a unit price exact to the "
            f"{currency} minor unit"
        )
    return unit.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))


def _semantic_checks(order: WooOrder) -> None:
    if order.currency not in MINOR_UNITS:
        raise ChannelPayloadError(f"currency: {order.currency!r} is not a supported currency")
    if order.prices_include_tax:
        raise ChannelPayloadError("prices_include_tax: tax-inclusive prices are not supported")
    for i, fee in enumerate(order.fee_lines):
        if fee.total != ZERO:
            # The canonical order has no place for fees; dropping one would break the total.
            raise ChannelPayloadError(f"fee_lines[{i}].total: order fees are not supported")
    amounts: list[tuple[str, Decimal]] = [
        ("discount_total", order.discount_total),
        ("total_tax", order.total_tax),
        ("total", order.total),
    ]
    seen: set[str] = set()
    for i, item in enumerate(order.line_items):
        if item.id in seen:
            raise ChannelPayloadError(f"line_items[{i}].id: duplicate line item id {item.id}")
        seen.add(item.id)
        if item.sku is None or not item.sku.strip():
            raise ChannelPayloadError(f"line_items[{i}].sku: is required (the OMS allocates stock by SKU)")
        amounts += [
            (f"line_items[{i}].subtotal", item.subtotal),
            (f"line_items[{i}].total", item.total),
            (f"line_items[{i}].total_tax", item.total_tax),
        ]
    for i, ship in enumerate(order.shipping_lines):
        amounts += [
            (f"shipping_lines[{i}].total", ship.total),
            (f"shipping_lines[{i}].total_tax", ship.total_tax),
        ]
    path = scale_violation(amounts, order.currency)
    if path is not None:
        raise ChannelPayloadError(f"{path}: has more decimals than {order.currency} allows")
    for i, item in enumerate(order.line_items):
        if item.total > item.subtotal:
            raise ChannelPayloadError(f"line_items[{i}].total: exceeds the line subtotal")
        _unit_price(item, i, order.currency)


# --- mapping -----------------------------------------------------------------------------------------------


def _join(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _ship_to(order: WooOrder) -> tuple[str, WooShipping | WooBilling]:
    """The shipping address, or the billing address when the order has none (virtual items, or a store
    that ships to the billing address)."""
    if order.shipping.address_1.strip():
        return "shipping", order.shipping
    if order.billing.address_1.strip():
        return "billing", order.billing
    raise ChannelPayloadError("shipping.address_1: is required (and billing has no address either)")


def _address(source: str, address: WooShipping | WooBilling) -> Address:
    country = address.country.strip().upper()
    region = address.state.strip().upper().removeprefix(country + "-")
    name = _join(address.first_name, address.last_name) or address.company.strip()
    fields = {
        "name": name[:_NAME_MAX],
        "line1": address.address_1,
        "line2": address.address_2.strip() or None,
        "city": address.city,
        "region": region or None,
        "postal_code": address.postcode.strip() or None,
        "country": country,
    }
    for canonical, woo in (("line1", "address_1"), ("city", "city"), ("country", "country")):
        if not str(fields[canonical] or "").strip():
            raise ChannelPayloadError(f"{source}.{woo}: is required")
    try:
        return Address.model_validate(fields)
    except ValidationError as exc:
        raise payload_error(exc, (source,), _ADDRESS_FIELD) from None


_ADDRESS_FIELD = {
    "line1": "address_1",
    "line2": "address_2",
    "region": "state",
    "postal_code": "postcode",
}


def _customer(order: WooOrder, shipping_name: str) -> Customer:
    billing = order.billing
    email = billing.email.strip() if billing.email and billing.email.strip() else None
    if order.customer_id > 0:
        customer_id = f"{CHANNEL}-{order.customer_id}"
    else:
        # WooCommerce sends customer_id 0 for a guest checkout.
        customer_id = guest_customer_id(CHANNEL, email, order.id)
    name = _join(billing.first_name, billing.last_name) or billing.company.strip() or shipping_name or email
    try:
        return Customer(customer_id=customer_id, name=(name or "")[:_NAME_MAX], email=email)
    except ValidationError as exc:
        raise payload_error(exc, ("billing",)) from None


def _line(item: WooLineItem, index: int, currency: str) -> OrderLine:
    try:
        return OrderLine(
            line_id=item.id,
            sku=(item.sku or "").strip(),
            name=(item.name or item.sku or "")[:_NAME_MAX],
            quantity=item.quantity,
            unit_price=_unit_price(item, index, currency),
            discount=item.subtotal - item.total,
            tax=item.total_tax,
        )
    except ValidationError as exc:
        raise payload_error(exc, ("line_items", index), {"line_id": "id", "unit_price": "subtotal"}) from None


def parse_woocommerce_order(payload: Mapping[str, Any]) -> CanonicalOrder:
    """Turn a WooCommerce REST v3 order (an `order.created`/`order.updated` body) into a `CanonicalOrder`.

    Raises `ChannelPayloadError` with a short reason naming the WooCommerce field for any structural problem.
    """
    if not isinstance(payload, Mapping):
        raise ChannelPayloadError("payload: must be a JSON object")
    try:
        order = WooOrder.model_validate(dict(payload))
    except ValidationError as exc:
        raise payload_error(exc) from None
    _semantic_checks(order)
    lines = [_line(item, i, order.currency) for i, item in enumerate(order.line_items)]
    source, ship = _ship_to(order)
    address = _address(source, ship)
    try:
        return CanonicalOrder(
            channel=CHANNEL,
            external_id=order.id,
            currency=order.currency,
            customer=_customer(order, address.name),
            shipping_address=address,
            lines=lines,
            shipping_total=sum((s.total for s in order.shipping_lines), ZERO),
            tax_total=order.total_tax,
            grand_total=order.total,
            placed_at=order.date_created_gmt,
            entered_by=ENTERED_BY,
        )
    except ValidationError as exc:
        raise payload_error(
            exc, (), {"external_id": "id", "placed_at": "date_created_gmt", "grand_total": "total"}
        ) from None


def _order_reference(payload: Mapping[str, Any]) -> str:
    if "id" not in payload:
        raise ChannelPayloadError("id: is required")
    try:
        return integer_id(payload["id"])
    except ValueError as exc:
        raise ChannelPayloadError(f"id: {exc}") from None


# --- the webhook channel -----------------------------------------------------------------------------------


class WooCommerceChannel:
    """WooCommerce order webhooks and the creation ping."""

    name = CHANNEL

    def verify(
        self, raw_body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: datetime
    ) -> None:
        """`X-WC-Webhook-Signature` over the raw body with any of `secrets`.

        The creation ping (exactly a `webhook_id=<digits>` body) is accepted unsigned: it carries nothing
        and is answered without effect."""
        if ping_webhook_id(raw_body) is not None:
            return
        if not secrets:
            raise SignatureError("no webhook secret configured for this channel")
        failure: SignatureError | None = None
        for secret in secrets:
            try:
                verify_woocommerce(raw_body, headers.get(SIGNATURE_HEADER), secret)
            except SignatureError as exc:
                failure = exc
            else:
                return
        assert failure is not None
        raise failure

    def interpret(self, raw_body: bytes, headers: Mapping[str, str]) -> ChannelDelivery:
        media = require_content_type(headers, JSON_CONTENT_TYPE, FORM_CONTENT_TYPE)
        if media == FORM_CONTENT_TYPE:
            webhook_id = ping_webhook_id(raw_body)
            if webhook_id is None:
                raise MalformedBodyError("body: a form-encoded delivery must be the webhook_id=<N> ping")
            return ChannelDelivery(
                kind=DeliveryKind.PING,
                delivery_id=f"ping-{webhook_id}",
                note=f"webhook {webhook_id} created",
            )
        delivery_id = delivery_id_from(headers, DELIVERY_HEADER)
        topic = headers.get(TOPIC_HEADER, "").strip()
        if not topic:
            raise ChannelPayloadError(f"{TOPIC_HEADER} header: is required")
        if topic in _ORDER_TOPICS:
            payload = decode_json_object(raw_body)
            if topic == "order.updated" and payload.get("status") == "cancelled":
                # Cancelling in the WooCommerce admin is an order.updated with the new status.
                return ChannelDelivery(
                    kind=DeliveryKind.CANCELLED,
                    delivery_id=delivery_id,
                    external_id=_order_reference(payload),
                    note="status changed to cancelled in WooCommerce",
                )
            order = parse_woocommerce_order(payload)
            return ChannelDelivery(
                kind=_ORDER_TOPICS[topic], delivery_id=delivery_id, external_id=order.external_id, order=order
            )
        if topic == _DELETE_TOPIC:
            return ChannelDelivery(
                kind=DeliveryKind.CANCELLED,
                delivery_id=delivery_id,
                external_id=_order_reference(decode_json_object(raw_body)),
                note="order deleted in WooCommerce",
            )
        return ChannelDelivery(
            kind=DeliveryKind.IGNORED,
            delivery_id=delivery_id,
            note=f"topic {topic[:60]!r} is not handled by the OMS",
        )
