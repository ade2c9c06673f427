"""Tax arithmetic shared by the calculators and the checks: exact amounts from rates, rounding, and the
distribution of an order-level rounded total over the items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from oms.money import ZERO, quantum, round_money


@dataclass(frozen=True)
class RateSpec:
    """One rate applied to an item: its title, rate, level/jurisdiction labels and whether it compounds."""

    title: str
    rate: Decimal
    compound: bool = False


def exact_taxes(base: Decimal, rates: Sequence[RateSpec], *, inclusive: bool) -> list[Decimal]:
    """The unrounded tax of each rate on `base`.

    Exclusive: `base x rate`; a compound rate is charged on `base` plus the item's non-compound taxes.
    Inclusive: `base` already contains the taxes, `base x rate / (1 + Σ rates)` (compound rates are not
    defined for tax-inclusive prices and are refused).
    """
    if not rates:
        return []
    simple = [r for r in rates if not r.compound]
    if inclusive:
        if len(simple) != len(rates):
            raise ValueError("compound tax rates are not supported on tax-inclusive prices")
        total_rate = sum((r.rate for r in rates), ZERO)
        return [base * r.rate / (1 + total_rate) for r in rates]
    simple_sum = sum((base * r.rate for r in simple), ZERO)
    return [(base + simple_sum) * r.rate if r.compound else base * r.rate for r in rates]


def rounded(amounts: Sequence[Decimal], currency: str) -> list[Decimal]:
    return [round_money(a, currency) for a in amounts]


def distribute(total: Decimal, exact: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split `total` (rounded) over parts whose exact values are `exact`, each part within one minor unit
    of its exact value and the parts summing to `total` exactly (largest remainder; ties to the first)."""
    unit = quantum(currency)
    floors = [(value / unit).to_integral_value(rounding=ROUND_FLOOR) * unit for value in exact]
    remainders = [value - floor for value, floor in zip(exact, floors, strict=True)]
    left = int((total - sum(floors, ZERO)) / unit)
    order = sorted(range(len(exact)), key=lambda i: (-remainders[i], i))
    result = list(floors)
    if left >= 0:
        for i in order[:left]:
            result[i] += unit
    else:
        for i in list(reversed(order))[:-left]:
            result[i] -= unit
    return [r.quantize(unit) for r in result]
