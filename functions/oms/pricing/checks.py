"""Every total a channel sends, checked against the pricing model; each difference names its component.

`check_pricing` compares an order's components with what the channel stated (discount amounts, subtotals,
shipping, fees, tax per item and per jurisdiction, the grand total) and with what the tax calculator
expects; `resolve_taxes` gives back the components with their tax itemized by jurisdiction (from the
calculator where the channel gave only an amount) and, for channels that round tax once per order, the
order-level rounding distributed over the items, so that the breakdown adds up to the channel's totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from oms.domain.order import Address, OrderLine, PricingInput
from oms.domain.pricing import Charge, ItemKind, PriceBreakdown, TaxLine
from oms.domain.status import HoldReason
from oms.money import ZERO, quantum, round_money
from oms.pricing.breakdown import compute_breakdown, item_taxes
from oms.pricing.taxmath import distribute
from oms.tax.port import ItemTax, TaxableItem, TaxQuote, TaxRequest

# The order in which hold reasons win when an order has several differences.
_PRECEDENCE = (
    HoldReason.UNKNOWN_JURISDICTION,
    HoldReason.DISCOUNT_MISMATCH,
    HoldReason.TAX_MISMATCH,
    HoldReason.TOTAL_MISMATCH,
)


@dataclass(frozen=True)
class Discrepancy:
    reason: HoldReason
    component: str
    """What differs: "discount TENOFF", "shipping tax", "line 2 tax", "grand total"."""
    message: str


def hold_reason_of(discrepancies: Sequence[Discrepancy]) -> HoldReason | None:
    reasons = {d.reason for d in discrepancies}
    return next((r for r in _PRECEDENCE if r in reasons), None)


def _percent(rate: Decimal | None) -> str:
    if rate is None:
        return "?"
    text = f"{rate * 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} %"


# --- the tax request ----------------------------------------------------------------------------------


def item_id(kind: ItemKind, ident: str) -> str:
    return f"{kind.value.lower()}:{ident}"


def _line_item(line: OrderLine) -> TaxableItem:
    return TaxableItem(
        item_id=item_id(ItemKind.LINE, line.line_id),
        kind=ItemKind.LINE,
        description=f"line {line.line_id} ({line.sku})",
        sku=line.sku,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount=line.discount,
        amount=line.net_amount,
        taxable=line.taxable,
        channel_taxes=list(line.taxes),
        channel_tax=line.tax,
    )


def _charge_item(kind: ItemKind, charge: Charge) -> TaxableItem:
    label = "shipping" if kind is ItemKind.SHIPPING else f"fee {charge.title}"
    return TaxableItem(
        item_id=item_id(kind, charge.charge_id),
        kind=kind,
        description=label,
        unit_price=charge.amount,
        discount=charge.discount,
        amount=charge.net,
        taxable=charge.taxable,
        channel_taxes=list(charge.taxes),
        channel_tax=charge.tax,
    )


def tax_request(pricing: PricingInput, *, channel: str, destination: Address) -> TaxRequest:
    items = [_line_item(line) for line in pricing.lines]
    items += [_charge_item(kind, charge) for kind, charge in pricing.charges]
    return TaxRequest(
        channel=channel,
        currency=pricing.currency,
        destination=destination,
        prices_include_tax=pricing.prices_include_tax,
        items=items,
    )


# --- discounts ------------------------------------------------------------------------------------------


def _allocations(pricing: PricingInput) -> dict[str, dict[ItemKind, Decimal]]:
    found: dict[str, dict[ItemKind, Decimal]] = {}
    for line in pricing.lines:
        for allocation in line.discount_allocations:
            found.setdefault(allocation.discount, dict.fromkeys(ItemKind, ZERO))[ItemKind.LINE] += (
                allocation.amount
            )
    for kind, charge in pricing.charges:
        for allocation in charge.discounts:
            found.setdefault(allocation.discount, dict.fromkeys(ItemKind, ZERO))[kind] += allocation.amount
    return found


def _discount_checks(pricing: PricingInput) -> Iterable[Discrepancy]:
    currency = pricing.currency
    allocated = _allocations(pricing)
    unit = quantum(currency)
    for discount in pricing.discounts:
        where = "shipping lines" if discount.target == "shipping_line" else "line totals"
        kind = ItemKind.SHIPPING if discount.target == "shipping_line" else ItemKind.LINE
        got = allocated.get(discount.key, dict.fromkeys(ItemKind, ZERO))
        on_target = got[kind]
        anywhere = sum(got.values(), ZERO)
        if discount.amount is not None and anywhere != discount.amount:
            yield Discrepancy(
                HoldReason.DISCOUNT_MISMATCH,
                f"discount {discount.label}",
                f"discount {discount.label} {discount.amount} is not reflected in the {where} "
                f"({round_money(anywhere, currency)} allocated)",
            )
            continue
        if (
            discount.value_type == "percentage"
            and discount.value is not None
            and discount.target == "line_item"
            and discount.target_selection == "all"
            and discount.allocation_method == "across"
        ):
            base = sum((line.gross_amount for line in pricing.lines), ZERO)
            expected = base * discount.value / 100
            # Each line's share is rounded on its own: within one minor unit per line.
            if abs(on_target - expected) > unit * len(pricing.lines):
                yield Discrepancy(
                    HoldReason.DISCOUNT_MISMATCH,
                    f"discount {discount.label}",
                    f"discount {discount.label} of {_percent(discount.value / 100)} on {base} is "
                    f"{round_money(expected, currency)}, "
                    f"the line totals carry {round_money(on_target, currency)}",
                )
        if (
            discount.value_type == "fixed_amount"
            and discount.value is not None
            and discount.allocation_method == "across"
            and discount.amount is None
            and anywhere != discount.value
        ):
            yield Discrepancy(
                HoldReason.DISCOUNT_MISMATCH,
                f"discount {discount.label}",
                f"discount {discount.label} {discount.value} is not reflected in the {where} "
                f"({round_money(anywhere, currency)} allocated)",
            )
    stated = pricing.channel_totals.discount_total
    if stated is not None:
        on_lines = sum((line.discount for line in pricing.lines), ZERO)
        everywhere = on_lines + sum((c.discount for _, c in pricing.charges), ZERO)
        # Channels differ on whether shipping discounts count in the order's discount total: either adds up.
        if stated not in (on_lines, everywhere):
            yield Discrepancy(
                HoldReason.DISCOUNT_MISMATCH,
                "discount total",
                f"discount total {stated} is not reflected in the line totals "
                f"({round_money(on_lines, currency)} on the lines"
                + (
                    f", {round_money(everywhere, currency)} with shipping)" if everywhere != on_lines else ")"
                ),
            )


# --- tax ------------------------------------------------------------------------------------------------


def _expected_lines(item: TaxableItem, quote: TaxQuote) -> ItemTax:
    return quote.for_item(item.item_id) or ItemTax(item_id=item.item_id)


def _describe(expected: ItemTax) -> str:
    if not expected.lines:
        return "no tax"
    return " + ".join(f"{line.title} {_percent(line.rate)}" for line in expected.lines)


def _tax_label(item: TaxableItem) -> str:
    if item.kind is ItemKind.SHIPPING:
        return "shipping tax"
    if item.kind is ItemKind.FEE:
        return f"tax on {item.description}"
    return f"tax on {item.description}"


def _tax_checks(
    request: TaxRequest, quote: TaxQuote, rounding: str, pricing: PricingInput
) -> Iterable[Discrepancy]:
    currency = request.currency
    unit = quantum(currency)
    for problem in quote.problems:
        yield Discrepancy(problem.reason, problem.item_id or "tax", problem.message)
    if any(p.reason is HoldReason.UNKNOWN_JURISDICTION for p in quote.problems):
        return
    for item in request.items:
        expected = _expected_lines(item, quote)
        if rounding == "order":
            exact = sum(expected.exact, ZERO)
            if abs(item.channel_tax - exact) >= unit:
                yield Discrepancy(
                    HoldReason.TAX_MISMATCH,
                    _tax_label(item),
                    f"{_tax_label(item)} {round_money(exact, currency)} expected ({_describe(expected)}), "
                    f"{round_money(item.channel_tax, currency)} sent",
                )
            continue
        if item.channel_tax != expected.total:
            yield Discrepancy(
                HoldReason.TAX_MISMATCH,
                _tax_label(item),
                f"{_tax_label(item)} {round_money(expected.total, currency)} expected "
                f"({_describe(expected)}), "
                f"{round_money(item.channel_tax, currency)} sent",
            )
    if rounding == "order":
        # The channel rounds once per jurisdiction: its order-level tax lines must be those roundings.
        exact_by_rate: dict[Decimal, Decimal] = {}
        for expected in quote.items:
            for line, value in zip(expected.lines, expected.exact, strict=True):
                exact_by_rate[line.rate or ZERO] = exact_by_rate.get(line.rate or ZERO, ZERO) + value
        stated_by_rate: dict[Decimal, Decimal] = {}
        for line in pricing.channel_totals.tax_lines:
            stated_by_rate[line.rate or ZERO] = stated_by_rate.get(line.rate or ZERO, ZERO) + line.amount
        if stated_by_rate:
            for rate, value in exact_by_rate.items():
                want = round_money(value, currency)
                got = stated_by_rate.get(rate, ZERO)
                if want != got:
                    yield Discrepancy(
                        HoldReason.TAX_MISMATCH,
                        f"tax at {_percent(rate)}",
                        f"tax at {_percent(rate)} over the order {want} expected (rounded once), {got} sent",
                    )


# --- totals ---------------------------------------------------------------------------------------------


def _shown(breakdown: PriceBreakdown) -> PriceBreakdown:
    """The breakdown with its totals in the currency's minor unit (for messages: 0.00, not 0)."""
    unit = quantum(breakdown.currency)
    names = (
        "subtotal",
        "line_discount_total",
        "line_net_total",
        "shipping_discount_total",
        "shipping_total",
        "fee_total",
        "line_tax",
        "shipping_tax",
        "fee_tax",
        "tax_total",
        "grand_total",
    )
    return breakdown.model_copy(update={name: getattr(breakdown, name).quantize(unit) for name in names})


