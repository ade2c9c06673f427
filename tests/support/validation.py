"""Shared assertion of the adapter tests: a parsed channel order passes the OMS's own checks."""

from __future__ import annotations

from decimal import Decimal

from oms.domain.order import CanonicalOrder
from oms.logic.validation import CatalogPrice, LineFacts, PricingPolicy, check_order
from oms.money import ZERO


def assert_passes_oms_validation(order: CanonicalOrder) -> None:
    """The OMS's own price/tax/total check, with a catalog holding the order's prices, holds nothing."""
    result = check_order(
        currency=order.currency,
        jurisdiction=order.shipping_address.jurisdiction,
        lines=[LineFacts(x.line_id, x.sku, x.quantity, x.unit_price, x.discount) for x in order.lines],
        shipping_total=order.shipping_total,
        tax_total=order.tax_total,
        grand_total=order.grand_total,
        catalog={x.sku: CatalogPrice(x.unit_price, order.currency) for x in order.lines},
        policy=PricingPolicy(price_tolerance=ZERO, max_discount_percent={"DEFAULT": Decimal(100)}),
    )
    assert result.hold_reason is None, result.detail
