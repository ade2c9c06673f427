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


#: One combined rate per destination, for tests that need only one tax line (hand-written test data).
TAX_RATES: dict[str, Decimal] = {
    "US-CA": Decimal("0.0725"),
    "US-NY": Decimal("0.08875"),
    "US-TX": Decimal("0.0825"),
    "US-WA": Decimal("0.1035"),
    "US-IL": Decimal("0.1025"),
    "US-FL": Decimal("0.07"),
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


def line_tax(net: Decimal, rate: Decimal, currency: str = "USD") -> Decimal:
    """A channel's tax on one line: net x rate, half-up to the cent (nothing on a zero or negative net)."""
    if net <= 0:
        return Decimal("0.00")
    places = Decimal(1) if currency == "JPY" else CENT
    return (net * rate).quantize(places, rounding=ROUND_HALF_UP)
