"""An order's pricing components in DynamoDB: the attributes to and from the domain models.

Compact on purpose (an order item is rewritten at every step, and DynamoDB bills each write per KB of the
item): the jurisdictions an order's items are taxed by are stored once (`tax_keys`: title, rate, level),
and each line, shipping line or fee keeps only `"<index>=<amount>"` per tax and `"<discount>=<amount>"` per
discount allocation.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pynamodb.expressions.update import Action

from oms.data.models import (
    ChannelTotalsAttribute,
    ChargeAttribute,
    OrderDiscountAttribute,
    OrderLineAttribute,
    OrderRecord,
    TaxKeyAttribute,
    TaxLineAttribute,
)
from oms.domain.order import OrderLine, PricingInput, shipping_charges
from oms.domain.pricing import ChannelTotals, Charge, DiscountAllocation, OrderDiscount, TaxLevel, TaxLine
from oms.money import ZERO

TaxKey = tuple[str, Decimal | None, str, str | None, bool]


def _key(tax: TaxLine) -> TaxKey:
    return (tax.title, tax.rate, tax.level.value, tax.jurisdiction, tax.compound)


class TaxKeys:
    """The order's distinct tax jurisdictions, and each one's position."""

    def __init__(self, keys: Sequence[TaxKey] = ()) -> None:
        self.keys: list[TaxKey] = list(keys)
        self._index = {key: i for i, key in enumerate(self.keys)}

    @classmethod
    def of(cls, pricing: PricingInput) -> TaxKeys:
        keys = cls()
        items: list[OrderLine | Charge] = [*pricing.lines, *pricing.shipping_lines, *pricing.fees]
        for item in items:
            for tax in item.taxes:
                keys.index(tax)
        return keys

    @classmethod
    def stored(cls, record: OrderRecord) -> TaxKeys:
        return cls(
            [(k.title, k.rate, k.level, k.jurisdiction, bool(k.compound)) for k in record.tax_keys or []]
        )

    def index(self, tax: TaxLine) -> int:
        key = _key(tax)
        if key not in self._index:
            self._index[key] = len(self.keys)
            self.keys.append(key)
        return self._index[key]

    def encode(self, taxes: Sequence[TaxLine]) -> list[str] | None:
        return [f"{self.index(t)}={t.amount}" for t in taxes] or None

    def decode(self, encoded: Sequence[str] | None) -> list[TaxLine]:
        taxes = []
        for entry in encoded or []:
            position, _, amount = entry.partition("=")
            title, rate, level, jurisdiction, compound = self.keys[int(position)]
            taxes.append(
                TaxLine(
                    title=title,
                    rate=rate,
                    amount=Decimal(amount),
                    level=TaxLevel(level),
                    jurisdiction=jurisdiction,
                    compound=compound,
                )
            )
        return taxes

    def attribute(self) -> list[TaxKeyAttribute] | None:
        return [
            TaxKeyAttribute(
                title=title,
                rate=rate,
                level=level,
                jurisdiction=jurisdiction,
                compound=True if compound else None,
            )
            for title, rate, level, jurisdiction, compound in self.keys
        ] or None


def _allocations(allocations: Sequence[DiscountAllocation]) -> list[str] | None:
    return [f"{a.discount}={a.amount}" for a in allocations] or None


def _allocations_of(encoded: Sequence[str] | None) -> list[DiscountAllocation]:
    result = []
    for entry in encoded or []:
        key, _, amount = entry.rpartition("=")  # codes may hold "="; amounts never do
        result.append(DiscountAllocation(discount=key, amount=Decimal(amount)))
    return result


# --- to DynamoDB ----------------------------------------------------------------------------------------


def tax_line_attribute(tax: TaxLine) -> TaxLineAttribute:
    return TaxLineAttribute(
        title=tax.title,
        rate=tax.rate,
        amount=tax.amount,
        level=tax.level.value,
        jurisdiction=tax.jurisdiction,
        compound=True if tax.compound else None,
    )


def line_attribute(line: OrderLine, keys: TaxKeys) -> OrderLineAttribute:
    return OrderLineAttribute(
        line_id=line.line_id,
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount=line.discount,
        tax=line.tax,
        discounts=_allocations(line.discounts),
        taxes=keys.encode(line.taxes),
        taxable=None if line.taxable else False,
    )


def charge_attribute(charge: Charge, keys: TaxKeys) -> ChargeAttribute:
    return ChargeAttribute(
        charge_id=charge.charge_id,
        title=charge.title,
        amount=charge.amount,
        discount=charge.discount,
        discounts=_allocations(charge.discounts),
        tax=charge.tax,
        taxes=keys.encode(charge.taxes),
        taxable=None if charge.taxable else False,
    )


def discount_attribute(discount: OrderDiscount) -> OrderDiscountAttribute:
    return OrderDiscountAttribute(**discount.model_dump())


def discount_labels(discounts: Sequence[OrderDiscount]) -> list[OrderDiscountAttribute]:
    """The discounts as the invoice names them (their terms and stated amounts dropped once checked)."""
    return [
        OrderDiscountAttribute(key=d.key, kind=d.kind, code=d.code, title=d.title, target=d.target)
        for d in discounts
    ]


def channel_totals_attribute(totals: ChannelTotals) -> ChannelTotalsAttribute:
    return ChannelTotalsAttribute(
        subtotal=totals.subtotal,
        net_subtotal=totals.net_subtotal,
        discount_total=totals.discount_total,
        shipping_tax=totals.shipping_tax,
        fee_total=totals.fee_total,
        tax_lines=[tax_line_attribute(t) for t in totals.tax_lines] or None,
    )


def pricing_attributes(pricing: PricingInput) -> dict[str, Any]:
    """The record attributes that hold an order's pricing components (lines included)."""
    keys = TaxKeys.of(pricing)
    return {
        "lines": [line_attribute(line, keys) for line in pricing.lines],
        "shipping_lines": [charge_attribute(c, keys) for c in pricing.shipping_lines] or None,
        "fees": [charge_attribute(c, keys) for c in pricing.fees] or None,
        "tax_keys": keys.attribute(),
        "prices_include_tax": pricing.prices_include_tax or None,
        "tax_rounding": pricing.tax_rounding if pricing.tax_rounding != "line" else None,
        "discounts": [discount_attribute(d) for d in pricing.discounts] or None,
        "channel_totals": channel_totals_attribute(pricing.channel_totals)
        if pricing.channel_totals != ChannelTotals()
        else None,
    }


