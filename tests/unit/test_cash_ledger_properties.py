"""Property: any sequence of invoices, payments, credit notes, applications, reversals, write-offs and refunds
keeps every ledger invariant, and the aging buckets always add up to the outstanding.

The oracle is outside the code under test: the test keeps the ledger entries it was given and recomputes
every balance from them (an invoice's applied = the sum of its entries; a source's = the sum of the entries
it made), and the aging total from the invoices' totals minus those sums."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from oms.cash import ledger
from oms.cash.ledger import CashError, CashSource, LedgerEntry, Receivable, SourceKind
from oms.cash.receivables import aging

CENTS = st.integers(min_value=1, max_value=200_000).map(lambda c: Decimal(c).scaleb(-2))
START = datetime(2026, 11, 2, 12, tzinfo=UTC)
TOLERANCE = Decimal("1.00")


class CashLedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.invoices: dict[str, Receivable] = {}
        self.sources: dict[str, CashSource] = {}
        self.entries: list[LedgerEntry] = []
        self.refunds: dict[str, Decimal] = {}
        self.day = 0
        self.counter = 0

    def _at(self) -> datetime:
        return START + timedelta(days=self.day)

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    @rule(total=CENTS, terms=st.sampled_from([0, 30, 60]), customer=st.sampled_from(["C1", "C2"]))
    def issue_invoice(self, total: Decimal, terms: int, customer: str) -> None:
        number = self._id("INV-")
        issued = self._at().date()
        self.invoices[number] = Receivable(
            number, f"ord{number}", customer, "USD", total, issued_on=issued, due_on=issued + timedelta(terms)
        )

    @rule(
        amount=CENTS, customer=st.sampled_from(["C1", "C2", None]), kind=st.sampled_from(list(SourceKind)[:2])
    )
    def receive(self, amount: Decimal, customer: str | None, kind: SourceKind) -> None:
        source_id = self._id("pay" if kind is SourceKind.PAYMENT else "cn")
        self.sources[source_id] = CashSource(source_id, kind, "USD", amount, customer)

    @precondition(lambda self: self.invoices and self.sources)
    @rule(data=st.data())
    def apply(self, data: st.DataObject) -> None:
        source = self.sources[data.draw(st.sampled_from(sorted(self.sources)))]
        receivable = self.invoices[data.draw(st.sampled_from(sorted(self.invoices)))]
        amount = data.draw(CENTS)
        try:
            applied = ledger.apply(
                source, receivable, amount, entry_id=self._id("e"), at=self._at(), by="user:t", reason="test"
            )
        except CashError:
            # Refused: only when it really would break a rule (checked against the oracle's numbers).
            assert (
                amount > self._outstanding(receivable.invoice_number)
                or amount > self._unapplied(source.source_id)
                or (source.customer_id not in (None, receivable.customer_id))
            )
            return
        self._take(applied)

    @precondition(lambda self: any(e.reverses is None for e in self.entries))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from([e for e in self.entries if e.reverses is None]))
        reversed_already = any(e.reverses == entry.entry_id for e in self.entries)
        source = self.sources.get(entry.source_id)
        try:
            applied = ledger.reverse(
                entry,
                source,
                self.invoices[entry.invoice_number],
                at=self._at(),
                by="user:t",
                reason="correction",
                already_reversed=reversed_already,
            )
        except CashError:
            assert reversed_already
            return
        assert not reversed_already
        self._take(applied)

    @precondition(lambda self: self.invoices)
    @rule(data=st.data())
    def write_off(self, data: st.DataObject) -> None:
        receivable = self.invoices[data.draw(st.sampled_from(sorted(self.invoices)))]
        amount = data.draw(st.integers(min_value=1, max_value=150).map(lambda c: Decimal(c).scaleb(-2)))
        try:
            applied = ledger.write_off(
                receivable,
                amount,
                tolerance=TOLERANCE,
                entry_id=self._id("w"),
                at=self._at(),
                by="t",
                reason="x",
            )
        except CashError:
            assert amount > TOLERANCE or amount > self._outstanding(receivable.invoice_number)
            return
        self._take(applied)

    @precondition(lambda self: any(s.kind is SourceKind.PAYMENT for s in self.sources.values()))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        payments = sorted(s for s, v in self.sources.items() if v.kind is SourceKind.PAYMENT)
        source = self.sources[data.draw(st.sampled_from(payments))]
        amount = data.draw(CENTS)
        try:
            self.sources[source.source_id] = ledger.refund(source, amount)
        except CashError:
            assert amount > self._unapplied(source.source_id)
            return
        self.refunds[source.source_id] = self.refunds.get(source.source_id, Decimal(0)) + amount

    @rule(days=st.integers(min_value=1, max_value=40))
    def time_passes(self, days: int) -> None:
        self.day += days

    # ------------------------------------------------------------------ the oracle
    def _take(self, applied: ledger.Applied) -> None:
        self.entries.append(applied.entry)
        self.invoices[applied.receivable.invoice_number] = applied.receivable
        if applied.source is not None:
            self.sources[applied.source.source_id] = applied.source

    def _applied_to(self, invoice_number: str) -> Decimal:
        return sum((e.amount for e in self.entries if e.invoice_number == invoice_number), Decimal(0))

    def _outstanding(self, invoice_number: str) -> Decimal:
        return self.invoices[invoice_number].total - self._applied_to(invoice_number)

    def _unapplied(self, source_id: str) -> Decimal:
        made = sum((e.amount for e in self.entries if e.source_id == source_id), Decimal(0))
        return self.sources[source_id].amount - made - self.refunds.get(source_id, Decimal(0))

    @invariant()
    def outstanding_is_total_less_the_ledger_and_never_negative(self) -> None:
        for number, receivable in self.invoices.items():
            assert receivable.outstanding == self._outstanding(number)
            assert Decimal(0) <= receivable.outstanding <= receivable.total
            assert (receivable.paid_on is not None) == (receivable.outstanding == 0)

    @invariant()
    def no_source_applies_or_refunds_more_than_it_holds(self) -> None:
        for source_id, source in self.sources.items():
            assert source.unapplied == self._unapplied(source_id)
            assert Decimal(0) <= source.applied + source.refunded <= source.amount

    @invariant()
    def each_entry_is_reversed_at_most_once(self) -> None:
        reversed_ids = [e.reverses for e in self.entries if e.reverses]
        assert len(reversed_ids) == len(set(reversed_ids))

    @invariant()
    def aging_buckets_add_up_to_the_outstanding(self) -> None:
        as_of = (START + timedelta(days=self.day)).date()
        report = aging(self.invoices.values(), as_of, [30, 60, 90, 120])
        expected = sum((self._outstanding(n) for n in self.invoices), Decimal(0))
        assert sum(report.totals.get("USD", {}).values(), Decimal(0)) == expected
        assert report.outstanding.get("USD", Decimal(0)) == expected
        for row in report.rows:
            assert sum(row.buckets.values(), Decimal(0)) == row.outstanding


CashLedgerMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_cash_ledger_keeps_its_invariants = CashLedgerMachine.TestCase


def test_aging_puts_not_yet_due_invoices_in_a_bucket_of_their_own() -> None:
    # Given three invoices as of 2026-12-31: due in January, 10 days late, 95 days late (hand-worked)
    as_of = date(2026, 12, 31)
    invoices = [
        Receivable("A", "o1", "C1", "USD", Decimal("100.00"), due_on=date(2027, 1, 15)),
        Receivable("B", "o2", "C1", "USD", Decimal("250.00"), Decimal("50.00"), due_on=date(2026, 12, 21)),
        Receivable("C", "o3", "C1", "USD", Decimal("40.00"), due_on=date(2026, 9, 27)),
    ]
    report = aging(invoices, as_of, [30, 60, 90, 120])
    (row,) = report.rows
    assert row.buckets == {
        "not yet due": Decimal("100.00"),
        "1-30": Decimal("200.00"),
        "31-60": Decimal("0"),
        "61-90": Decimal("0"),
        "91-120": Decimal("40.00"),
        "over 120": Decimal("0"),
    }
    assert row.outstanding == Decimal("340.00")
