"""The monthly management report's figures (pure): from the month's export rows (oms.data.reports) to the
series the PDF draws: aging by bucket over the month and at its end, DSO per day, order cycle time p50/p90
per day, exceptions filed per day by type (decision 0047)."""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

ZERO = Decimal("0")


def month_days(month: str) -> list[str]:
    """Every day of `month` (YYYY-MM) as YYYY-MM-DD."""
    first = date.fromisoformat(f"{month}-01")
    count = calendar.monthrange(first.year, first.month)[1]
    return [(first + timedelta(days=n)).isoformat() for n in range(count)]


def previous_month(day: date) -> str:
    """The month before the one `day` is in (what the 1st-of-the-month schedule reports)."""
    return (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


@dataclass
class MonthlyFigures:
    month: str
    days: list[str]
    cycle_p50: list[float | None]
    """Hours, per day of the month (None: no delivered order that day)."""
    cycle_p90: list[float | None]
    dso: list[float | None]
    """Standard 30-day DSO of `currency`, per day."""
    dso_countback: list[float | None]
    currency: str | None
    """The currency the aging and DSO are shown in: the one with the most outstanding at the month's end."""
    buckets: list[str]
    aging: list[dict[str, Decimal]]
    """Per day: bucket -> outstanding (empty: no snapshot that day)."""
    exceptions: dict[str, list[int]]
    """Kind -> exceptions filed by the runs of each day."""
    orders: int = 0
    still_open: int = 0
    """Of the month's exceptions, those still open at the export."""
    cash_applied: Decimal = ZERO
    summary: dict[str, str] = field(default_factory=dict)

    @property
    def aging_at_end(self) -> dict[str, Decimal]:
        for day in reversed(self.aging):
            if day:
                return day
        return {}


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _last(values: Sequence[float | None]) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def figures(month: str, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> MonthlyFigures:
    days = month_days(month)
    index = {d: n for n, d in enumerate(days)}
    kpis = {r["dt"]: r for r in rows.get("kpi_daily", []) if r["dt"] in index}
    aging_rows = [r for r in rows.get("aging", []) if r["dt"] in index]
    # the currency shown: the most outstanding on the last day with a snapshot
    currency = None
    if aging_rows:
        last_day = max(r["dt"] for r in aging_rows)
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for r in aging_rows:
            if r["dt"] == last_day:
                totals[r["currency"]] += Decimal(str(r["amount"]))
        currency = max(sorted(totals), key=lambda c: totals[c])
    order = {r["bucket"]: int(r["bucket_order"]) for r in aging_rows if r["currency"] == currency}
    buckets = sorted(order, key=lambda b: order[b])
    aging: list[dict[str, Decimal]] = [{} for _ in days]
    for r in aging_rows:
        if r["currency"] == currency:
            aging[index[r["dt"]]][r["bucket"]] = Decimal(str(r["amount"]))
    exceptions: dict[str, list[int]] = {}
    still_open = 0
    for r in rows.get("exceptions", []):
        if r["dt"] in index:
            exceptions.setdefault(r["kind"], [0] * len(days))[index[r["dt"]]] += int(r["filed"])
            still_open += int(r["still_open"])

    def series(column: str) -> list[float | None]:
        return [_float(kpis[d].get(column)) if d in kpis else None for d in days]

    dso_rows = {r["dt"]: r for r in rows.get("receivables_daily", []) if r["currency"] == currency}
    dso = [
        _float(dso_rows[d]["dso_standard_days"])
        if d in dso_rows and "dso_standard_days" in dso_rows[d]
        else None
        for d in days
    ]
    if not any(v is not None for v in dso):
        dso = series("dso_standard_days")
    result = MonthlyFigures(
        month=month,
        days=days,
        cycle_p50=series("cycle_time_p50_hours"),
        cycle_p90=series("cycle_time_p90_hours"),
        dso=dso,
        dso_countback=series("dso_countback_days"),
        currency=currency,
        buckets=buckets,
        aging=aging,
        exceptions=dict(sorted(exceptions.items())),
        orders=sum(int(r.get("orders") or 0) for r in kpis.values()),
        still_open=still_open,
        cash_applied=sum(
            (
                Decimal(str(r["cash_applied"] or 0))
                for r in rows.get("receivables_daily", [])
                if r["dt"] in index and r["currency"] == currency
            ),
            ZERO,
        ),
    )
    result.summary = _summary(result)
    return result


def _fmt(value: float | None, unit: str) -> str:
    return f"{value:.1f} {unit}" if value is not None else "n/a"


def _summary(f: MonthlyFigures) -> dict[str, str]:
    end = f.aging_at_end
    outstanding = sum(end.values(), ZERO)
    money = f" {f.currency}" if f.currency else ""
    return {
        "Orders received": f"{f.orders:,}",
        "Order cycle time p50 (mean of days)": _fmt(_mean(f.cycle_p50), "h"),
        "Order cycle time p90 (mean of days)": _fmt(_mean(f.cycle_p90), "h"),
        "DSO at month end (standard, 30 days)": _fmt(_last(f.dso), "days"),
        "DSO at month end (countback)": _fmt(_last(f.dso_countback), "days"),
        "Receivables outstanding at month end": f"{outstanding:,.2f}{money}",
        "Cash applied in the month": f"{f.cash_applied:,.2f}{money}",
        "Exceptions filed": f"{sum(sum(v) for v in f.exceptions.values()):,}",
        "Exceptions still open": f"{f.still_open:,}",
    }
