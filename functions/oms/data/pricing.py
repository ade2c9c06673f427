"""An order's pricing components in DynamoDB: the typed attributes to and from the domain models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.expressions.update import Action

from oms.data.models import (
    ChannelTotalsAttribute,
    ChargeAttribute,
    DiscountAllocationAttribute,
    OrderDiscountAttribute,
    OrderLineAttribute,
    OrderRecord,
    TaxLineAttribute,
)
from oms.domain.order import OrderLine, PricingInput, shipping_charges
from oms.domain.pricing import (
    ChannelTotals,
    Charge,
    DiscountAllocation,
    OrderDiscount,
    TaxLevel,
    TaxLine,
)
from oms.money import ZERO

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


def _allocations(allocations: Sequence[DiscountAllocation]) -> list[DiscountAllocationAttribute]:
    return [DiscountAllocationAttribute(discount=a.discount, amount=a.amount) for a in allocations]


def line_attribute(line: OrderLine) -> OrderLineAttribute:
    return OrderLineAttribute(
        line_id=line.line_id,
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount=line.discount,
        tax=line.tax,
        discounts=_allocations(line.discounts) or None,
        taxes=[tax_line_attribute(t) for t in line.taxes] or None,
        taxable=None if line.taxable else False,
    )


def charge_attribute(charge: Charge) -> ChargeAttribute:
    return ChargeAttribute(
        charge_id=charge.charge_id,
        title=charge.title,
        amount=charge.amount,
        discount=charge.discount,
        discounts=_allocations(charge.discounts) or None,
        tax=charge.tax,
        taxes=[tax_line_attribute(t) for t in charge.taxes] or None,
        taxable=charge.taxable,
    )


def discount_attribute(discount: OrderDiscount) -> OrderDiscountAttribute:
    return OrderDiscountAttribute(**discount.model_dump())


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
    return {
        "lines": [line_attribute(line) for line in pricing.lines],
        "prices_include_tax": pricing.prices_include_tax,
        "tax_rounding": pricing.tax_rounding,
        "discounts": [discount_attribute(d) for d in pricing.discounts] or None,
        "shipping_lines": [charge_attribute(c) for c in pricing.shipping_lines] or None,
        "fees": [charge_attribute(c) for c in pricing.fees] or None,
        "channel_totals": channel_totals_attribute(pricing.channel_totals),
    }


def pricing_actions(pricing: PricingInput, *, changed_from: PricingInput | None = None) -> list[Action]:
    """Update actions that store `pricing`'s components on an order record (only the parts that differ
    from `changed_from`, when given)."""
    parts = {
        "lines": "lines",
        "shipping_lines": "shipping_lines",
        "fees": "fees",
        "discounts": "discounts",
        "channel_totals": "channel_totals",
        "prices_include_tax": "prices_include_tax",
        "tax_rounding": "tax_rounding",
    }
    actions: list[Action] = []
    for name, value in pricing_attributes(pricing).items():
        field = parts[name]
        if changed_from is not None and getattr(pricing, field) == getattr(changed_from, field):
            continue
        attribute = getattr(OrderRecord, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


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


def _allocations_of(attrs: Sequence[DiscountAllocationAttribute] | None) -> list[DiscountAllocation]:
    return [DiscountAllocation(discount=a.discount, amount=a.amount) for a in attrs or []]


def line_of(attr: OrderLineAttribute) -> OrderLine:
    return OrderLine(
        line_id=attr.line_id,
        sku=attr.sku,
        name=attr.name,
        quantity=int(attr.quantity),
        unit_price=attr.unit_price,
        discount=attr.discount,
        tax=attr.tax,
        discounts=_allocations_of(attr.discounts),
        taxes=[tax_line_of(t) for t in attr.taxes or []],
        taxable=True if attr.taxable is None else bool(attr.taxable),
    )


def charge_of(attr: ChargeAttribute) -> Charge:
    return Charge(
        charge_id=attr.charge_id,
        title=attr.title,
        amount=attr.amount,
        discount=attr.discount,
        discounts=_allocations_of(attr.discounts),
        tax=attr.tax,
        taxes=[tax_line_of(t) for t in attr.taxes or []],
        taxable=bool(attr.taxable),
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
    shipping = [charge_of(c) for c in record.shipping_lines or []]
    return PricingInput(
        currency=record.currency,
        prices_include_tax=bool(record.prices_include_tax),
        tax_rounding="order" if record.tax_rounding == "order" else "line",
        lines=[line_of(line) for line in record.lines],
        shipping_lines=shipping_charges(shipping, record.shipping_total or ZERO),
        fees=[charge_of(c) for c in record.fees or []],
        discounts=[_discount_of(d) for d in record.discounts or []],
        shipping_total=record.shipping_total,
        tax_total=record.tax_total,
        grand_total=record.grand_total,
        channel_totals=_channel_totals_of(record.channel_totals),
    )
