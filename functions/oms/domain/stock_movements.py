"""Stock movements: receipts, adjustments and cycle counts, as requests, as ledger entries and as errors.

Quantities are whole units (int). A movement is identified by its kind and the client's reference, so the
same reference sent twice is one movement (decision 0012).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from oms.domain.errors import OmsError
from oms.domain.order import SafeId

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

MAX_UNITS = 1_000_000
"""Largest quantity one movement may move or count: a typo guard, far above any real pallet count."""


class MovementKind(StrEnum):
    RECEIPT = "RECEIPT"
    ADJUSTMENT = "ADJUSTMENT"
    CYCLE_COUNT = "CYCLE_COUNT"


def _non_blank(value: str) -> str:
    """Whitespace and control characters collapsed to single spaces; blank or non-Unicode text refused."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    cleaned = " ".join(_CONTROL.sub(" ", value).split())
    if not cleaned:
        raise ValueError("must not be blank")
    return cleaned


Reason = Annotated[str, StringConstraints(max_length=200), AfterValidator(_non_blank)]
Reference = SafeId


def stock_key(sku: str, warehouse_id: str) -> str:
    return f"{sku}#{warehouse_id}"


def movement_id(kind: MovementKind, reference: str) -> str:
    return f"{kind.value}#{reference}"


# ------------------------------------------------------------------------------------ request bodies
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReceiptBody(_Body):
    """Goods received into a warehouse."""

    warehouse_id: SafeId
    quantity: int = Field(strict=True, gt=0, le=MAX_UNITS, description="Units received (at least 1)")
    reference: Reference = Field(description="The receipt's id in the warehouse system (idempotency key)")
    note: Reason | None = None


class AdjustmentBody(_Body):
    """A correction of on-hand stock (damage, loss, found units), with the reason."""

    warehouse_id: SafeId
    quantity_change: int = Field(
        strict=True, ge=-MAX_UNITS, le=MAX_UNITS, description="Signed change of on-hand units; not 0"
    )
    reference: Reference
    reason: Reason

    @field_validator("quantity_change")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be 0 (an adjustment changes stock)")
        return value


class CountBody(_Body):
    """A cycle count: on-hand becomes the counted units."""

    warehouse_id: SafeId
    counted: int = Field(strict=True, ge=0, le=MAX_UNITS, description="Units physically counted")
    reference: Reference
    reason: Reason


# ------------------------------------------------------------------------------------------ answers
class Movement(BaseModel):
    """One ledger entry, as the API answers it."""

    movement_id: str = Field(description="<kind>#<reference>")
    sku: str
    warehouse_id: str
    kind: MovementKind
    quantity_change: int
    on_hand_before: int
    on_hand_after: int
    available_after: int = Field(
        description="on_hand_after less the units reserved when the movement was computed"
    )
    reference: str
    reason: str | None
    by: str
    at: datetime
    duplicate: bool = Field(
        default=False, description="True when this reference was already recorded: nothing changed now"
    )


class StockLevel(BaseModel):
    warehouse_id: str
    on_hand: int
    reserved: int
    available: int
    reorder_point: int
    low_stock_since: datetime | None
    updated_at: datetime


class StockView(BaseModel):
    """Stock of one SKU in every warehouse that holds a stock record for it."""

    sku: str
    on_hand: int
    reserved: int
    available: int
    warehouses: list[StockLevel]


# ------------------------------------------------------------------------------------------- errors
class UnknownSkuError(OmsError):
    code = "UNKNOWN_SKU"


class UnknownWarehouseError(OmsError):
    code = "UNKNOWN_WAREHOUSE"


class NoStockRecordError(OmsError):
    """A known SKU in a known warehouse that never had stock: only a receipt may start its record."""

    code = "NO_STOCK_RECORD"


class InvalidMovementError(OmsError):
    """The movement itself is malformed (zero or negative receipt, zero adjustment, negative count)."""

    code = "INVALID_MOVEMENT"


class ReferenceReusedError(OmsError):
    """The reference was already recorded for this SKU and warehouse with a different quantity."""

    code = "REFERENCE_REUSED"


class StockChangedError(OmsError):
    """The stock kept changing under the movement (many concurrent writers): nothing written; retry."""

    code = "STOCK_CHANGED"


class StockBelowReservedError(OmsError):
    """The movement would leave fewer units on hand than are reserved for orders."""

    code = "STOCK_BELOW_RESERVED"

    def __init__(self, *, sku: str, warehouse_id: str, on_hand: int, reserved: int, change: int) -> None:
        super().__init__(
            f"{sku} in {warehouse_id}: on_hand {on_hand} {change:+d} = {on_hand + change} would be below "
            f"the {reserved} units reserved for orders (available {on_hand - reserved}); "
            "release reservations first"
        )
        self.on_hand = on_hand
        self.reserved = reserved
        self.change = change
