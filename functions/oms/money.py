"""Money arithmetic: Decimal only, rounded half-up to the currency's minor unit at defined points."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

# ISO 4217 minor units for the currencies the OMS accepts. A currency not listed here is rejected.
MINOR_UNITS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "AUD": 2,
    "CHF": 2,
    "SEK": 2,
    "DKK": 2,
    "NOK": 2,
    "PLN": 2,
    "JPY": 0,
}

ZERO = Decimal("0")

MAX_INTEGER_DIGITS = 15
"""Largest amount accepted from outside: 15 digits before the point, as the channels' own field limits
(oms.channels.fields); the bound keeps Decimal arithmetic exact and refuses nonsense with a 4xx."""
MAX_FRACTION_DIGITS = 12


def quantum(currency: str) -> Decimal:
    """The smallest amount of `currency` (Decimal('0.01') for USD, Decimal('1') for JPY)."""
    return Decimal(1).scaleb(-MINOR_UNITS[currency])


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def has_valid_scale(amount: Decimal, currency: str) -> bool:
    """True when `amount` has no more decimals than the currency allows."""
    return amount == amount.quantize(quantum(currency)) if amount.is_finite() else False


def parse_decimal(value: object, *, allow_float: bool = False) -> Decimal:
    """A decimal amount from a string, an int or a Decimal (and a float only where a channel's JSON forces
    it: through `str()`, which gives back its shortest round-tripping decimal)."""
    if isinstance(value, bool):
        raise ValueError("must be a decimal amount")
    if isinstance(value, float) and not allow_float:
        # Floats are how money gets lost: refuse them at the boundary.
        raise ValueError("must be given as a string or integer, not a float")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError("must be a decimal amount") from exc
    else:
        raise ValueError("must be a decimal amount")
    if not result.is_finite():
        raise ValueError("must be a finite amount")
    if isinstance(value, str) and any(c in value for c in "eE"):
        raise ValueError("must be written as a plain decimal amount (no exponent)")
    _sign, digits, exponent = result.as_tuple()
    assert isinstance(exponent, int)  # finite
    if len(digits) + exponent > MAX_INTEGER_DIGITS:
        raise ValueError(f"must be below 10^{MAX_INTEGER_DIGITS}")
    if -exponent > MAX_FRACTION_DIGITS:
        raise ValueError(f"must have at most {MAX_FRACTION_DIGITS} decimals")
    return result


def non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


def scale_violation(amounts: Iterable[tuple[str, Decimal]], currency: str) -> str | None:
    """The name of the first amount with more decimals than `currency` allows, or None."""
    return next((name for name, amount in amounts if not has_valid_scale(amount, currency)), None)


# Serialised as a string in JSON so that no consumer ever parses it as a float.
Money = Annotated[
    Decimal,
    BeforeValidator(parse_decimal),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]
NonNegativeMoney = Annotated[Money, AfterValidator(non_negative)]
