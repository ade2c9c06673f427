"""Pricing, discount, tax and total validation of an order against the catalog, the pricing policy and the
pricing model (docs/decisions/0020, 0021).

A failed check does not reject the order: it is put ON_HOLD with a machine-readable reason and a detail
that names the component and the amounts ("discount TENOFF 10.00 is not reflected in the line totals
(0.00 allocated)", "shipping tax 0.72 expected (NY State Tax 4 %), 0.00 sent").

The tax is checked with the calculator the pricing policy names for the order's channel (the rate table,
the channel as calculator of record, or an external engine). Whatever the outcome, the order keeps its
components with every tax itemized by jurisdiction (`resolve_taxes`): the invoice is built from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from oms.data.models import CatalogItemRecord, CustomerRecord, OrderRecord
from oms.data.orders import amendment_of, get_order, ship_to, transition
from oms.data.pricing import discount_labels, pricing_actions, pricing_of
from oms.domain.errors import InvalidTransitionError
from oms.domain.order import Address, PricingInput
from oms.domain.status import HoldReason, OrderStatus
from oms.money import ZERO, round_money
from oms.observability import MetricUnit, metrics
from oms.pricing.checks import Discrepancy, check_pricing, hold_reason_of, resolve_taxes, tax_request
from oms.tax.calculators import ChannelCalculator, RateTableCalculator
from oms.tax.engine import TaxEngineCalculator
from oms.tax.policy import DEFAULT, TaxEngineSettings, TaxPolicy, tax_policy_for
from oms.tax.port import TaxCalculator
from oms.tax.rates import load_rate_table

ACTOR = "workflow:validate"
DEFAULT_TIER = "DEFAULT"
MAX_REASONS_SHOWN = 3


@dataclass(frozen=True)
class CatalogPrice:
    unit_price: Decimal
    currency: str


class PricingPolicy(BaseModel):
    """The pricing rules of validation: an SSM parameter, so finance changes them without a deploy."""

    model_config = ConfigDict(frozen=True)

    price_tolerance: Decimal = Decimal("0.01")
    """Largest accepted difference between a channel's unit price (before tax) and the catalog's."""
    max_discount_percent: dict[str, Decimal] = Field(default_factory=lambda: {DEFAULT_TIER: Decimal("10")})
    """Largest discount, in percent of the order's subtotal, per customer tier (DEFAULT for the others)."""
    tax: dict[str, TaxPolicy] = Field(default_factory=lambda: {DEFAULT: TaxPolicy()})
    """Per channel ("default" for the others): which tax calculator checks its orders, and its settings."""
    tax_engine: TaxEngineSettings | None = None
    """The external engine's origin and timeout, for channels whose calculator is "engine"."""

    def discount_limit(self, tier: str) -> Decimal:
        return self.max_discount_percent.get(tier, self.max_discount_percent.get(DEFAULT_TIER, Decimal(0)))

    def tax_for(self, channel: str) -> TaxPolicy:
        return tax_policy_for(self.tax, channel)


@dataclass(frozen=True)
class ValidationResult:
    hold_reason: HoldReason | None
    detail: str
    computed_tax_total: Decimal | None = None
    resolved: PricingInput | None = None
    """The order's components with every tax itemized (what is stored and invoiced)."""
    discrepancies: tuple[Discrepancy, ...] = field(default_factory=tuple)
    calculator: str | None = None
    superseded: bool = False
    """The order was amended after this execution started: its decision belongs to the newer one."""


EngineCredentials = Callable[[], Mapping[str, str]]


def calculator_for(
    channel: str, policy: PricingPolicy, engine_credentials: EngineCredentials | None = None
) -> TaxCalculator:
    """The tax calculator the policy names for `channel`."""
    tax = policy.tax_for(channel)
    table = load_rate_table()
    if tax.calculator == "channel":
        return ChannelCalculator(table, tax)
    if tax.calculator == "engine":
        if engine_credentials is None:
            raise RuntimeError(
                f"channel {channel} uses the tax engine, but no engine credentials are configured"
            )
        return TaxEngineCalculator(policy.tax_engine or TaxEngineSettings(), engine_credentials())
    return RateTableCalculator(table, tax)


def _ex_tax_unit_price(unit_price: Decimal, rates: list[Decimal | None], inclusive: bool) -> Decimal:
    if not inclusive:
        return unit_price
    return unit_price / (1 + sum((r or ZERO for r in rates), ZERO))


def catalog_check(
    pricing: PricingInput,
    catalog: Mapping[str, CatalogPrice],
    policy: PricingPolicy,
    customer_tier: str,
) -> ValidationResult | None:
    """The checks against the price list and the discount policy; None when they pass."""
    currency = pricing.currency
    unknown = sorted({line.sku for line in pricing.lines if line.sku not in catalog})
    if unknown:
        return ValidationResult(HoldReason.UNKNOWN_SKU, f"not in the catalog: {', '.join(unknown)}")
    for line in pricing.lines:
        item = catalog[line.sku]
        if item.currency != currency:
            return ValidationResult(
                HoldReason.CURRENCY_MISMATCH,
                f"{line.sku} is priced in {item.currency}, the order is in {currency}",
            )
        unit = _ex_tax_unit_price(line.unit_price, [t.rate for t in line.taxes], pricing.prices_include_tax)
        if abs(unit - item.unit_price) > policy.price_tolerance:
            shown = f"{line.unit_price}" + (
                f" ({round_money(unit, currency)} before tax)" if unit != line.unit_price else ""
            )
            return ValidationResult(
                HoldReason.PRICE_MISMATCH,
                f"{line.sku}: channel price {shown} vs catalog {item.unit_price} "
                f"(tolerance {policy.price_tolerance})",
            )
    subtotal = sum((line.gross_amount for line in pricing.lines), ZERO)
    discounts = sum((line.discount for line in pricing.lines), ZERO)
    limit = policy.discount_limit(customer_tier)
    # The limit in money, rounded to the cent like the channel rounds its per-line discount allocations.
    if subtotal and discounts > round_money(subtotal * limit / 100, currency):
        percent = (discounts * 100 / subtotal).quantize(Decimal("0.01"))
        return ValidationResult(
            HoldReason.DISCOUNT_OVER_POLICY,
            f"discount {discounts} is {percent}% of {subtotal}; "
            f"at most {limit}% for {customer_tier} customers",
        )
    return None


