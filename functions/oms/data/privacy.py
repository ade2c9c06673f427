"""The privacy requests' reads and writes (decision 0053): a customer's items across the tables, their raw
webhook bodies (every version), the personal export partitions (rewritten, earlier versions deleted) and the
request record that makes an erasure resumable. No rule here: oms.privacy.erasure decides what changes."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist

from oms.aws import client
from oms.data.exports import export_key, parquet_bytes
from oms.data.models import (
    AddressAttribute,
    CreditNoteRecord,
    CustomerAccountRecord,
    CustomerAttribute,
    CustomerRecord,
    InvoiceRecord,
    OrderRecord,
    PaymentRecord,
    PrivacyRequestRecord,
    ReturnRecord,
    ShipmentRecord,
)
from oms.data.orders import append_history, history_entry
from oms.finance.schema import PERSONAL_PREFIX, Column


# ---------------------------------------------------------------------------------------------- reads
def customer(customer_id: str) -> CustomerRecord | None:
    try:
        return CustomerRecord.get(customer_id, consistent_read=True)
    except DoesNotExist:
        return None


def orders_of(customer_id: str) -> list[OrderRecord]:
    """Every order of the customer (a scan: privacy requests are rare, and the orders table has no index by
    customer; decision 0053 says when one is worth it)."""
    condition = cast(Any, OrderRecord.customer).customer_id == customer_id
    found = OrderRecord.scan(condition, consistent_read=True)
    return sorted(found, key=lambda o: o.received_at)


def invoice_of(order_id: str) -> InvoiceRecord | None:
    try:
        return InvoiceRecord.get(order_id, consistent_read=True)
    except DoesNotExist:
        return None


def shipments_of(order_id: str) -> list[ShipmentRecord]:
    return list(ShipmentRecord.query(order_id, consistent_read=True))


def payments_of(customer_id: str) -> list[PaymentRecord]:
    return list(PaymentRecord.scan(PaymentRecord.customer_id == customer_id, consistent_read=True))


def credit_notes_of(customer_id: str) -> list[CreditNoteRecord]:
    return list(CreditNoteRecord.scan(CreditNoteRecord.customer_id == customer_id, consistent_read=True))


def returns_of(customer_id: str) -> list[ReturnRecord]:
    return list(ReturnRecord.scan(ReturnRecord.customer_id == customer_id, consistent_read=True))


def letters_of(customer_id: str) -> list[CustomerAccountRecord]:
    return [
        r
        for r in CustomerAccountRecord.query(customer_id, CustomerAccountRecord.entry.startswith("LETTER#"))
        if r.pdf_key
    ]


# --------------------------------------------------------------------------------------------- writes
def pseudonymise_order(
    record: OrderRecord,
    customer: CustomerAttribute,
    address: AddressAttribute,
    *,
    at: datetime,
    by: str,
    reason: str,
) -> None:
    """The order's personal values replaced, recorded as a change of the order (who, when, why): the audit
    trail gets an entry of it from the stream."""
    record.update(
        actions=[
            OrderRecord.customer.set(customer),
            OrderRecord.shipping_address.set(address),
            OrderRecord.updated_at.set(at),
            *append_history(history_entry(record.status, record.status, at, by, reason)),
        ]
    )


def pseudonymise_customer(
    record: CustomerRecord, values: Mapping[str, Any], *, at: datetime, request_id: str
) -> None:
    record.update(
        actions=[
            *[getattr(CustomerRecord, name).set(value) for name, value in values.items()],
            CustomerRecord.erased_at.set(at),
            CustomerRecord.erasure_id.set(request_id),
        ]
    )


def pseudonymise_payment(record: PaymentRecord, reference: str) -> None:
    record.update(actions=[PaymentRecord.reference.set(reference)])


# ------------------------------------------------------------------------------------- raw webhooks
def keys_under(bucket: str, prefix: str) -> list[str]:
    """Every key with a version under `prefix` (current or not)."""
    s3 = client("s3")
    keys: set[str] = set()
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        keys |= {item["Key"] for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]}
    return sorted(keys)


def raw_keys(bucket: str, channel: str, day: str) -> list[str]:
    """The archived deliveries of a channel's day (`day`: YYYY/MM/DD)."""
    s3 = client("s3")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"raw/{channel}/{day}/"):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def raw_body(bucket: str, key: str) -> bytes:
    body: bytes = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def raw_body_if_kept(bucket: str, key: str) -> bytes | None:
    s3 = client("s3")
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body


