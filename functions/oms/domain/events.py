"""Integration events: what the OMS publishes on EventBridge and what warehouses and carriers send back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
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


class FulfillmentCancelled(BaseModel):
    """A warehouse is told to stop: the order it may hold a request for was cancelled, failed or expired
    (published from the order's outbox, decision 0014)."""

    detail_type: ClassVar[str] = "FulfillmentCancelled"
    order_id: SafeId
    warehouse_id: SafeId
    reason: str


class BackorderOverdue(BaseModel):
    """A backordered line waited longer than its limit (once per line)."""

    detail_type: ClassVar[str] = "BackorderOverdue"
    order_id: SafeId
    sku: Sku
    quantity: int = Field(gt=0)
    backordered_at: datetime
    waiting_hours: float


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


class StockReleased(BaseModel):
    """Reserved units went back to available (a release's outbox, decision 0014): waiting backorders of the
    SKU can be served."""

    detail_type: ClassVar[str] = "StockReleased"
    sku: Sku
    warehouse_id: SafeId
    quantity: int = Field(gt=0)
    reason: str


class BackorderWithdrawn(BaseModel):
    """An order left the backorder queue of a SKU (cancelled or failed meanwhile)."""

    detail_type: ClassVar[str] = "BackorderWithdrawn"
    sku: Sku
    order_id: SafeId
    reason: str


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
    """An invoice was numbered and its documents written: cash application applies open credit to it;
    revenue recognition books it on its `recognition_date` (decision 0048)."""

    detail_type: ClassVar[str] = "InvoiceIssued"

    order_id: str
    invoice_number: str
    customer_id: str
    currency: str
    grand_total: str
    net_total: str
    """grand_total - tax_total: the revenue to recognise."""
    tax_total: str
    due_date: str
    issued_at: datetime
    recognition_date: date
    """When control of the goods passed to the customer: the day its first shipment left (UTC)."""


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


# ------------------------------------------------------------------------- outbound integrations (0048)
DOCUMENTS_SOURCE = "oms.documents"
FINANCE_SOURCE = "oms.finance"


class DocumentType(StrEnum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"
    DUNNING_LETTER = "DUNNING_LETTER"


class DocumentCreated(BaseModel):
    """Document management: an invoice, credit note or dunning letter was written to S3 (the PDF, and the
    JSON record where there is one). `event_id` is the same for every publication of the same document."""

    detail_type: ClassVar[str] = "DocumentCreated"

    event_id: str
    document_type: DocumentType
    document_number: str
    customer_id: str
    currency: str
    amount: str
    issued_at: datetime
    bucket: str
    pdf_key: str
    json_key: str | None = None
    order_id: str | None = None
    invoice_numbers: list[str] = Field(default_factory=list)
    rma_id: str | None = None


class ExpectedReceiptsWeek(BaseModel):
    week_start: date
    """The Monday of the week."""
    currency: str
    expected: str
    invoices: int


class ExpectedReceiptsForecast(BaseModel):
    """Treasury: the receipts expected per week and currency, as of a day (each open invoice's outstanding in
    the week of its due date plus its customer's median lateness: oms.cash.receivables.forecast)."""

    detail_type: ClassVar[str] = "ExpectedReceiptsForecast"

    event_id: str
    as_of: date
    weeks: list[ExpectedReceiptsWeek]
    generated_at: datetime


class KpiSnapshot(BaseModel):
    """Performance management: one business day's KPIs (docs/kpis.md) as exported; a restated day is
    published again with the same `event_id` and a later `exported_at` (the newer one wins)."""

    detail_type: ClassVar[str] = "KpiSnapshot"

    event_id: str
    period: date
    exported_at: datetime
    orders: int
    orders_shipped: int
    orders_delivered: int
    cycle_time_p50_hours: float | None = None
    cycle_time_p90_hours: float | None = None
    on_time_shipment_rate: float | None = None
    perfect_order_rate_product: float | None = None
    perfect_order_rate_all: float | None = None
    invoice_accuracy: float | None = None
    fill_rate: float | None = None
    net_revenue: str | None = None
    cost_of_goods: str | None = None
    gross_margin: str | None = None
    gross_margin_pct: float | None = None
    dso_currency: str | None = None
    dso_standard_days: float | None = None
    dso_countback_days: float | None = None


@dataclass(frozen=True)
class CatalogueEntry:
    source: str
    model: type[BaseModel]
    integration: str
    """Who listens (the brief's integration points, or the OMS's own consumers)."""
    published_by: str


CATALOGUE: dict[str, CatalogueEntry] = {
    "FulfillmentRequested": CatalogueEntry(
        ORDERS_SOURCE, FulfillmentRequested, "warehouses / 3PLs", "oms.logic.fulfillment"
    ),
    "FulfillmentCancelled": CatalogueEntry(
        ORDERS_SOURCE, FulfillmentCancelled, "warehouses / 3PLs", "oms.logic.releases (order outbox)"
    ),
    "BackorderOverdue": CatalogueEntry(ORDERS_SOURCE, BackorderOverdue, "operations", "oms.logic.backorders"),
    "StockReleased": CatalogueEntry(
        INVENTORY_SOURCE, StockReleased, "backorder queue", "oms.logic.releases (order outbox)"
    ),
    "BackorderWithdrawn": CatalogueEntry(
        INVENTORY_SOURCE, BackorderWithdrawn, "backorder queue", "oms.logic.releases (order outbox)"
    ),
    "StockReceived": CatalogueEntry(
        INVENTORY_SOURCE, StockReceived, "backorder queue", "oms.logic.stock_movements"
    ),
    "InventoryLow": CatalogueEntry(INVENTORY_SOURCE, InventoryLow, "purchasing", "oms.logic.stock_alerts"),
    "InvoiceIssued": CatalogueEntry(
        BILLING_SOURCE, InvoiceIssued, "revenue recognition; cash application", "oms.logic.invoicing"
    ),
    "CreditNoteIssued": CatalogueEntry(CASH_SOURCE, CreditNoteIssued, "receivables", "oms.cash.returns"),
    "DunningLetterIssued": CatalogueEntry(
        CASH_SOURCE, DunningLetterIssued, "receivables", "oms.cash.collections"
    ),
    "DocumentCreated": CatalogueEntry(
        DOCUMENTS_SOURCE,
        DocumentCreated,
        "document management",
        "oms.logic.invoicing, oms.cash.returns, oms.cash.collections",
    ),
    "ExpectedReceiptsForecast": CatalogueEntry(
        CASH_SOURCE, ExpectedReceiptsForecast, "treasury", "oms.cash.collections.aging_snapshot"
    ),
    "KpiSnapshot": CatalogueEntry(
        FINANCE_SOURCE, KpiSnapshot, "performance management", "oms.finance.export"
    ),
}
"""Every event the OMS publishes on its bus: the source of docs/events/ (`python -m tools.event_schemas
--write`; tests/unit/test_event_catalogue.py holds them equal and every publication to one of these)."""
