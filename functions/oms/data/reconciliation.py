"""Reconciliation's reads and writes: the period's orders in segments (S3 manifests), the facts of a segment,
the ledgers, the stock baselines and the exception records. No business rule lives here: oms.reconciliation
says what to check and what must change."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from oms.aws import client
from oms.data.models import (
    CreditNoteRecord,
    InventoryMovementRecord,
    InventoryRecord,
    InvoiceRecord,
    LedgerEntryRecord,
    OrderRecord,
    PaymentRecord,
    ReconciliationExceptionRecord,
    ReservationRecord,
    ReturnRecord,
    ShipmentRecord,
    StockBaselineRecord,
)
from oms.data.orders import history_entry
from oms.data.snapshot import DeadLetter, dead_letter_subject, peek_dead_letters
from oms.domain.reconciliation import (
    RECONCILIATION,
    CashFacts,
    ExceptionChange,
    InvoiceApplications,
    LedgerFacts,
    OrderFacts,
)
from oms.domain.status import OrderStatus

OPEN = "OPEN"
WORK_PREFIX = "reconciliation"


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


# ----------------------------------------------------------------------------------------------- plan
def orders_received_on(period: str) -> Iterator[str]:
    """Every order received on the UTC day `period`, through the by-status index (a Query per status over
    the day's range of `received_at`: no table scan, whatever the table's size)."""
    for status in OrderStatus:
        for order in OrderRecord.by_status.query(
            status.value, OrderRecord.received_at.startswith(period), attributes_to_get=["order_id"]
        ):
            yield order.order_id


def open_exceptions() -> Iterator[ReconciliationExceptionRecord]:
    """Every open exception, the one whose SLA runs out first first."""
    yield from ReconciliationExceptionRecord.open_by_sla.query(OPEN)


def cash_subjects_of(period: str) -> Iterator[str]:
    """The cash subjects a run of `period` judges besides those of open exceptions: the payments received
    and the credit notes issued on the day (keys-only day indexes: a Query each, whatever the table's
    size) and every payment and credit note with something left to apply (a Scan of the sparse
    `open-credit` indexes, which hold only those: their size is the open credit, not the history)."""
    for payment in PaymentRecord.by_day.query(period):
        yield f"payment:{payment.payment_id}"
    for note in CreditNoteRecord.by_day.query(period):
        yield f"credit_note:{note.credit_note_id}"
    for payment in PaymentRecord.open_credit.scan(attributes_to_get=["payment_id"]):
        yield f"payment:{payment.payment_id}"
    for note in CreditNoteRecord.open_credit.scan(attributes_to_get=["credit_note_id"]):
        yield f"credit_note:{note.credit_note_id}"


def write_segments(
    bucket: str,
    run_prefix: str,
    order_ids: Iterable[str],
    size: int,
    cash_subjects: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The run's order ids, then its cash subjects, in segments of `size`, one S3 object each, and the
    manifest the workflow's Map reads (one item per segment: its key, scope and size). Returns the
    manifest."""
    s3 = client("s3")
    manifest: list[dict[str, Any]] = []

    def flush(scope: str, batch: list[str]) -> None:
        key = f"{run_prefix}/segments/{len(manifest):05d}.json"
        body = {"order_ids": batch} if scope == "order" else {"subjects": batch}
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())
        item: dict[str, Any] = {"segment_key": key, "scope": scope, "orders": 0, "subjects": len(batch)}
        if scope == "order":
            item["orders"] = len(batch)
        manifest.append(item)

    for scope, ids in (("order", order_ids), ("cash", cash_subjects)):
        batch: list[str] = []
        for one in ids:
            batch.append(one)
            if len(batch) >= size:
                flush(scope, batch)
                batch = []
        if batch or (scope == "order" and not manifest):
            flush(scope, batch)
    s3.put_object(Bucket=bucket, Key=f"{run_prefix}/manifest.json", Body=json.dumps(manifest).encode())
    return manifest


def read_json(bucket: str, key: str) -> Any:
    return json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def write_json(bucket: str, key: str, value: Any) -> None:
    client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(value, sort_keys=True).encode())


