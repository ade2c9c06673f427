"""The daily finance export: one business day's tables (oms.finance.schema) and its KPIs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from oms.data import exports as store
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


def export_day(
    period: str, *, finance_bucket: str, documents_bucket: str, ship_within: timedelta, pseudonym_key: bytes
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
    kpis = daily_kpis(tables["orders"])
    tables["kpi_daily"] = [kpis]
    result = DayExport(period, kpis=kpis)
    for name, columns in TABLES.items():
        result.keys.append(store.write_table(finance_bucket, name, period, columns, tables[name]))
        result.rows[name] = len(tables[name])
    for name, columns in PERSONAL_TABLES.items():
        result.keys.append(
            store.write_table(finance_bucket, name, period, columns, personal[name], prefix=PERSONAL_PREFIX)
        )
        result.rows[name] = len(personal[name])
    return result