def _totals_checks(pricing: PricingInput) -> Iterable[Discrepancy]:
    breakdown = _shown(compute_breakdown(resolve_taxes(pricing, None)))
    stated = pricing.channel_totals
    if stated.subtotal is not None and stated.subtotal != breakdown.subtotal:
        yield Discrepancy(
            HoldReason.TOTAL_MISMATCH,
            "subtotal",
            f"subtotal {stated.subtotal} sent, the lines add up to {breakdown.subtotal}",
        )
    if stated.net_subtotal is not None and stated.net_subtotal != breakdown.line_net_total:
        yield Discrepancy(
            HoldReason.TOTAL_MISMATCH,
            "subtotal after discounts",
            f"subtotal after discounts {stated.net_subtotal} sent, the lines add up to "
            f"{breakdown.line_net_total}",
        )
    if pricing.shipping_total != breakdown.shipping_total:
        yield Discrepancy(
            HoldReason.TOTAL_MISMATCH,
            "shipping",
            f"shipping {pricing.shipping_total} sent, "
            f"the shipping lines add up to {breakdown.shipping_total}",
        )
    if stated.fee_total is not None and stated.fee_total != breakdown.fee_total:
        yield Discrepancy(
            HoldReason.TOTAL_MISMATCH,
            "fees",
            f"fees {stated.fee_total} sent, the fee lines add up to {breakdown.fee_total}",
        )
    if stated.shipping_tax is not None and stated.shipping_tax != breakdown.shipping_tax:
        yield Discrepancy(
            HoldReason.TAX_MISMATCH,
            "shipping tax",
            f"shipping tax {stated.shipping_tax} sent, the shipping lines carry {breakdown.shipping_tax}",
        )
    if pricing.tax_rounding == "line" and stated.tax_lines:
        by_title: dict[str, Decimal] = {}
        for tax in breakdown.taxes:
            by_title[tax.title] = by_title.get(tax.title, ZERO) + tax.amount
        for line in stated.tax_lines:
            got = by_title.get(line.title, ZERO)
            stated_amount = sum((t.amount for t in stated.tax_lines if t.title == line.title), ZERO)
            if got != stated_amount:
                yield Discrepancy(
                    HoldReason.TAX_MISMATCH,
                    f"tax {line.title}",
                    f"{line.title} {stated_amount} sent for the order, its items carry {got}",
                )
                break
    if pricing.tax_total != breakdown.tax_total:
        yield Discrepancy(
            HoldReason.TAX_MISMATCH,
            "tax total",
            f"tax total {pricing.tax_total} sent, the tax lines add up to {breakdown.tax_total}",
        )
    if pricing.grand_total != breakdown.grand_total:
        parts = (
            f"lines {breakdown.line_net_total} + shipping {breakdown.shipping_total} "
            f"+ fees {breakdown.fee_total}"
        )
        if not breakdown.prices_include_tax:
            parts += f" + tax {breakdown.tax_total}"
        yield Discrepancy(
            HoldReason.TOTAL_MISMATCH,
            "grand total",
            f"total {pricing.grand_total} sent, the components add up to {breakdown.grand_total} ({parts})",
        )


