"""Shopify adapter: order webhooks (REST Admin order JSON) → `ChannelDelivery` with a `CanonicalOrder`.

`ShopifyChannel` verifies and interprets a delivery by its `X-Shopify-Topic`; `parse_shopify_order` maps an
order body (`orders/create`, `orders/updated`) to the canonical order.

The adapter checks structure only (fields present, types right, amounts numeric with the currency's
decimals, quantities positive); business checks (catalog prices, tax, totals) come later in the workflow.

Money: Shopify sends money as strings ("409.94"), but some fields and some API versions send JSON numbers.
Parse the raw body with `json.loads(raw, parse_float=Decimal)` so a number reaches this module as the
Decimal of its exact JSON token. Python floats are still accepted (converted through `str()`, which gives
back the shortest decimal that round-trips, i.e. the original token for any amount with at most 15
significant digits), and the currency's decimal-places check rejects anything that drifted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from oms.channels.base import ChannelDelivery, DeliveryKind
from oms.channels.errors import (
    JSON_CONTENT_TYPE,
    decode_json_object,
    delivery_id_from,
    payload_error,
    require_content_type,
)
from oms.channels.fields import ChannelModel, IntegerId, Quantity, integer_id, not_bool
from oms.channels.signatures import verify_shopify
from oms.domain.errors import ChannelPayloadError, SignatureError
from oms.domain.order import MAX_LINES_PER_ORDER, Address, CanonicalOrder, Customer, OrderLine
from oms.money import MINOR_UNITS, ZERO, non_negative, parse_decimal, scale_violation

CHANNEL = "shopify"
ENTERED_BY = "channel:shopify"
_NAME_MAX = 200


# --- field types -------------------------------------------------------------------------------------------


def _decimal(value: object) -> Decimal:
    return parse_decimal(value, allow_float=True)


ShopifyMoney = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(non_negative)]
ShopifyRate = Annotated[Decimal, BeforeValidator(_decimal)]
ShopifyId = IntegerId


# --- the payload, as far as the OMS reads it (everything else is ignored) ---------------------------------


class ShopifyAmount(ChannelModel):
    amount: ShopifyMoney


class ShopifyTaxLine(ChannelModel):
    price: ShopifyMoney
    rate: ShopifyRate | None = None
    title: str | None = None


class ShopifyLineItem(ChannelModel):
    id: ShopifyId
    sku: Annotated[str, Field(min_length=1)] | None = None
    title: str | None = None
    name: str | None = None
    quantity: Quantity
    price: ShopifyMoney
    total_discount: ShopifyMoney = ZERO
    discount_allocations: list[ShopifyAmount] = Field(default_factory=list)
    tax_lines: list[ShopifyTaxLine] = Field(default_factory=list)


class ShopifyShippingLine(ChannelModel):
    price: ShopifyMoney
    discount_allocations: list[ShopifyAmount] = Field(default_factory=list)


class ShopifyCustomer(ChannelModel):
    id: ShopifyId
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class ShopifyAddress(ChannelModel):
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    company: str | None = None
    address1: Annotated[str, Field(min_length=1)]
    address2: str | None = None
    city: Annotated[str, Field(min_length=1)]
    province_code: str | None = None
    zip: str | None = None
    country_code: Annotated[str, Field(min_length=2, max_length=2)]


class ShopifyDiscountCode(ChannelModel):
    code: str
    amount: ShopifyMoney = ZERO


class ShopifyOrder(ChannelModel):
    id: ShopifyId
    name: str | None = None
    order_number: Annotated[int, BeforeValidator(not_bool)] | None = None
    currency: str
    created_at: datetime
    taxes_included: bool = False
    customer: ShopifyCustomer | None = None
    email: str | None = None
    shipping_address: ShopifyAddress
    line_items: list[ShopifyLineItem] = Field(min_length=1, max_length=MAX_LINES_PER_ORDER)
    shipping_lines: list[ShopifyShippingLine] = Field(default_factory=list)
    total_tax: ShopifyMoney
    total_price: ShopifyMoney
    total_discounts: ShopifyMoney = ZERO
    discount_codes: list[ShopifyDiscountCode] = Field(default_factory=list)


# --- mapping -----------------------------------------------------------------------------------------------


def _sum(amounts: list[ShopifyAmount]) -> Decimal:
    return sum((a.amount for a in amounts), ZERO)


def _line_discount(item: ShopifyLineItem) -> Decimal:
    """The line's discount: its allocations (current API), else the deprecated total_discount."""
    return _sum(item.discount_allocations) if item.discount_allocations else item.total_discount


def _join(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def guest_customer_id(channel: str, email: str | None, external_id: str) -> str:
    """A stable id for a guest checkout: one per e-mail address (case and surrounding blanks ignored), or
    one per order when there is none. Shared by the channels whose guests have no customer id."""
    if email and email.strip():
        digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:20]
        return f"{channel}-guest-{digest}"
    return f"{channel}-guest-order-{external_id}"


