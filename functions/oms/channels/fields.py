"""Field types the channel adapters share when reading a channel's own JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


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
