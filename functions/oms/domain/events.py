"""Integration events: what the OMS publishes on EventBridge and what warehouses and carriers send back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from oms.domain.order import Address, SafeId, Sku
from oms.privacy.classification import classified

ORDERS_SOURCE = "oms.orders"
WAREHOUSE_SOURCE = "oms.warehouse"
CARRIER_SOURCE = "oms.carrier"


class FulfillmentLine(BaseModel):
    sku: Sku
    quantity: int = Field(gt=0)


@classified(
    personal=("ship_to",), operational=("detail_type", "order_id", "warehouse_id", "lines", "requested_at")
)
class FulfillmentRequested(BaseModel):
    """Sent to one warehouse for the lines it was allocated (one event per warehouse of a split order)."""

    detail_type: str = "FulfillmentRequested"
    order_id: SafeId
    warehouse_id: SafeId
    ship_to: Address
    lines: list[FulfillmentLine]
    requested_at: datetime


class ShipmentConfirmed(BaseModel):
    """A warehouse (or 3PL) shipped its part of an order."""

    model_config = ConfigDict(extra="ignore")

    order_id: SafeId
    warehouse_id: SafeId
    shipment_id: SafeId
    carrier: SafeId
    tracking_number: SafeId
    shipped_at: datetime
    lines: list[FulfillmentLine] = Field(min_length=1)


class TrackingStatus(StrEnum):
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"


class TrackingUpdated(BaseModel):
    """A carrier's scan of one shipment."""

    model_config = ConfigDict(extra="ignore")

    order_id: SafeId
    shipment_id: SafeId
    carrier: SafeId
    tracking_number: SafeId
    status: TrackingStatus
    occurred_at: datetime
    description: str | None = Field(default=None, max_length=500)


# -------------------------------------------------------------------------------------------- inventory
INVENTORY_SOURCE = "oms.inventory"


class StockReceived(BaseModel):
    """Units arrived in a warehouse (published once per receipt; consumers dedupe on `movement_id`).

    The backorder queue listens: waiting orders for the SKU can be allocated now.
    """

    detail_type: ClassVar[str] = "StockReceived"
    sku: Sku
    warehouse_id: SafeId
    quantity: int = Field(gt=0)
    movement_id: str
    available_after: int


class InventoryLow(BaseModel):
    """Available stock of a SKU in a warehouse fell below its reorder point (once per crossing).

    Purchasing listens. `at` is when the crossing was recorded (the stock item's `low_stock_since`).
    """

    detail_type: ClassVar[str] = "InventoryLow"
    sku: Sku
    warehouse_id: SafeId
    available: int
    reorder_point: int
    at: datetime


BILLING_SOURCE = "oms.billing"
CASH_SOURCE = "oms.cash"


class InvoiceIssued(BaseModel):
    """An invoice was numbered and its documents written: cash application applies open credit to it
    (document management and revenue recognition can subscribe too)."""

    detail_type: ClassVar[str] = "InvoiceIssued"

    order_id: str
    invoice_number: str
    customer_id: str
    currency: str
    grand_total: str
    due_date: str
    issued_at: datetime


class CreditNoteIssued(BaseModel):
    detail_type: ClassVar[str] = "CreditNoteIssued"

    credit_note_id: str
    number: str
    customer_id: str
    currency: str
    amount: str
    rma_id: str | None = None
    pdf_key: str
    issued_at: datetime


class DunningLetterIssued(BaseModel):
    detail_type: ClassVar[str] = "DunningLetterIssued"

    customer_id: str
    letter_id: str
    level: int
    currency: str
    invoices: list[str]
    amount_due: str
    fee: str
    interest: str
    action: str
    pdf_key: str
    issued_at: datetime