def check_order(
    *,
    pricing: PricingInput,
    channel: str,
    destination: Address,
    catalog: Mapping[str, CatalogPrice],
    policy: PricingPolicy,
    calculator: TaxCalculator,
    customer_tier: str = DEFAULT_TIER,
) -> ValidationResult:
    """Check an order's prices, discounts, tax and totals. Pure but for the calculator it is given."""
    rounding = policy.tax_for(channel).rounding
    if rounding is not None:
        pricing = pricing.model_copy(update={"tax_rounding": rounding})
    failed = catalog_check(pricing, catalog, policy, customer_tier)
    request = tax_request(pricing, channel=channel, destination=destination)
    quote = calculator.quote(request)
    resolved = resolve_taxes(pricing, quote)
    computed_tax = round_money(sum((item.total for item in quote.items), ZERO), pricing.currency)
    if failed is not None:
        return ValidationResult(
            failed.hold_reason, failed.detail, computed_tax, resolved, calculator=quote.source
        )
    discrepancies = check_pricing(pricing, request, quote)
    reason = hold_reason_of(discrepancies)
    if reason is None:
        detail = f"prices, discounts, tax and totals match (tax: {quote.source})"
        return ValidationResult(None, detail, computed_tax, resolved, calculator=quote.source)
    shown = [d.message for d in discrepancies[:MAX_REASONS_SHOWN]]
    if len(discrepancies) > MAX_REASONS_SHOWN:
        shown.append(f"and {len(discrepancies) - MAX_REASONS_SHOWN} more")
    return ValidationResult(
        reason, "; ".join(shown), computed_tax, resolved, tuple(discrepancies), calculator=quote.source
    )


def _catalog_prices(skus: set[str]) -> dict[str, CatalogPrice]:
    prices: dict[str, CatalogPrice] = {}
    for item in CatalogItemRecord.batch_get(sorted(skus)):
        if item.active:
            prices[item.sku] = CatalogPrice(item.unit_price, item.currency)
    return prices


def customer_tier(customer_id: str) -> str:
    """The tier of a customer account; channel customers without an account are DEFAULT."""
    try:
        return str(CustomerRecord.get(customer_id).tier)
    except DoesNotExist:
        return DEFAULT_TIER


def validate_order(
    order_id: str,
    *,
    policy: PricingPolicy,
    now: datetime,
    engine_credentials: EngineCredentials | None = None,
    amendment: int | None = None,
) -> ValidationResult:
    """Validate a RECEIVED order and move it to VALIDATED or ON_HOLD. Safe to run more than once.

    `amendment`: the channel amendment the execution was started for; when the channel amended the order
    since (before or while this step ran), this execution stands down (superseded) and the newer one
    decides."""
    record = get_order(order_id)
    if amendment is not None and amendment_of(record) != amendment:
        return ValidationResult(None, f"superseded by amendment {amendment_of(record)}", superseded=True)
    if record.status != OrderStatus.RECEIVED.value:
        # A retried task: report what the first attempt decided.
        reason = HoldReason(record.hold_reason) if record.hold_reason else None
        return ValidationResult(reason, f"already {record.status}", record.computed_tax_total)
    pricing = pricing_of(record)
    result = check_order(
        pricing=pricing,
        channel=record.channel,
        destination=ship_to(record),
        catalog=_catalog_prices({line.sku for line in pricing.lines}),
        policy=policy,
        calculator=calculator_for(record.channel, policy, engine_credentials),
        customer_tier=customer_tier(record.customer.customer_id),
    )
    extra: list[Action] = []
    if result.computed_tax_total is not None:
        extra.append(OrderRecord.computed_tax_total.set(result.computed_tax_total))
    if result.resolved is not None and result.resolved != pricing:
        # Only what resolution changed (tax itemized or an order-level rounding spread): most channel
        # orders arrive itemized and are not rewritten.
        extra += pricing_actions(result.resolved, changed_from=pricing)
    if result.calculator:
        extra.append(OrderRecord.tax_calculator.set(result.calculator))
    try:
        if result.hold_reason is None:
            # The channel's stated totals and the discounts' terms have been checked: the order item
            # (rewritten at every step, billed per KB) keeps only what the invoice shows of them.
            extra.append(OrderRecord.channel_totals.remove())
            if pricing.discounts:
                extra.append(OrderRecord.discounts.set(discount_labels(pricing.discounts)))
            transition(record, OrderStatus.VALIDATED, by=ACTOR, at=now, reason=result.detail, extra=extra)
        else:
            extra.append(OrderRecord.hold_reason.set(result.hold_reason.value))
            note = f"{result.hold_reason.value}: {result.detail}"
            transition(record, OrderStatus.ON_HOLD, by=ACTOR, at=now, reason=note, extra=extra)
            metrics.add_metric(name="OrdersHeld", unit=MetricUnit.Count, value=1)
    except InvalidTransitionError:
        latest = get_order(order_id)
        if amendment_of(latest) != amendment_of(record):  # amended while this step validated
            return ValidationResult(None, f"superseded by amendment {amendment_of(latest)}", superseded=True)
        raise
    return result
