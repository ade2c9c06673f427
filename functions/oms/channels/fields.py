"""Field types the channel adapters share when reading a channel's own JSON."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from oms.money import parse_decimal


def not_bool(value: object) -> object:
    """JSON `true` is not the integer 1."""
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    return value


def integer_id(value: object) -> str:
    """Channels' ids are integers; accept their string form too, and keep them as strings."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValueError("must be an integer id")
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise ValueError("must be an integer id")
    return text


IntegerId = Annotated[str, BeforeValidator(integer_id)]
Quantity = Annotated[int, BeforeValidator(not_bool), Field(gt=0, le=10_000)]


class ChannelModel(BaseModel):
    """A channel's payload as far as the OMS reads it: everything else is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


MAX_INTEGER_DIGITS = 15
"""Money from a channel has at most 15 digits before the point (a trillion in any currency the OMS
accepts): larger numbers and exponents ("1e30") are refused with the field named, not computed with."""


def bounded_decimal(value: object, *, allow_float: bool = False) -> Decimal:
    """A finite decimal amount with at most `MAX_INTEGER_DIGITS` digits before the point."""
    result = parse_decimal(value, allow_float=allow_float)
    if result and result.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"must have at most {MAX_INTEGER_DIGITS} digits before the decimal point")
    if result.as_tuple().exponent < -12:  # type: ignore[operator]
        raise ValueError("has too many decimals")
    return result


def channel_rate(value: object) -> Decimal:
    """A tax rate as a fraction (0.0725), from a string or a JSON number parsed as Decimal."""
    result = bounded_decimal(value, allow_float=True)
    if not 0 <= result <= 1:
        raise ValueError("must be a rate between 0 and 1 (0.0725 for 7.25 %)")
    return result


def percent_rate(value: object) -> Decimal:
    """A tax rate given in percent (WooCommerce `rate_percent`: 8.875), as a fraction."""
    result = bounded_decimal(value, allow_float=True)
    if not 0 <= result <= 100:
        raise ValueError("must be a percentage between 0 and 100")
    return result / 100


def guest_customer_id(channel: str, email: str | None, external_id: str) -> str:
    """A stable id for a guest checkout: one per e-mail address (case and surrounding blanks ignored), or
    one per order when there is none. Shared by the channels whose guests have no customer id."""
    if email and email.strip():
        digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:20]
        return f"{channel}-guest-{digest}"
    return f"{channel}-guest-order-{external_id}"
