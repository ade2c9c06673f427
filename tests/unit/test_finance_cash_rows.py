"""The export's cash and approval rows on hand-built records (no AWS), worked by hand: the aging snapshot as
one row per customer, currency and bucket; a day's cash received and applied per currency; the day's DSO;
an approval's SLA and time to decide; and no personal field in any of the new tables."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace as NS

from oms.finance.cash_rows import (
    aging_rows,
    approval_row,
    dso_of_day,
    payment_row,
    receivables_rows,
)
from oms.finance.schema import TABLES

D = Decimal
NOW = datetime(2026, 12, 2, 2, 15, tzinfo=UTC)
SNAPSHOT = {
    "as_of": "2026-12-01",
    "buckets": ["not_due", "1-30", "31-60"],
    "aging": [
        {"customer_id": "cus_1", "currency": "EUR", "buckets": {"not_due": "100.00", "1-30": "20.00"}},
        {"customer_id": "cus_2", "currency": "EUR", "buckets": {"31-60": "5.50"}},
    ],
    "outstanding": {"EUR": "125.50"},
    "unapplied_credit": {"EUR": "7.00"},
    "dso": {"EUR": {"standard_30d": "12.6", "countback": "9.4", "credit_sales_30d": "300.00"}},
}


def test_the_aging_snapshot_is_one_row_per_customer_currency_and_bucket() -> None:
    rows = aging_rows(SNAPSHOT)
    assert [(r["customer_id"], r["bucket"], r["bucket_order"], r["amount"]) for r in rows] == [
        ("cus_1", "not_due", 0, D("100.00")),
        ("cus_1", "1-30", 1, D("20.00")),
        ("cus_1", "31-60", 2, D("0")),
        ("cus_2", "not_due", 0, D("0")),
        ("cus_2", "1-30", 1, D("0")),
        ("cus_2", "31-60", 2, D("5.50")),
    ]
    # the buckets add up to the snapshot's outstanding
    assert sum(r["amount"] for r in rows) == D(SNAPSHOT["outstanding"]["EUR"])  # type: ignore[index]
    assert aging_rows(None) == []


def entry(kind: str, amount: str, currency: str = "EUR") -> NS:
    return NS(source_kind=kind, amount=D(amount), currency=currency)


def test_the_days_cash_received_and_applied_per_currency() -> None:
    # Given 50.00 + 30.00 EUR received and 10.00 USD; applied 50.00, then 20.00 reversed (-20.00) and 30.00;
    # a credit note of 7.00 applied; a write-off of 1.00 (neither cash nor credit)
    payments = [
        {"currency": "EUR", "amount": D("50.00")},
        {"currency": "EUR", "amount": D("30.00")},
        {"currency": "USD", "amount": D("10.00")},
    ]
    entries = [
        entry("PAYMENT", "50.00"),
        entry("PAYMENT", "-20.00"),
        entry("PAYMENT", "30.00"),
        entry("CREDIT_NOTE", "7.00"),
        entry("WRITE_OFF", "1.00"),
    ]
    rows = {r["currency"]: r for r in receivables_rows(SNAPSHOT, payments, entries)}
    assert set(rows) == {"EUR", "USD"}
    eur = rows["EUR"]
    assert (eur["payments_received"], eur["cash_applied"], eur["credit_applied"]) == (
        D("80.00"),
        D("60.00"),
        D("7.00"),
    )
    assert (eur["outstanding"], eur["unapplied_credit"], eur["dso_standard_days"]) == (
        D("125.50"),
        D("7.00"),
        12.6,
    )
    usd = rows["USD"]
    assert (usd["payments_received"], usd["outstanding"], usd["dso_standard_days"]) == (
        D("10.00"),
        None,
        None,
    )


def test_the_days_dso_is_that_of_the_currency_with_the_most_outstanding() -> None:
    rows = [
        {"currency": "EUR", "outstanding": D("125.50"), "dso_standard_days": 12.6, "dso_countback_days": 9.4},
        {
            "currency": "USD",
            "outstanding": D("900.00"),
            "dso_standard_days": 40.0,
            "dso_countback_days": 31.0,
        },
        {"currency": "GBP", "outstanding": None, "dso_standard_days": None, "dso_countback_days": None},
    ]
    assert dso_of_day(rows) == {"dso_currency": "USD", "dso_standard_days": 40.0, "dso_countback_days": 31.0}
    assert dso_of_day([]) == {"dso_currency": None, "dso_standard_days": None, "dso_countback_days": None}


def approval(status: str, *, due_hours: float, decided_hours: float | None = None) -> NS:
    created = NOW - timedelta(hours=10)
    decisions = (
        [NS(at=created + timedelta(hours=decided_hours), by="user:cfo", decision="APPROVED", level="L2")]
        if decided_hours is not None
        else []
    )
    return NS(
        approval_id="apr_1",
        order_id="ord_1",
        revision=1,
        status=status,
        created_at=created.isoformat(),
        currency="EUR",
        amount=D("25000.00"),
        rules=json.dumps({"levels": [{"rule": "big"}, {"rule": "bigger"}]}),
        level_index=1,
        escalations=1,
        group="finance-managers",
        due_at=(created + timedelta(hours=due_hours)).isoformat(),
        entered_by="user:sales",
        decisions=decisions,
    )


def test_an_approval_row_says_whether_it_is_past_its_sla_and_how_long_it_took() -> None:
    waiting = approval_row(approval("PENDING", due_hours=8), now=NOW)
    assert (waiting["past_sla"], waiting["levels"], waiting["decided_by"]) == (True, 2, None)
    within = approval_row(approval("PENDING", due_hours=12), now=NOW)
    assert within["past_sla"] is False
    decided = approval_row(approval("APPROVED", due_hours=8, decided_hours=6.5), now=NOW)
    assert (decided["past_sla"], decided["decided_by"], decided["hours_to_decide"]) == (
        False,
        "user:cfo",
        6.5,
    )
    assert decided["created_at"].tzinfo is None  # Parquet timestamps are UTC without a zone


def test_a_payment_row_keeps_what_the_payer_wrote_out() -> None:
    record = NS(
        payment_id="pay_bank_1",
        source="BANK",
        customer_id=None,
        order_id=None,
        currency="EUR",
        amount=D("10.00"),
        applied=D("0"),
        refunded=D("0"),
        unapplied=D("10.00"),
        disputed=None,
        received_on="2026-12-01",
        statement_id="st_1",
        recorded_at=NOW,
        recorded_by="system:bank",
        reference="JANE DOE 12 HIGH ST",
        note="called Jane on +44 ...",
    )
    row = payment_row(record)
    assert "JANE" not in json.dumps(row, default=str)
    assert row["received_on"] == date(2026, 12, 1)


def test_no_new_table_has_a_personal_column() -> None:
    personal = {"name", "email", "e", "mail", "address", "phone", "reference", "note", "reason", "remittance"}
    for table in ("payments", "applications", "credit_notes", "aging", "receivables_daily", "approvals"):
        words = {w for c in TABLES[table] for w in c.name.split("_") if c.name not in ("credit_note_id",)}
        assert not words & personal, table
