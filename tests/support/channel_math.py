"""A channel's own arithmetic, written for the tests independently of `oms.pricing` and `oms.tax`: what
Shopify or WooCommerce would compute (tax per line and tax line, rounded half-up to the cent).

The rates are hand-written examples of what a channel's tax service charges at a few destinations (state
line plus the local lines a channel shows); they are test data, not the OMS's rate table.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

#: (title, rate) of the tax lines a channel shows at a destination.
CHANNEL_RATES: dict[str, list[tuple[str, Decimal]]] = {
    "US-CA": [("CA State Tax", Decimal("0.0725"))],
    "US-NY": [
        ("NY State Tax", Decimal("0.04")),
        ("New York City Tax", Decimal("0.045")),
        ("Metropolitan Commuter Transportation District", Decimal("0.00375")),
    ],
    "US-TX": [
        ("TX State Tax", Decimal("0.0625")),
        ("Austin City Tax", Decimal("0.01")),
        ("Austin MTA Transit District", Decimal("0.01")),
    ],
    "US-WA": [("WA State Tax", Decimal("0.065")), ("Seattle City Tax", Decimal("0.0385"))],
    "US-IL": [
        ("IL State Tax", Decimal("0.0625")),
        ("Cook County Tax", Decimal("0.0175")),
        ("Chicago City Tax", Decimal("0.0125")),
        ("RTA Special District Tax", Decimal("0.01")),
    ],
    "US-FL": [("FL State Tax", Decimal("0.06")), ("Miami-Dade County Surtax", Decimal("0.01"))],
    "US-NJ": [("NJ State Tax", Decimal("0.06625"))],
    "US-MA": [("MA State Tax", Decimal("0.0625"))],
    "US-OR": [],
    "US-DE": [],
}

#: Where the channels in these tests charge tax on shipping.
SHIPPING_TAXED = {"US-NY", "US-TX", "US-WA", "US-NJ"}


def half_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def exclusive_taxes(net: Decimal, rates: list[tuple[str, Decimal]]) -> list[tuple[str, Decimal, Decimal]]:
    """(title, rate, amount) of each tax line on a tax-exclusive net amount."""
    return [(title, rate, half_up(net * rate)) for title, rate in rates]


def inclusive_taxes(gross: Decimal, rates: list[tuple[str, Decimal]]) -> list[tuple[str, Decimal, Decimal]]:
    """(title, rate, amount) of each tax line contained in a tax-inclusive amount."""
    total = sum((rate for _, rate in rates), Decimal(0))
    return [(title, rate, half_up(gross * rate / (1 + total))) for title, rate in rates]
