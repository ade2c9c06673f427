"""Our own order schema, shared by the custom web shop (Standard Webhooks) and the ERP/sales portal API.

The schema is documented in docs/channels/webshop.md. It is close to `CanonicalOrder` on purpose: the
sender computes every amount (money as decimal strings, tax-exclusive unless `prices_include_tax`, per
line), and may itemize them: discounts per code (`discounts`, with each line's share in
`lines[].discounts`), tax per jurisdiction (`lines[].taxes`), shipping lines and fees with their own tax.
The OMS checks them later against the catalog, the pricing model and the channel's tax calculator.

`OrderDocument` is the one model of an order for both senders; `CustomShopChannel` wraps it in the
Standard Webhooks envelope `{"type": "order.created" | "order.updated" | "order.cancelled", "data": {...}}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from oms.channels.base import ChannelDelivery, DeliveryKind
from oms.channels.errors import (
    JSON_CONTENT_TYPE,
    decode_json_object,
    delivery_id_from,
    field_path,
    payload_error,
    require_content_type,
)
from oms.channels.fields import bounded_decimal, channel_rate, guest_customer_id
from oms.channels.signatures import verify_standard_webhook
from oms.domain.errors import ChannelPayloadError
from oms.domain.order import MAX_LINES_PER_ORDER, TEXT_MAX, Address, CanonicalOrder, Customer, OrderLine
from oms.domain.pricing import (
    ChannelTotals,
    Charge,
    DiscountAllocation,
    OrderDiscount,
    TaxLevel,
    TaxLine,
)
from oms.money import MINOR_UNITS, ZERO, non_negative, scale_violation
from oms.privacy.classification import classified
from oms.tax.rates import guess_level

CHANNEL = "webshop"
ENTERED_BY = "channel:webshop"

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"


# --- field types -------------------------------------------------------------------------------------------


def _money_string(value: object) -> Decimal:
    """Money is a decimal string ("12.50"): JSON numbers are refused so no sender goes through a float."""
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "12.50"')
    return bounded_decimal(value)


def _rate_string(value: object) -> Decimal:
    """A tax rate as a decimal string fraction ("0.0725" for 7.25 %)."""
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "0.0725"')
    return channel_rate(value)


def _integer(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a UTC offset")
    return value.astimezone(UTC)


Money = Annotated[Decimal, BeforeValidator(_money_string), AfterValidator(non_negative)]
SignedMoney = Annotated[Decimal, BeforeValidator(_money_string)]
Rate = Annotated[Decimal, BeforeValidator(_rate_string)]
Identifier = Annotated[str, StringConstraints(pattern=_ID_PATTERN)]
Quantity = Annotated[int, BeforeValidator(_integer), Field(gt=0, le=10_000)]
Timestamp = Annotated[datetime, AfterValidator(_aware)]
ShortText = Annotated[str, StringConstraints(max_length=TEXT_MAX)]


# --- the schema ------------------------------------------------------------------------------------------


class _Model(BaseModel):
    # Unknown fields are refused: this is our own schema, and a misspelt optional field ("discunt") must not
    # silently become zero.
    model_config = ConfigDict(extra="forbid", frozen=True)


@classified(
    personal=(
        "name",
        "email",
    ),
    operational=("id",),
)
class CustomerDocument(_Model):
    id: Identifier | None = None
    """The shop's customer id; null for a guest checkout (then the e-mail identifies the customer)."""
    name: ShortText
    email: Annotated[str, StringConstraints(max_length=254)] | None = None


@classified(
    personal=(
        "name",
        "line1",
        "line2",
        "city",
        "postal_code",
    ),
    operational=(
        "region",
        "country",
    ),
)
class AddressDocument(_Model):
    name: ShortText
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    line2: ShortText | None = None
    city: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    region: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,3}$")] | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class TaxDocument(_Model):
    """One tax on a line, shipping line or fee: one jurisdiction (state, county, city, district)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]
    rate: Rate | None = None
    amount: SignedMoney
    level: TaxLevel | None = None
    """Guessed from the name when omitted ("Los Angeles County Tax" is COUNTY)."""


class AllocationDocument(_Model):
    """A line's (or shipping line's) share of one order discount."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]
    amount: Money