def check_pricing(pricing: PricingInput, request: TaxRequest, quote: TaxQuote) -> list[Discrepancy]:
    """Every difference between the channel's statements and the model, most important first."""
    found = [
        *_discount_checks(pricing),
        *_tax_checks(request, quote, pricing.tax_rounding, pricing),
        *_totals_checks(resolve_taxes(pricing, quote)),
    ]
    order = {reason: i for i, reason in enumerate(_PRECEDENCE)}
    return sorted(found, key=lambda d: order.get(d.reason, len(order)))


# --- resolution -----------------------------------------------------------------------------------------


def _itemized(tax: Decimal, taxes: Sequence[TaxLine], expected: ItemTax | None) -> list[TaxLine]:
    """The item's tax lines: the channel's; the calculator's when the channel stated only the amount and
    the calculator agrees with it; else one unitemized line."""
    if taxes:
        return list(taxes)
    if not tax:
        return []
    if expected is not None and expected.lines and expected.total == tax:
        return list(expected.lines)
    return item_taxes(tax, taxes)


def resolve_taxes(pricing: PricingInput, quote: TaxQuote | None) -> PricingInput:
    """The components with every item's tax itemized (see module docstring). Amounts the channel charged
    are kept, except that an order-level rounding is spread over the items."""
    lines = []
    for line in pricing.lines:
        expected = quote.for_item(item_id(ItemKind.LINE, line.line_id)) if quote else None
        lines.append(line.model_copy(update={"taxes": _itemized(line.tax, line.taxes, expected)}))
    shipping: list[Charge] = []
    fees: list[Charge] = []
    for kind, charge in pricing.charges:
        expected = quote.for_item(item_id(kind, charge.charge_id)) if quote else None
        resolved = charge.model_copy(update={"taxes": _itemized(charge.tax, charge.taxes, expected)})
        (shipping if kind is ItemKind.SHIPPING else fees).append(resolved)
    result = pricing.model_copy(update={"lines": lines, "shipping_lines": shipping, "fees": fees})
    if pricing.tax_rounding == "order" and pricing.channel_totals.tax_lines:
        result = _spread_order_rounding(result)
    return result


