"""WooCommerce adapter: order webhooks (REST API v3 order JSON) → `ChannelDelivery` with a `CanonicalOrder`.

Deliveries:

* the creation ping: a form-encoded body `webhook_id=N`, usually unsigned, which must be answered 200
  (WooCommerce disables a webhook whose endpoint keeps failing) → PING;
* `X-WC-Webhook-Topic` `order.created` / `order.updated` → CREATED / UPDATED with the order, except an
  `order.updated` whose status is `cancelled` (how a cancellation in the admin arrives) → CANCELLED;
  `order.deleted` (body `{"id": N}`) → CANCELLED; anything else (`order.restored`, `action.*`) → IGNORED.

Pricing components (docs/decisions/0020): WooCommerce keeps every line amount tax-exclusive, even in a store
whose prices include tax: line `subtotal` (before coupons) and `total` (after), `subtotal_tax` and
`total_tax`, and per tax rate `taxes[]` (`id` = the order `tax_lines[].rate_id`, with `label`,
`rate_percent`, `compound`). Shipping lines and `fee_lines` (a COD or handling fee; negative for a
discount fee; `tax_status` taxable or none) carry `total`, `total_tax` and `taxes[]`. Coupons are
`coupon_lines` (`code`, `discount`, `discount_tax`); the order states `discount_total`, `discount_tax`,
`shipping_total`, `shipping_tax`, `total_tax` and `total`.

The canonical order follows the store: with `prices_include_tax` the unit price is
`(subtotal + subtotal_tax) / quantity` and every amount includes its tax; otherwise `subtotal / quantity`.
Either must come out exact to the currency's minor unit. The line's `price` is a float and is never read.
WooCommerce does not say which coupon reduced which line: with several coupons, their line shares are
apportioned by line discount (each coupon's total stays exact). Per-line tax in `taxes[]` may carry more
decimals (a store that rounds at subtotal level): it is rounded and made to add up to the line's
`total_tax`.

Field limits: WooCommerce keeps names and addresses in `text` columns; the canonical order holds 255
characters (`oms.domain.order.TEXT_MAX`): longer names are shortened, longer addresses refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

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
from oms.channels.fields import (
    ChannelModel,
    IntegerId,
    Quantity,
    bounded_decimal,
    guest_customer_id,
    integer_id,
    not_bool,
    percent_rate,
)
from oms.channels.signatures import verify_woocommerce
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
    LINE_DISCOUNT,
    TITLE_MAX,
    ChannelTotals,
    Charge,
    DiscountAllocation,
    OrderDiscount,
    TaxLine,
)
from oms.money import MINOR_UNITS, ZERO, has_valid_scale, non_negative, round_money, scale_violation
from oms.pricing.taxmath import distribute
from oms.privacy.classification import classified
from oms.tax.rates import guess_level

CHANNEL = "woocommerce"
ENTERED_BY = "channel:woocommerce"
TOPIC_HEADER = "x-wc-webhook-topic"
SIGNATURE_HEADER = "x-wc-webhook-signature"
DELIVERY_HEADER = "x-wc-webhook-delivery-id"
_NAME_MAX = TEXT_MAX

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
    return bounded_decimal(value)


def _optional_decimal(value: object) -> object:
    """WooCommerce sends "" for a tax subtotal it does not have."""
    return None if value == "" else bounded_decimal(value)


def _gmt(value: datetime) -> datetime:
    """`date_created_gmt` has no offset (it is GMT by definition); an explicit offset is honoured."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


WooMoney = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(non_negative)]
WooSignedMoney = Annotated[Decimal, BeforeValidator(_decimal)]
WooExactAmount = Annotated[Decimal, BeforeValidator(_decimal)]
"""A tax amount that may carry more decimals than the currency (rounded when read)."""
WooId = IntegerId
ShortString = Annotated[str, Field(max_length=TITLE_MAX)]


# --- the payload, as far as the OMS reads it -------------------------------------------------------------


@classified(
    personal=(
        "first_name",
        "last_name",
        "company",
        "address_1",
        "address_2",
        "city",
        "postcode",
        "email",
    ),
    operational=(
        "state",
        "country",
    ),
)
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


@classified(
    personal=(
        "first_name",
        "last_name",
        "company",
        "address_1",
        "address_2",
        "city",
        "postcode",
    ),
    operational=(
        "state",
        "country",
    ),
)
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


class WooItemTax(ChannelModel):
    id: WooId
    total: Annotated[Decimal | None, BeforeValidator(_optional_decimal)] = None
    subtotal: Annotated[Decimal | None, BeforeValidator(_optional_decimal)] = None


