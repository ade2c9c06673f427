"""The reconciliation's checks, as a registry: each exception kind with its owner group, SLA, escalation and
the pure function that finds it. Two scopes today:

* ``order``: judged per order of a segment, over the order, its reservation, shipments and invoice
  (:class:`OrderFacts`); the run fans out over segments of the period's orders;
* ``ledger``: judged once per run over the stock items, the stock ledger and the DLQs (:class:`LedgerFacts`).

A further area (cash: UNAPPLIED_CASH, OVER_APPLIED, ORPHAN_CREDIT_NOTE) plugs in with ``register`` in a
scope of its own, whose facts its own reader provides; nothing here changes (decision 0038).

Checks never raise on bad data and read nothing: the data layer (oms.data.reconciliation) reads the facts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from oms.domain.reconciliation import Finding, LedgerFacts, OrderFacts, RunContext, exception_id
from oms.domain.status import OrderStatus

S = OrderStatus
SHIPPED_PHASE = {S.SHIPPED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERY_EXCEPTION, S.DELIVERED}
__all__ = ["REGISTRY", "Finding", "LedgerFacts", "OrderFacts", "RunContext", "exception_id", "register"]


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
