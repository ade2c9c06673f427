"""Tax by jurisdiction: the rate table and the rule for computing a line's tax.

Rates are data reviewed like code (a dated table, shipped with the functions); a jurisdiction not in the
table puts the order on hold rather than guessing.
"""

from __future__ import annotations

from decimal import Decimal

from oms.money import ZERO, round_money

TAX_TABLE_VERSION = "2026-11-01"

# Combined state + average local sales tax rates (illustrative reference table for the demo distributor).
TAX_RATES: dict[str, Decimal] = {
    "US-CA": Decimal("0.0725"),
    "US-NY": Decimal("0.08875"),
    "US-TX": Decimal("0.0625"),
    "US-WA": Decimal("0.065"),
    "US-IL": Decimal("0.0625"),
    "US-FL": Decimal("0.06"),
    "US-NJ": Decimal("0.06625"),
    "US-MA": Decimal("0.0625"),
    "US-OR": Decimal("0"),
    "US-DE": Decimal("0"),
    "CA-ON": Decimal("0.13"),
    "CA-BC": Decimal("0.12"),
    "GB": Decimal("0.20"),
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "NL": Decimal("0.21"),
}


def tax_rate_for(jurisdiction: str) -> Decimal | None:
    return TAX_RATES.get(jurisdiction)


def line_tax(net_amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """Tax on one line: the line's net amount times the rate, rounded half-up per line (as Shopify does)."""
    if net_amount <= ZERO:
        return round_money(ZERO, currency)
    return round_money(net_amount * rate, currency)
