"""The breakdown of an order's price: what the invoice shows, computed once from the order's components.

`PricingInput` is an order's components (from a channel's canonical order, or read back from the order
record); `compute_breakdown` adds them up: per item gross, discount, net and tax by jurisdiction, discounts
per code, tax per jurisdiction, and the totals. It invents no amount: every number is a sum of the
components, so the invoice record, its JSON and its PDF, all made from one breakdown, cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from oms.domain.order import PricingInput
from oms.domain.pricing import (
    LINE_DISCOUNT,
    Charge,
    DiscountAllocation,
    DiscountSummary,
    ItemBreakdown,
    ItemKind,
    JurisdictionTax,
    PriceBreakdown,
    TaxLine,
)
from oms.money import ZERO

UNITEMIZED_TAX_TITLE = "Tax"
"""The title of a tax the channel stated as an amount only (no jurisdiction, no rate)."""


def _combined_rate(taxes: Sequence[TaxLine]) -> Decimal | None:
    if not taxes or any(t.rate is None for t in taxes):
        return None
    return sum((t.rate for t in taxes if t.rate is not None), ZERO)


def item_taxes(tax: Decimal, taxes: Sequence[TaxLine]) -> list[TaxLine]:
    """The item's tax lines; one unitemized line when the channel stated only the amount."""
    if taxes or not tax:
        return list(taxes)
    return [TaxLine(title=UNITEMIZED_TAX_TITLE, amount=tax)]


def _item(
    kind: ItemKind,
    item_id: str,
    *,
    description: str,
    gross: Decimal,
    discounts: list[DiscountAllocation],
    discount: Decimal,
    tax: Decimal,
    taxes: Sequence[TaxLine],
    inclusive: bool,
    sku: str | None = None,
    quantity: int = 1,
    unit_price: Decimal | None = None,
) -> ItemBreakdown:
    net = gross - discount
    lines = item_taxes(tax, taxes)
    return ItemBreakdown(
        kind=kind,
        item_id=item_id,
        sku=sku,
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        gross=gross,
        discounts=discounts,
        discount=discount,
        net=net,
        taxes=lines,
        tax=tax,
        tax_rate=_combined_rate(lines),
        taxable_amount=net - tax if inclusive else net,
        total=net if inclusive else net + tax,
    )


def _charge_allocations(charge: Charge) -> list[DiscountAllocation]:
    if charge.discounts or not charge.discount:
        return list(charge.discounts)
    return [DiscountAllocation(discount=LINE_DISCOUNT, amount=charge.discount)]


def tax_by_jurisdiction(items: Sequence[ItemBreakdown]) -> list[JurisdictionTax]:
    """The order's tax per jurisdiction (title and rate), in the order the jurisdictions first appear."""
    found: dict[tuple[str, Decimal | None], tuple[TaxLine, Decimal, Decimal]] = {}
    for item in items:
        for tax in item.taxes:
            first, taxable, amount = found.get(tax.key, (tax, ZERO, ZERO))
            found[tax.key] = (first, taxable + item.taxable_amount, amount + tax.amount)
    return [
        JurisdictionTax(
            title=line.title,
            rate=line.rate,
            level=line.level,
            jurisdiction=line.jurisdiction,
            taxable_amount=taxable,
            amount=amount,
        )
        for line, taxable, amount in found.values()
    ]


def compute_breakdown(pricing: PricingInput) -> PriceBreakdown:
    """Add up the components. Pure and deterministic."""
    inclusive = pricing.prices_include_tax
    lines = [
        _item(
            ItemKind.LINE,
            line.line_id,
            sku=line.sku,
            description=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            gross=line.gross_amount,
            discounts=line.discount_allocations,
            discount=line.discount,
            tax=line.tax,
            taxes=line.taxes,
            inclusive=inclusive,
        )
        for line in pricing.lines
    ]
    charges = {
        kind: [
            _item(
                kind,
                charge.charge_id,
                description=charge.title,
                gross=charge.amount,
                discounts=_charge_allocations(charge),
                discount=charge.discount,
                tax=charge.tax,
                taxes=charge.taxes,
                inclusive=inclusive,
            )
            for k, charge in pricing.charges
            if k is kind
        ]
        for kind in (ItemKind.SHIPPING, ItemKind.FEE)
    }
    shipping, fees = charges[ItemKind.SHIPPING], charges[ItemKind.FEE]
    items = [*lines, *shipping, *fees]

    declared = {d.key: d for d in pricing.discounts}
    summaries: dict[str, dict[ItemKind, Decimal]] = {}
    for item in items:
        for allocation in item.discounts:
            per_kind = summaries.setdefault(allocation.discount, dict.fromkeys(ItemKind, ZERO))
            per_kind[item.kind] += allocation.amount
    for key in declared:
        summaries.setdefault(key, dict.fromkeys(ItemKind, ZERO))
    discounts = [
        DiscountSummary(
            key=key,
            label=declared[key].label if key in declared else "Line discount",
            kind=declared[key].kind if key in declared else "line",
            on_lines=amounts[ItemKind.LINE],
            on_shipping=amounts[ItemKind.SHIPPING],
            on_fees=amounts[ItemKind.FEE],
        )
        for key, amounts in summaries.items()
    ]

    taxes = tax_by_jurisdiction(items)

    def total(of: Sequence[ItemBreakdown], field: str) -> Decimal:
        return sum((getattr(i, field) for i in of), ZERO)

    line_net = total(lines, "net")
    shipping_net = total(shipping, "net")
    fee_net = total(fees, "net")
    tax_total = total(items, "tax")
    return PriceBreakdown(
        currency=pricing.currency,
        prices_include_tax=inclusive,
        tax_rounding=pricing.tax_rounding,
        lines=lines,
        shipping=shipping,
        fees=fees,
        discounts=discounts,
        taxes=taxes,
        subtotal=total(lines, "gross"),
        line_discount_total=total(lines, "discount"),
        line_net_total=line_net,
        shipping_discount_total=total(shipping, "discount"),
        shipping_total=shipping_net,
        fee_total=fee_net,
        line_tax=total(lines, "tax"),
        shipping_tax=total(shipping, "tax"),
        fee_tax=total(fees, "tax"),
        tax_total=tax_total,
        grand_total=line_net + shipping_net + fee_net + (ZERO if inclusive else tax_total),
    )
