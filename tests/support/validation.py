"""Shared assertion of the adapter tests: a parsed channel order passes the OMS's own checks."""

from __future__ import annotations

from decimal import Decimal

from oms.domain.order import CanonicalOrder, pricing_input_of
from oms.logic.validation import CatalogPrice, PricingPolicy, calculator_for, check_order
from oms.money import ZERO
from oms.tax.policy import TaxPolicy


def assert_passes_oms_validation(order: CanonicalOrder, calculator: str = "channel") -> None:
    """The OMS's own price/discount/tax/total check, with a catalog holding the order's prices (before
    tax), holds nothing."""
    lines = order.lines
    policy = PricingPolicy(
        price_tolerance=Decimal("0.01") if order.prices_include_tax else ZERO,
        max_discount_percent={"DEFAULT": Decimal(100)},
        tax={"default": TaxPolicy(calculator=calculator)},  # type: ignore[arg-type]
    )
    catalog = {}
    for line in lines:
        price = line.unit_price
        if order.prices_include_tax and line.taxes:
            price = (price / (1 + sum((t.rate or ZERO for t in line.taxes), ZERO))).quantize(Decimal("0.01"))
        catalog[line.sku] = CatalogPrice(price, order.currency)
    result = check_order(
        pricing=pricing_input_of(order),
        channel=order.channel,
        destination=order.shipping_address,
        catalog=catalog,
        policy=policy,
        calculator=calculator_for(order.channel, policy),
    )
    assert result.hold_reason is None, result.detail
