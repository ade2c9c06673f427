"""The reconciliation's checks and its filing rules, on hand-built records (no AWS): what each kind finds,
and that filing opens new findings, leaves standing ones alone (a rerun changes nothing), closes what cleared
and reopens what came back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace as NS
from typing import Any

import pytest

from oms.data.snapshot import DeadLetter
from oms.domain.reconciliation import LedgerFacts, OrderFacts, RunContext
from oms.reconciliation.checks import REGISTRY, register, run_ledger_checks, run_order_checks
from oms.reconciliation.filing import changes_for, past_sla

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
CONTEXT = RunContext(period="2026-12-01", as_of=NOW, invoice_grace=timedelta(hours=4))


def line(sku: str, quantity: int, warehouse: str | None = None) -> NS:
    return NS(sku=sku, quantity=quantity, warehouse_id=warehouse)


def facts(
    status: str = "SHIPPED",
    *,
    ordered: tuple[tuple[str, int], ...] = (("A", 2), ("B", 1)),
    allocated: tuple[tuple[str, str, int], ...] = (("A", "WH-1", 2), ("B", "WH-1", 1)),
    consumed: tuple[tuple[str, str, int], ...] | None = None,
    shipped_hours_ago: float | None = 5,
    shipped_from: str = "WH-1",
    invoiced: bool = False,
) -> OrderFacts:
    order = NS(
        order_id="ord_1",
        status=status,
        billing_status="INVOICED" if invoiced else "NOT_INVOICED",
        lines=[line(s, q) for s, q in ordered],
        allocation=[line(s, q, w) for s, w, q in allocated],
        shipment_exception=None,
    )
    consumed = allocated if consumed is None else consumed
    reservation = NS(state="CONSUMED", lines=[line(s, q, w) for s, w, q in consumed])
    shipments = (
        [NS(shipped_at=NOW - timedelta(hours=shipped_hours_ago), warehouse_id=shipped_from)]
        if shipped_hours_ago is not None
        else []
    )
    invoice = NS(invoice_number="INV-2026-000001", issued_at=NOW - timedelta(hours=1)) if invoiced else None
    return OrderFacts(order=order, reservation=reservation, shipments=shipments, invoice=invoice)


def kinds(found: list[Any]) -> list[str]:
    return sorted(f.kind for f in found)


def test_a_shipment_uninvoiced_past_the_grace_period_is_shipped_not_invoiced() -> None:
    assert kinds(run_order_checks(facts(shipped_hours_ago=5), CONTEXT)) == ["SHIPPED_NOT_INVOICED"]
    # within the 4-hour grace, invoicing may still be on its way
    assert run_order_checks(facts(shipped_hours_ago=3.9), CONTEXT) == []
    assert run_order_checks(facts(invoiced=True), CONTEXT) == []


def test_an_invoice_without_a_shipment_is_invoiced_not_shipped() -> None:
    found = run_order_checks(facts("FULFILLMENT_REQUESTED", shipped_hours_ago=None, invoiced=True), CONTEXT)
    assert kinds(found) == ["INVOICED_NOT_SHIPPED"]
    assert "INV-2026-000001" in found[0].detail


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"allocated": (("A", "WH-1", 1), ("B", "WH-1", 1))}, "ordered {'A': 2, 'B': 1} but allocated"),
        ({"consumed": (("A", "WH-1", 2),)}, "taken from stock A@WH-1 2"),
        ({"shipped_from": "WH-9"}, "shipped from ['WH-9']"),
    ],
)
def test_units_that_disagree_along_the_way_are_a_quantity_mismatch(
    change: dict[str, Any], expected: str
) -> None:
    found = run_order_checks(facts(invoiced=True, **change), CONTEXT)
    assert kinds(found) == ["QUANTITY_MISMATCH"]
    assert expected in found[0].detail


def test_a_consistent_shipped_and_invoiced_order_has_nothing_to_say() -> None:
    assert run_order_checks(facts(invoiced=True), CONTEXT) == []
    assert run_order_checks(facts("ON_HOLD", allocated=(), shipped_hours_ago=None), CONTEXT) == []


def stock(sku: str, on_hand: int, reserved: int = 0, available: int | None = None) -> NS:
    return NS(
        sku=sku,
        warehouse_id="WH-1",
        on_hand=on_hand,
        reserved=reserved,
        available=on_hand - reserved if available is None else available,
    )


def test_stock_the_ledger_does_not_explain_is_drift() -> None:
    # Hand-worked: opening 100, ledger +20 (a receipt) -5 (an adjustment), 12 shipped: 103 explained
    ledger = LedgerFacts(
        stock=[stock("A", 108), stock("B", 50), stock("C", 10, reserved=4, available=5)],
        moved={("A", "WH-1"): 15},
        shipped={("A", "WH-1"): 12},
        openings={("A", "WH-1"): 100, ("B", "WH-1"): 50, ("C", "WH-1"): 10},
    )
    found = run_ledger_checks(ledger, CONTEXT)
    assert [(f.subject, f.kind) for f in found] == [
        ("stock:A#WH-1", "STOCK_LEDGER_DRIFT"),
        ("stock:C#WH-1", "STOCK_LEDGER_DRIFT"),
    ]
    assert "the ledger explains 103" in found[0].detail
    assert "+5 unexplained" in found[0].detail
    assert "on hand 10 != available 5 + reserved 4" in found[1].detail


def test_a_dead_letter_naming_nothing_known_is_an_exception_one_naming_an_order_is_not() -> None:
    letters = [
        DeadLetter("InvoiceDLQ", "m-1", '{"order_id": "ord_1"}', 1),
        DeadLetter("InvoiceDLQ", "m-2", '{"order_id": "ord_gone"}', 1),
        DeadLetter("BackorderDLQ", "m-3", "not json", 2),
    ]
    ledger = LedgerFacts(
        stock=[],
        moved={},
        shipped={},
        openings={},
        dead_letters=letters,
        dead_letter_subjects={"m-1": {"order_id": "ord_1"}, "m-2": {"order_id": "ord_gone"}, "m-3": {}},
        known_orders={"ord_1"},
    )
    found = run_ledger_checks(ledger, CONTEXT)
    assert [f.subject for f in found] == ["dlq:InvoiceDLQ#m-2", "dlq:BackorderDLQ#m-3"]
    assert {f.kind for f in found} == {"DEAD_LETTER_WITHOUT_RECORD"}


def test_every_kind_has_an_owner_an_sla_and_an_escalation() -> None:
    assert set(REGISTRY) >= {
        "SHIPPED_NOT_INVOICED",
        "INVOICED_NOT_SHIPPED",
        "QUANTITY_MISMATCH",
        "STOCK_LEDGER_DRIFT",
        "DEAD_LETTER_WITHOUT_RECORD",
    }
    for kind in REGISTRY.values():
        assert kind.owner_group
        assert kind.escalate_to
        assert kind.sla > timedelta(0)
        assert kind.owner_group != kind.escalate_to


def test_a_kind_registers_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register(
            "SHIPPED_NOT_INVOICED",
            scope="order",
            owner_group="x",
            sla_hours=1,
            escalate_to="y",
            description="",
        )(lambda facts, context: [])


# ---------------------------------------------------------------------------------------------- filing
def record(state: str, due: datetime | None = None, escalated: datetime | None = None) -> NS:
    return NS(state=state, sla_due_at=due or NOW, escalated_at=escalated)


def test_filing_opens_new_findings_with_the_kinds_sla_and_owner() -> None:
    found = run_order_checks(facts(), CONTEXT)
    changes = changes_for(found, {}, {found[0].exception_id}, CONTEXT)
    assert [(c.action, c.exception_id) for c in changes] == [("OPEN", "SHIPPED_NOT_INVOICED#order:ord_1")]
    assert changes[0].sla_due_at == NOW + timedelta(hours=24)
    assert (changes[0].owner_group, changes[0].escalate_to) == ("billing", "finance-managers")


def test_a_rerun_that_finds_the_same_changes_nothing() -> None:
    found = run_order_checks(facts(), CONTEXT)
    assert changes_for(found, {found[0].exception_id: record("OPEN")}, {found[0].exception_id}, CONTEXT) == []


def test_what_cleared_closes_and_what_came_back_reopens() -> None:
    judged = {"SHIPPED_NOT_INVOICED#order:ord_1", "INVOICED_NOT_SHIPPED#order:ord_1"}
    existing = {"SHIPPED_NOT_INVOICED#order:ord_1": record("OPEN")}
    closing = changes_for([], existing, judged, CONTEXT)
    assert [(c.action, c.exception_id) for c in closing] == [("CLOSE", "SHIPPED_NOT_INVOICED#order:ord_1")]
    assert closing[0].reason.startswith("cleared")
    found = run_order_checks(facts(), CONTEXT)
    reopening = changes_for(found, {found[0].exception_id: record("CLOSED")}, judged, CONTEXT)
    assert [c.action for c in reopening] == ["REOPEN"]
    # a closed one that is still clear stays as it is
    assert changes_for([], {"INVOICED_NOT_SHIPPED#order:ord_1": record("CLOSED")}, judged, CONTEXT) == []


def test_only_open_exceptions_past_their_sla_and_not_yet_escalated_escalate() -> None:
    due = record("OPEN", NOW - timedelta(minutes=1))
    records = [due, record("OPEN", NOW + timedelta(hours=1)), record("CLOSED", NOW - timedelta(days=1))]
    records.append(record("OPEN", NOW - timedelta(days=1), escalated=NOW - timedelta(hours=2)))
    assert past_sla(records, NOW) == [due]