class WooLineItem(ChannelModel):
    id: WooId
    name: str = ""
    sku: str | None = None
    quantity: Quantity
    subtotal: WooMoney
    subtotal_tax: WooMoney = ZERO
    total: WooMoney
    total_tax: WooMoney = ZERO
    taxes: list[WooItemTax] = Field(default_factory=list, max_length=20)


class WooShippingLine(ChannelModel):
    id: WooId | None = None
    method_title: ShortString = ""
    total: WooMoney
    total_tax: WooMoney = ZERO
    taxes: list[WooItemTax] = Field(default_factory=list, max_length=20)


class WooFeeLine(ChannelModel):
    id: WooId | None = None
    name: ShortString = ""
    tax_status: Literal["taxable", "none"] = "taxable"
    total: WooSignedMoney = ZERO
    total_tax: WooSignedMoney = ZERO
    taxes: list[WooItemTax] = Field(default_factory=list, max_length=20)


class WooCouponLine(ChannelModel):
    id: WooId | None = None
    code: ShortString
    discount: WooMoney = ZERO
    discount_tax: WooMoney = ZERO


class WooTaxLine(ChannelModel):
    id: WooId | None = None
    rate_id: WooId
    rate_code: ShortString = ""
    label: ShortString = ""
    compound: bool = False
    tax_total: WooSignedMoney = ZERO
    shipping_tax_total: WooSignedMoney = ZERO
    rate_percent: Annotated[Decimal, BeforeValidator(percent_rate)] | None = None


@classified(
    personal=(
        "billing",
        "shipping",
    ),
    financial=(
        "currency",
        "prices_include_tax",
        "line_items",
        "shipping_lines",
        "fee_lines",
        "coupon_lines",
        "tax_lines",
        "discount_total",
        "discount_tax",
        "shipping_total",
        "shipping_tax",
        "total_tax",
        "total",
        "date_paid_gmt",
        "payment_method",
        "transaction_id",
    ),
    operational=(
        "id",
        "number",
        "status",
        "date_created_gmt",
        "customer_id",
    ),
)
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
    shipping_lines: list[WooShippingLine] = Field(default_factory=list, max_length=20)
    fee_lines: list[WooFeeLine] = Field(default_factory=list, max_length=20)
    coupon_lines: list[WooCouponLine] = Field(default_factory=list, max_length=50)
    tax_lines: list[WooTaxLine] = Field(default_factory=list, max_length=50)
    discount_total: WooMoney = ZERO
    discount_tax: WooMoney = ZERO
    shipping_total: WooMoney | None = None
    shipping_tax: WooMoney | None = None
    total_tax: WooMoney
    total: WooMoney
    date_paid_gmt: Annotated[datetime, AfterValidator(_gmt)] | None = None
    payment_method: str | None = None
    transaction_id: str | None = None


def channel_payment(order: WooOrder) -> ChannelPayment | None:
    """WooCommerce sets `date_paid` when the order is paid (the whole total)."""
    if order.date_paid_gmt is None or order.total <= 0:
        return None
    reference = " ".join(p for p in (order.payment_method, order.transaction_id) if p)[:120] or None
    return ChannelPayment(amount=order.total, paid_at=order.date_paid_gmt, reference=reference)


# --- checks ------------------------------------------------------------------------------------------------


def _unit_price(item: WooLineItem, index: int, currency: str, inclusive: bool) -> Decimal:
    """The unit price, which must be exact in the currency (WooCommerce's own `price` is a float)."""
    gross = item.subtotal + item.subtotal_tax if inclusive else item.subtotal
    unit = gross / item.quantity
    if not has_valid_scale(unit, currency) or unit * item.quantity != gross:
        field = "subtotal + subtotal_tax" if inclusive else "subtotal"
        raise ChannelPayloadError(
            f"line_items[{index}].{field}: {item.quantity} units do not have a unit price exact to the "
            f"{currency} minor unit"
        )
    return unit.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))


def _money_fields(order: WooOrder) -> list[tuple[str, Decimal]]:
    amounts: list[tuple[str, Decimal]] = [
        ("discount_total", order.discount_total),
        ("discount_tax", order.discount_tax),
        ("total_tax", order.total_tax),
        ("total", order.total),
    ]
    for name in ("shipping_total", "shipping_tax"):
        if (value := getattr(order, name)) is not None:
            amounts.append((name, value))
    for i, item in enumerate(order.line_items):
        amounts += [
            (f"line_items[{i}].subtotal", item.subtotal),
            (f"line_items[{i}].subtotal_tax", item.subtotal_tax),
            (f"line_items[{i}].total", item.total),
            (f"line_items[{i}].total_tax", item.total_tax),
        ]
    charge_lists: tuple[tuple[str, Sequence[WooShippingLine | WooFeeLine]], ...] = (
        ("shipping_lines", order.shipping_lines),
        ("fee_lines", order.fee_lines),
    )
    for kind, charges in charge_lists:
        for i, charge in enumerate(charges):
            amounts += [(f"{kind}[{i}].total", charge.total), (f"{kind}[{i}].total_tax", charge.total_tax)]
    for i, coupon in enumerate(order.coupon_lines):
        amounts += [
            (f"coupon_lines[{i}].discount", coupon.discount),
            (f"coupon_lines[{i}].discount_tax", coupon.discount_tax),
        ]
    for i, tax in enumerate(order.tax_lines):
        amounts += [
            (f"tax_lines[{i}].tax_total", tax.tax_total),
            (f"tax_lines[{i}].shipping_tax_total", tax.shipping_tax_total),
        ]
    return amounts


