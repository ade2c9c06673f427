"""Collections, run by schedules on the day they are planned for (the Scheduler's `scheduled-time`, so a
retried run judges by the same day; locally the day follows the simulated clock):

* the dunning run: invoices past due are marked OVERDUE; each customer whose invoices reached a new dunning
  level gets one letter for that level (PDF in S3, `DunningLetterIssued` on the bus) listing them with the
  level's fee and interest; the last level puts the customer on credit hold (new orders wait);
* the aging snapshot: aging with the not-yet-due bucket (asserted to add up), DSO (standard and countback),
  each customer's lateness (p50, p90), the weekly cash forecast, and the backtest of the forecast made four
  weeks earlier against what then arrived; JSON in S3, one object per day (an Athena-friendly partition).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from oms.aws import client
from oms.cash import receivables as reports
from oms.cash.ledger import Receivable, payment_status
from oms.cash.policy import CashPolicy, DunningLevel
from oms.data import cash as store
from oms.data.bus import publish
from oms.data.cash import CashCommit, snapshot_key
from oms.data.models import CustomerAccountRecord, CustomerRecord, InvoiceRecord, PaymentRecord
from oms.documents.cash_pdf import CashDocument, DocumentLine, render_cash_pdf
from oms.domain.events import (
    CASH_SOURCE,
    DOCUMENTS_SOURCE,
    DocumentCreated,
    DocumentType,
    DunningLetterIssued,
    ExpectedReceiptsForecast,
    ExpectedReceiptsWeek,
)
from oms.money import ZERO, round_money
from oms.observability import MetricUnit, metrics

ACTOR = "service:dunning"
MAX_INVOICES_PER_LETTER = 60


@dataclass
class DunningOutcome:
    day: date
    marked_overdue: int = 0
    letters: list[str] = field(default_factory=list)
    credit_holds: list[str] = field(default_factory=list)


def _mark_overdue(record: InvoiceRecord, day: date) -> bool:
    receivable = store.receivable_of(record)
    if receivable.overdue or receivable.outstanding <= 0 or not receivable.due_on or receivable.due_on >= day:
        return False
    change = CashCommit()
    change.receivable(receivable, replace(receivable, overdue=True))
    try:
        store.commit(change)
    except store.CashConflictError:
        return False  # paid meanwhile: the next run looks again
    return True


def dunning_run(
    *, day: date, at: datetime, policy: CashPolicy, bucket: str, seller_lines: list[str]
) -> DunningOutcome:
    outcome = DunningOutcome(day)
    due: dict[tuple[str, str, int], list[InvoiceRecord]] = defaultdict(list)
    for record in store.open_invoices(due_until=(day - timedelta(days=1)).isoformat()):
        if _mark_overdue(record, day):
            outcome.marked_overdue += 1
        days_late = (day - date.fromisoformat(record.due_date)).days
        level = policy.level_for(days_late)
        if level is None or level.level <= int(record.dunning_level or 0):
            continue
        due[(record.customer_id, record.currency, level.level)].append(record)
    for (customer_id, currency, number), invoices in sorted(due.items()):
        level = policy.dunning_levels[number - 1]
        letter_id = f"LETTER#{day.isoformat()}#L{number}#{currency}"
        _issue_letter(
            customer_id, currency, level, invoices[:MAX_INVOICES_PER_LETTER], letter_id, day=day, at=at
        )
        outcome.letters.append(f"{customer_id}:{letter_id}")
        if level.action == "CREDIT_HOLD":
            outcome.credit_holds.append(customer_id)
    # Letters recorded but not yet written out (a crashed run): finished now, once each.
    for letter in CustomerAccountRecord.scan(
        CustomerAccountRecord.published_at.does_not_exist()
        & CustomerAccountRecord.entry.startswith("LETTER#")
    ):
        _publish_letter(letter, bucket=bucket, seller_lines=seller_lines, policy=policy)
    return outcome


def _days_overdue(letter_date: str, due_date: str) -> int:
    return (date.fromisoformat(letter_date) - date.fromisoformat(due_date)).days


def _interest(outstanding: Decimal, level: DunningLevel, days_late: int, currency: str) -> Decimal:
    return round_money(outstanding * level.annual_interest_percent / 100 * days_late / 365, currency)


def _issue_letter(
    customer_id: str,
    currency: str,
    level: DunningLevel,
    invoices: list[InvoiceRecord],
    letter_id: str,
    *,
    day: date,
    at: datetime,
) -> None:
    """Record the letter and each invoice's new level (and the credit hold) in one transaction, once."""
    amount = sum((store.receivable_of(i).outstanding for i in invoices), ZERO)
    interest = sum(
        (
            _interest(
                store.receivable_of(i).outstanding,
                level,
                (day - date.fromisoformat(i.due_date)).days,
                currency,
            )
            for i in invoices
        ),
        ZERO,
    )
    letter = CustomerAccountRecord(
        customer_id,
        letter_id,
        currency=currency,
        level=level.level,
        letter_date=day.isoformat(),
        invoices=[i.invoice_number for i in invoices],
        amount_due=amount,
        fee=level.fee,
        interest=interest,
        action=level.action,
        pdf_key=f"dunning/{day:%Y/%m}/{customer_id}/{day.isoformat()}-L{level.level}-{currency}.pdf",
        issued_at=at,
    )
    try:
        with TransactWrite(connection=InvoiceRecord._get_connection().connection) as tx:
            tx.save(letter, condition=CustomerAccountRecord.entry.does_not_exist())
            for invoice in invoices:
                tx.update(
                    InvoiceRecord(invoice.order_id),
                    actions=[InvoiceRecord.dunning_level.set(level.level)],
                    condition=InvoiceRecord.dunning_level.does_not_exist()
                    | (InvoiceRecord.dunning_level < level.level),
                )
            if level.action == "CREDIT_HOLD":
                tx.update(
                    CustomerRecord(customer_id),
                    actions=[
                        CustomerRecord.credit_hold.set(True),
                        CustomerRecord.credit_hold_reason.set(
                            f"dunning level {level.level} ({level.title}) on {day.isoformat()}: "
                            f"{amount} {currency} overdue"
                        ),
                        CustomerRecord.credit_hold_since.set(at),
                        CustomerRecord.credit_hold_by.set(ACTOR),
                    ],
                    condition=CustomerRecord.customer_id.exists(),
                )
    except TransactWriteError as exc:
        if any(
            r and r.code in ("ConditionalCheckFailed", "TransactionConflict")
            for r in exc.cancellation_reasons
        ):
            return  # the letter exists (a retried run) or an invoice moved on: nothing twice
        raise
    metrics.add_metric(name="DunningLettersIssued", unit=MetricUnit.Count, value=1)