def read_segment_results(bucket: str, run_prefix: str) -> list[dict[str, Any]]:
    s3 = client("s3")
    results = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{run_prefix}/results/"):
        for item in page.get("Contents", []):
            results.append(read_json(bucket, item["Key"]))
    return results


# --------------------------------------------------------------------------------------------- orders
def order_facts(order_ids: list[str]) -> list[OrderFacts]:
    """The order, reservation, shipments and invoice of each order (orders that no longer exist: none)."""
    orders = {o.order_id: o for o in OrderRecord.batch_get(order_ids, consistent_read=True)}
    ids = list(orders)
    reservations = {r.order_id: r for r in ReservationRecord.batch_get(ids, consistent_read=True)}
    invoices = {i.order_id: i for i in InvoiceRecord.batch_get(ids, consistent_read=True)}
    return [
        OrderFacts(
            order=orders[oid],
            reservation=reservations.get(oid),
            shipments=list(ShipmentRecord.query(oid, consistent_read=True)),
            invoice=invoices.get(oid),
        )
        for oid in order_ids
        if oid in orders
    ]


# ----------------------------------------------------------------------------------------------- cash
def _sum(entries: Iterable[LedgerEntryRecord]) -> Decimal:
    return sum((Decimal(str(e.amount)) for e in entries), Decimal("0"))


def _invoice_numbers_exist(numbers: Iterable[str]) -> dict[str, str | None]:
    """Invoice number -> the order it invoices (None: no such invoice), through the keys-only by-number
    index."""
    found: dict[str, str | None] = {}
    for number in sorted(set(numbers)):
        hit = next(iter(InvoiceRecord.by_number.query(number, limit=1)), None)
        found[number] = hit.order_id if hit is not None else None
    return found


def cash_facts(subjects: list[str]) -> list[CashFacts]:
    """Each subject's record, its ledger entries, the invoices they reach with every entry on those, and for
    a credit note its return and whether the invoices the return names exist. A subject whose payment or
    credit note no longer exists is left out."""
    payment_ids = [s.split(":", 1)[1] for s in subjects if s.startswith("payment:")]
    note_ids = [s.split(":", 1)[1] for s in subjects if s.startswith("credit_note:")]
    payments = {p.payment_id: p for p in PaymentRecord.batch_get(payment_ids, consistent_read=True)}
    notes = {n.credit_note_id: n for n in CreditNoteRecord.batch_get(note_ids, consistent_read=True)}
    own_entries: dict[str, list[LedgerEntryRecord]] = {
        source: list(LedgerEntryRecord.by_source.query(source)) for source in [*payments, *notes]
    }
    # the invoices reached: by the sources' entries (which name the order), or named by a subject
    orders_of: dict[str, str | None] = {}
    for entries in own_entries.values():
        for entry in entries:
            orders_of[entry.invoice_number] = entry.order_id
    named = [s.split(":", 1)[1] for s in subjects if s.startswith("invoice:")]
    orders_of |= _invoice_numbers_exist(n for n in named if n not in orders_of)
    returns = {
        r.rma_id: r
        for r in ReturnRecord.batch_get(
            sorted({n.rma_id for n in notes.values() if n.rma_id}), consistent_read=True
        )
    }
    returned_numbers = {line.invoice_number for r in returns.values() for line in r.lines}
    returned_exist = _invoice_numbers_exist(returned_numbers)
    invoices = {
        i.invoice_number: i
        for i in InvoiceRecord.batch_get(sorted({o for o in orders_of.values() if o}), consistent_read=True)
    }
    applied_to = {
        number: _sum(LedgerEntryRecord.query(number, consistent_read=True)) for number in sorted(orders_of)
    }

    def reached(numbers: Iterable[str]) -> list[InvoiceApplications]:
        return [InvoiceApplications(invoices.get(n), n, applied_to[n]) for n in sorted(set(numbers))]

    facts: list[CashFacts] = []
    for subject in dict.fromkeys(subjects):
        kind, _, key = subject.partition(":")
        if kind == "payment" and key in payments:
            entries = own_entries[key]
            facts.append(
                CashFacts(
                    subject,
                    payment=payments[key],
                    entries_applied=_sum(entries),
                    invoices=reached(e.invoice_number for e in entries),
                )
            )
        elif kind == "credit_note" and key in notes:
            note = notes[key]
            entries = own_entries[key]
            back = returns.get(note.rma_id) if note.rma_id else None
            facts.append(
                CashFacts(
                    subject,
                    credit_note=note,
                    entries_applied=_sum(entries),
                    invoices=reached(e.invoice_number for e in entries),
                    returned=back,
                    returned_invoices={
                        line.invoice_number: returned_exist.get(line.invoice_number) is not None
                        for line in (back.lines if back is not None else [])
                    },
                )
            )
        elif kind == "invoice":
            facts.append(CashFacts(subject, invoices=reached([key])))
    return facts