# The items and the tax keys they refer to are written together (an item's indexes mean nothing alone).
_ITEMS = ("lines", "shipping_lines", "fees", "tax_keys")


def pricing_actions(pricing: PricingInput, *, changed_from: PricingInput | None = None) -> list[Action]:
    """Update actions that store `pricing`'s components on an order record (only the parts that differ
    from `changed_from`, when given; the items always with their tax keys)."""
    items_changed = changed_from is None or any(
        getattr(pricing, name) != getattr(changed_from, name) for name in ("lines", "shipping_lines", "fees")
    )
    actions: list[Action] = []
    for name, value in pricing_attributes(pricing).items():
        if changed_from is not None:
            if name in _ITEMS and not items_changed:
                continue
            if name not in _ITEMS and getattr(pricing, name) == getattr(changed_from, name):
                continue
        attribute = getattr(OrderRecord, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


def lines_attribute(lines: Sequence[OrderLine], keys: TaxKeys) -> list[OrderLineAttribute]:
    return [line_attribute(line, keys) for line in lines]


# --- from DynamoDB --------------------------------------------------------------------------------------


def tax_line_of(attr: TaxLineAttribute) -> TaxLine:
    return TaxLine(
        title=attr.title,
        rate=attr.rate,
        amount=attr.amount,
        level=TaxLevel(attr.level),
        jurisdiction=attr.jurisdiction,
        compound=bool(attr.compound),
    )


def line_of(attr: OrderLineAttribute, keys: TaxKeys) -> OrderLine:
    return OrderLine(
        line_id=attr.line_id,
        sku=attr.sku,
        name=attr.name,
        quantity=int(attr.quantity),
        unit_price=attr.unit_price,
        discount=attr.discount,
        tax=attr.tax,
        discounts=_allocations_of(attr.discounts),
        taxes=keys.decode(attr.taxes),
        taxable=True if attr.taxable is None else bool(attr.taxable),
    )


def lines_of(record: OrderRecord) -> list[OrderLine]:
    keys = TaxKeys.stored(record)
    return [line_of(line, keys) for line in record.lines]


def charge_of(attr: ChargeAttribute, keys: TaxKeys) -> Charge:
    return Charge(
        charge_id=attr.charge_id,
        title=attr.title,
        amount=attr.amount,
        discount=attr.discount,
        discounts=_allocations_of(attr.discounts),
        tax=attr.tax,
        taxes=keys.decode(attr.taxes),
        taxable=True if attr.taxable is None else bool(attr.taxable),
    )


def _discount_of(attr: OrderDiscountAttribute) -> OrderDiscount:
    return OrderDiscount.model_validate(dict(attr.attribute_values))


def _channel_totals_of(attr: ChannelTotalsAttribute | None) -> ChannelTotals:
    if attr is None:
        return ChannelTotals()
    return ChannelTotals(
        subtotal=attr.subtotal,
        net_subtotal=attr.net_subtotal,
        discount_total=attr.discount_total,
        shipping_tax=attr.shipping_tax,
        fee_total=attr.fee_total,
        tax_lines=[tax_line_of(t) for t in attr.tax_lines or []],
    )


def pricing_of(record: OrderRecord) -> PricingInput:
    """The pricing components of a stored order (orders stored before the pricing model have lines and
    totals only: shipping becomes one untaxed charge)."""
    keys = TaxKeys.stored(record)
    shipping = [charge_of(c, keys) for c in record.shipping_lines or []]
    return PricingInput(
        currency=record.currency,
        prices_include_tax=bool(record.prices_include_tax),
        tax_rounding="order" if record.tax_rounding == "order" else "line",
        lines=[line_of(line, keys) for line in record.lines],
        shipping_lines=shipping_charges(shipping, record.shipping_total or ZERO),
        fees=[charge_of(c, keys) for c in record.fees or []],
        discounts=[_discount_of(d) for d in record.discounts or []],
        shipping_total=record.shipping_total,
        tax_total=record.tax_total,
        grand_total=record.grand_total,
        channel_totals=_channel_totals_of(record.channel_totals),
    )