def _spread_order_rounding(pricing: PricingInput) -> PricingInput:
    """Make each jurisdiction's item tax lines add up to the channel's order-level tax line for it."""
    currency = pricing.currency
    stated: dict[Decimal, Decimal] = {}
    for line in pricing.channel_totals.tax_lines:
        if line.rate is not None:
            stated[line.rate] = stated.get(line.rate, ZERO) + line.amount
    # (item index, tax index) per rate, with the exact (unrounded) amount of each.
    items: list[OrderLine | Charge] = [*pricing.lines, *pricing.shipping_lines, *pricing.fees]
    taxes: list[list[TaxLine]] = [list(item.taxes) for item in items]
    for rate, total in stated.items():
        places = [
            (i, j) for i, item_tax in enumerate(taxes) for j, t in enumerate(item_tax) if t.rate == rate
        ]
        if not places:
            continue
        bases = [_taxable_base(items[i], pricing.prices_include_tax, taxes[i]) for i, _ in places]
        exact = [base * rate for base in bases]
        for (i, j), amount in zip(places, distribute(total, exact, currency), strict=True):
            taxes[i][j] = taxes[i][j].model_copy(update={"amount": amount})
    new_items = [
        item.model_copy(update={"taxes": t, "tax": sum((x.amount for x in t), ZERO)})
        for item, t in zip(items, taxes, strict=True)
    ]
    n_lines, n_ship = len(pricing.lines), len(pricing.shipping_lines)
    return pricing.model_copy(
        update={
            "lines": new_items[:n_lines],
            "shipping_lines": new_items[n_lines : n_lines + n_ship],
            "fees": new_items[n_lines + n_ship :],
        }
    )


def _taxable_base(item: OrderLine | Charge, inclusive: bool, taxes: Sequence[TaxLine]) -> Decimal:
    net = item.net_amount if isinstance(item, OrderLine) else item.net
    if not inclusive:
        return net
    return net / (1 + sum((t.rate or ZERO for t in taxes), ZERO))