def _publish_letter(
    letter: CustomerAccountRecord, *, bucket: str, seller_lines: list[str], policy: CashPolicy
) -> None:
    assert letter.level is not None
    assert letter.currency is not None
    assert letter.issued_at is not None
    level = (
        policy.dunning_levels[int(letter.level) - 1]
        if int(letter.level) <= len(policy.dunning_levels)
        else None
    )
    try:
        name = str(CustomerRecord.get(letter.customer_id).name)
    except CustomerRecord.DoesNotExist:
        name = letter.customer_id
    lines = []
    for number in letter.invoices or []:
        record = store.invoice_by_number(number)
        if record is not None:
            lines.append(
                DocumentLine(
                    description=f"Invoice {number}, due {record.due_date}",
                    reference=f"{_days_overdue(str(letter.letter_date), record.due_date)} days overdue",
                    amount=store.receivable_of(record).outstanding,
                )
            )
    fee, interest = letter.fee or ZERO, letter.interest or ZERO
    notes = [f"Reminder fee {fee} {letter.currency}; late-payment interest {interest} {letter.currency}."]
    if letter.action == "CREDIT_HOLD":
        notes.append("Your account is on credit hold: new orders wait until the overdue amount is paid.")
    notes.append(
        "Please pay quoting the invoice numbers. If you have paid already, thank you: ignore this letter."
    )
    document = CashDocument(
        kind=level.title if level else f"Dunning level {letter.level}",
        number=f"{letter.customer_id}/{letter.letter_date}/L{letter.level}",
        issued_at=letter.issued_at,
        seller=seller_lines,
        customer_id=letter.customer_id,
        customer_name=name,
        currency=letter.currency,
        intro=f"Our records show these invoices unpaid past their due date (as of {letter.letter_date}).",
        lines=lines,
        total_label="Amount overdue (with fee and interest)",
        total=(letter.amount_due or ZERO) + fee + interest,
        notes=notes,
    )
    client("s3").put_object(
        Bucket=bucket,
        Key=letter.pdf_key,
        Body=render_cash_pdf(document),
        ContentType="application/pdf",
        Metadata={"customer_id": letter.customer_id, "level": str(letter.level)},
    )
    publish(
        CASH_SOURCE,
        DunningLetterIssued(
            customer_id=letter.customer_id,
            letter_id=letter.entry,
            level=int(letter.level),
            currency=letter.currency,
            invoices=list(letter.invoices or []),
            amount_due=str(letter.amount_due),
            fee=str(fee),
            interest=str(interest),
            action=str(letter.action),
            pdf_key=str(letter.pdf_key),
            issued_at=letter.issued_at,
        ),
        resources=[letter.customer_id],
    )
    publish(
        DOCUMENTS_SOURCE,
        DocumentCreated(
            event_id=f"document:dunning-letter:{letter.customer_id}:{letter.entry}",
            document_type=DocumentType.DUNNING_LETTER,
            document_number=document.number,
            customer_id=letter.customer_id,
            currency=letter.currency,
            amount=str(document.total),
            issued_at=letter.issued_at,
            bucket=bucket,
            pdf_key=str(letter.pdf_key),
            invoice_numbers=list(letter.invoices or []),
        ),
        resources=[letter.customer_id],
    )
    # the marker last: a crash before it publishes again from the next run (at least once, never lost)
    letter.update(actions=[CustomerAccountRecord.published_at.set(letter.issued_at)])


