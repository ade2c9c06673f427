"""Shopify adapter: order webhooks (REST Admin order JSON) → `ChannelDelivery` with a `CanonicalOrder`.

`ShopifyChannel` verifies and interprets a delivery by its `X-Shopify-Topic`; `parse_shopify_order` maps an
order body (`orders/create`, `orders/updated`) to the canonical order with its pricing components
(docs/decisions/0020):

* lines: `price` (tax-inclusive when `taxes_included`), `quantity`, `discount_allocations` (each naming its
  `discount_application_index`), `tax_lines` (one per jurisdiction: state, county, city, district),
  `taxable`;
* discounts: `discount_applications` (codes, automatic, manual and script discounts, with their value,
  value type, allocation method and target), with the amounts of `discount_codes`;
* `shipping_lines` with their own `discount_allocations` and `tax_lines`;
* stated totals: `total_line_items_price`, `subtotal_price`, `total_discounts`, the order's `tax_lines`,
  `total_tax`, `total_price`. Shopify rounds tax per line and tax line.

The adapter checks structure only (fields present, types right, amounts numeric with the currency's
decimals, quantities positive); business checks (catalog prices, tax, totals) come later in the workflow.

Money: Shopify sends money as strings ("409.94"), but some fields and some API versions send JSON numbers.
Parse the raw body with `json.loads(raw, parse_float=Decimal)` so a number reaches this module as the
Decimal of its exact JSON token. Python floats are still accepted (converted through `str()`, which gives
back the shortest decimal that round-trips, i.e. the original token for any amount with at most 15
significant digits), and the currency's decimal-places check rejects anything that drifted. Amounts with
more than 15 digits before the point ("1e30") are refused with the field named.

Field limits: Shopify's string fields (addresses, titles, codes) hold at most 255 characters (see
`oms.domain.order.TEXT_MAX`); longer names are shortened, longer addresses refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from oms.channels.base import ChannelDelivery, DeliveryKind, PrivacyRequest
from oms.channels.errors import (
    JSON_CONTENT_TYPE,
    decode_json_object,
    delivery_id_from,
    payload_error,
    require_content_type,
)
from oms.channels.fields import (
    ChannelModel,
    IntegerId,
    Quantity,
    bounded_decimal,
    channel_rate,
    guest_customer_id,
    integer_id,
    not_bool,
)
from oms.channels.signatures import verify_shopify
from oms.domain.errors import ChannelPayloadError, SignatureError
from oms.domain.order import (
    MAX_LINES_PER_ORDER,
    TEXT_MAX,
    Address,
    CanonicalOrder,
    ChannelPayment,
    Customer,
    OrderLine,
)
from oms.domain.pricing import (
    TITLE_MAX,
    ChannelTotals,
    Charge,
    DiscountAllocation,
    OrderDiscount,
    TaxLine,
)
from oms.money import MINOR_UNITS, ZERO, non_negative, scale_violation
from oms.privacy.classification import classified
from oms.tax.rates import guess_level

CHANNEL = "shopify"
ENTERED_BY = "channel:shopify"
_NAME_MAX = TEXT_MAX


# --- field types -------------------------------------------------------------------------------------------


def _decimal(value: object) -> Decimal:
    return bounded_decimal(value, allow_float=True)


ShopifyMoney = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(non_negative)]
ShopifyRate = Annotated[Decimal, BeforeValidator(channel_rate)]
ShopifyId = IntegerId
ShortString = Annotated[str, Field(max_length=TITLE_MAX)]


# --- the payload, as far as the OMS reads it (everything else is ignored) ---------------------------------


class ShopifyAmount(ChannelModel):
    amount: ShopifyMoney
    discount_application_index: Annotated[int, BeforeValidator(not_bool), Field(ge=0, le=1000)] | None = None


class ShopifyTaxLine(ChannelModel):
    price: ShopifyMoney
    rate: ShopifyRate | None = None
    title: ShortString | None = None


class ShopifyLineItem(ChannelModel):
    id: ShopifyId
    sku: Annotated[str, Field(min_length=1)] | None = None
    title: str | None = None
    name: str | None = None
    quantity: Quantity
    price: ShopifyMoney
    taxable: bool = True
    total_discount: ShopifyMoney = ZERO
    discount_allocations: list[ShopifyAmount] = Field(default_factory=list, max_length=50)
    tax_lines: list[ShopifyTaxLine] = Field(default_factory=list, max_length=20)


class ShopifyShippingLine(ChannelModel):
    id: ShopifyId | None = None
    title: ShortString | None = None
    code: ShortString | None = None
    price: ShopifyMoney
    discount_allocations: list[ShopifyAmount] = Field(default_factory=list, max_length=50)
    tax_lines: list[ShopifyTaxLine] = Field(default_factory=list, max_length=20)


@classified(
    personal=(
        "first_name",
        "last_name",
        "email",
    ),
    operational=("id",),
)
class ShopifyCustomer(ChannelModel):
    id: ShopifyId
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@classified(
    personal=(
        "first_name",
        "last_name",
        "name",
        "company",
        "address1",
        "address2",
        "city",
        "zip",
    ),
    operational=(
        "province_code",
        "country_code",
    ),
)
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
    code: ShortString
    amount: ShopifyMoney = ZERO
    type: str | None = None


class ShopifyDiscountApplication(ChannelModel):
    type: Literal["discount_code", "automatic", "manual", "script"] = "discount_code"
    code: ShortString | None = None
    title: ShortString | None = None
    description: ShortString | None = None
    value: Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(non_negative)] | None = None
    value_type: Literal["percentage", "fixed_amount"] | None = None
    allocation_method: Literal["across", "each", "one"] | None = None
    target_selection: Literal["all", "entitled", "explicit"] | None = None
    target_type: Literal["line_item", "shipping_line"] = "line_item"


@classified(
    personal=(
        "customer",
        "email",
        "shipping_address",
    ),
    financial=(
        "currency",
        "taxes_included",
        "line_items",
        "shipping_lines",
        "tax_lines",
        "total_line_items_price",
        "subtotal_price",
        "total_tax",
        "total_price",
        "total_discounts",
        "discount_codes",
        "discount_applications",
        "financial_status",
        "total_outstanding",
        "payment_gateway_names",
        "confirmation_number",
    ),
    operational=(
        "id",
        "name",
        "order_number",
        "created_at",
        "processed_at",
    ),
)
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
    shipping_lines: list[ShopifyShippingLine] = Field(default_factory=list, max_length=20)
    tax_lines: list[ShopifyTaxLine] = Field(default_factory=list, max_length=50)
    total_line_items_price: ShopifyMoney | None = None
    subtotal_price: ShopifyMoney | None = None
    total_tax: ShopifyMoney
    total_price: ShopifyMoney
    total_discounts: ShopifyMoney | None = None
    discount_codes: list[ShopifyDiscountCode] = Field(default_factory=list, max_length=50)
    discount_applications: list[ShopifyDiscountApplication] = Field(default_factory=list, max_length=50)
    financial_status: str | None = None
    total_outstanding: ShopifyMoney | None = None
    processed_at: datetime | None = None
    payment_gateway_names: list[str] = Field(default_factory=list, max_length=10)
    confirmation_number: str | None = None


_PAID_STATUSES = {"paid", "partially_paid", "partially_refunded", "refunded"}


def channel_payment(order: ShopifyOrder) -> ChannelPayment | None:
    """What was paid at checkout: the total less what Shopify says is outstanding (refunds come as
    `refunds/create`, not here)."""
    if (order.financial_status or "") not in _PAID_STATUSES:
        return None
    outstanding = order.total_outstanding if order.total_outstanding is not None else ZERO
    paid = order.total_price - outstanding
    if paid <= 0:
        return None
    reference = _join(",".join(order.payment_gateway_names), order.confirmation_number)[:120] or None
    return ChannelPayment(
        amount=paid, paid_at=(order.processed_at or order.created_at).astimezone(UTC), reference=reference
    )


# --- mapping -----------------------------------------------------------------------------------------------


def _sum(amounts: Sequence[ShopifyAmount]) -> Decimal:
    return sum((a.amount for a in amounts), ZERO)


def _join(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _money_fields(order: ShopifyOrder) -> list[tuple[str, Decimal]]:
    amounts: list[tuple[str, Decimal]] = [
        ("total_tax", order.total_tax),
        ("total_price", order.total_price),
    ]
    for name in ("total_discounts", "total_line_items_price", "subtotal_price"):
        value = getattr(order, name)
        if value is not None:
            amounts.append((name, value))
    amounts += [(f"discount_codes[{i}].amount", d.amount) for i, d in enumerate(order.discount_codes)]
    amounts += [(f"tax_lines[{i}].price", t.price) for i, t in enumerate(order.tax_lines)]
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
        amounts += [
            (f"shipping_lines[{i}].tax_lines[{j}].price", t.price) for j, t in enumerate(ship.tax_lines)
        ]
    return amounts


def _semantic_checks(order: ShopifyOrder) -> None:
    if order.currency not in MINOR_UNITS:
        raise ChannelPayloadError(f"currency: {order.currency!r} is not a supported currency")
    if order.created_at.tzinfo is None:
        raise ChannelPayloadError("created_at: must include a UTC offset")
    seen_ids: set[str] = set()
    applications = len(order.discount_applications)
    for i, item in enumerate(order.line_items):
        if item.id in seen_ids:
            raise ChannelPayloadError(f"line_items[{i}].id: duplicate line item id {item.id}")
        seen_ids.add(item.id)
        if item.sku is None or not item.sku.strip():
            raise ChannelPayloadError(f"line_items[{i}].sku: is required (the OMS allocates stock by SKU)")
        allocated = _sum(item.discount_allocations) if item.discount_allocations else item.total_discount
        if allocated > item.price * item.quantity:
            raise ChannelPayloadError(f"line_items[{i}].discount_allocations: exceed the line amount")
        for j, allocation in enumerate(item.discount_allocations):
            index = allocation.discount_application_index
            if index is not None and index >= applications:
                raise ChannelPayloadError(
                    f"line_items[{i}].discount_allocations[{j}].discount_application_index: "
                    f"names no discount application"
                )
    for i, ship in enumerate(order.shipping_lines):
        if _sum(ship.discount_allocations) > ship.price:
            raise ChannelPayloadError(f"shipping_lines[{i}].discount_allocations: exceed the shipping price")
    path = scale_violation(_money_fields(order), order.currency)
    if path is not None:
        raise ChannelPayloadError(f"{path}: has more decimals than {order.currency} allows")


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


def _discount_keys(order: ShopifyOrder) -> list[str]:
    """A unique key per discount application: its code, else its title, else its position."""
    keys: list[str] = []
    for i, app in enumerate(order.discount_applications):
        key = (app.code if app.type == "discount_code" else None) or app.title or app.description
        key = (key or f"discount {i + 1}").strip()[:TITLE_MAX] or f"discount {i + 1}"
        if key in keys:
            key = f"{key} #{i + 1}"
        keys.append(key)
    return keys


def _discounts(order: ShopifyOrder, keys: list[str]) -> list[OrderDiscount]:
    amounts = {code.code.strip(): code.amount for code in order.discount_codes}
    discounts = []
    for key, app in zip(keys, order.discount_applications, strict=True):
        code = app.code.strip() if app.code else None
        discounts.append(
            OrderDiscount(
                key=key,
                kind="code" if app.type == "discount_code" else app.type,
                code=code,
                title=app.title or app.description,
                target=app.target_type,
                value_type=app.value_type,
                value=app.value,
                allocation_method=app.allocation_method,
                target_selection=app.target_selection,
                amount=amounts.get(code) if code else None,
            )
        )
    listed = {d.code for d in discounts if d.code}
    # Codes with no application (payloads of older API versions) are still declared with their amount.
    for unlisted in order.discount_codes:
        if unlisted.code.strip() not in listed:
            discounts.append(
                OrderDiscount(
                    key=unlisted.code.strip(),
                    code=unlisted.code.strip(),
                    target="shipping_line" if unlisted.type == "shipping" else "line_item",
                    amount=unlisted.amount,
                )
            )
    return discounts


def _allocations(amounts: Sequence[ShopifyAmount], keys: list[str]) -> list[DiscountAllocation]:
    return [
        DiscountAllocation(
            discount=keys[a.discount_application_index]
            if a.discount_application_index is not None
            else "line",
            amount=a.amount,
        )
        for a in amounts
    ]


def _taxes(lines: Sequence[ShopifyTaxLine], jurisdiction: str) -> list[TaxLine]:
    return [
        TaxLine(
            title=(t.title or "Tax").strip() or "Tax",
            rate=t.rate,
            amount=t.price,
            level=guess_level(t.title or ""),
            jurisdiction=jurisdiction,
        )
        for t in lines
    ]


def _line(item: ShopifyLineItem, keys: list[str], jurisdiction: str) -> OrderLine:
    name = item.name or item.title or item.sku or ""
    if item.discount_allocations:
        discounts = _allocations(item.discount_allocations, keys)
        discount = _sum(item.discount_allocations)
    else:  # the deprecated total_discount, without allocations
        discounts, discount = [], item.total_discount
    taxes = _taxes(item.tax_lines, jurisdiction)
    return OrderLine(
        line_id=item.id,
        sku=(item.sku or "").strip(),
        name=name[:_NAME_MAX],
        quantity=item.quantity,
        unit_price=item.price,
        discount=discount,
        discounts=discounts,
        tax=sum((t.amount for t in taxes), ZERO),
        taxes=taxes,
        taxable=item.taxable,
    )


def _shipping(order: ShopifyOrder, keys: list[str], jurisdiction: str) -> list[Charge]:
    charges = []
    for i, ship in enumerate(order.shipping_lines):
        taxes = _taxes(ship.tax_lines, jurisdiction)
        charges.append(
            Charge(
                charge_id=ship.id or f"shipping-{i + 1}",
                title=(ship.title or ship.code or "Shipping")[:TITLE_MAX],
                amount=ship.price,
                discount=_sum(ship.discount_allocations),
                discounts=_allocations(ship.discount_allocations, keys),
                tax=sum((t.amount for t in taxes), ZERO),
                taxes=taxes,
            )
        )
    return charges


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
    try:
        address = _address(order.shipping_address)
    except ValidationError as exc:
        raise _canonical_error(exc, ("shipping_address",)) from None
    jurisdiction = address.jurisdiction
    keys = _discount_keys(order)
    lines = []
    for i, item in enumerate(order.line_items):
        try:
            lines.append(_line(item, keys, jurisdiction))
        except ValidationError as exc:
            raise _canonical_error(exc, ("line_items", i)) from None
    try:
        customer = _customer(order)
    except ValidationError as exc:
        raise _canonical_error(exc, ("customer",)) from None
    try:
        shipping = _shipping(order, keys, jurisdiction)
        discounts = _discounts(order, keys)
        return CanonicalOrder(
            channel=CHANNEL,
            external_id=order.id,
            currency=order.currency,
            customer=customer,
            shipping_address=address,
            lines=lines,
            shipping_total=sum((s.net for s in shipping), ZERO),
            tax_total=order.total_tax,
            grand_total=order.total_price,
            placed_at=order.created_at.astimezone(UTC),
            entered_by=ENTERED_BY,
            prices_include_tax=order.taxes_included,
            tax_rounding="line",
            discounts=discounts,
            shipping_lines=shipping,
            channel_totals=ChannelTotals(
                subtotal=order.total_line_items_price,
                net_subtotal=order.subtotal_price,
                discount_total=order.total_discounts,
                tax_lines=_taxes(order.tax_lines, jurisdiction),
            ),
            channel_payment=channel_payment(order),
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
_PRIVACY_TOPICS = {
    "customers/redact": "ERASURE",
    "customers/data_request": "ACCESS",
    "shop/redact": "SHOP_REDACT",
}
"""Shopify's mandatory compliance webhooks (every app must subscribe to them)."""


