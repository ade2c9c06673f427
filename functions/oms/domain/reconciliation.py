"""What reconciliation works with (issue 13): a finding, the facts the checks judge, and a change to an
exception record. Shared by the checks (oms.reconciliation) and the data layer (oms.data.reconciliation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Action = Literal["OPEN", "REOPEN", "CLOSE"]
RECONCILIATION = "system:reconciliation"


@dataclass(frozen=True)
class Finding:
    """One condition a check found: `subject` says what to look up ("order:<id>", "stock:<sku>#<wh>")."""

    kind: str
    subject: str
    detail: str
    order_id: str | None = None
    sku: str | None = None

    @property
    def exception_id(self) -> str:
        return exception_id(self.kind, self.subject)


def exception_id(kind: str, subject: str) -> str:
    return f"{kind}#{subject}"


@dataclass(frozen=True)
class RunContext:
    period: str
    """The business day (UTC, YYYY-MM-DD) the run reconciles."""
    as_of: datetime
    """The run's clock: what "after a grace period" and SLAs are judged by (the same on a rerun)."""
    invoice_grace: timedelta = timedelta(hours=4)
    unapplied_after: timedelta = timedelta(days=5)
    """How long a payment's or credit note's remainder may stay unapplied before it is an exception."""


@dataclass(frozen=True)
class OrderFacts:
    order: Any
    """OrderRecord"""
    reservation: Any | None
    """ReservationRecord"""
    shipments: list[Any]
    """ShipmentRecord"""
    invoice: Any | None
    """InvoiceRecord"""


@dataclass
class LedgerFacts:
    stock: list[Any]
    """InventoryRecord"""
    moved: Mapping[tuple[str, str], int]
    """(sku, warehouse) -> sum of the ledger's quantity changes."""
    shipped: Mapping[tuple[str, str], int]
    """(sku, warehouse) -> units taken out by shipments (consumed reservations)."""
    openings: Mapping[tuple[str, str], int]
    """(sku, warehouse) -> the opening the ledger is reconciled from (the stock baseline)."""
    dead_letters: list[Any] = field(default_factory=list)
    """oms.data.snapshot.DeadLetter"""
    dead_letter_subjects: Mapping[str, dict[str, str]] = field(default_factory=dict)
    """message id -> the order id / SKU its body names."""
    known_orders: set[str] = field(default_factory=set)
    """Of the order ids the dead letters name, those that exist."""


@dataclass(frozen=True)
class InvoiceApplications:
    """An invoice a source was applied to, and every ledger entry on it (from any source)."""

    invoice: Any | None
    """InvoiceRecord (None: the ledger names an invoice that does not exist)."""
    invoice_number: str
    applied: Any
    """Decimal: the sum of the invoice's ledger entries (reversals are entries of the opposite amount)."""


@dataclass(frozen=True)
class CashFacts:
    """One cash subject of a run: a payment or a credit note with its ledger entries and the invoices they
    reach, or an invoice by itself (the subject of an open OVER_APPLIED exception)."""

    subject: str
    """`payment:<id>`, `credit_note:<id>` or `invoice:<number>`."""
    payment: Any | None = None
    """PaymentRecord"""
    credit_note: Any | None = None
    """CreditNoteRecord"""
    entries_applied: Any = None
    """Decimal: the sum of the source's own ledger entries (None for an invoice subject)."""
    invoices: list[InvoiceApplications] = field(default_factory=list)
    returned: Any | None = None
    """ReturnRecord: the return a credit note says it credits (None: none, or it does not exist)."""
    returned_invoices: Mapping[str, bool] = field(default_factory=dict)
    """Invoice number named by the credit note's return lines -> whether that invoice exists."""


@dataclass(frozen=True)
class ExceptionChange:
    action: Action
    exception_id: str
    finding: Finding | None
    """OPEN / REOPEN: what was found."""
    reason: str
    owner_group: str = ""
    escalate_to: str = ""
    sla_due_at: datetime | None = None