def _check_scale(order: ShopifyOrder) -> None:
    currency = order.currency
    amounts: list[tuple[str, Decimal]] = [
        ("total_tax", order.total_tax),
        ("total_price", order.total_price),
        ("total_discounts", order.total_discounts),
    ]
    for i, item in enumerate(order.line_items):
        amounts += [
            (f"line_items[{i}].price", item.price),
            (f"line_items[{i}].total_discount", item.total_discount),
        ]
        amounts += [
            (f"line_items[{i}].discount_allocations[{j}].amount", a.amount)
            for j, a in enumerate(item.discount_allocations)
        ]
        amounts += [(f"line_items[{i}].tax_lines[{j}].price", t.price) for j, t in enumerate(item.tax_lines)]
    for i, ship in enumerate(order.shipping_lines):
        amounts.append((f"shipping_lines[{i}].price", ship.price))
        amounts += [
            (f"shipping_lines[{i}].discount_allocations[{j}].amount", a.amount)
            for j, a in enumerate(ship.discount_allocations)
        ]
    path = scale_violation(amounts, currency)
    if path is not None:
        raise ChannelPayloadError(f"{path}: has more decimals than {currency} allows")


def _semantic_checks(order: ShopifyOrder) -> None:
    if order.currency not in MINOR_UNITS:
        raise ChannelPayloadError(f"currency: {order.currency!r} is not a supported currency")
    if order.taxes_included:
        # Canonical amounts are tax-exclusive (net + tax = gross); tax-inclusive shops need a conversion.
        raise ChannelPayloadError("taxes_included: tax-inclusive prices are not supported")
    if order.created_at.tzinfo is None:
        raise ChannelPayloadError("created_at: must include a UTC offset")
    seen_ids: set[str] = set()
    for i, item in enumerate(order.line_items):
        if item.id in seen_ids:
            raise ChannelPayloadError(f"line_items[{i}].id: duplicate line item id {item.id}")
        seen_ids.add(item.id)
        if item.sku is None or not item.sku.strip():
            raise ChannelPayloadError(f"line_items[{i}].sku: is required (the OMS allocates stock by SKU)")
        if _line_discount(item) > item.price * item.quantity:
            raise ChannelPayloadError(f"line_items[{i}].discount_allocations: exceed the line amount")
    for i, ship in enumerate(order.shipping_lines):
        if _sum(ship.discount_allocations) > ship.price:
            raise ChannelPayloadError(f"shipping_lines[{i}].discount_allocations: exceed the shipping price")
    _check_scale(order)


def _customer(order: ShopifyOrder) -> Customer:
    address = order.shipping_address
    email = (order.customer.email if order.customer else None) or order.email
    if order.customer is not None:
        customer_id = f"shopify-{order.customer.id}"
        name = _join(order.customer.first_name, order.customer.last_name)
    else:
        customer_id = guest_customer_id(CHANNEL, email, order.id)
        name = ""
    name = (
        name or address.name or _join(address.first_name, address.last_name) or address.company or email or ""
    )
    return Customer(customer_id=customer_id, name=name[:_NAME_MAX], email=email.strip() if email else None)


def _region(address: ShopifyAddress) -> str:
    """Shopify's province code; some countries send it ISO 3166-2 style ("JP-13"): keep what follows."""
    region = (address.province_code or "").strip().upper()
    return region.removeprefix(address.country_code.strip().upper() + "-")


def _address(address: ShopifyAddress) -> Address:
    name = address.name or _join(address.first_name, address.last_name) or address.company or ""
    return Address(
        name=name[:_NAME_MAX],
        line1=address.address1,
        line2=address.address2 or None,
        city=address.city,
        region=_region(address) or None,
        postal_code=(address.zip or "").strip() or None,
        country=address.country_code.strip().upper(),
    )


def _line(item: ShopifyLineItem) -> OrderLine:
    name = item.name or item.title or item.sku or ""
    return OrderLine(
        line_id=item.id,
        sku=(item.sku or "").strip(),
        name=name[:_NAME_MAX],
        quantity=item.quantity,
        unit_price=item.price,
        discount=_line_discount(item),
        tax=sum((t.price for t in item.tax_lines), ZERO),
    )


# Canonical field → the Shopify field it is read from, so errors found by the canonical model name the
# field the sender can fix.
_SHOPIFY_FIELD: dict[str, str] = {
    "line_id": "id",
    "unit_price": "price",
    "discount": "discount_allocations",
    "tax": "tax_lines",
    "line1": "address1",
    "line2": "address2",
    "region": "province_code",
    "postal_code": "zip",
    "country": "country_code",
    "customer_id": "id",
    "lines": "line_items",
    "external_id": "id",
    "placed_at": "created_at",
    "tax_total": "total_tax",
    "grand_total": "total_price",
    "shipping_total": "shipping_lines",
}