def _privacy_request(topic: str, payload: Mapping[str, Any]) -> PrivacyRequest:
    kind = _PRIVACY_TOPICS[topic]
    if kind == "SHOP_REDACT":
        if "shop_id" not in payload:
            raise ChannelPayloadError("shop_id: is required")
        return PrivacyRequest(kind=kind, customer_id=None)
    customer = payload.get("customer")
    if not isinstance(customer, Mapping) or "id" not in customer:
        raise ChannelPayloadError("customer.id: is required")
    try:
        customer_id = integer_id(customer["id"])
    except ValueError as exc:
        raise ChannelPayloadError(f"customer.id: {exc}") from None
    field = "orders_to_redact" if kind == "ERASURE" else "orders_requested"
    listed = payload.get(field) or []
    if not isinstance(listed, list):
        raise ChannelPayloadError(f"{field}: must be a list of order ids")
    try:
        orders = tuple(integer_id(o) for o in listed[:1000])
    except ValueError as exc:
        raise ChannelPayloadError(f"{field}: {exc}") from None
    return PrivacyRequest(kind=kind, customer_id=f"{CHANNEL}-{customer_id}", orders=orders)


def _order_reference(payload: Mapping[str, Any]) -> str:
    """The order id of a body of which only the id is read (orders/cancelled)."""
    if "id" not in payload:
        raise ChannelPayloadError("id: is required")
    try:
        return integer_id(payload["id"])
    except ValueError as exc:
        raise ChannelPayloadError(f"id: {exc}") from None


class ShopifyChannel:
    """Shopify order webhooks: `orders/create`, `orders/updated` and `orders/cancelled`; the compliance
    webhooks `customers/redact`, `customers/data_request` and `shop/redact` (to the privacy function).

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
        if topic in _PRIVACY_TOPICS:
            request = _privacy_request(topic, decode_json_object(raw_body))
            return ChannelDelivery(
                kind=DeliveryKind.PRIVACY, delivery_id=delivery_id, privacy=request, note=f"{topic} queued"
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