def _semantic_checks(order: WooOrder) -> None:
    if order.currency not in MINOR_UNITS:
        raise ChannelPayloadError(f"currency: {order.currency!r} is not a supported currency")
    path = scale_violation(_money_fields(order), order.currency)
    if path is not None:
        raise ChannelPayloadError(f"{path}: has more decimals than {order.currency} allows")
    rates = {t.rate_id for t in order.tax_lines}
    seen: set[str] = set()
    for i, item in enumerate(order.line_items):
        if item.id in seen:
            raise ChannelPayloadError(f"line_items[{i}].id: duplicate line item id {item.id}")
        seen.add(item.id)
        if item.sku is None or not item.sku.strip():
            raise ChannelPayloadError(f"line_items[{i}].sku: is required (the OMS allocates stock by SKU)")
        if item.total > item.subtotal:
            raise ChannelPayloadError(f"line_items[{i}].total: exceeds the line subtotal")
        _unit_price(item, i, order.currency, order.prices_include_tax)
    taxed: tuple[tuple[str, Sequence[WooLineItem | WooShippingLine | WooFeeLine]], ...] = (
        ("line_items", order.line_items),
        ("shipping_lines", order.shipping_lines),
        ("fee_lines", order.fee_lines),
    )
    for kind, items in taxed:
        for i, taxed_item in enumerate(items):
            item_taxes = taxed_item.taxes
            for j, tax in enumerate(item_taxes):
                if tax.id not in rates:
                    raise ChannelPayloadError(f"{kind}[{i}].taxes[{j}].id: names no order tax_lines rate_id")


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


def _taxes(
    taxes: Sequence[WooItemTax],
    total_tax: Decimal,
    rates: Mapping[str, WooTaxLine],
    currency: str,
    jurisdiction: str,
) -> list[TaxLine]:
    """The item's tax lines, rounded and made to add up to its `total_tax`."""
    present = [(t, rates[t.id]) for t in taxes if t.total is not None]
    if not present:
        return []
    exact = [t.total or ZERO for t, _ in present]
    amounts = [round_money(value, currency) for value in exact]
    if sum(amounts, ZERO) != total_tax:
        amounts = distribute(total_tax, exact, currency)
    return [
        TaxLine(
            title=(rate.label or rate.rate_code or "Tax").strip()[:TITLE_MAX] or "Tax",
            rate=rate.rate_percent,
            amount=amount,
            level=guess_level(rate.label or rate.rate_code),
            jurisdiction=jurisdiction,
            compound=rate.compound,
        )
        for (_, rate), amount in zip(present, amounts, strict=True)
    ]


def _coupon_allocations(
    discounts: Sequence[Decimal], coupons: Sequence[OrderDiscount], currency: str
) -> list[list[DiscountAllocation]]:
    """Each line's discount split over the coupons (see the module docstring); the line's own discount
    when the coupons do not add up to the lines' discounts."""
    keys_amounts = [(c.key, c.amount or ZERO) for c in coupons]
    total = sum(discounts, ZERO)
    lines: list[list[DiscountAllocation]] = [[] for _ in discounts]
    if not coupons or sum((a for _, a in keys_amounts), ZERO) != total:
        return [[DiscountAllocation(discount=LINE_DISCOUNT, amount=d)] if d else [] for d in discounts]
    if len(coupons) == 1:
        return [[DiscountAllocation(discount=coupons[0].key, amount=d)] if d else [] for d in discounts]
    left = list(discounts)
    for index, (key, amount) in enumerate(keys_amounts):
        if index == len(keys_amounts) - 1:
            shares = left
        else:
            shares = distribute(amount, [d * amount / total for d in discounts], currency)
        if any(share < 0 or share > rest for share, rest in zip(shares, left, strict=True)):
            return [[DiscountAllocation(discount=LINE_DISCOUNT, amount=d)] if d else [] for d in discounts]
        for i, share in enumerate(shares):
            if share:
                lines[i].append(DiscountAllocation(discount=key, amount=share))
            left[i] -= share
    return lines


