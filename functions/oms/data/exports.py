"""The finance export's reads (one business day's orders with their shipments, invoices and documents, the
catalog's cost prices, the exception records) and its writes: one Parquet file per table and day in S3,
written by duckdb (decision 0039), under `exports/<table>/dt=<day>/` (the Glue tables' partition projection).

duckdb is imported on first use only: no other function pays for it (tests/unit/test_lean_imports.py)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from oms.aws import client
from oms.data.models import (
    ApprovalRecord,
    CatalogItemRecord,
    CreditNoteRecord,
    InvoiceRecord,
    LedgerEntryRecord,
    OrderRecord,
    PaymentRecord,
    ReconciliationExceptionRecord,
    ShipmentRecord,
)
from oms.data.reconciliation import orders_received_on
from oms.finance.rows import OrderDay
from oms.finance.schema import Column

EXPORT_PREFIX = "exports"
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}


def _chunks(items: Sequence[str], size: int = 100) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def orders_of_day(period: str, documents_bucket: str, *, threads: int = 8) -> list[OrderDay]:
    """Every order received on `period` with its shipments, invoice and invoice JSON document (the per-order
    reads, a shipment Query and a GetObject, run `threads` at a time: they wait on the network)."""
    ids = list(dict.fromkeys(orders_received_on(period)))
    s3 = client("s3")
    days: list[OrderDay] = []

    def one(order: OrderRecord, invoice: InvoiceRecord | None) -> OrderDay:
        document = None
        if invoice is not None:
            document = json.loads(s3.get_object(Bucket=documents_bucket, Key=invoice.json_key)["Body"].read())
        shipments = list(ShipmentRecord.query(order.order_id, consistent_read=True))
        return OrderDay(order=order, shipments=shipments, invoice=invoice, invoice_document=document)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for chunk in _chunks(ids):
            orders = {o.order_id: o for o in OrderRecord.batch_get(list(chunk), consistent_read=True)}
            invoices = {i.order_id: i for i in InvoiceRecord.batch_get(list(orders), consistent_read=True)}
            present = [oid for oid in chunk if oid in orders]
            days += pool.map(one, [orders[oid] for oid in present], [invoices.get(oid) for oid in present])
    return sorted(days, key=lambda d: d.order.received_at)


def cost_prices(skus: Iterable[str]) -> dict[str, Decimal | None]:
    keys = sorted(set(skus))
    costs: dict[str, Decimal | None] = dict.fromkeys(keys)
    for chunk in _chunks(keys):
        for item in CatalogItemRecord.batch_get(list(chunk)):
            costs[item.sku] = Decimal(item.cost_price) if item.cost_price is not None else None
    return costs


def exceptions_of(period: str) -> list[ReconciliationExceptionRecord]:
    """The exception records filed by the runs of `period` (whatever their state now)."""
    records = ReconciliationExceptionRecord.scan(ReconciliationExceptionRecord.period == period)
    return sorted(
        (r for r in records if not r.exception_id.startswith("BASELINE#")), key=lambda r: r.exception_id
    )


# ----------------------------------------------------------------------------------- cash and approvals
def payments_of_day(period: str) -> list[PaymentRecord]:
    """The payments received on `period` (the keys-only by-received-on index, then BatchGetItem)."""
    ids = [p.payment_id for p in PaymentRecord.by_day.query(period)]
    found: list[PaymentRecord] = []
    for chunk in _chunks(ids):
        found += PaymentRecord.batch_get(list(chunk))
    return sorted(found, key=lambda p: p.payment_id)


def credit_notes_of_day(period: str) -> list[CreditNoteRecord]:
    ids = [n.credit_note_id for n in CreditNoteRecord.by_day.query(period)]
    found: list[CreditNoteRecord] = []
    for chunk in _chunks(ids):
        found += CreditNoteRecord.batch_get(list(chunk))
    return sorted(found, key=lambda n: n.credit_note_id)


def ledger_entries_of_day(period: str) -> list[LedgerEntryRecord]:
    """The application ledger's entries written on `period` (the keys-only by-day index)."""
    keys = [(e.invoice_number, e.entry_id) for e in LedgerEntryRecord.by_day.query(period)]
    found: list[LedgerEntryRecord] = []
    for start in range(0, len(keys), 100):
        found += LedgerEntryRecord.batch_get(keys[start : start + 100])
    return sorted(found, key=lambda e: e.at_key)


def approvals_of_orders(order_ids: Iterable[str]) -> list[ApprovalRecord]:
    """Every approval of the given orders (the by-order index, a Query per order)."""
    found: list[ApprovalRecord] = []
    for order_id in order_ids:
        found += ApprovalRecord.by_order.query(order_id)
    return sorted(found, key=lambda a: (a.order_id, a.created_at))


def receivables_snapshot(documents_bucket: str, period: str) -> dict[str, Any] | None:
    """The daily receivables snapshot of `period` (oms.cash.collections.aging_snapshot), None when that
    day's snapshot was not taken (listed first: a List under the snapshot's prefix says so without a
    GetObject that S3 would answer 403 to a role that may not list the bucket)."""
    from oms.data.cash import snapshot_key

    s3 = client("s3")
    key = snapshot_key(date.fromisoformat(period), "aging")
    listed = s3.list_objects_v2(Bucket=documents_bucket, Prefix=key, MaxKeys=1)
    if not listed.get("KeyCount"):
        return None
    snapshot: dict[str, Any] = json.loads(s3.get_object(Bucket=documents_bucket, Key=key)["Body"].read())
    return snapshot


def export_key(table: str, period: str, prefix: str = EXPORT_PREFIX) -> str:
    return f"{prefix}/{table}/dt={period}/part-00000.parquet"


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def parquet_bytes(columns: Sequence[Column], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The rows as one Parquet file (ZSTD), columns typed as the Glue table declares them. The rows go to
    duckdb as newline-delimited JSON read with the declared types (money as exact decimal strings): a bulk
    load, ~100x faster than row-by-row inserts."""
    import duckdb

    types = {c.name: _DUCKDB_TYPES.get(c.type, c.type.upper()) for c in columns}
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "rows.json"
        with source.open("w") as handle:
            for row in rows:
                handle.write(json.dumps({c.name: _json_value(row.get(c.name)) for c in columns}) + "\n")
        target = Path(scratch) / "part.parquet"
        connection = duckdb.connect(":memory:", config={"home_directory": scratch})
        try:
            ddl = ", ".join(f'"{name}" {kind}' for name, kind in types.items())
            connection.execute(f"CREATE TABLE export ({ddl})")
            if rows:
                load = (
                    "INSERT INTO export SELECT * FROM read_json(?, format = 'newline_delimited', columns = ?)"
                )
                connection.execute(load, [str(source), types])
            connection.execute(f"COPY export TO '{target}' (FORMAT PARQUET, COMPRESSION ZSTD)")
            return target.read_bytes()
        finally:
            connection.close()


def write_table(
    bucket: str,
    table: str,
    period: str,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    prefix: str = EXPORT_PREFIX,
) -> str:
    """Write (or restate: the same key is overwritten) one table's partition of `period`."""
    key = export_key(table, period, prefix)
    client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=parquet_bytes(columns, rows),
        ContentType="application/vnd.apache.parquet",
    )
    return key