def subjects_of_open(kinds: Mapping[str, object]) -> list[str]:
    """The subjects of the open exceptions of the given kinds (so a run can close them once cleared)."""
    return [r.subject for r in open_exceptions() if r.kind in kinds]


def exceptions_by_id(ids: Iterable[str]) -> dict[str, ReconciliationExceptionRecord]:
    keys = sorted(set(ids))
    if not keys:
        return {}
    return {r.exception_id: r for r in ReconciliationExceptionRecord.batch_get(keys, consistent_read=True)}


def apply_changes(changes: Iterable[ExceptionChange], *, period: str, now: datetime) -> Counter[str]:
    """Commit each change conditionally on the state it was judged from (a concurrent run or a person's
    close wins; the loser's change is dropped and counted as `raced`)."""
    done: Counter[str] = Counter()
    for change in changes:
        try:
            if change.action == "OPEN":
                _open(change, period=period, now=now)
            elif change.action == "REOPEN":
                _reopen(change, period=period, now=now)
            else:
                _close(change.exception_id, by=RECONCILIATION, reason=change.reason, now=now)
            done[change.action] += 1
        except (PutError, UpdateError) as exc:
            if not _conditional_failed(exc):
                raise
            done["raced"] += 1
    return done


def _open(change: ExceptionChange, *, period: str, now: datetime) -> None:
    finding = change.finding
    assert finding is not None
    assert change.sla_due_at is not None
    ReconciliationExceptionRecord(
        change.exception_id,
        kind=finding.kind,
        subject=finding.subject,
        detail=finding.detail[:2000],
        period=period,
        order_id=finding.order_id,
        sku=finding.sku,
        owner_group=change.owner_group,
        escalate_to=change.escalate_to,
        state=OPEN,
        opened_at=now,
        sla_due_at=change.sla_due_at,
        history=[history_entry(OPEN, None, now, RECONCILIATION, change.reason[:1000])],
        open_state=OPEN,
        sla_due_key=change.sla_due_at.isoformat(),
    ).save(condition=ReconciliationExceptionRecord.exception_id.does_not_exist())


def _reopen(change: ExceptionChange, *, period: str, now: datetime) -> None:
    finding = change.finding
    assert finding is not None
    assert change.sla_due_at is not None
    R = ReconciliationExceptionRecord
    R(change.exception_id).update(
        actions=[
            R.state.set(OPEN),
            R.open_state.set(OPEN),
            R.detail.set(finding.detail[:2000]),
            R.period.set(period),
            R.opened_at.set(now),
            R.sla_due_at.set(change.sla_due_at),
            R.sla_due_key.set(change.sla_due_at.isoformat()),
            R.escalated_at.remove(),
            R.closed_at.remove(),
            R.closed_by.remove(),
            R.close_reason.remove(),
            R.history.set(
                R.history.append([history_entry(OPEN, "CLOSED", now, RECONCILIATION, change.reason)])
            ),
        ],
        condition=R.state == "CLOSED",
    )


def _close(exception_id: str, *, by: str, reason: str, now: datetime) -> ReconciliationExceptionRecord:
    R = ReconciliationExceptionRecord
    record = R(exception_id)
    record.update(
        actions=[
            R.state.set("CLOSED"),
            R.open_state.remove(),
            R.sla_due_key.remove(),
            R.closed_at.set(now),
            R.closed_by.set(by),
            R.close_reason.set(reason[:1000]),
            R.history.set(R.history.append([history_entry("CLOSED", OPEN, now, by, reason[:1000])])),
        ],
        condition=R.state == OPEN,
    )
    return record