def _charges(
    items: Sequence[WooShippingLine | WooFeeLine],
    prefix: str,
    order: WooOrder,
    rates: Mapping[str, WooTaxLine],
    jurisdiction: str,
) -> list[Charge]:
    inclusive = order.prices_include_tax
    charges = []
    for i, item in enumerate(items):
        title = item.method_title if isinstance(item, WooShippingLine) else item.name
        taxable = not isinstance(item, WooFeeLine) or item.tax_status == "taxable"
        taxes = _taxes(item.taxes, item.total_tax, rates, order.currency, jurisdiction)
        try:
            charges.append(
                Charge(
                    charge_id=item.id or f"{prefix}-{i + 1}",
                    title=(title or ("Shipping" if prefix == "shipping" else "Fee"))[:TITLE_MAX],
                    amount=item.total + item.total_tax if inclusive else item.total,
                    tax=item.total_tax,
                    taxes=taxes,
                    taxable=taxable,
                )
            )
        except ValidationError as exc:
            raise payload_error(
                exc, (f"{prefix}_lines", i), {"amount": "total", "tax": "total_tax"}
            ) from None
    return charges


def _lines(
    order: WooOrder, rates: Mapping[str, WooTaxLine], coupons: Sequence[OrderDiscount], jurisdiction: str
) -> list[OrderLine]:
    inclusive = order.prices_include_tax
    currency = order.currency
    discounts = [
        (item.subtotal + item.subtotal_tax) - (item.total + item.total_tax)
        if inclusive
        else item.subtotal - item.total
        for item in order.line_items
    ]
    allocations = _coupon_allocations(discounts, coupons, currency)
    lines = []
    for i, item in enumerate(order.line_items):
        try:
            lines.append(
                OrderLine(
                    line_id=item.id,
                    sku=(item.sku or "").strip(),
                    name=(item.name or item.sku or "")[:_NAME_MAX],
                    quantity=item.quantity,
                    unit_price=_unit_price(item, i, currency, inclusive),
                    discount=discounts[i],
                    discounts=allocations[i],
                    tax=item.total_tax,
                    taxes=_taxes(item.taxes, item.total_tax, rates, currency, jurisdiction),
                )
            )
        except ValidationError as exc:
            raise payload_error(exc, ("line_items", i), {"line_id": "id", "unit_price": "subtotal"}) from None
    return lines


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
    inclusive = order.prices_include_tax
    source, ship = _ship_to(order)
    address = _address(source, ship)
    jurisdiction = address.jurisdiction
    rates = {t.rate_id: t for t in order.tax_lines}
    coupons = [
        OrderDiscount(
            key=coupon.code.strip() or f"coupon {i + 1}",
            kind="coupon",
            code=coupon.code.strip() or None,
            amount=coupon.discount + coupon.discount_tax if inclusive else coupon.discount,
        )
        for i, coupon in enumerate(order.coupon_lines)
    ]
    shipping = _charges(order.shipping_lines, "shipping", order, rates, jurisdiction)
    fees = _charges(order.fee_lines, "fee", order, rates, jurisdiction)
    stated_shipping = order.shipping_total
    if stated_shipping is not None and inclusive:
        stated_shipping += order.shipping_tax or ZERO
    try:
        return CanonicalOrder(
            channel=CHANNEL,
            external_id=order.id,
            currency=order.currency,
            customer=_customer(order, address.name),
            shipping_address=address,
            lines=_lines(order, rates, coupons, jurisdiction),
            shipping_total=stated_shipping
            if stated_shipping is not None
            else sum((c.net for c in shipping), ZERO),
            tax_total=order.total_tax,
            grand_total=order.total,
            placed_at=order.date_created_gmt,
            entered_by=ENTERED_BY,
            prices_include_tax=inclusive,
            tax_rounding="line",
            discounts=coupons,
            shipping_lines=shipping,
            fees=fees,
            channel_totals=ChannelTotals(
                discount_total=order.discount_total + order.discount_tax
                if inclusive
                else order.discount_total,
                shipping_tax=order.shipping_tax,
                tax_lines=[
                    TaxLine(
                        title=(t.label or t.rate_code or "Tax").strip()[:TITLE_MAX] or "Tax",
                        rate=t.rate_percent,
                        amount=t.tax_total + t.shipping_tax_total,
                        level=guess_level(t.label or t.rate_code),
                        jurisdiction=jurisdiction,
                        compound=t.compound,
                    )
                    for t in order.tax_lines
                ],
            ),
            channel_payment=channel_payment(order),
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
