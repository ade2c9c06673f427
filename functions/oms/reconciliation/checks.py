"""The reconciliation's checks, as a registry: each exception kind with its owner group, SLA, escalation and
the pure function that finds it. Two scopes today:

* ``order``: judged per order of a segment, over the order, its reservation, shipments and invoice
  (:class:`OrderFacts`); the run fans out over segments of the period's orders;
* ``ledger``: judged once per run over the stock items, the stock ledger and the DLQs (:class:`LedgerFacts`);
* ``cash``: judged per cash subject of a segment (a payment, a credit note or an invoice, with the application
  ledger's entries: :class:`CashFacts`); the run's plan cuts the period's payments and credit notes, the open
  credit and the subjects of open cash exceptions into segments of their own (decision 0044).

Checks never raise on bad data and read nothing: the data layer (oms.data.reconciliation) reads the facts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from oms.domain.reconciliation import (
    CashFacts,
    Finding,
    LedgerFacts,
    OrderFacts,
    RunContext,
    exception_id,
)
from oms.domain.status import OrderStatus

S = OrderStatus
SHIPPED_PHASE = {S.SHIPPED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERY_EXCEPTION, S.DELIVERED}
__all__ = [
    "REGISTRY",
    "CashFacts",
    "Finding",
    "LedgerFacts",
    "OrderFacts",
    "RunContext",
    "exception_id",
    "register",
]


OrderCheck = Callable[[OrderFacts, RunContext], Iterable[Finding]]
LedgerCheck = Callable[[LedgerFacts, RunContext], Iterable[Finding]]


@dataclass(frozen=True)
class ExceptionType:
    kind: str
    scope: str
    owner_group: str
    """The group that works it (the `owner` column of `ops exceptions list`)."""
    sla: timedelta
    """How long the owner has before it escalates."""
    escalate_to: str
    description: str
    check: Callable[..., Iterable[Finding]]


REGISTRY: dict[str, ExceptionType] = {}


def register(
    kind: str, *, scope: str, owner_group: str, sla_hours: float, escalate_to: str, description: str
) -> Callable[[Callable[..., Iterable[Finding]]], Callable[..., Iterable[Finding]]]:
    """Add a check to the registry (a module of another business area registers its own kinds)."""

    def add(check: Callable[..., Iterable[Finding]]) -> Callable[..., Iterable[Finding]]:
        if kind in REGISTRY:
            raise ValueError(f"exception kind {kind} is registered twice")
        REGISTRY[kind] = ExceptionType(
            kind, scope, owner_group, timedelta(hours=sla_hours), escalate_to, description, check
        )
        return check

    return add


def kinds_of(scope: str) -> list[ExceptionType]:
    return [t for t in REGISTRY.values() if t.scope == scope]


def run_order_checks(facts: OrderFacts, context: RunContext) -> list[Finding]:
    found: list[Finding] = []
    for kind in kinds_of("order"):
        found += list(kind.check(facts, context))
    return found


def run_ledger_checks(facts: LedgerFacts, context: RunContext) -> list[Finding]:
    found: list[Finding] = []
    for kind in kinds_of("ledger"):
        found += list(kind.check(facts, context))
    return found


def run_cash_checks(facts: CashFacts, context: RunContext) -> list[Finding]:
    found: list[Finding] = []
    for kind in kinds_of("cash"):
        found += list(kind.check(facts, context))
    return found


def cash_subjects_judged(facts: CashFacts) -> set[str]:
    """Every exception id a cash subject's facts let a run judge (what it does not find among them cleared):
    each cash kind about the subject, and OVER_APPLIED about each invoice its entries reach."""
    ids = {exception_id(kind.kind, facts.subject) for kind in kinds_of("cash")}
    ids |= {exception_id("OVER_APPLIED", f"invoice:{i.invoice_number}") for i in facts.invoices}
    return ids


# ------------------------------------------------------------------------------------------ order scope
def _status(order: Any) -> OrderStatus | None:
    return OrderStatus(order.status) if order.status in S.__members__ else None


@register(
    "SHIPPED_NOT_INVOICED",
    scope="order",
    owner_group="billing",
    sla_hours=24,
    escalate_to="finance-managers",
    description="shipped, and still not invoiced after the grace period",
)
def shipped_not_invoiced(facts: OrderFacts, context: RunContext) -> Iterable[Finding]:
    if facts.invoice is not None or not facts.shipments:
        return []
    first = min(s.shipped_at for s in facts.shipments)
    if context.as_of - first < context.invoice_grace:
        return []
    order = facts.order
    hours = (context.as_of - first).total_seconds() / 3600
    return [
        Finding(
            "SHIPPED_NOT_INVOICED",
            f"order:{order.order_id}",
            f"shipped {first.isoformat(timespec='minutes')} ({hours:.1f} h ago, from "
            f"{', '.join(sorted({s.warehouse_id for s in facts.shipments}))}), no invoice; status "
            f"{order.status}, billing {order.billing_status}",
            order_id=order.order_id,
        )
    ]


@register(
    "INVOICED_NOT_SHIPPED",
    scope="order",
    owner_group="fulfillment",
    sla_hours=24,
    escalate_to="operations-managers",
    description="invoiced, but no shipment recorded",
)
def invoiced_not_shipped(facts: OrderFacts, context: RunContext) -> Iterable[Finding]:
    if facts.invoice is None or facts.shipments:
        return []
    order = facts.order
    return [
        Finding(
            "INVOICED_NOT_SHIPPED",
            f"order:{order.order_id}",
            f"invoice {facts.invoice.invoice_number} issued "
            f"{facts.invoice.issued_at.isoformat(timespec='minutes')} but no shipment recorded; "
            f"status {order.status}",
            order_id=order.order_id,
        )
    ]


def _units(lines: Iterable[Any], *, by_warehouse: bool = False) -> Counter[Any]:
    units: Counter[Any] = Counter()
    for line in lines or []:
        key = (line.sku, line.warehouse_id) if by_warehouse else line.sku
        units[key] += int(line.quantity)
    return units


@register(
    "QUANTITY_MISMATCH",
    scope="order",
    owner_group="fulfillment",
    sla_hours=48,
    escalate_to="operations-managers",
    description="a shipped order's units ordered, allocated, taken from stock and shipped disagree",
)
def quantity_mismatch(facts: OrderFacts, context: RunContext) -> Iterable[Finding]:
    order = facts.order
    if _status(order) not in SHIPPED_PHASE or order.shipment_exception:
        return []
    ordered = _units(order.lines)
    allocated_by_wh = _units(order.allocation or [], by_warehouse=True)
    allocated = Counter[str]()
    for (sku, _), quantity in allocated_by_wh.items():
        allocated[sku] += quantity
    consumed = _units(facts.reservation.lines if facts.reservation else [], by_warehouse=True)
    problems = []
    if ordered != allocated:
        problems.append(
            f"ordered {dict(sorted(ordered.items()))} but allocated {dict(sorted(allocated.items()))}"
        )
    if consumed != allocated_by_wh:
        problems.append(f"allocated {_by_item(allocated_by_wh)} but taken from stock {_by_item(consumed)}")
    shipped_from = {s.warehouse_id for s in facts.shipments}
    allocated_from = {wh for _, wh in allocated_by_wh}
    if shipped_from - allocated_from:
        problems.append(
            f"shipped from {sorted(shipped_from - allocated_from)}, which hold(s) no allocation of it"
        )
    if not problems:
        return []
    return [
        Finding("QUANTITY_MISMATCH", f"order:{order.order_id}", "; ".join(problems), order_id=order.order_id)
    ]


def _by_item(units: Mapping[tuple[str, str], int]) -> str:
    return ", ".join(f"{sku}@{wh} {n}" for (sku, wh), n in sorted(units.items())) or "nothing"


# ----------------------------------------------------------------------------------------- ledger scope
@register(
    "STOCK_LEDGER_DRIFT",
    scope="ledger",
    owner_group="inventory-control",
    sla_hours=24,
    escalate_to="operations-managers",
    description="a stock item's on hand is not what its ledger explains (a change bypassed the ledger)",
)
def stock_ledger_drift(facts: LedgerFacts, context: RunContext) -> Iterable[Finding]:
    found = []
    for item in facts.stock:
        key = (item.sku, item.warehouse_id)
        on_hand, reserved, available = int(item.on_hand), int(item.reserved), int(item.available)
        problems = []
        if key in facts.openings:
            expected = facts.openings[key] + facts.moved.get(key, 0) - facts.shipped.get(key, 0)
            if on_hand != expected:
                problems.append(
                    f"on hand {on_hand}, the ledger explains {expected} (opening {facts.openings[key]} + "
                    f"movements {facts.moved.get(key, 0)} - shipped {facts.shipped.get(key, 0)}): "
                    f"{on_hand - expected:+d} unexplained"
                )
        if on_hand != available + reserved:
            problems.append(f"on hand {on_hand} != available {available} + reserved {reserved}")
        if problems:
            found.append(
                Finding(
                    "STOCK_LEDGER_DRIFT",
                    f"stock:{item.sku}#{item.warehouse_id}",
                    "; ".join(problems),
                    sku=item.sku,
                )
            )
    return found


@register(
    "DEAD_LETTER_WITHOUT_RECORD",
    scope="ledger",
    owner_group="operations",
    sla_hours=4,
    escalate_to="engineering-on-call",
    description="a message waits in a DLQ naming no order or SKU anyone could look up",
)
def dead_letter_without_record(facts: LedgerFacts, context: RunContext) -> Iterable[Finding]:
    skus = {item.sku for item in facts.stock}
    found = []
    for letter in facts.dead_letters:
        subject = facts.dead_letter_subjects.get(letter.message_id, {})
        if subject.get("order_id") in facts.known_orders or subject.get("sku") in skus:
            continue
        found.append(
            Finding(
                "DEAD_LETTER_WITHOUT_RECORD",
                f"dlq:{letter.queue}#{letter.message_id}",
                f"{letter.queue} message {letter.message_id} (received {letter.receive_count} times) names "
                f"no existing order or SKU: {letter.body[:160]!r}",
            )
        )
    return found


# ------------------------------------------------------------------------------------------- cash scope
def _age_in_days(since: date, context: RunContext) -> int:
    return (context.as_of.date() - since).days


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal("0")


@register(
    "UNAPPLIED_CASH",
    scope="cash",
    owner_group="accounts-receivable",
    sla_hours=48,
    escalate_to="finance-managers",
    description="a payment still has an unapplied remainder after the allowed days",
)
def unapplied_cash(facts: CashFacts, context: RunContext) -> Iterable[Finding]:
    payment = facts.payment
    if payment is None:
        return []
    remainder = _money(payment.amount) - _money(payment.applied) - _money(payment.refunded)
    if remainder <= 0:
        return []
    age = _age_in_days(date.fromisoformat(payment.received_on), context)
    if age < context.unapplied_after.days:
        return []
    payer = payment.customer_id or "an unidentified payer"
    return [
        Finding(
            "UNAPPLIED_CASH",
            facts.subject,
            f"{payment.source} payment of {payment.currency} {_money(payment.amount)} from {payer}, received "
            f"{payment.received_on} ({age} days ago): {payment.currency} {remainder} not applied "
            f"(reference {payment.reference or 'none'!r})",
        )
    ]


@register(
    "OVER_APPLIED",
    scope="cash",
    owner_group="accounts-receivable",
    sla_hours=24,
    escalate_to="finance-managers",
    description="applications exceed a payment's or credit note's amount, or an invoice's total",
)
def over_applied(facts: CashFacts, context: RunContext) -> Iterable[Finding]:
    found: list[Finding] = []
    source = facts.payment or facts.credit_note
    if source is not None:
        amount = _money(source.amount)
        refunded = _money(getattr(source, "refunded", None)) if facts.payment is not None else Decimal("0")
        problems = []
        entries = _money(facts.entries_applied)
        if entries + refunded > amount:
            problems.append(
                f"its ledger entries apply {entries}"
                + (f" and {refunded} was refunded" if refunded else "")
                + f", more than its amount {amount}"
            )
        if _money(source.applied) + refunded > amount:
            problems.append(f"its balance says {_money(source.applied)} applied of {amount}")
        if problems:
            found.append(Finding("OVER_APPLIED", facts.subject, f"{source.currency}: " + "; ".join(problems)))
    for applied in facts.invoices:
        subject = f"invoice:{applied.invoice_number}"
        invoice = applied.invoice
        if invoice is None:
            if _money(applied.applied) != 0:
                found.append(
                    Finding(
                        "OVER_APPLIED",
                        subject,
                        f"{_money(applied.applied)} applied to invoice {applied.invoice_number}, which does "
                        "not exist",
                    )
                )
            continue
        total, on_it = _money(invoice.grand_total), _money(applied.applied)
        if on_it > total:
            found.append(
                Finding(
                    "OVER_APPLIED",
                    subject,
                    f"invoice {applied.invoice_number} (order {invoice.order_id}) of {invoice.currency} "
                    f"{total} has {on_it} applied: {on_it - total} too much",
                    order_id=invoice.order_id,
                )
            )
    return found


@register(
    "ORPHAN_CREDIT_NOTE",
    scope="cash",
    owner_group="accounts-receivable",
    sla_hours=72,
    escalate_to="finance-managers",
    description="a credit note belongs to no return or invoice, or stays unapplied after the allowed days",
)
def orphan_credit_note(facts: CashFacts, context: RunContext) -> Iterable[Finding]:
    note = facts.credit_note
    if note is None:
        return []
    problems = []
    if not note.rma_id:
        problems.append("it names no return")
    elif facts.returned is None:
        problems.append(f"its return {note.rma_id} does not exist")
    else:
        credited_by = facts.returned.credit_note_id
        if credited_by and credited_by != note.credit_note_id:
            problems.append(f"its return {note.rma_id} was credited by {credited_by}")
        elif not credited_by:
            problems.append(f"its return {note.rma_id} ({facts.returned.state}) does not name it")
        missing = sorted(number for number, exists in facts.returned_invoices.items() if not exists)
        if missing:
            problems.append(f"its return's invoice(s) {', '.join(missing)} do not exist")
    remainder = _money(note.unapplied)
    if remainder > 0 and note.issued_at is not None:
        age = _age_in_days(note.issued_at.date(), context)
        if age >= context.unapplied_after.days:
            problems.append(f"{note.currency} {remainder} of it unapplied {age} days after it was issued")
    if not problems:
        return []
    return [
        Finding(
            "ORPHAN_CREDIT_NOTE",
            facts.subject,
            f"credit note {note.number or note.credit_note_id} of {note.currency} {_money(note.amount)} for "
            f"{note.customer_id}: " + "; ".join(problems),
        )
    ]
