"""Reports over receivables, pure: aging, DSO (standard and countback), how late each customer pays, and a
weekly cash forecast with its backtest.

Aging puts every open invoice in exactly one bucket, the not-yet-due bucket included, so the buckets always
add up to the outstanding (ERPNext's users report aging totals that do not, because not-yet-due invoices
fall outside its ranges). Unapplied cash and credit notes are not netted into the buckets: they are shown
beside them, so a credit note never looks like a payment of an invoice it was not applied to.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from oms.cash.ledger import Receivable
from oms.money import ZERO

NOT_YET_DUE = "not yet due"


def bucket_labels(limits: Sequence[int]) -> list[str]:
    """`[30, 60, 90, 120]` -> not yet due, 1-30, 31-60, 61-90, 91-120, over 120 (days past due)."""
    labels = [NOT_YET_DUE]
    low = 1
    for limit in limits:
        labels.append(f"{low}-{limit}")
        low = limit + 1
    labels.append(f"over {limits[-1]}" if limits else "overdue")
    return labels


def bucket_of(days_past_due: int, limits: Sequence[int]) -> str:
    labels = bucket_labels(limits)
    if days_past_due <= 0:
        return labels[0]
    for index, limit in enumerate(limits):
        if days_past_due <= limit:
            return labels[index + 1]
    return labels[-1]


@dataclass
class AgingRow:
    customer_id: str
    currency: str
    buckets: dict[str, Decimal]
    outstanding: Decimal
    unapplied_credit: Decimal = ZERO
    invoices: int = 0

    @property
    def net(self) -> Decimal:
        return self.outstanding - self.unapplied_credit


@dataclass
class Aging:
    as_of: date
    labels: list[str]
    rows: list[AgingRow]
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    """currency -> bucket -> amount."""
    outstanding: dict[str, Decimal] = field(default_factory=dict)
    unapplied_credit: dict[str, Decimal] = field(default_factory=dict)


class AgingDoesNotAddUpError(AssertionError):
    """The buckets do not sum to the outstanding: a defect, never a report."""


def aging(
    receivables: Iterable[Receivable],
    as_of: date,
    limits: Sequence[int],
    unapplied_credit: dict[tuple[str, str], Decimal] | None = None,
) -> Aging:
    """The aging of the open `receivables` on `as_of`; `unapplied_credit`: (customer, currency) -> amount."""
    labels = bucket_labels(limits)
    rows: dict[tuple[str, str], AgingRow] = {}
    for receivable in receivables:
        if receivable.outstanding == 0:
            continue
        key = (receivable.customer_id, receivable.currency)
        row = rows.setdefault(key, AgingRow(key[0], key[1], dict.fromkeys(labels, ZERO), ZERO))
        due = receivable.due_on or receivable.issued_on or as_of
        row.buckets[bucket_of((as_of - due).days, limits)] += receivable.outstanding
        row.outstanding += receivable.outstanding
        row.invoices += 1
    for key, amount in (unapplied_credit or {}).items():
        if amount:
            row = rows.setdefault(key, AgingRow(key[0], key[1], dict.fromkeys(labels, ZERO), ZERO))
            row.unapplied_credit += amount
    report = Aging(as_of, labels, sorted(rows.values(), key=lambda r: (r.currency, r.customer_id)))
    for row in report.rows:
        if sum(row.buckets.values(), ZERO) != row.outstanding:
            raise AgingDoesNotAddUpError(f"{row.customer_id}: buckets {row.buckets} != {row.outstanding}")
        totals = report.totals.setdefault(row.currency, dict.fromkeys(labels, ZERO))
        for label, amount in row.buckets.items():
            totals[label] += amount
        report.outstanding[row.currency] = report.outstanding.get(row.currency, ZERO) + row.outstanding
        report.unapplied_credit[row.currency] = (
            report.unapplied_credit.get(row.currency, ZERO) + row.unapplied_credit
        )
    for currency, totals in report.totals.items():
        if sum(totals.values(), ZERO) != report.outstanding[currency]:
            raise AgingDoesNotAddUpError(f"{currency}: bucket totals do not add up to the outstanding")
    return report


# ------------------------------------------------------------------------------------------------- DSO
def dso_standard(receivables_at_end: Decimal, credit_sales: Decimal, days: int) -> Decimal | None:
    """Receivables / credit sales x days of the period (None without credit sales)."""
    if credit_sales <= 0:
        return None
    return (receivables_at_end / credit_sales * days).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def dso_countback(
    receivables_at_end: Decimal, monthly_sales: Sequence[tuple[int, Decimal]]
) -> Decimal | None:
    """The countback method: walk back month by month (most recent first, (days in month, credit sales)),
    taking each month's whole days while the receivables exceed its sales, then the fraction of the month
    the rest covers. None when the receivables exceed every month given (not enough history)."""
    left = receivables_at_end
    days = ZERO
    for month_days, sales in monthly_sales:
        if left <= 0:
            break
        if left >= sales:
            days += month_days
            left -= sales
        else:
            days += Decimal(month_days) * left / sales
            left = ZERO
    if left > 0:
        return None
    return days.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------------------------------- lateness
def percentile(values: Sequence[int], p: float) -> int:
    """The nearest-rank percentile (p in 0..100) of whole days."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Lateness:
    customer_id: str
    invoices: int
    p50: int
    p90: int


