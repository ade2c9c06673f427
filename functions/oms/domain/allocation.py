"""The allocation dry run: what allocation would decide for an order (or for lines) now, without reserving."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from oms.domain.order import (
    MAX_LINES_PER_ORDER,
    AllocationLine,
    BackorderLine,
    CountryCode,
    RegionCode,
    SafeId,
    Sku,
)
from oms.privacy.classification import classified

OrderId = Annotated[str, StringConstraints(pattern=r"^ord_[0-9a-f]{24}$")]


class PreviewLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: int = Field(strict=True, gt=0, le=100_000)


class ShipTo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: CountryCode
    region: RegionCode | None = None


@classified(
    personal=("ship_to",),
    operational=(
        "order_id",
        "lines",
        "channel",
        "customer_id",
    ),
)
class AllocationPreviewRequest(BaseModel):
    """Either an existing order (`order_id`), or lines with a ship-to address (and optionally the channel
    and customer whose allocation rules apply)."""

    model_config = ConfigDict(extra="forbid")

    order_id: OrderId | None = None
    lines: list[PreviewLine] | None = Field(default=None, min_length=1, max_length=MAX_LINES_PER_ORDER)
    ship_to: ShipTo | None = None
    channel: SafeId = "api"
    customer_id: SafeId = "anonymous"

    @model_validator(mode="after")
    def _one_subject(self) -> AllocationPreviewRequest:
        if (self.order_id is None) == (self.lines is None):
            raise ValueError("give either order_id or lines (with ship_to), not both")
        if self.lines is not None and self.ship_to is None:
            raise ValueError("ship_to is required with lines")
        return self


@classified(
    personal=("destination",),
    operational=(
        "order_id",
        "order_status",
        "would",
        "strategy",
        "backorder_policy",
        "reason",
        "lines",
        "choices",
        "missing",
        "waiting_behind_older_backorders",
        "reservation_hold_hours",
        "evaluated_at",
    ),
)
class AllocationPreview(BaseModel):
    """What allocation would do now. Nothing was reserved; stock can change before the real allocation."""

    order_id: str | None
    order_status: str | None
    would: Literal["ALLOCATE", "BACKORDER", "SPLIT"]
    """ALLOCATE: every line reserved now. BACKORDER: the whole order waits (hold until complete). SPLIT:
    what is available ships now and the rest becomes a backorder order (ship what is available)."""
    strategy: str
    backorder_policy: str
    destination: str
    reason: str
    lines: list[AllocationLine]
    """What would be reserved now, per warehouse."""
    choices: list[str]
    """Why each warehouse would be chosen."""
    missing: list[BackorderLine]
    waiting_behind_older_backorders: list[str]
    """SKUs this order may not take now because older backorders wait for them."""
    reservation_hold_hours: int
    evaluated_at: datetime
