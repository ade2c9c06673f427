"""The system's invariants, checked over a snapshot of its state: what `make demo`, `make chaos` and the
tests assert after a run, and what a scheduled reconciliation can check on AWS with the same code.

Each check returns the violations it found (a sentence per violation, naming the order, SKU or invoice),
never raises on bad data. The checks are pure: `read_snapshot` (oms.data.snapshot) does the reading.

1. every order is in one status with a reason: a known status that its history ends with; ON_HOLD with a
   hold reason, FAILED with a code and a sentence; its reservation agrees (open while ALLOCATED or
   FULFILLMENT_REQUESTED, consumed once shipped, not open otherwise); BACKORDERED exactly when it waits in
   the queues of what it misses; no event still owed (outbox) once the system is idle;
2. per SKU and warehouse, on hand = available + reserved, nothing negative;
3. reserved = the sum of the open reservations;
4. units shipped = reservations consumed: a shipped order's reservation is consumed with its allocation,
   and (given the opening stock) on hand = opening + ledger movements - consumed units: no phantom units;
5. every shipped order is invoiced exactly once, and its invoice record, JSON and PDF agree;
6. invoice numbers are gapless per year;
7. nothing waits in a DLQ without a record someone can act on (a message naming an existing order or
   SKU, the thing a person looks up, fixes and redrives);
8. every refused request wrote nothing (no order, archive object or ledger entry under its ids).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from oms.data.audit import entry_of
from oms.data.snapshot import Snapshot, dead_letter_subject
from oms.documents.invoice_pdf import render_invoice_pdf
from oms.domain.audit import StoredEntry
from oms.domain.invoice import InvoiceDocument
from oms.domain.status import BillingStatus, OrderStatus
from oms.governance.audit import verify_chain
from oms.governance.audit_trail import history_with_pending

S = OrderStatus
SHIPPED_PHASE = {S.SHIPPED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERY_EXCEPTION, S.DELIVERED}
HOLDS_STOCK = {S.ALLOCATED, S.FULFILLMENT_REQUESTED}
NEEDS_REASON = {S.ON_HOLD, S.FAILED, S.BACKORDERED, S.CANCELLED}
MAX_LISTED = 20


@dataclass(frozen=True)
class Refusal:
    """A request the system refused, and the ids under which it would have written (if it had)."""

    what: str
    order_id: str | None = None
    archive_key_part: str | None = None
    movement: tuple[str, str] | None = None
    """(stock key "<sku>#<warehouse>", movement id "<KIND>#<reference>")."""


@dataclass
class InvariantResult:
    name: str
    description: str
    violations: list[str] = field(default_factory=list)
    measured: dict[str, int] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        return not self.violations


@dataclass
class InvariantReport:
    results: list[InvariantResult]

    @property
    def held(self) -> bool:
        return all(result.held for result in self.results)

    @property
    def phantom_units(self) -> int:
        return sum(r.measured.get("phantom_units", 0) for r in self.results)

    def failed(self) -> list[InvariantResult]:
        return [result for result in self.results if not result.held]

    def lines(self) -> list[str]:
        out = []
        for result in self.results:
            mark = "held" if result.held else f"VIOLATED ({len(result.violations)})"
            extra = ", ".join(f"{k} {v}" for k, v in sorted(result.measured.items()))
            out.append(f"{mark:<16} {result.name}: {result.description}" + (f" [{extra}]" if extra else ""))
            out += [f"    - {v}" for v in result.violations[:MAX_LISTED]]
            if len(result.violations) > MAX_LISTED:
                out.append(f"    ... and {len(result.violations) - MAX_LISTED} more")
        return out


def check_invariants(
    snapshot: Snapshot,
    *,
    opening_stock: Mapping[tuple[str, str], int] | None = None,
    refused: Sequence[Refusal] = (),
    settled: bool = True,
) -> InvariantReport:
    """Every invariant over `snapshot`. `opening_stock`: on hand per (sku, warehouse) before the period
    the snapshot covers (the phantom-unit check needs it; the ledger explains every change after it).
    `settled`: the system is idle (no event may still be owed)."""
    return InvariantReport(
        [
            one_status_with_a_reason(snapshot, settled=settled),
            stock_balances(snapshot),
            reserved_matches_open_reservations(snapshot),
            shipped_units_consumed(snapshot, opening_stock),
            shipped_orders_invoiced_once(snapshot),
            invoice_numbers_gapless(snapshot),
            dead_letters_actionable(snapshot),
            refused_requests_wrote_nothing(snapshot, refused),
            audit_trail_complete(snapshot, settled=settled),
        ]
    )


# --------------------------------------------------------------------------------------------- orders
def one_status_with_a_reason(snapshot: Snapshot, *, settled: bool = True) -> InvariantResult:
    result = InvariantResult("one_status_with_a_reason", "every order in one status with a reason")
    reservations = {r.order_id: r for r in snapshot.reservations}
    queued: dict[str, set[str]] = defaultdict(set)
    for entry in snapshot.backorders:
        queued[entry.order_id].add(entry.sku)
    statuses = {s.value for s in OrderStatus}
    for order in snapshot.orders:
        oid = order.order_id
        if order.status not in statuses:
            result.violations.append(f"{oid}: unknown status {order.status!r}")
            continue
        status = OrderStatus(order.status)
        history = history_with_pending(snapshot.audit.get(f"order:{oid}", []), order)
        last = next((h for h in reversed(history) if h.status in statuses), None)
        if last is None or last.status != order.status:
            result.violations.append(
                f"{oid}: status {status} but history ends at {last.status if last else '-'}"
            )
        if status in NEEDS_REASON and not (last and last.reason):
            result.violations.append(f"{oid}: {status} without a reason in its history")
        if status is S.ON_HOLD and not order.hold_reason:
            result.violations.append(f"{oid}: ON_HOLD without a hold reason")
        if status is S.FAILED and not (order.failure_code and order.failure_reason):
            result.violations.append(f"{oid}: FAILED without a failure code and reason")
        reservation = reservations.get(oid)
        state = reservation.state if reservation else None
        if status in HOLDS_STOCK and state != "RESERVED":
            result.violations.append(f"{oid}: {status} but its reservation is {state}")
        if status in SHIPPED_PHASE and state != "CONSUMED":
            result.violations.append(f"{oid}: {status} but its reservation is {state}")
        if status not in HOLDS_STOCK and state == "RESERVED":
            result.violations.append(f"{oid}: {status} still holds an open reservation")
        missing = {line.sku for line in order.backorder or []}
        if status is S.BACKORDERED and queued.get(oid, set()) != missing:
            result.violations.append(
                f"{oid}: BACKORDERED for {sorted(missing)} but queued for {sorted(queued[oid])}"
            )
        if status is not S.BACKORDERED and oid in queued:
            result.violations.append(
                f"{oid}: {status} but still waits in the queues of {sorted(queued[oid])}"
            )
        if settled and order.outbox:
            result.violations.append(f"{oid}: {len(order.outbox)} event(s) committed but never published")
    result.measured["orders"] = len(snapshot.orders)
    return result


# ---------------------------------------------------------------------------------------------- stock
def stock_balances(snapshot: Snapshot) -> InvariantResult:
    result = InvariantResult("stock_balances", "on hand = available + reserved, nothing negative")
    for item in snapshot.stock:
        on_hand, available, reserved = int(item.on_hand), int(item.available), int(item.reserved)
        key = f"{item.sku} in {item.warehouse_id}"
        if on_hand != available + reserved:
            result.violations.append(
                f"{key}: on hand {on_hand} != available {available} + reserved {reserved}"
            )
        if min(on_hand, available, reserved) < 0:
            result.violations.append(
                f"{key}: negative (on hand {on_hand}, available {available}, reserved {reserved})"
            )
    result.measured["stock_items"] = len(snapshot.stock)
    return result


def _lines_by_item(reservations: Iterable[object], state: str) -> Counter[tuple[str, str]]:
    units: Counter[tuple[str, str]] = Counter()
    for reservation in reservations:
        if getattr(reservation, "state", None) == state:
            for line in reservation.lines:  # type: ignore[attr-defined]
                units[(line.sku, line.warehouse_id)] += int(line.quantity)
    return units


def reserved_matches_open_reservations(snapshot: Snapshot) -> InvariantResult:
    result = InvariantResult("reserved_matches_reservations", "reserved = the sum of open reservations")
    open_units = _lines_by_item(snapshot.reservations, "RESERVED")
    seen = set()
    for item in snapshot.stock:
        key = (item.sku, item.warehouse_id)
        seen.add(key)
        if int(item.reserved) != open_units.get(key, 0):
            result.violations.append(
                f"{item.sku} in {item.warehouse_id}: reserved {int(item.reserved)}, open reservations "
                f"{open_units.get(key, 0)}"
            )
    for key in sorted(set(open_units) - seen):
        result.violations.append(f"{key[0]} in {key[1]}: reserved by orders but no stock item")
    return result


def shipped_units_consumed(
    snapshot: Snapshot, opening_stock: Mapping[tuple[str, str], int] | None
) -> InvariantResult:
    result = InvariantResult(
        "units_shipped_equal_consumed", "units shipped = reservations consumed, no phantom units"
    )
    reservations = {r.order_id: r for r in snapshot.reservations}
    shipped_orders = {s.order_id for s in snapshot.shipments}
    for order in snapshot.orders:
        status = OrderStatus(order.status) if order.status in S.__members__ else None
        reservation = reservations.get(order.order_id)
        if status in SHIPPED_PHASE:
            allocation = sorted((a.sku, a.warehouse_id, int(a.quantity)) for a in order.allocation or [])
            consumed = sorted(
                (a.sku, a.warehouse_id, int(a.quantity)) for a in (reservation.lines if reservation else [])
            )
            if reservation is None or reservation.state != "CONSUMED" or allocation != consumed:
                result.violations.append(
                    f"{order.order_id}: shipped but consumed {consumed} for allocation {allocation}"
                )
        if (
            reservation is not None
            and reservation.state == "CONSUMED"
            and order.order_id not in shipped_orders
        ):
            result.violations.append(f"{order.order_id}: reservation consumed without a recorded shipment")
    consumed_units = _lines_by_item(snapshot.reservations, "CONSUMED")
    result.measured["units_consumed"] = sum(consumed_units.values())
    if opening_stock is not None:
        moved: Counter[tuple[str, str]] = Counter()
        for movement in snapshot.movements:
            moved[(movement.sku, movement.warehouse_id)] += int(movement.quantity_change)
        phantom = 0
        for item in snapshot.stock:
            key = (item.sku, item.warehouse_id)
            expected = opening_stock.get(key, 0) + moved.get(key, 0) - consumed_units.get(key, 0)
            if int(item.on_hand) != expected:
                phantom += int(item.on_hand) - expected
                result.violations.append(
                    f"{item.sku} in {item.warehouse_id}: on hand {int(item.on_hand)}, but opening "
                    f"{opening_stock.get(key, 0)} + movements {moved.get(key, 0)} - shipped "
                    f"{consumed_units.get(key, 0)} = {expected}"
                )
        result.measured["phantom_units"] = phantom
    return result


# -------------------------------------------------------------------------------------------- billing
def _amounts(document: InvoiceDocument) -> tuple[Decimal, Decimal]:
    return document.grand_total, document.tax_total


def shipped_orders_invoiced_once(snapshot: Snapshot) -> InvariantResult:
    result = InvariantResult(
        "invoiced_exactly_once", "every shipped order invoiced exactly once; record = JSON = PDF totals"
    )
    invoices = {i.order_id: i for i in snapshot.invoices}
    numbers = Counter(i.invoice_number for i in snapshot.invoices)
    for number, count in numbers.items():
        if count > 1:
            result.violations.append(f"{number} issued {count} times")
    for order in snapshot.orders:
        invoice = invoices.get(order.order_id)
        shipped = order.status in {s.value for s in SHIPPED_PHASE}
        if shipped and invoice is None:
            result.violations.append(f"{order.order_id}: {order.status} but not invoiced")
        if invoice is not None and not shipped and not order.shipment_exception:
            result.violations.append(
                f"{order.order_id}: invoiced ({invoice.invoice_number}) but {order.status}"
            )
        if invoice is None:
            continue
        if (
            order.billing_status != BillingStatus.INVOICED.value
            or order.invoice_number != invoice.invoice_number
        ):
            result.violations.append(
                f"{order.order_id}: invoice {invoice.invoice_number}, order says "
                f"{order.billing_status} {order.invoice_number}"
            )
        if not snapshot.documents:
            continue
        result.violations += _documents_agree(invoice, snapshot.documents)
    result.measured["invoices"] = len(snapshot.invoices)
    return result


def _documents_agree(invoice: object, documents: Mapping[str, bytes | None]) -> list[str]:
    number = invoice.invoice_number  # type: ignore[attr-defined]
    raw_json = documents.get(invoice.json_key)  # type: ignore[attr-defined]
    raw_pdf = documents.get(invoice.pdf_key)  # type: ignore[attr-defined]
    if raw_json is None or raw_pdf is None:
        return [f"{number}: {'JSON' if raw_json is None else 'PDF'} document missing"]
    try:
        document = InvoiceDocument.model_validate(json.loads(raw_json))
    except ValueError as exc:
        return [f"{number}: JSON document does not add up: {exc}"[:300]]
    problems = []
    record_amounts = (invoice.grand_total, invoice.tax_total)  # type: ignore[attr-defined]
    if _amounts(document) != record_amounts:
        problems.append(f"{number}: record totals {record_amounts} vs JSON {_amounts(document)}")
    if document.invoice_number != number:
        problems.append(f"{number}: JSON names {document.invoice_number}")
    if render_invoice_pdf(document) != raw_pdf:
        problems.append(f"{number}: the PDF is not the rendering of its JSON (totals may differ)")
    return problems


def invoice_numbers_gapless(snapshot: Snapshot) -> InvariantResult:
    result = InvariantResult("invoice_numbers_gapless", "invoice numbers gapless per year")
    by_year: dict[int, list[int]] = defaultdict(list)
    for invoice in snapshot.invoices:
        _, year_text, number_text = invoice.invoice_number.split("-")
        by_year[int(year_text)].append(int(number_text))
    for year in sorted(set(by_year) | set(snapshot.sequences)):
        numbers = sorted(by_year.get(year, []))
        last = snapshot.sequences.get(year, 0)
        if numbers != list(range(1, last + 1)):
            missing = sorted(set(range(1, last + 1)) - set(numbers))[:10]
            result.violations.append(
                f"{year}: {len(numbers)} invoices for sequence 1..{last}; missing {missing}, "
                f"extra {sorted(set(numbers) - set(range(1, last + 1)))[:10]}"
            )
    return result


# ------------------------------------------------------------------------------------------ audit trail
def audit_trail_complete(snapshot: Snapshot, *, settled: bool = True) -> InvariantResult:
    """Every order's audit chain verifies (hashes, links, no gaps) and, once the system is idle, has recorded
    every change the order counts (`change_no`)."""
    result = InvariantResult("audit_trail_complete", "every order's audit chain intact and complete")
    if not snapshot.audit_read:
        return result
    entries = 0
    for order in snapshot.orders:
        records = snapshot.audit.get(f"order:{order.order_id}", [])
        entries += len(records)
        stored = [StoredEntry(Decimal(str(r.seq)), entry_of(r)) for r in records]
        report = verify_chain(f"order:{order.order_id}", stored)
        result.violations += [str(f) for f in report.findings]
        recorded = max((int(r.applied_change or 0) for r in records), default=0)
        if settled and int(order.change_no or 0) > recorded:
            result.violations.append(
                f"{order.order_id}: {int(order.change_no or 0) - recorded} change(s) not in its audit trail"
            )
    result.measured["audit_entries"] = entries
    return result


# ------------------------------------------------------------------------------------------ operations
def dead_letters_actionable(snapshot: Snapshot) -> InvariantResult:
    result = InvariantResult(
        "dead_letters_actionable", "nothing in a DLQ without a record someone can act on"
    )
    orders = {o.order_id for o in snapshot.orders}
    skus = {s.sku for s in snapshot.stock}
    for letter in snapshot.dead_letters:
        subject = dead_letter_subject(letter)
        if subject.get("order_id") in orders or subject.get("sku") in skus:
            continue
        result.violations.append(
            f"{letter.queue} message {letter.message_id}: names no existing order or SKU "
            f"({letter.body[:120]!r})"
        )
    result.measured["dead_letters"] = len(snapshot.dead_letters)
    return result


def refused_requests_wrote_nothing(snapshot: Snapshot, refused: Sequence[Refusal]) -> InvariantResult:
    result = InvariantResult("refused_requests_wrote_nothing", "every refused request wrote nothing")
    orders = {o.order_id for o in snapshot.orders}
    movements = {(m.stock_key, m.movement_id) for m in snapshot.movements}
    for refusal in refused:
        if refusal.order_id and refusal.order_id in orders:
            result.violations.append(f"{refusal.what}: order {refusal.order_id} exists")
        if refusal.archive_key_part and any(refusal.archive_key_part in key for key in snapshot.archive_keys):
            result.violations.append(f"{refusal.what}: archived under {refusal.archive_key_part}")
        if refusal.movement and refusal.movement in movements:
            result.violations.append(f"{refusal.what}: ledger entry {refusal.movement}")
    result.measured["refused_requests"] = len(refused)
    return result
