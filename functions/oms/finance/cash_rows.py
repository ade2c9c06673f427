"""The export's cash and approval rows (pure: oms.data.exports reads and writes; decision 0045).

Ids and amounts only: no names, addresses, e-mail, nor free text a payer or a person wrote (a payment's
remittance information and note, an application's or credit note's reason)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

ZERO = Decimal("0")


def _naive(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=None) if at is not None and at.tzinfo is not None else at


def _money(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def _rate(value: Any) -> float | None:
    return float(value) if value is not None else None


def payment_row(record: Any) -> dict[str, Any]:
    return {
        "payment_id": record.payment_id,
        "source": record.source,
        "customer_id": record.customer_id,
        "order_id": record.order_id,
        "currency": record.currency,
        "amount": _money(record.amount),
        "applied": _money(record.applied),
        "refunded": _money(record.refunded),
        "unapplied": _money(record.unapplied),
        "disputed": _money(record.disputed),
        "received_on": date.fromisoformat(record.received_on),
        "statement_id": record.statement_id,
        "recorded_at": _naive(record.recorded_at),
        "recorded_by": record.recorded_by,
    }


def application_row(record: Any) -> dict[str, Any]:
    return {
        "invoice_number": record.invoice_number,
        "entry_id": record.entry_id,
        "order_id": record.order_id,
        "customer_id": record.customer_id,
        "currency": record.currency,
        "source_id": record.source_id,
        "source_kind": record.source_kind,
        "amount": _money(record.amount),
        "applied_at": _naive(record.at),
        "applied_by": record.by,
        "reverses": record.reverses,
    }


def credit_note_row(record: Any) -> dict[str, Any]:
    return {
        "credit_note_id": record.credit_note_id,
        "number": record.number,
        "customer_id": record.customer_id,
        "currency": record.currency,
        "amount": _money(record.amount),
        "applied": _money(record.applied),
        "unapplied": _money(record.unapplied),
        "rma_id": record.rma_id,
        "issued_at": _naive(record.issued_at),
        "issued_by": record.issued_by,
    }


def aging_rows(snapshot: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """One row per customer, currency and bucket of the receivables snapshot (oms.cash.collections)."""
    if not snapshot:
        return []
    labels = list(snapshot.get("buckets") or [])
    rows = []
    for row in snapshot.get("aging", []):
        for order, label in enumerate(labels):
            amount = Decimal(str(row["buckets"].get(label, "0")))
            rows.append(
                {
                    "customer_id": row["customer_id"],
                    "currency": row["currency"],
                    "bucket": label,
                    "bucket_order": order,
                    "amount": amount,
                }
            )
    return rows


def receivables_rows(
    snapshot: Mapping[str, Any] | None, payments: Iterable[Mapping[str, Any]], applications: Iterable[Any]
) -> list[dict[str, Any]]:
    """One row per currency: the snapshot's outstanding, credit and DSO, and the day's cash received and
    applied (`payments`: payment rows; `applications`: ledger entries, by their source's kind)."""
    received: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in payments:
        received[payment["currency"]] += payment["amount"] or ZERO
    cash_applied: dict[str, Decimal] = defaultdict(lambda: ZERO)
    credit_applied: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in applications:
        if entry.source_kind == "PAYMENT":
            cash_applied[entry.currency] += Decimal(str(entry.amount))
        elif entry.source_kind == "CREDIT_NOTE":
            credit_applied[entry.currency] += Decimal(str(entry.amount))
    snapshot = snapshot or {}
    outstanding = snapshot.get("outstanding") or {}
    credit = snapshot.get("unapplied_credit") or {}
    dso = snapshot.get("dso") or {}
    currencies = sorted(set(outstanding) | set(received) | set(cash_applied) | set(credit_applied))
    return [
        {
            "currency": currency,
            "outstanding": _money(outstanding.get(currency)),
            "unapplied_credit": _money(credit.get(currency)),
            "credit_sales_30d": _money((dso.get(currency) or {}).get("credit_sales_30d")),
            "dso_standard_days": _rate((dso.get(currency) or {}).get("standard_30d")),
            "dso_countback_days": _rate((dso.get(currency) or {}).get("countback")),
            "payments_received": received.get(currency, ZERO),
            "cash_applied": cash_applied.get(currency, ZERO),
            "credit_applied": credit_applied.get(currency, ZERO),
        }
        for currency in currencies
    ]


def dso_of_day(receivables: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """kpi_daily's DSO: that of the currency with the most outstanding (DSO does not add across
    currencies; receivables_daily has every currency's)."""
    with_outstanding = [r for r in receivables if r["outstanding"] is not None]
    if not with_outstanding:
        return {"dso_currency": None, "dso_standard_days": None, "dso_countback_days": None}
    main = max(with_outstanding, key=lambda r: (r["outstanding"], r["currency"]))
    return {
        "dso_currency": main["currency"],
        "dso_standard_days": main["dso_standard_days"],
        "dso_countback_days": main["dso_countback_days"],
    }


def approval_row(record: Any, *, now: datetime) -> dict[str, Any]:
    decisions = list(record.decisions or [])
    last = max(decisions, key=lambda d: d.at) if decisions else None
    created = datetime.fromisoformat(record.created_at)
    due = datetime.fromisoformat(record.due_at) if record.due_at else None
    try:
        levels = len(json.loads(record.rules).get("levels", []))
    except (TypeError, ValueError, AttributeError):
        levels = None
    return {
        "approval_id": record.approval_id,
        "order_id": record.order_id,
        "revision": int(record.revision),
        "status": record.status,
        "created_at": _naive(created),
        "currency": record.currency,
        "amount": _money(record.amount),
        "levels": levels,
        "level_index": int(record.level_index or 0),
        "escalations": int(record.escalations or 0),
        "current_group": record.group,
        "due_at": _naive(due),
        "past_sla": bool(record.status == "PENDING" and due is not None and due <= now),
        "entered_by": record.entered_by,
        "decided_at": _naive(last.at) if last else None,
        "decided_by": last.by if last else None,
        "decision": last.decision if last else None,
        "hours_to_decide": (last.at - created).total_seconds() / 3600 if last else None,
    }