def delete_every_version(bucket: str, key: str) -> int:
    """Delete the object and every earlier version and delete marker of it (a versioned bucket keeps them
    otherwise). Returns how many versions went; deleting what is gone already deletes nothing."""
    s3 = client("s3")
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if item["Key"] != key:
                continue
            s3.delete_object(Bucket=bucket, Key=key, VersionId=item["VersionId"])
            deleted += 1
    return deleted


def delete_earlier_versions(bucket: str, key: str) -> int:
    """Delete every version of the object but the current one."""
    s3 = client("s3")
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if item["Key"] == key and not item.get("IsLatest"):
                s3.delete_object(Bucket=bucket, Key=key, VersionId=item["VersionId"])
                deleted += 1
    return deleted


# --------------------------------------------------------------------------------- personal exports
def personal_partition(bucket: str, table: str, period: str) -> tuple[str, list[dict[str, Any]]] | None:
    """A personal table's partition of `period` as rows (None: not exported)."""
    import duckdb

    key = export_key(table, period, PERSONAL_PREFIX)
    s3 = client("s3")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "part.parquet"
        path.write_bytes(body)
        connection = duckdb.connect(":memory:", config={"home_directory": scratch})
        try:
            result = connection.execute("SELECT * FROM read_parquet(?)", [str(path)])
            names = [d[0] for d in result.description]
            return key, [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        finally:
            connection.close()


def rewrite_personal_partition(
    bucket: str, key: str, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]]
) -> None:
    client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=parquet_bytes(columns, rows),
        ContentType="application/vnd.apache.parquet",
    )


# ------------------------------------------------------------------------------------------- reports
def put_json(bucket: str, key: str, document: Mapping[str, Any]) -> None:
    client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(document, indent=2, sort_keys=True, default=str).encode(),
        ContentType="application/json",
    )


# ---------------------------------------------------------------------------------- request records
def request(request_id: str) -> PrivacyRequestRecord | None:
    try:
        return PrivacyRequestRecord.get(request_id, consistent_read=True)
    except DoesNotExist:
        return None


def start_request(record: PrivacyRequestRecord) -> PrivacyRequestRecord:
    """The request's record, created once (a repeated or retried request continues the one there is)."""
    existing = request(record.request_id)
    if existing is not None:
        return existing
    record.save(condition=PrivacyRequestRecord.request_id.does_not_exist())
    return record


def note_raw_keys(record: PrivacyRequestRecord, keys: Sequence[str]) -> None:
    """Remember the raw bodies found before deleting them (a retry after a crash cannot find them again)."""
    known = set(record.raw_keys or [])
    new = sorted(set(keys) - known)
    if new:
        record.update(actions=[PrivacyRequestRecord.raw_keys.set(sorted(known | set(new)))])


def note_tokens(record: PrivacyRequestRecord, tokens: Sequence[str]) -> None:
    known = set(record.tokens or [])
    if set(tokens) - known:
        record.update(actions=[PrivacyRequestRecord.tokens.set(sorted(known | set(tokens)))])


def finish_request(record: PrivacyRequestRecord, *, at: datetime, report_key: str, summary: str) -> None:
    record.update(
        actions=[
            PrivacyRequestRecord.state.set("COMPLETED"),
            PrivacyRequestRecord.completed_at.set(at),
            PrivacyRequestRecord.report_key.set(report_key),
            PrivacyRequestRecord.summary.set(summary),
        ]
    )


def iter_strings(value: Any) -> Iterator[str]:
    """Every string and number in a JSON value (what a raw body's values are matched on)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from iter_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from iter_strings(v)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)