def lateness(paid: Iterable[Receivable]) -> dict[str, Lateness]:
    """Per customer, days from due date to payment of the invoices paid in full (negative: early)."""
    days: dict[str, list[int]] = defaultdict(list)
    for receivable in paid:
        if receivable.paid_on is None or receivable.due_on is None or receivable.credited == receivable.total:
            continue
        days[receivable.customer_id].append((receivable.paid_on - receivable.due_on).days)
    return {
        customer: Lateness(customer, len(values), percentile(values, 50), percentile(values, 90))
        for customer, values in sorted(days.items())
    }


# --------------------------------------------------------------------------------------------- forecast
def week_of(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class WeekForecast:
    week: date
    expected: Decimal
    invoices: int


def forecast(
    open_receivables: Iterable[Receivable],
    behaviour: dict[str, Lateness],
    *,
    as_of: date,
    default_days_late: int = 0,
) -> list[WeekForecast]:
    """Expected receipts per week: each open invoice's outstanding in the week of its due date plus its
    customer's median lateness (the default where there is no history); what is already past that date is
    expected in the current week."""
    weeks: dict[date, list[Decimal]] = defaultdict(list)
    for receivable in open_receivables:
        if receivable.outstanding <= 0:
            continue
        late = behaviour.get(receivable.customer_id)
        expected_on = (receivable.due_on or as_of) + timedelta(days=late.p50 if late else default_days_late)
        weeks[week_of(max(expected_on, as_of))].append(receivable.outstanding)
    return [WeekForecast(week, sum(amounts, ZERO), len(amounts)) for week, amounts in sorted(weeks.items())]


@dataclass(frozen=True)
class Backtest:
    as_of: date
    weeks: list[tuple[date, Decimal, Decimal]]
    """(week, forecast, actual)."""
    forecast_total: Decimal
    actual_total: Decimal

    @property
    def error_percent(self) -> Decimal | None:
        """Sum of weekly absolute errors over the actual receipts (weighted absolute percentage error)."""
        if self.actual_total == 0:
            return None
        error = sum((abs(f - a) for _, f, a in self.weeks), ZERO)
        return (error * 100 / self.actual_total).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def backtest(
    forecast_weeks: Sequence[WeekForecast],
    receipts: Iterable[tuple[date, Decimal]],
    *,
    as_of: date,
    weeks: int,
) -> Backtest:
    """The forecast made on `as_of` against the receipts that then arrived, over `weeks` weeks."""
    start = week_of(as_of)
    horizon = [start + timedelta(weeks=n) for n in range(weeks)]
    predicted = {w.week: w.expected for w in forecast_weeks}
    actual: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for day, amount in receipts:
        if day >= as_of:
            actual[week_of(day)] += amount
    rows = [(week, predicted.get(week, ZERO), actual.get(week, ZERO)) for week in horizon]
    return Backtest(
        as_of,
        rows,
        sum((f for _, f, _ in rows), ZERO),
        sum((a for _, _, a in rows), ZERO),
    )