class LineDocument(_Model):
    line_id: Identifier
    sku: Identifier
    name: ShortText
    quantity: Quantity
    unit_price: Money
    discount: Money = ZERO
    """The discount on the whole line (not per unit)."""
    discounts: list[AllocationDocument] = Field(default_factory=list, max_length=50)
    """Optional: the discount by order discount code (adds up to `discount`)."""
    tax: Money = ZERO
    """The tax charged on the line, after the discount."""
    taxes: list[TaxDocument] = Field(default_factory=list, max_length=20)
    """Optional: the tax by jurisdiction (adds up to `tax`)."""
    taxable: bool = True


class DiscountDocument(_Model):
    """An order discount as the shop applied it."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]
    title: ShortText | None = None
    kind: Literal["code", "automatic", "manual"] = "code"
    target: Literal["lines", "shipping"] = "lines"
    amount: Money
    """What the discount is worth over the whole order (the lines' or shipping lines' shares add up to it)."""


class ChargeDocument(_Model):
    """A shipping line or a fee."""

    id: Identifier
    title: ShortText
    amount: SignedMoney
    """Before its discount (a fee may be negative)."""
    discount: Money = ZERO
    discounts: list[AllocationDocument] = Field(default_factory=list, max_length=50)
    tax: SignedMoney = ZERO
    taxes: list[TaxDocument] = Field(default_factory=list, max_length=20)
    taxable: bool = True


@classified(
    personal=(
        "customer",
        "shipping_address",
    ),
    financial=(
        "currency",
        "lines",
        "shipping_total",
        "shipping_tax",
        "tax_total",
        "grand_total",
        "prices_include_tax",
        "tax_rounding",
        "discounts",
        "shipping_lines",
        "fees",
        "subtotal",
        "discount_total",
    ),
    operational=(
        "order_id",
        "placed_at",
        "customer_reference",
    ),
)
class OrderDocument(_Model):
    order_id: Identifier
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    customer: CustomerDocument
    shipping_address: AddressDocument
    lines: list[LineDocument] = Field(min_length=1, max_length=MAX_LINES_PER_ORDER)
    shipping_total: Money = ZERO
    shipping_tax: Money | None = None
    """Optional: the tax on shipping (part of `tax_total`)."""
    tax_total: Money
    grand_total: Money
    placed_at: Timestamp
    customer_reference: ShortText | None = None
    """The customer's own reference (purchase order number); the ERP portal sends it, a shop may."""
    prices_include_tax: bool = False
    tax_rounding: Literal["line", "order"] = "line"
    discounts: list[DiscountDocument] = Field(default_factory=list, max_length=50)
    shipping_lines: list[ChargeDocument] = Field(default_factory=list, max_length=20)
    fees: list[ChargeDocument] = Field(default_factory=list, max_length=20)
    subtotal: Money | None = None
    """Optional: sum of unit_price x quantity, as the shop computed it."""
    discount_total: Money | None = None