def close_exception(
    exception_id: str, *, by: str, reason: str, now: datetime
) -> ReconciliationExceptionRecord:
    """A person closes an open exception (the next run reopens it if the condition still holds)."""
    return _close(exception_id, by=by, reason=reason, now=now)


def assign_exception(exception_id: str, *, to: str, by: str, now: datetime) -> ReconciliationExceptionRecord:
    R = ReconciliationExceptionRecord
    record = R(exception_id)
    record.update(
        actions=[
            R.assigned_to.set(to),
            R.history.set(R.history.append([history_entry(OPEN, OPEN, now, by, f"assigned to {to}")])),
        ],
        condition=R.state == OPEN,
    )
    return record


def escalate(record: ReconciliationExceptionRecord, *, now: datetime) -> bool:
    R = ReconciliationExceptionRecord
    reason = (
        f"SLA ran out at {record.sla_due_at.isoformat(timespec='minutes')}: escalated to {record.escalate_to}"
    )
    try:
        record.update(
            actions=[
                R.escalated_at.set(now),
                R.history.set(R.history.append([history_entry(OPEN, OPEN, now, RECONCILIATION, reason)])),
            ],
            condition=(R.state == OPEN) & R.escalated_at.does_not_exist(),
        )
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise
        return False
    return True


# --------------------------------------------------------------------------------------------- ledgers
def _baseline_id(sku: str, warehouse_id: str) -> str:
    return f"BASELINE#{sku}#{warehouse_id}"


def ledger_facts(dead_letter_queues: dict[str, str], *, now: datetime) -> LedgerFacts:
    """Stock items, the ledger's sums, units shipped, the stock baselines (taken for an item seen for the
    first time: the ledger is reconciled from the stock as the first run found it) and the DLQs' messages."""
    stock = list(InventoryRecord.scan(consistent_read=True))
    moved: Counter[tuple[str, str]] = Counter()
    for movement in InventoryMovementRecord.scan(consistent_read=True):
        moved[(movement.sku, movement.warehouse_id)] += int(movement.quantity_change)
    shipped: Counter[tuple[str, str]] = Counter()
    for reservation in ReservationRecord.scan(ReservationRecord.state == "CONSUMED", consistent_read=True):
        for line in reservation.lines:
            shipped[(line.sku, line.warehouse_id)] += int(line.quantity)
    keys = [_baseline_id(i.sku, i.warehouse_id) for i in stock]
    baselines = {
        b.exception_id: int(b.opening) for b in StockBaselineRecord.batch_get(keys, consistent_read=True)
    }
    openings: dict[tuple[str, str], int] = {}
    for item in stock:
        key = (item.sku, item.warehouse_id)
        baseline = _baseline_id(*key)
        if baseline not in baselines:
            opening = int(item.on_hand) - moved.get(key, 0) + shipped.get(key, 0)
            try:
                StockBaselineRecord(baseline, opening=opening, taken_at=now).save(
                    condition=StockBaselineRecord.exception_id.does_not_exist()
                )
            except PutError as exc:
                if not _conditional_failed(exc):
                    raise
                opening = int(StockBaselineRecord.get(baseline, consistent_read=True).opening)
            baselines[baseline] = opening
        openings[key] = baselines[baseline]
    letters: list[DeadLetter] = []
    for name, url in sorted(dead_letter_queues.items()):
        letters += peek_dead_letters(name, url)
    subjects = {letter.message_id: dead_letter_subject(letter) for letter in letters}
    named = sorted({s["order_id"] for s in subjects.values() if "order_id" in s})
    known = (
        {o.order_id for o in OrderRecord.batch_get(named, attributes_to_get=["order_id"])} if named else set()
    )
    return LedgerFacts(
        stock=stock,
        moved=moved,
        shipped=shipped,
        openings=openings,
        dead_letters=letters,
        dead_letter_subjects=subjects,
        known_orders=known,
    )
