"""Erasure (GDPR art. 17, CCPA delete) and access (art. 15) requests (decision 0053).

An erasure pseudonymises the customer's personal fields wherever the OMS holds them (orders, the customer,
payments' remittance text, the personal export partitions) and deletes the raw webhook bodies that are theirs
(every version); it keeps what the retention policy keeps (invoices and credit notes as the legal copy,
dunning letters, the ledger and the audit trail, which hold no personal values: decision 0054), and writes a
machine-readable report of what was erased, what was kept and why.

Idempotent and resumable: every step finds what is left to do from the data itself (a pseudonym is never
pseudonymised again), the raw bodies found are noted on the request before they are deleted, and the report is
made from the state, so a retry after a crash halfway ends where an uninterrupted run ends. The raw bodies are
found by their values' pseudonyms, so a retry finds them after the order was pseudonymised already.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oms.data import audit as audit_store
from oms.data import privacy as store
from oms.data.models import (
    AddressAttribute,
    CustomerAttribute,
    CustomerRecord,
    OrderRecord,
    PrivacyRequestRecord,
)
from oms.domain.audit import next_entry
from oms.domain.errors import OmsError
from oms.finance.schema import PERSONAL_COLUMNS, PERSONAL_TABLES
from oms.privacy.masking import is_pseudonym, pseudonym
from oms.privacy.pseudonyms import pseudonymised
from oms.privacy.registry import personal_attributes
from oms.privacy.retention import ACCESS_REQUEST_DAYS, TEN_YEARS, expires_at

ERASED_ACTION = "PERSONAL_DATA_ERASED"


class CustomerNotKnownError(OmsError):
    code = "CUSTOMER_NOT_FOUND"


@dataclass(frozen=True)
class PrivacyTargets:
    raw_payloads_bucket: str
    finance_bucket: str
    privacy_bucket: str


def erasure_id(customer_id: str) -> str:
    return f"erasure#{customer_id}"


def report_key(customer_id: str) -> str:
    return f"reports/{customer_id}/erasure.json"


def _token(value: str | None, key: bytes) -> str | None:
    """The pseudonym a value has or will have."""
    if not value:
        return None
    return value if is_pseudonym(value) else pseudonym(value, key)


def _days_of(record: OrderRecord) -> set[str]:
    """The days (YYYY/MM/DD) a channel may have sent something about the order: received, every change."""
    days = {
        datetime.fromisoformat(record.received_at).strftime("%Y/%m/%d"),
        record.updated_at.strftime("%Y/%m/%d"),
    }
    for stored in audit_store.chain(f"order:{record.order_id}"):
        days.add(datetime.fromisoformat(stored.entry.at).strftime("%Y/%m/%d"))
    return days


def _is_theirs(body: bytes, tokens: set[str], external_ids: set[str], key: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False  # a ping or a form body: names no customer
    if isinstance(payload, dict):
        for name in ("id", "order_id", "number"):
            if name in payload and str(payload[name]) in external_ids:
                return True
    return any(pseudonym(text, key) in tokens for text in store.iter_strings(payload) if text.strip())


def _personal_names(model_name: str, values: dict[str, Any]) -> list[str]:
    return sorted(n for n in personal_attributes(model_name) if values.get(n))


def erase_customer(
    customer_id: str,
    *,
    by: str,
    source: str,
    key: bytes,
    targets: PrivacyTargets,
    now: datetime,
    extra_channels: Iterable[str] = (),
    extra_tokens: Iterable[str] = (),
) -> dict[str, Any]:
    """Carry out (or finish) the erasure; returns its report (also stored in the privacy bucket)."""
    request = store.start_request(
        PrivacyRequestRecord(
            erasure_id(customer_id),
            kind="ERASURE",
            customer_id=customer_id,
            state="RUNNING",
            requested_by=by,
            requested_at=now,
            source=source,
        )
    )
    store.note_tokens(request, list(extra_tokens))
    customer = store.customer(customer_id)
    orders = store.orders_of(customer_id)
    if customer is None and not orders and not request.tokens:
        raise CustomerNotKnownError(f"no customer {customer_id} and no order of theirs")
    erased: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []

    # 1. orders: the customer's and the shipping address's personal values as pseudonyms
    reason = f"personal data erased ({request.request_id}, {source})"
    for order in orders:
        current_customer = order.customer.attribute_values
        current_address = order.shipping_address.attribute_values
        new_customer = pseudonymised(CustomerAttribute, current_customer, key)
        new_address = pseudonymised(AddressAttribute, current_address, key)
        if new_customer != current_customer or new_address != current_address:
            store.pseudonymise_order(
                order,
                CustomerAttribute(**new_customer),
                AddressAttribute(**new_address),
                at=now,
                by=by,
                reason=reason,
            )
        fields = [f"customer.{n}" for n in _personal_names("CustomerAttribute", new_customer)]
        fields += [f"shipping_address.{n}" for n in _personal_names("AddressAttribute", new_address)]
        erased.append(
            {"store": "OrdersTable", "item": order.order_id, "fields": fields, "how": "pseudonymised"}
        )

    # 2. the customer
    if customer is not None:
        values = {n: customer.attribute_values.get(n) for n in personal_attributes("CustomerRecord")}
        new = pseudonymised(CustomerRecord, values, key)
        if new != values or customer.erased_at is None:
            store.pseudonymise_customer(customer, new, at=now, request_id=request.request_id)
        erased.append(
            {
                "store": "CustomersTable",
                "item": customer_id,
                "fields": sorted(k for k, v in new.items() if v),
                "how": "pseudonymised",
            }
        )

    # 3. payments: the payer's remittance text
    for payment in store.payments_of(customer_id):
        if payment.reference:
            if not is_pseudonym(payment.reference):
                store.pseudonymise_payment(payment, pseudonym(payment.reference, key))
            erased.append(
                {
                    "store": "PaymentsTable",
                    "item": payment.payment_id,
                    "fields": ["reference"],
                    "how": "pseudonymised",
                }
            )
        kept.append(
            {
                "store": "PaymentsTable",
                "item": payment.payment_id,
                "why": "a financial record (amount, date, source) of the ledger; ten years",
            }
        )

    # 4. the raw webhook bodies that are theirs: found by their values' pseudonyms, noted, then deleted
    tokens = {
        t for o in orders for t in (_token(o.customer.email, key), _token(o.shipping_address.line1, key)) if t
    }
    if customer is not None and (t := _token(customer.email, key)):
        tokens.add(t)
    tokens |= set(request.tokens or [])
    external_ids = {o.external_id for o in orders}
    places = {(o.channel, day) for o in orders for day in _days_of(o)}
    places |= {(channel, now.strftime("%Y/%m/%d")) for channel in extra_channels}
    found = [
        k
        for channel, day in sorted(places)
        for k in store.raw_keys(targets.raw_payloads_bucket, channel, day)
        if k not in set(request.raw_keys or [])
        and _is_theirs(store.raw_body(targets.raw_payloads_bucket, k), tokens, external_ids, key)
    ]
    store.note_raw_keys(request, found)
    for raw_key in sorted(set(request.raw_keys or [])):
        store.delete_every_version(targets.raw_payloads_bucket, raw_key)
        erased.append({"store": "RawPayloadsBucket", "item": raw_key, "how": "deleted, every version"})

    # 4b. earlier data-access exports of the customer (copies of everything held on them)
    for access_key in store.keys_under(targets.privacy_bucket, f"access/{customer_id}/"):
        store.delete_every_version(targets.privacy_bucket, access_key)
    if request.kind == "ERASURE":
        erased.append(
            {"store": "PrivacyBucket", "item": f"access/{customer_id}/", "how": "deleted, every version"}
        )

    # 5. the personal export partitions of their days: their rows pseudonymised, older versions deleted
    order_ids = {o.order_id for o in orders}
    periods = sorted({o.received_at[:10] for o in orders})
    for table, columns in PERSONAL_TABLES.items():
        personal_columns = PERSONAL_COLUMNS[table]
        for period in periods:
            partition = store.personal_partition(targets.finance_bucket, table, period)
            if partition is None:
                continue
            object_key, rows = partition
            changed = False
            for row in rows:
                if row.get("order_id") not in order_ids:
                    continue
                for column in personal_columns:
                    value = row.get(column)
                    if isinstance(value, str) and value and not is_pseudonym(value):
                        row[column] = pseudonym(value, key)
                        changed = True
            if changed:
                store.rewrite_personal_partition(targets.finance_bucket, object_key, columns, rows)
            store.delete_earlier_versions(targets.finance_bucket, object_key)
            erased.append(
                {
                    "store": "FinanceBucket",
                    "item": object_key,
                    "fields": sorted(personal_columns),
                    "how": "their rows pseudonymised, earlier versions deleted",
                }
            )

    # 6. what is kept, and why
    for order in orders:
        invoice = store.invoice_of(order.order_id)
        if invoice is not None:
            for document in (invoice.pdf_key, invoice.json_key):
                kept.append(
                    {
                        "store": "DocumentsBucket",
                        "item": document,
                        "why": f"the legal copy of invoice {invoice.invoice_number}: tax law, "
                        f"{TEN_YEARS} days (oms.privacy.retention)",
                    }
                )
            kept.append(
                {
                    "store": "InvoicesTable",
                    "item": invoice.invoice_number,
                    "why": "a financial record; holds no personal field",
                }
            )
        kept.append(
            {
                "store": "AuditLogTable",
                "item": f"order:{order.order_id}",
                "why": "the hash-chained record holds personal values only as keyed hashes; its entries, "
                "hashes and signed digests stay as they were (decision 0054)",
            }
        )
        for shipment in store.shipments_of(order.order_id):
            kept.append(
                {
                    "store": "ShipmentsTable",
                    "item": f"{order.order_id}/{shipment.shipment_id}",
                    "why": "operational; holds no personal field",
                }
            )
    for note in store.credit_notes_of(customer_id):
        for document in (note.pdf_key, note.json_key):
            if document:
                kept.append(
                    {
                        "store": "DocumentsBucket",
                        "item": document,
                        "why": f"the legal copy of credit note {note.number}: tax law, {TEN_YEARS} days",
                    }
                )
    for letter in store.letters_of(customer_id):
        kept.append(
            {
                "store": "DocumentsBucket",
                "item": letter.pdf_key,
                "why": "a dunning letter: commercial correspondence, six years (oms.privacy.retention)",
            }
        )
    for returned in store.returns_of(customer_id):
        kept.append(
            {"store": "ReturnsTable", "item": returned.rma_id, "why": "financial; holds no personal field"}
        )
    kept.append(
        {
            "store": "FinanceBucket",
            "item": "exports/",
            "why": "the analyst tables hold a keyed hash and masks, never the values (decision 0051)",
        }
    )

    # 7. the audit trail: the erasure itself, in the customer's chain (no personal value in it)
    subject = f"customer:{customer_id}"
    source_tag = f"privacy:{request.request_id}"
    if not any(s.entry.source == source_tag for s in audit_store.chain(subject)):
        summary = {
            "request": request.request_id,
            "orders": len(orders),
            "raw_payloads_deleted": len(request.raw_keys or []),
            "requested_through": source,
        }

        def make(head: Any, last: Any) -> tuple[Any, None]:
            return (
                next_entry(
                    head,
                    subject=subject,
                    at=now,
                    actor=by,
                    action=ERASED_ACTION,
                    source=source_tag,
                    reason="erasure request (GDPR art. 17)",
                    after=summary,
                    written_at=now,
                ),
                None,
            )

        audit_store.append(subject, make, written_at=now)

    report = {
        "request_id": request.request_id,
        "customer_id": customer_id,
        "requested_by": request.requested_by,
        "requested_at": request.requested_at.isoformat(),
        "source": request.source,
        "erased": sorted(erased, key=lambda e: (e["store"], e["item"])),
        "kept": sorted(kept, key=lambda e: (e["store"], str(e["item"]))),
        "not_reached": [
            {
                "store": "FulfillmentRequestsQueue",
                "why": "a warehouse's copy of the address, in messages that "
                "expire with the queue (four days) and in the 3PL's own systems: tell the 3PL",
            },
            {"store": "sales channel", "why": "the channel keeps its own copy (Shopify: customers/redact)"},
            {"store": "CloudWatch Logs", "why": "no personal value reaches the logs (decision 0051)"},
        ],
    }
    store.put_json(targets.privacy_bucket, report_key(customer_id), report)
    store.finish_request(
        request,
        at=now,
        report_key=report_key(customer_id),
        summary=f"{len(orders)} orders, {len(request.raw_keys or [])} raw bodies",
    )
    return report


def access_export(
    customer_id: str, *, by: str, source: str, targets: PrivacyTargets, now: datetime
) -> dict[str, Any]:
    """Everything the OMS holds on the customer (GDPR art. 15) as one JSON document in the privacy bucket."""
    customer = store.customer(customer_id)
    orders = store.orders_of(customer_id)
    if customer is None and not orders:
        raise CustomerNotKnownError(f"no customer {customer_id} and no order of theirs")
    request_id = f"access#{customer_id}#{now:%Y%m%dT%H%M%S}"
    document = {
        "request_id": request_id,
        "customer_id": customer_id,
        "produced_at": now.isoformat(),
        "customer": _plain(customer.attribute_values) if customer is not None else None,
        "orders": [_plain(o.attribute_values) for o in orders],
        "invoices": [_plain(i.attribute_values) for o in orders if (i := store.invoice_of(o.order_id))],
        "shipments": [_plain(s.attribute_values) for o in orders for s in store.shipments_of(o.order_id)],
        "payments": [_plain(p.attribute_values) for p in store.payments_of(customer_id)],
        "credit_notes": [_plain(n.attribute_values) for n in store.credit_notes_of(customer_id)],
        "returns": [_plain(r.attribute_values) for r in store.returns_of(customer_id)],
    }
    key = f"access/{customer_id}/{now:%Y%m%dT%H%M%S}.json"
    store.put_json(targets.privacy_bucket, key, document)
    record = store.start_request(
        PrivacyRequestRecord(
            request_id,
            kind="ACCESS",
            customer_id=customer_id,
            state="RUNNING",
            requested_by=by,
            requested_at=now,
            source=source,
            expires_at=expires_at(now, ACCESS_REQUEST_DAYS),
        )
    )
    store.finish_request(record, at=now, report_key=key, summary=f"{len(orders)} orders")
    return {"request_id": request_id, "customer_id": customer_id, "key": key, "orders": len(orders)}


def _plain(value: Any) -> Any:
    """PynamoDB attribute values as JSON values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "attribute_values"):
        return _plain(value.attribute_values)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def channel_request(
    message: dict[str, Any], *, key: bytes, targets: PrivacyTargets, now: datetime
) -> dict[str, Any]:
    """A channel's privacy request (Shopify's compliance webhooks), as queued by intake: an erasure or an
    access export by the same functions as the API's; a shop's redaction recorded for a person to confirm
    (it would erase every customer of the channel)."""
    channel = str(message["channel"])
    source = f"{channel}:{message['delivery_id']}"
    by = f"channel:{channel}"
    kind = message["kind"]
    if kind == "SHOP_REDACT":
        record = store.start_request(
            PrivacyRequestRecord(
                f"shop-redact#{channel}#{message['delivery_id']}",
                kind="SHOP_REDACT",
                customer_id="*",
                state="NEEDS_CONFIRMATION",
                requested_by=by,
                requested_at=now,
                source=source,
                summary="the shop asked to erase every customer of the channel: a person confirms it, then "
                "erases them (POST /customers/{id}/erasure per customer)",
            )
        )
        return {"request_id": record.request_id, "state": record.state}
    customer_id = str(message["customer_id"])
    if kind == "ACCESS":
        try:
            return access_export(customer_id, by=by, source=source, targets=targets, now=now)
        except CustomerNotKnownError:
            return {"customer_id": customer_id, "orders": 0, "note": "nothing held on the customer"}
    body = store.raw_body_if_kept(targets.raw_payloads_bucket, str(message["archive_key"]))
    named: list[str] = []
    if body is not None:
        customer = json.loads(body).get("customer") or {}
        named = [pseudonym(str(v), key) for v in (customer.get("email"), customer.get("phone")) if v]
    try:
        return erase_customer(
            customer_id,
            by=by,
            source=source,
            key=key,
            targets=targets,
            now=now,
            extra_channels=(channel,),
            extra_tokens=named,
        )
    except CustomerNotKnownError:
        return {"customer_id": customer_id, "note": "nothing held on the customer"}
