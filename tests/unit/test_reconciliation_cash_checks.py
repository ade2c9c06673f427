"""The reconciliation's cash checks on hand-built records (no AWS), each expectation worked out by hand:
UNAPPLIED_CASH after N days, OVER_APPLIED on a source or an invoice, ORPHAN_CREDIT_NOTE; and what a cash
subject lets a run judge, so that a cleared condition closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace as NS
from typing import Any

from oms.domain.reconciliation import CashFacts, InvoiceApplications, RunContext
from oms.reconciliation.checks import REGISTRY, cash_subjects_judged, kinds_of, run_cash_checks
from oms.reconciliation.filing import changes_for

NOW = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)
CONTEXT = RunContext(period="2026-12-01", as_of=NOW, unapplied_after=timedelta(days=5))
D = Decimal


def payment(
    amount: str = "100.00", applied: str = "0.00", refunded: str = "0.00", received_on: str = "2026-11-26"
) -> NS:
    return NS(
        payment_id="pay_1",
        source="BANK",
        currency="EUR",
        amount=D(amount),
        applied=D(applied),
        refunded=D(refunded),
        customer_id=None,
        received_on=received_on,
        reference="ACME OCT",
    )


def invoice(total: str = "60.00") -> NS:
    return NS(invoice_number="INV-2026-0000007", order_id="ord_7", currency="EUR", grand_total=D(total))


def note(
    *, rma_id: str | None = "rma_1", unapplied: str = "0.00", issued_days_ago: int = 1, applied: str = "40.00"
) -> NS:
    return NS(
        credit_note_id="cn_rma_1",
        number="CN-2026-0000003",
        currency="EUR",
        amount=D("40.00"),
        applied=D(applied),
        unapplied=D(unapplied),
        customer_id="cus_9",
        rma_id=rma_id,
        issued_at=NOW - timedelta(days=issued_days_ago),
    )


def found(facts: CashFacts) -> list[tuple[str, str, str]]:
    return sorted((f.kind, f.subject, f.detail) for f in run_cash_checks(facts, CONTEXT))


def test_a_payment_with_a_remainder_five_days_after_it_was_received_is_unapplied_cash() -> None:
    # Given 100.00 received on 26 Nov, 60.00 of it applied: 40.00 left, and on 2 Dec it is 6 days old
    facts = CashFacts(
        "payment:pay_1",
        payment=payment(applied="60.00"),
        entries_applied=D("60.00"),
        invoices=[InvoiceApplications(invoice("60.00"), "INV-2026-0000007", D("60.00"))],
    )
    assert [(k, s) for k, s, _ in found(facts)] == [("UNAPPLIED_CASH", "payment:pay_1")]
    assert "EUR 40.00 not applied" in found(facts)[0][2]
    assert "6 days ago" in found(facts)[0][2]


def test_a_remainder_younger_than_n_days_or_none_at_all_is_not_an_exception() -> None:
    # received 28 Nov: 4 days old on 2 Dec (N = 5)
    young = CashFacts("payment:pay_1", payment=payment(received_on="2026-11-28"), entries_applied=D(0))
    assert found(young) == []
    # exactly 5 days old: an exception (after N days means on the N-th day)
    five = CashFacts("payment:pay_1", payment=payment(received_on="2026-11-27"), entries_applied=D(0))
    assert [k for k, _, _ in found(five)] == ["UNAPPLIED_CASH"]
    # applied 70 and refunded 30 of 100: nothing left
    settled = CashFacts(
        "payment:pay_1", payment=payment(applied="70.00", refunded="30.00"), entries_applied=D("70.00")
    )
    assert found(settled) == []


def test_entries_beyond_a_payments_amount_are_over_applied() -> None:
    # Given 100.00, of which 20.00 refunded, and entries applying 50.00 + 40.00 = 90.00 > 80.00 left
    facts = CashFacts(
        "payment:pay_1",
        payment=payment(applied="90.00", refunded="20.00"),
        entries_applied=D("90.00"),
    )
    (over,) = found(facts)
    assert over[:2] == ("OVER_APPLIED", "payment:pay_1")
    assert "entries apply 90.00 and 20.00 was refunded, more than its amount 100.00" in over[2]
    assert "balance says 90.00 applied of 100.00" in over[2]


def test_entries_beyond_an_invoices_total_are_over_applied_on_the_invoice() -> None:
    # Given an invoice of 60.00 with 45.00 from this payment and 25.00 from another source: 10.00 too much
    facts = CashFacts(
        "payment:pay_1",
        payment=payment(applied="45.00", received_on="2026-12-01"),
        entries_applied=D("45.00"),
        invoices=[InvoiceApplications(invoice("60.00"), "INV-2026-0000007", D("70.00"))],
    )
    (over,) = found(facts)
    assert over[:2] == ("OVER_APPLIED", "invoice:INV-2026-0000007")
    assert "has 70.00 applied: 10.00 too much" in over[2]
    # and an application to an invoice that does not exist is one too
    ghost = CashFacts(
        "invoice:INV-2026-0009999", invoices=[InvoiceApplications(None, "INV-2026-0009999", D("5.00"))]
    )
    assert [(k, s) for k, s, _ in found(ghost)] == [("OVER_APPLIED", "invoice:INV-2026-0009999")]


def test_a_reversed_application_nets_to_nothing() -> None:
    # 60.00 applied then reversed (-60.00), then 60.00 again: 60.00 on an invoice of 60.00
    facts = CashFacts(
        "payment:pay_1",
        payment=payment(amount="60.00", applied="60.00", received_on="2026-12-01"),
        entries_applied=D("60.00") - D("60.00") + D("60.00"),
        invoices=[InvoiceApplications(invoice("60.00"), "INV-2026-0000007", D("60.00"))],
    )
    assert found(facts) == []


def returned(credit_note_id: str | None, state: str = "CREDITED") -> NS:
    return NS(rma_id="rma_1", state=state, credit_note_id=credit_note_id)


def test_a_credit_note_of_a_credited_return_fully_applied_has_nothing_to_say() -> None:
    facts = CashFacts(
        "credit_note:cn_rma_1",
        credit_note=note(),
        entries_applied=D("40.00"),
        returned=returned("cn_rma_1"),
        returned_invoices={"INV-2026-0000007": True},
    )
    assert found(facts) == []


def test_credit_notes_belonging_to_nothing_are_orphans() -> None:
    cases = {
        "it names no return": CashFacts(
            "credit_note:cn_rma_1", credit_note=note(rma_id=None), entries_applied=D("40.00")
        ),
        "its return rma_1 does not exist": CashFacts(
            "credit_note:cn_rma_1", credit_note=note(), entries_applied=D("40.00")
        ),
        "its return rma_1 was credited by cn_other": CashFacts(
            "credit_note:cn_rma_1",
            credit_note=note(),
            entries_applied=D("40.00"),
            returned=returned("cn_other"),
        ),
        "its return rma_1 (RECEIVED) does not name it": CashFacts(
            "credit_note:cn_rma_1",
            credit_note=note(),
            entries_applied=D("40.00"),
            returned=returned(None, "RECEIVED"),
        ),
        "its return's invoice(s) INV-2026-0000404 do not exist": CashFacts(
            "credit_note:cn_rma_1",
            credit_note=note(),
            entries_applied=D("40.00"),
            returned=returned("cn_rma_1"),
            returned_invoices={"INV-2026-0000007": True, "INV-2026-0000404": False},
        ),
    }
    for reason, facts in cases.items():
        (orphan,) = found(facts)
        assert orphan[:2] == ("ORPHAN_CREDIT_NOTE", "credit_note:cn_rma_1"), reason
        assert reason in orphan[2]
        assert orphan[2].startswith("credit note CN-2026-0000003 of EUR 40.00 for cus_9: ")


def test_a_credit_note_left_unapplied_for_n_days_is_an_orphan_not_before() -> None:
    def left(days: int) -> CashFacts:
        return CashFacts(
            "credit_note:cn_rma_1",
            credit_note=note(unapplied="15.00", applied="25.00", issued_days_ago=days),
            entries_applied=D("25.00"),
            returned=returned("cn_rma_1"),
        )

    assert found(left(4)) == []
    (orphan,) = found(left(5))
    assert "EUR 15.00 of it unapplied 5 days after it was issued" in orphan[2]


def test_every_cash_kind_is_owned_by_accounts_receivable_and_escalates_to_finance() -> None:
    cash = {k.kind: k for k in kinds_of("cash")}
    assert set(cash) == {"UNAPPLIED_CASH", "OVER_APPLIED", "ORPHAN_CREDIT_NOTE"}
    for kind in cash.values():
        assert (kind.owner_group, kind.escalate_to) == ("accounts-receivable", "finance-managers")
    assert REGISTRY["OVER_APPLIED"].sla == timedelta(hours=24)


def test_a_payment_applied_since_closes_its_exception_and_a_rerun_changes_nothing() -> None:
    # Given the open UNAPPLIED_CASH of pay_1 (found by an earlier run)
    applied_now = CashFacts(
        "payment:pay_1",
        payment=payment(applied="100.00"),
        entries_applied=D("100.00"),
        invoices=[InvoiceApplications(invoice("100.00"), "INV-2026-0000007", D("100.00"))],
    )
    judged = cash_subjects_judged(applied_now)
    assert judged == {
        "UNAPPLIED_CASH#payment:pay_1",
        "OVER_APPLIED#payment:pay_1",
        "ORPHAN_CREDIT_NOTE#payment:pay_1",
        "OVER_APPLIED#invoice:INV-2026-0000007",
    }
    existing: dict[str, Any] = {"UNAPPLIED_CASH#payment:pay_1": NS(state="OPEN")}
    # When the run judges it again, fully applied
    changes = changes_for(run_cash_checks(applied_now, CONTEXT), existing, judged, CONTEXT)
    # Then it closes, and nothing else changes
    assert [(c.action, c.exception_id) for c in changes] == [("CLOSE", "UNAPPLIED_CASH#payment:pay_1")]
    # And while it is still unapplied, a rerun changes nothing
    still = CashFacts("payment:pay_1", payment=payment(), entries_applied=D(0))
    assert changes_for(run_cash_checks(still, CONTEXT), existing, cash_subjects_judged(still), CONTEXT) == []
