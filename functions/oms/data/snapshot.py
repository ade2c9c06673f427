"""A read of the whole system's state for the invariant checks (oms.governance.invariants): every table the
checks look at, the invoice documents in S3 and what waits in the dead-letter queues.

Reads only: scans and GetObject, and a look at the DLQs that leaves every message where it was (received
with a zero visibility timeout). A scheduled reconciliation on AWS reads the same through the same
function; at the sizes where a full scan costs too much, the checks take one day's orders at a time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oms.aws import client
from oms.data.models import (
    AuditRecord,
    BackorderRecord,
    InventoryMovementRecord,
    InventoryRecord,
    InvoiceRecord,
    InvoiceSequenceRecord,
    OrderRecord,
    ReservationRecord,
    ShipmentRecord,
)


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    message_id: str
    body: str
    receive_count: int


@dataclass
class Snapshot:
    orders: list[OrderRecord] = field(default_factory=list)
    stock: list[InventoryRecord] = field(default_factory=list)
    reservations: list[ReservationRecord] = field(default_factory=list)
    backorders: list[BackorderRecord] = field(default_factory=list)
    invoices: list[InvoiceRecord] = field(default_factory=list)
    sequences: dict[int, int] = field(default_factory=dict)
    """year -> last invoice number issued."""
    shipments: list[ShipmentRecord] = field(default_factory=list)
    movements: list[InventoryMovementRecord] = field(default_factory=list)
    documents: dict[str, bytes | None] = field(default_factory=dict)
    """S3 key -> bytes (None when the object is missing) of every invoice's PDF and JSON."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    archive_keys: list[str] = field(default_factory=list)
    """Keys in the raw payload archive (when a bucket was given)."""
    audit: dict[str, list[AuditRecord]] = field(default_factory=dict)
    """The audit trail by subject (`order:<id>`), in chain order."""
    audit_read: bool = False
    """Whether `audit` was read (the audit table is bound)."""


def read_snapshot(
    *,
    documents_bucket: str | None = None,
    raw_payloads_bucket: str | None = None,
    dead_letter_queues: Mapping[str, str] | None = None,
) -> Snapshot:
    """Read everything the checks need (models must be bound to the stack's tables)."""
    snapshot = Snapshot(
        orders=list(OrderRecord.scan(consistent_read=True)),
        stock=list(InventoryRecord.scan(consistent_read=True)),
        reservations=list(ReservationRecord.scan(consistent_read=True)),
        backorders=list(BackorderRecord.scan(consistent_read=True)),
        shipments=list(ShipmentRecord.scan(consistent_read=True)),
        movements=list(InventoryMovementRecord.scan(consistent_read=True)),
    )
    for item in InvoiceRecord.scan(consistent_read=True):
        if item.order_id.startswith("SEQUENCE#"):
            continue
        snapshot.invoices.append(item)
    for sequence in InvoiceSequenceRecord.scan(
        InvoiceSequenceRecord.order_id.startswith("SEQUENCE#"), consistent_read=True
    ):
        snapshot.sequences[int(sequence.order_id.split("#", 1)[1])] = int(sequence.last_number)
    if documents_bucket:
        s3 = client("s3")
        for invoice in snapshot.invoices:
            for key in (invoice.pdf_key, invoice.json_key):
                try:
                    snapshot.documents[key] = s3.get_object(Bucket=documents_bucket, Key=key)["Body"].read()
                except s3.exceptions.NoSuchKey:
                    snapshot.documents[key] = None
    if raw_payloads_bucket:
        s3 = client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=raw_payloads_bucket, Prefix="raw/"):
            snapshot.archive_keys += [item["Key"] for item in page.get("Contents", [])]
    for name, url in (dead_letter_queues or {}).items():
        snapshot.dead_letters += _peek(name, url)
    if AuditRecord.Meta.table_name != "unbound":
        snapshot.audit_read = True
        for entry in AuditRecord.scan(consistent_read=True):
            snapshot.audit.setdefault(entry.subject, []).append(entry)
        for entries in snapshot.audit.values():
            entries.sort(key=lambda e: float(e.seq))
    return snapshot


def peek_dead_letters(name: str, url: str) -> list[DeadLetter]:
    """Every message of a DLQ, left in place (what the scheduled reconciliation and `ops dlq peek` read)."""
    return _peek(name, url)


def _peek(name: str, url: str) -> list[DeadLetter]:
    """Every message of a DLQ, left in place (visibility timeout 0: visible again at once)."""
    sqs = client("sqs")
    seen: dict[str, DeadLetter] = {}
    for _ in range(100):
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
            seen[message["MessageId"]] = DeadLetter(name, message["MessageId"], message["Body"], count)
    return list(seen.values())


def dead_letter_subject(letter: DeadLetter) -> dict[str, str]:
    """The order id and SKU a dead letter concerns, as far as its body names them (an EventBridge event's
    detail, or a plain message)."""
    try:
        body = json.loads(letter.body)
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    detail = body.get("detail") if isinstance(body.get("detail"), dict) else body
    return {
        key: str(detail[key]) for key in ("order_id", "sku") if isinstance(detail, dict) and key in detail
    }
