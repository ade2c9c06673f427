"""What the OMS tells a sales channel about its order (docs/decisions/0022): a shipment with its carrier and
tracking number, a delivery, a cancellation, a refund. One message per fact, with an id derived from the
fact, so every retry of it is recognisably the same (the channel adapters are idempotent on it)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from oms.domain.order import SafeId, Sku


class NotificationKind(StrEnum):
    SHIPPED = "SHIPPED"
    """One shipment left a warehouse (per shipment: an order split over warehouses ships several times)."""
    DELIVERED = "DELIVERED"
    """The carrier delivered one shipment."""
    CANCELLED = "CANCELLED"
    """The OMS cancelled the order (a cancellation that came from the channel is not echoed back)."""
    REFUNDED = "REFUNDED"


class NotifiedLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_id: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    """The channel's own line id (Shopify line item id, WooCommerce line item id, the shop's line id)."""
    sku: Sku
    quantity: int = Field(gt=0)


class ChannelNotification(BaseModel):
    model_config = ConfigDict(frozen=True)

    notification_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,159}$")]
    kind: NotificationKind
    order_id: SafeId
    channel: SafeId
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    """The channel's id of the order (the parent's for a backorder order split off it)."""
    shipment_id: SafeId | None = None
    carrier: SafeId | None = None
    tracking_number: SafeId | None = None
    lines: list[NotifiedLine] = Field(default_factory=list)
    all_shipped: bool = False
    """SHIPPED: with this shipment, every allocated warehouse has shipped."""
    occurred_at: datetime
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


def notification_id(kind: NotificationKind, order_id: str, shipment_id: str | None = None) -> str:
    """The id of a fact: the same shipment (or cancellation) always gives the same id."""
    return f"{order_id}:{kind.value.lower()}" + (f":{shipment_id}" if shipment_id else "")
