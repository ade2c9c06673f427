"""The daily finance export: one business day's tables (oms.finance.schema) and its KPIs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from oms.data import exports as store
from oms.data.bus import publish
from oms.domain.events import FINANCE_SOURCE, KpiSnapshot
from oms.finance.cash_rows import (
    aging_rows,
    application_row,
    approval_row,
    credit_note_row,
    dso_of_day,
    payment_row,
    receivables_rows,
)
from oms.finance.kpis import daily_kpis
from oms.finance.rows import contact_row, exception_row, invoice_rows, order_rows, shipment_rows
from oms.finance.schema import PERSONAL_PREFIX, PERSONAL_TABLES, TABLES
from oms.governance.audit_trail import order_history


@dataclass
class DayExport:
    period: str
    rows: dict[str, int] = field(default_factory=dict)
    """table -> rows written"""
    keys: list[str] = field(default_factory=list)
    kpis: dict[str, Any] = field(default_factory=dict)
    receivables: list[dict[str, Any]] = field(default_factory=list)
    """The day's receivables_daily rows (one per currency)."""
    aging: dict[tuple[str, str], Any] = field(default_factory=dict)
    """(currency, bucket) -> outstanding in the bucket, over every customer."""


def export_day(
    period: str,
    *,
    finance_bucket: str,
    documents_bucket: str,
    ship_within: timedelta,
    pseudonym_key: bytes,
    now: datetime | None = None,
) -> DayExport:
    """Write every table's partition of `period` (a rerun rewrites the same objects with the day's state).

    The analyst tables carry keyed hashes and masks of personal fields; the full values go to the personal
    tables under `personal/`, permissioned apart (decision 0051)."""
    # The order item keeps only its last change; its history is the audit trail's (decision 0025).
    days = [
        replace(day, history=order_history(day.order.order_id, day.order))
        for day in store.orders_of_day(period, documents_bucket)
    ]
    costs = store.cost_prices(line.sku for day in days for line in day.order.lines)
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    personal: dict[str, list[dict[str, Any]]] = {
        "order_contacts": [contact_row(d, pseudonym_key) for d in days]
    }
    for day in days:
        order, lines = order_rows(day, costs, ship_within, pseudonym_key)
        tables["orders"].append(order)
        tables["order_lines"] += lines
        heads, invoice_lines = invoice_rows(day)
        tables["invoices"] += heads
        tables["invoice_lines"] += invoice_lines
        tables["shipments"] += shipment_rows(day)
    tables["exceptions"] = [exception_row(r) for r in store.exceptions_of(period)]
    # cash and approvals (decision 0045)
    tables["payments"] = [payment_row(p) for p in store.payments_of_day(period)]
    entries = store.ledger_entries_of_day(period)
    tables["applications"] = [application_row(e) for e in entries]
    tables["credit_notes"] = [credit_note_row(n) for n in store.credit_notes_of_day(period)]
    snapshot = store.receivables_snapshot(documents_bucket, period)
    tables["aging"] = aging_rows(snapshot)
    tables["receivables_daily"] = receivables_rows(snapshot, tables["payments"], entries)
    clock = now or datetime.now(UTC)
    tables["approvals"] = [
        approval_row(a, now=clock) for a in store.approvals_of_orders(d.order.order_id for d in days)
    ]
    kpis = daily_kpis(tables["orders"]) | dso_of_day(tables["receivables_daily"])
    tables["kpi_daily"] = [kpis]
    result = DayExport(period, kpis=kpis, receivables=tables["receivables_daily"])
    for row in tables["aging"]:
        key = (row["currency"], row["bucket"])
        result.aging[key] = result.aging.get(key, 0) + row["amount"]
    for name, columns in TABLES.items():
        result.keys.append(store.write_table(finance_bucket, name, period, columns, tables[name]))
        result.rows[name] = len(tables[name])
    for name, columns in PERSONAL_TABLES.items():
        result.keys.append(
            store.write_table(finance_bucket, name, period, columns, personal[name], prefix=PERSONAL_PREFIX)
        )
        result.rows[name] = len(personal[name])
    # Performance management: after the day's tables are written (a restatement publishes again, later)
    publish(FINANCE_SOURCE, kpi_snapshot(period, kpis, exported_at=clock), resources=[f"kpi/{period}"])
    return result


def kpi_snapshot(period: str, kpis: dict[str, Any], *, exported_at: datetime) -> KpiSnapshot:
    def money(name: str) -> str | None:
        value = kpis.get(name)
        return str(value) if value is not None else None

    def rate(name: str) -> float | None:
        value = kpis.get(name)
        return float(value) if value is not None else None

    return KpiSnapshot(
        event_id=f"kpi:{period}",
        period=date.fromisoformat(period),
        exported_at=exported_at,
        orders=int(kpis.get("orders") or 0),
        orders_shipped=int(kpis.get("orders_shipped") or 0),
        orders_delivered=int(kpis.get("orders_delivered") or 0),
        cycle_time_p50_hours=rate("cycle_time_p50_hours"),
        cycle_time_p90_hours=rate("cycle_time_p90_hours"),
        on_time_shipment_rate=rate("on_time_shipment_rate"),
        perfect_order_rate_product=rate("perfect_order_rate_product"),
        perfect_order_rate_all=rate("perfect_order_rate_all"),
        invoice_accuracy=rate("invoice_accuracy"),
        fill_rate=rate("fill_rate"),
        net_revenue=money("net_revenue"),
        cost_of_goods=money("cost_of_goods"),
        gross_margin=money("gross_margin"),
        gross_margin_pct=rate("gross_margin_pct"),
        dso_currency=kpis.get("dso_currency"),
        dso_standard_days=rate("dso_standard_days"),
        dso_countback_days=rate("dso_countback_days"),
    )
