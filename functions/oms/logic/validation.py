"""Pricing, tax and total validation of an order against the catalog and the tax table.

A failed check does not reject the order: it is put ON_HOLD with a machine-readable reason for ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from oms.data.models import CatalogItemRecord, CustomerRecord, OrderRecord
from oms.data.orders import amendment_of, get_order, ship_to, transition
from oms.domain.errors import InvalidTransitionError
from oms.domain.status import HoldReason, OrderStatus
from oms.domain.tax import line_tax, tax_rate_for
from oms.money import ZERO, round_money
from oms.observability import MetricUnit, metrics

ACTOR = "workflow:validate"
DEFAULT_TIER = "DEFAULT"


@dataclass(frozen=True)
class CatalogPrice:
    unit_price: Decimal
    currency: str


@dataclass(frozen=True)
class LineFacts:
    line_id: str
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal


class PricingPolicy(BaseModel):
    """The pricing rules of validation: an SSM parameter, so finance changes them without a deploy."""

    model_config = ConfigDict(frozen=True)

    price_tolerance: Decimal = Decimal("0.01")
    """Largest accepted difference between a channel's unit price and the catalog's."""
    max_discount_percent: dict[str, Decimal] = Field(default_factory=lambda: {DEFAULT_TIER: Decimal("10")})
    """Largest discount, in percent of the order's subtotal, per customer tier (DEFAULT for the others)."""

    def discount_limit(self, tier: str) -> Decimal:
        return self.max_discount_percent.get(tier, self.max_discount_percent.get(DEFAULT_TIER, Decimal(0)))


@dataclass(frozen=True)
class ValidationResult:
    hold_reason: HoldReason | None
    detail: str
    computed_tax_total: Decimal | None = None
    superseded: bool = False
    """The order was amended after this execution started: its decision belongs to the newer one."""


def check_order(
    *,
    currency: str,
    jurisdiction: str,
    lines: list[LineFacts],
    shipping_total: Decimal,
    tax_total: Decimal,
    grand_total: Decimal,
    catalog: Mapping[str, CatalogPrice],
    policy: PricingPolicy,
    customer_tier: str = DEFAULT_TIER,
) -> ValidationResult:
    """Check an order's prices, discounts, tax and totals. Pure: everything it needs is passed in."""
    price_tolerance = policy.price_tolerance
    unknown = sorted({line.sku for line in lines if line.sku not in catalog})
    if unknown:
        return ValidationResult(HoldReason.UNKNOWN_SKU, f"not in the catalog: {', '.join(unknown)}")
    for line in lines:
        item = catalog[line.sku]
        if item.currency != currency:
            return ValidationResult(
                HoldReason.CURRENCY_MISMATCH,
                f"{line.sku} is priced in {item.currency}, the order is in {currency}",
            )
        if abs(line.unit_price - item.unit_price) > price_tolerance:
            return ValidationResult(
                HoldReason.PRICE_MISMATCH,
                f"{line.sku}: channel price {line.unit_price} vs catalog {item.unit_price} "
                f"(tolerance {price_tolerance})",
            )
    subtotal = sum((line.unit_price * line.quantity for line in lines), ZERO)
    discounts = sum((line.discount for line in lines), ZERO)
    limit = policy.discount_limit(customer_tier)
    # The limit in money, rounded to the cent like the channel rounds its per-line discount allocations.
    if discounts > round_money(subtotal * limit / 100, currency):
        percent = (discounts * 100 / subtotal).quantize(Decimal("0.01"))
        return ValidationResult(
            HoldReason.DISCOUNT_OVER_POLICY,
            f"discount {discounts} is {percent}% of {subtotal}; "
            f"at most {limit}% for {customer_tier} customers",
        )
    rate = tax_rate_for(jurisdiction)
    if rate is None:
        return ValidationResult(HoldReason.UNKNOWN_JURISDICTION, f"no tax rate for {jurisdiction}")
    computed_tax = sum(
        (line_tax(line.unit_price * line.quantity - line.discount, rate, currency) for line in lines), ZERO
    )
    computed_tax = round_money(computed_tax, currency)
    if computed_tax != tax_total:
        return ValidationResult(
            HoldReason.TAX_MISMATCH,
            f"channel tax {tax_total} vs computed {computed_tax} at {rate} for {jurisdiction}",
            computed_tax,
        )
    expected_total = round_money(subtotal - discounts + shipping_total + tax_total, currency)
    if expected_total != grand_total:
        return ValidationResult(
            HoldReason.TOTAL_MISMATCH,
            f"channel total {grand_total} vs recomputed {expected_total}",
            computed_tax,
        )
    return ValidationResult(None, "prices, tax and totals match", computed_tax)


def _catalog_prices(skus: set[str]) -> dict[str, CatalogPrice]:
    prices: dict[str, CatalogPrice] = {}
    for item in CatalogItemRecord.batch_get(sorted(skus)):
        if item.active:
            prices[item.sku] = CatalogPrice(item.unit_price, item.currency)
    return prices


def _facts(record: OrderRecord) -> list[LineFacts]:
    return [
        LineFacts(line.line_id, line.sku, int(line.quantity), line.unit_price, line.discount)
        for line in record.lines
    ]


def customer_tier(customer_id: str) -> str:
    """The tier of a customer account; channel customers without an account are DEFAULT."""
    try:
        return str(CustomerRecord.get(customer_id).tier)
    except DoesNotExist:
        return DEFAULT_TIER


def validate_order(
    order_id: str, *, policy: PricingPolicy, now: datetime, amendment: int | None = None
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
    lines = _facts(record)
    catalog = _catalog_prices({line.sku for line in lines})
    jurisdiction = ship_to(record).jurisdiction
    result = check_order(
        currency=record.currency,
        jurisdiction=jurisdiction,
        lines=lines,
        shipping_total=record.shipping_total,
        tax_total=record.tax_total,
        grand_total=record.grand_total,
        catalog=catalog,
        policy=policy,
        customer_tier=customer_tier(record.customer.customer_id),
    )
    extra: list[Action] = []
    if result.computed_tax_total is not None:
        extra.append(OrderRecord.computed_tax_total.set(result.computed_tax_total))
    try:
        if result.hold_reason is None:
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