def _canonical_error(exc: ValidationError, prefix: tuple[int | str, ...]) -> ChannelPayloadError:
    return payload_error(exc, prefix, _SHOPIFY_FIELD)


def parse_shopify_order(payload: Mapping[str, Any]) -> CanonicalOrder:
    """Turn an `orders/create` webhook body into a `CanonicalOrder`.

    Raises `ChannelPayloadError` with a short reason naming the Shopify field for any structural problem.
    Parse the body with `json.loads(raw, parse_float=Decimal)` (see the module docstring).
    """
    if not isinstance(payload, Mapping):
        raise ChannelPayloadError("payload: must be a JSON object")
    try:
        order = ShopifyOrder.model_validate(dict(payload))
    except ValidationError as exc:
        raise payload_error(exc) from None
    _semantic_checks(order)

    lines = []
    for i, item in enumerate(order.line_items):
        try:
            lines.append(_line(item))
        except ValidationError as exc:
            raise _canonical_error(exc, ("line_items", i)) from None
    try:
        address = _address(order.shipping_address)
    except ValidationError as exc:
        raise _canonical_error(exc, ("shipping_address",)) from None
    try:
        customer = _customer(order)
    except ValidationError as exc:
        raise _canonical_error(exc, ("customer",)) from None
    try:
        return CanonicalOrder(
            channel=CHANNEL,
            external_id=order.id,
            currency=order.currency,
            customer=customer,
            shipping_address=address,
            lines=lines,
            shipping_total=sum((s.price - _sum(s.discount_allocations) for s in order.shipping_lines), ZERO),
            tax_total=order.total_tax,
            grand_total=order.total_price,
            placed_at=order.created_at.astimezone(UTC),
            entered_by=ENTERED_BY,
        )
    except ValidationError as exc:
        raise _canonical_error(exc, ()) from None


# --- the webhook channel -----------------------------------------------------------------------------------

TOPIC_HEADER = "x-shopify-topic"
SIGNATURE_HEADER = "x-shopify-hmac-sha256"
_ORDER_TOPICS: dict[str, DeliveryKind] = {
    "orders/create": DeliveryKind.CREATED,
    "orders/updated": DeliveryKind.UPDATED,
}
_CANCEL_TOPIC = "orders/cancelled"


def _order_reference(payload: Mapping[str, Any]) -> str:
    """The order id of a body of which only the id is read (orders/cancelled)."""
    if "id" not in payload:
        raise ChannelPayloadError("id: is required")
    try:
        return integer_id(payload["id"])
    except ValueError as exc:
        raise ChannelPayloadError(f"id: {exc}") from None


class ShopifyChannel:
    """Shopify order webhooks: `orders/create`, `orders/updated` and `orders/cancelled`.

    Shopify retries a delivery (same body, same `X-Shopify-Event-Id`) for 4 hours when the answer is not
    2xx within 5 s, so topics the OMS does not act on are answered as IGNORED, not as errors.
    """

    name = CHANNEL

    def verify(
        self, raw_body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: datetime
    ) -> None:
        """`X-Shopify-Hmac-Sha256` over the raw body with any of `secrets` (old and new during rotation)."""
        if not secrets:
            raise SignatureError("no webhook secret configured for this channel")
        failure: SignatureError | None = None
        for secret in secrets:
            try:
                verify_shopify(raw_body, headers.get(SIGNATURE_HEADER), secret)
            except SignatureError as exc:
                failure = exc
            else:
                return
        assert failure is not None
        raise failure

    def interpret(self, raw_body: bytes, headers: Mapping[str, str]) -> ChannelDelivery:
        require_content_type(headers, JSON_CONTENT_TYPE)
        delivery_id = delivery_id_from(headers, "x-shopify-event-id", "x-shopify-webhook-id")
        topic = headers.get(TOPIC_HEADER, "").strip()
        if not topic:
            raise ChannelPayloadError(f"{TOPIC_HEADER} header: is required")
        if topic in _ORDER_TOPICS:
            order = parse_shopify_order(decode_json_object(raw_body))
            return ChannelDelivery(
                kind=_ORDER_TOPICS[topic], delivery_id=delivery_id, external_id=order.external_id, order=order
            )
        if topic == _CANCEL_TOPIC:
            payload = decode_json_object(raw_body)
            reason = payload.get("cancel_reason")
            note = f"cancel_reason: {reason}" if isinstance(reason, str) and reason.isidentifier() else None
            return ChannelDelivery(
                kind=DeliveryKind.CANCELLED,
                delivery_id=delivery_id,
                external_id=_order_reference(payload),
                note=note,
            )
        return ChannelDelivery(
            kind=DeliveryKind.IGNORED,
            delivery_id=delivery_id,
            note=f"topic {topic[:60]!r} is not handled by the OMS",
        )