class CancelDocument(BaseModel):
    """The `data` of `order.cancelled`: only the order id is read (the full order may be sent too)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: Identifier


# --- checks and mapping -------------------------------------------------------------------------------------


def _semantic_checks(doc: OrderDocument) -> None:
    if doc.currency not in MINOR_UNITS:
        raise ChannelPayloadError(f"currency: {doc.currency!r} is not a supported currency")
    amounts: list[tuple[str, Decimal]] = [
        ("shipping_total", doc.shipping_total),
        ("tax_total", doc.tax_total),
        ("grand_total", doc.grand_total),
    ]
    for name in ("shipping_tax", "subtotal", "discount_total"):
        if (value := getattr(doc, name)) is not None:
            amounts.append((name, value))
    codes = {d.code for d in doc.discounts}
    if len(codes) != len(doc.discounts):
        raise ChannelPayloadError("discounts: codes must be unique")
    amounts += [(f"discounts[{i}].amount", d.amount) for i, d in enumerate(doc.discounts)]
    seen: set[str] = set()
    for i, line in enumerate(doc.lines):
        if line.line_id in seen:
            raise ChannelPayloadError(f"lines[{i}].line_id: duplicate line id {line.line_id}")
        seen.add(line.line_id)
        if line.discount > line.unit_price * line.quantity:
            raise ChannelPayloadError(f"lines[{i}].discount: exceeds the line amount")
        amounts += [
            (f"lines[{i}].unit_price", line.unit_price),
            (f"lines[{i}].discount", line.discount),
            (f"lines[{i}].tax", line.tax),
        ]
        _check_details(f"lines[{i}]", line.discount, line.discounts, line.tax, line.taxes, codes, amounts)
    charge_ids: set[str] = set()
    for kind, charges in (("shipping_lines", doc.shipping_lines), ("fees", doc.fees)):
        for i, charge in enumerate(charges):
            if charge.id in charge_ids:
                raise ChannelPayloadError(f"{kind}[{i}].id: duplicate id {charge.id}")
            charge_ids.add(charge.id)
            if kind == "shipping_lines" and charge.amount < 0:
                raise ChannelPayloadError(f"{kind}[{i}].amount: must not be negative")
            if charge.amount >= 0 and charge.discount > charge.amount:
                raise ChannelPayloadError(f"{kind}[{i}].discount: exceeds the amount")
            amounts += [
                (f"{kind}[{i}].amount", charge.amount),
                (f"{kind}[{i}].discount", charge.discount),
                (f"{kind}[{i}].tax", charge.tax),
            ]
            _check_details(
                f"{kind}[{i}]", charge.discount, charge.discounts, charge.tax, charge.taxes, codes, amounts
            )
    path = scale_violation(amounts, doc.currency)
    if path is not None:
        raise ChannelPayloadError(f"{path}: has more decimals than {doc.currency} allows")


def _check_details(
    where: str,
    discount: Decimal,
    discounts: list[AllocationDocument],
    tax: Decimal,
    taxes: list[TaxDocument],
    codes: set[str],
    amounts: list[tuple[str, Decimal]],
) -> None:
    for j, allocation in enumerate(discounts):
        if allocation.code not in codes:
            raise ChannelPayloadError(f"{where}.discounts[{j}].code: names no order discount")
        amounts.append((f"{where}.discounts[{j}].amount", allocation.amount))
    if discounts and sum((a.amount for a in discounts), ZERO) != discount:
        raise ChannelPayloadError(f"{where}.discounts: do not add up to the discount")
    amounts += [(f"{where}.taxes[{j}].amount", t.amount) for j, t in enumerate(taxes)]
    if taxes and sum((t.amount for t in taxes), ZERO) != tax:
        raise ChannelPayloadError(f"{where}.taxes: do not add up to the tax")


def _tax_lines(taxes: list[TaxDocument], jurisdiction: str) -> list[TaxLine]:
    return [
        TaxLine(
            title=t.name,
            rate=t.rate,
            amount=t.amount,
            level=t.level or guess_level(t.name),
            jurisdiction=jurisdiction,
        )
        for t in taxes
    ]


def _allocations(discounts: list[AllocationDocument]) -> list[DiscountAllocation]:
    return [DiscountAllocation(discount=a.code, amount=a.amount) for a in discounts]


def _charge(charge: ChargeDocument, jurisdiction: str) -> Charge:
    return Charge(
        charge_id=charge.id,
        title=charge.title,
        amount=charge.amount,
        discount=charge.discount,
        discounts=_allocations(charge.discounts),
        tax=charge.tax,
        taxes=_tax_lines(charge.taxes, jurisdiction),
        taxable=charge.taxable,
    )


def _shipping(doc: OrderDocument, jurisdiction: str) -> list[Charge]:
    if doc.shipping_lines:
        return [_charge(c, jurisdiction) for c in doc.shipping_lines]
    if not doc.shipping_total and not doc.shipping_tax:
        return []
    # Shipping as one amount (and its tax), as the first version of the schema had it.
    return [
        Charge(
            charge_id="shipping",
            title="Shipping",
            amount=doc.shipping_total,
            tax=doc.shipping_tax or ZERO,
        )
    ]


def parse_order_document(payload: object, prefix: tuple[int | str, ...] = ()) -> OrderDocument:
    """Validate one order of our schema; `ChannelPayloadError` naming the field (under `prefix`)."""
    if not isinstance(payload, Mapping):
        raise ChannelPayloadError(f"{field_path(prefix)}: must be a JSON object")
    try:
        doc = OrderDocument.model_validate(dict(payload))
    except ValidationError as exc:
        raise payload_error(exc, prefix) from None
    try:
        _semantic_checks(doc)
    except ChannelPayloadError as exc:
        if prefix:
            raise ChannelPayloadError(f"{field_path(prefix)}.{exc.reason}") from None
        raise
    return doc


def to_canonical(
    doc: OrderDocument, *, channel: str, entered_by: str, prefix: tuple[int | str, ...] = ()
) -> CanonicalOrder:
    """The canonical order of a validated document; the customer id is namespaced by `channel`."""
    customer = doc.customer
    if customer.id is not None:
        customer_id = f"{channel}-{customer.id}"
    else:
        customer_id = guest_customer_id(channel, customer.email, doc.order_id)
    email = customer.email.strip() if customer.email and customer.email.strip() else None
    address = doc.shipping_address
    jurisdiction = f"{address.country}-{address.region}" if address.region else address.country
    try:
        return CanonicalOrder(
            channel=channel,
            external_id=doc.order_id,
            currency=doc.currency,
            customer=Customer(customer_id=customer_id, name=customer.name, email=email),
            shipping_address=Address(
                name=address.name,
                line1=address.line1,
                line2=address.line2 or None,
                city=address.city,
                region=address.region,
                postal_code=(address.postal_code or "").strip() or None,
                country=address.country,
            ),
            lines=[
                OrderLine(
                    line_id=line.line_id,
                    sku=line.sku,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount=line.discount,
                    discounts=_allocations(line.discounts),
                    tax=line.tax,
                    taxes=_tax_lines(line.taxes, jurisdiction),
                    taxable=line.taxable,
                )
                for line in doc.lines
            ],
            shipping_total=doc.shipping_total,
            tax_total=doc.tax_total,
            grand_total=doc.grand_total,
            placed_at=doc.placed_at,
            entered_by=entered_by,
            prices_include_tax=doc.prices_include_tax,
            tax_rounding=doc.tax_rounding,
            discounts=[
                OrderDiscount(
                    key=d.code,
                    kind=d.kind,
                    code=d.code,
                    title=d.title,
                    target="shipping_line" if d.target == "shipping" else "line_item",
                    amount=d.amount,
                )
                for d in doc.discounts
            ],
            shipping_lines=_shipping(doc, jurisdiction),
            fees=[_charge(c, jurisdiction) for c in doc.fees],
            channel_totals=ChannelTotals(
                subtotal=doc.subtotal,
                discount_total=doc.discount_total,
                shipping_tax=doc.shipping_tax,
            ),
        )
    except ValidationError as exc:
        # The document's constraints mirror the canonical ones, so this is a safety net, not a code path.
        raise payload_error(exc, prefix) from None


# --- the Standard Webhooks channel ----------------------------------------------------------------------

EVENT_KINDS: dict[str, DeliveryKind] = {
    "order.created": DeliveryKind.CREATED,
    "order.updated": DeliveryKind.UPDATED,
    "order.cancelled": DeliveryKind.CANCELLED,
}


class CustomShopChannel:
    """The custom web shop: Standard Webhooks signatures, our envelope and order schema."""

    name = CHANNEL

    def verify(
        self, raw_body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: datetime
    ) -> None:
        """`webhook-signature` over `id.timestamp.body`, 5-minute tolerance, any of `secrets` (rotation)."""
        verify_standard_webhook(raw_body, headers, secrets, now)

    def interpret(self, raw_body: bytes, headers: Mapping[str, str]) -> ChannelDelivery:
        require_content_type(headers, JSON_CONTENT_TYPE)
        delivery_id = delivery_id_from(headers, "webhook-id")
        envelope = decode_json_object(raw_body)
        event_type = envelope.get("type")
        if not isinstance(event_type, str) or not event_type:
            raise ChannelPayloadError("type: is required (a string such as 'order.created')")
        kind = EVENT_KINDS.get(event_type)
        if kind is None:
            return ChannelDelivery(
                kind=DeliveryKind.IGNORED,
                delivery_id=delivery_id,
                note=f"event type {event_type[:60]!r} is not handled by the OMS",
            )
        data: Any = envelope.get("data")
        if data is None:
            raise ChannelPayloadError("data: is required")
        if not isinstance(data, Mapping):
            raise ChannelPayloadError("data: must be a JSON object")
        if kind is DeliveryKind.CANCELLED:
            try:
                cancel = CancelDocument.model_validate(dict(data))
            except ValidationError as exc:
                raise payload_error(exc, ("data",)) from None
            return ChannelDelivery(kind=kind, delivery_id=delivery_id, external_id=cancel.order_id)
        doc = parse_order_document(data, ("data",))
        order = to_canonical(doc, channel=CHANNEL, entered_by=ENTERED_BY, prefix=("data",))
        return ChannelDelivery(kind=kind, delivery_id=delivery_id, external_id=order.external_id, order=order)