def release_credit_hold(customer_id: str, *, by: str, at: datetime, reason: str) -> None:
    CustomerRecord(customer_id).update(
        actions=[
            CustomerRecord.credit_hold.set(False),
            CustomerRecord.credit_hold_reason.set(f"released by {by}: {reason}"[:500]),
            CustomerRecord.credit_hold_since.set(at),
            CustomerRecord.credit_hold_by.set(by),
        ],
        condition=CustomerRecord.customer_id.exists(),
    )


def place_credit_hold(customer_id: str, *, by: str, at: datetime, reason: str) -> None:
    CustomerRecord(customer_id).update(
        actions=[
            CustomerRecord.credit_hold.set(True),
            CustomerRecord.credit_hold_reason.set(reason[:500]),
            CustomerRecord.credit_hold_since.set(at),
            CustomerRecord.credit_hold_by.set(by),
        ],
        condition=CustomerRecord.customer_id.exists(),
    )


# ------------------------------------------------------------------------------------------- snapshot
def _money(value: Decimal) -> str:
    return str(value)


def _month_starts(day: date, months: int) -> list[date]:
    starts = [day.replace(day=1)]
    for _ in range(months - 1):
        starts.append((starts[-1] - timedelta(days=1)).replace(day=1))
    return starts


def receivables_report(
    *, day: date, policy: CashPolicy, receipts_since: date | None = None
) -> dict[str, Any]:
    """Aging, DSO, lateness and the forecast as of `day` (what the snapshot writes and the API answers)."""
    invoices = store.all_invoices()
    receivables = [store.receivable_of(i) for i in invoices if i.issued_at.date() <= day]
    credit = {(a.customer_id, a.currency or "USD"): a.unapplied_credit or ZERO for a in store.accounts()}
    aging = reports.aging([r for r in receivables if r.outstanding > 0], day, policy.aging_buckets, credit)
    period_start = day - timedelta(days=30)
    sales: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for r in receivables:
        if r.issued_on and period_start < r.issued_on <= day and r.due_on and r.due_on > r.issued_on:
            sales[r.currency] += r.total
    monthly: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for start in _month_starts(day, 6):
        end = min(day, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        for currency in aging.outstanding:
            total = sum(
                (
                    r.total
                    for r in receivables
                    if r.currency == currency and r.issued_on and start <= r.issued_on <= end
                ),
                ZERO,
            )
            monthly[currency].append(((end - start).days + 1, total))
    paid = [r for r in receivables if r.paid_on is not None]
    behaviour = reports.lateness(paid)
    weeks = reports.forecast(
        [r for r in receivables if r.outstanding > 0],
        behaviour,
        as_of=day,
        default_days_late=policy.forecast_default_days_late,
    )
    return {
        "as_of": day.isoformat(),
        "buckets": aging.labels,
        "aging": [
            {
                "customer_id": row.customer_id,
                "currency": row.currency,
                "invoices": row.invoices,
                "buckets": {k: _money(v) for k, v in row.buckets.items()},
                "outstanding": _money(row.outstanding),
                "unapplied_credit": _money(row.unapplied_credit),
                "net": _money(row.net),
            }
            for row in aging.rows
        ],
        "totals": {c: {k: _money(v) for k, v in t.items()} for c, t in aging.totals.items()},
        "outstanding": {c: _money(v) for c, v in aging.outstanding.items()},
        "unapplied_credit": {c: _money(v) for c, v in aging.unapplied_credit.items()},
        "dso": {
            currency: {
                "standard_30d": _dec(
                    reports.dso_standard(aging.outstanding[currency], sales.get(currency, ZERO), 30)
                ),
                "countback": _dec(reports.dso_countback(aging.outstanding[currency], monthly[currency])),
                "credit_sales_30d": _money(sales.get(currency, ZERO)),
            }
            for currency in aging.outstanding
        },
        "lateness": {c: {"invoices": b.invoices, "p50": b.p50, "p90": b.p90} for c, b in behaviour.items()},
        "forecast": [
            {"week": w.week.isoformat(), "expected": _money(w.expected), "invoices": w.invoices}
            for w in weeks
        ],
        "forecast_by_currency": [
            {
                "week": w.week.isoformat(),
                "currency": currency,
                "expected": _money(w.expected),
                "invoices": w.invoices,
            }
            for currency in sorted({r.currency for r in receivables if r.outstanding > 0})
            for w in reports.forecast(
                [r for r in receivables if r.outstanding > 0 and r.currency == currency],
                behaviour,
                as_of=day,
                default_days_late=policy.forecast_default_days_late,
            )
        ],
    }


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def receipts(since: date) -> list[tuple[date, Decimal]]:
    """Payments received on or after `since` (what actually arrived, for the backtest)."""
    return [
        (date.fromisoformat(p.received_on), p.amount)
        for p in PaymentRecord.scan(PaymentRecord.received_on >= since.isoformat())
        if p.source in ("BANK", "MANUAL")
    ]


def aging_snapshot(
    *,
    day: date,
    policy: CashPolicy,
    bucket: str,
    backtest_weeks: int = 4,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    report = receivables_report(day=day, policy=policy)
    earlier = day - timedelta(weeks=backtest_weeks)
    s3 = client("s3")
    try:
        previous = json.loads(s3.get_object(Bucket=bucket, Key=snapshot_key(earlier, "aging"))["Body"].read())
    except Exception:
        previous = None
    if previous is not None:
        weeks = [
            reports.WeekForecast(date.fromisoformat(w["week"]), Decimal(w["expected"]), int(w["invoices"]))
            for w in previous.get("forecast", [])
        ]
        test = reports.backtest(weeks, receipts(earlier), as_of=earlier, weeks=backtest_weeks)
        report["backtest"] = {
            "forecast_made_on": earlier.isoformat(),
            "weeks": [
                {"week": w.isoformat(), "forecast": str(f), "actual": str(a)} for w, f, a in test.weeks
            ],
            "forecast_total": str(test.forecast_total),
            "actual_total": str(test.actual_total),
            "error_percent": _dec(test.error_percent),
        }
    s3.put_object(
        Bucket=bucket,
        Key=snapshot_key(day, "aging"),
        Body=json.dumps(report, indent=2, sort_keys=True).encode(),
        ContentType="application/json",
    )
    metrics.add_metric(name="AgingSnapshots", unit=MetricUnit.Count, value=1)
    # Treasury: after the snapshot is stored; a rerun of the day publishes the same event_id again
    publish(
        CASH_SOURCE,
        ExpectedReceiptsForecast(
            event_id=f"expected-receipts:{day.isoformat()}",
            as_of=day,
            weeks=[
                ExpectedReceiptsWeek(
                    week_start=date.fromisoformat(w["week"]),
                    currency=w["currency"],
                    expected=w["expected"],
                    invoices=w["invoices"],
                )
                for w in report["forecast_by_currency"]
            ],
            generated_at=generated_at or datetime.now(UTC),
        ),
    )
    return report


def _unused() -> None:
    _ = (Receivable, payment_status, ROUND_HALF_UP)
