"""The monthly management report on hand-built export rows (no AWS): the figures worked by hand, the PDF
opened with pypdf (its text, and that each chart is drawn: a filled rectangle per bar, a line per
segment)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from management_report.app import ReportRequest
from oms.documents.report_pdf import CHART_TITLES, render_management_report
from oms.finance.management_report import figures, month_days, previous_month

D = Decimal
MONTH = "2026-11"


def rows() -> dict[str, list[dict[str, object]]]:
    return {
        "kpi_daily": [
            # 3 days: cycle p50 20/24/28 h (mean 24), DSO 30, 31, then a day without a standard DSO
            {"dt": "2026-11-01", "orders": 10, "cycle_time_p50_hours": 20.0, "cycle_time_p90_hours": 40.0},
            {"dt": "2026-11-02", "orders": 12, "cycle_time_p50_hours": 24.0, "cycle_time_p90_hours": 44.0},
            {"dt": "2026-11-03", "orders": 8, "cycle_time_p50_hours": 28.0, "cycle_time_p90_hours": None},
            {"dt": "2026-10-31", "orders": 99, "cycle_time_p50_hours": 1.0},  # another month: left out
        ],
        "receivables_daily": [
            {
                "dt": "2026-11-01",
                "currency": "EUR",
                "outstanding": D("300"),
                "cash_applied": D("50.00"),
                "payments_received": D("60"),
                "dso_standard_days": 30.0,
            },
            {
                "dt": "2026-11-02",
                "currency": "EUR",
                "outstanding": D("320"),
                "cash_applied": D("25.50"),
                "payments_received": D("0"),
                "dso_standard_days": 31.0,
            },
            {
                "dt": "2026-11-02",
                "currency": "USD",
                "outstanding": D("5"),
                "cash_applied": D("999"),
                "payments_received": D("0"),
                "dso_standard_days": 90.0,
            },
        ],
        "aging": [
            {
                "dt": "2026-11-01",
                "currency": "EUR",
                "bucket": "not_due",
                "bucket_order": 0,
                "amount": D("200"),
            },
            {"dt": "2026-11-01", "currency": "EUR", "bucket": "1-30", "bucket_order": 1, "amount": D("100")},
            {
                "dt": "2026-11-02",
                "currency": "EUR",
                "bucket": "not_due",
                "bucket_order": 0,
                "amount": D("180"),
            },
            {"dt": "2026-11-02", "currency": "EUR", "bucket": "1-30", "bucket_order": 1, "amount": D("140")},
            {"dt": "2026-11-02", "currency": "USD", "bucket": "not_due", "bucket_order": 0, "amount": D("5")},
        ],
        "exceptions": [
            {"dt": "2026-11-01", "kind": "UNAPPLIED_CASH", "filed": 2, "still_open": 1},
            {"dt": "2026-11-03", "kind": "STOCK_LEDGER_DRIFT", "filed": 1, "still_open": 0},
        ],
    }


def test_the_months_figures_worked_by_hand() -> None:
    f = figures(MONTH, rows())
    assert (len(f.days), f.days[0], f.days[-1]) == (30, "2026-11-01", "2026-11-30")
    # EUR: 320 outstanding at its last snapshot against USD's 5
    assert (f.currency, f.buckets) == ("EUR", ["not_due", "1-30"])
    assert f.aging_at_end == {"not_due": D("180"), "1-30": D("140")}
    assert f.dso[:3] == [30.0, 31.0, None]
    assert f.cycle_p50[:4] == [20.0, 24.0, 28.0, None]
    assert f.exceptions == {"STOCK_LEDGER_DRIFT": [0, 0, 1] + [0] * 27, "UNAPPLIED_CASH": [2] + [0] * 29}
    assert f.summary == {
        "Orders received": "30",
        "Order cycle time p50 (mean of days)": "24.0 h",
        "Order cycle time p90 (mean of days)": "42.0 h",
        "DSO at month end (standard, 30 days)": "31.0 days",
        "DSO at month end (countback)": "n/a",
        "Receivables outstanding at month end": "320.00 EUR",
        "Cash applied in the month": "75.50 EUR",
        "Exceptions filed": "3",
        "Exceptions still open": "1",
    }


def test_the_pdf_opens_with_its_text_and_every_chart_drawn() -> None:
    pdf = render_management_report(figures(MONTH, rows()), generated_at=datetime(2026, 12, 1, 4, tzinfo=UTC))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    assert reader.metadata is not None
    assert reader.metadata.title == "Management report 2026-11"
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Management report - November 2026" in text
    for title in CHART_TITLES:
        assert title in text
    assert "Receivables outstanding at month end 320.00 EUR" in text.replace("\n", " ")
    first, second = (page.get_contents().get_data() for page in reader.pages)
    # page 1: aging at end, 2 bars; aging over the month, 2 days x 2 buckets = 4 bars + 2 legend squares
    assert first.count(b" re f") == 2 + 4 + 2
    # page 2: DSO 2 points (1 segment) and cycle time 3 + 2 points (2 + 1 segments), each with a legend
    # square per series; exceptions 2 bars + 2 legend squares
    assert second.count(b" re f") == (2 + 2) + (5 + 2) + (2 + 2)
    axes_and_grid = 5 * (5 + 2)  # five charts, five grid lines and two axes each
    assert first.count(b" l S") + second.count(b" l S") == axes_and_grid + 1 + 3


def test_a_month_without_exports_still_renders_saying_so() -> None:
    empty = figures("2026-02", {})
    assert len(empty.days) == 28
    reader = PdfReader(
        io.BytesIO(render_management_report(empty, generated_at=datetime(2026, 3, 1, tzinfo=UTC)))
    )
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "no figures for the month" in text
    assert "nothing in the month" in text


def test_the_schedule_reports_the_month_before_and_a_person_any_month() -> None:
    assert previous_month(date(2026, 1, 1)) == "2025-12"
    assert ReportRequest.model_validate({"time": "2026-12-01T04:00:00Z"}).the_month() == "2026-11"
    assert ReportRequest.model_validate({"month": "2026-07"}).the_month() == "2026-07"
    assert month_days("2028-02")[-1] == "2028-02-29"
    for bad in ({}, {"month": "2026-13"}, {"month": "26-01"}):
        with pytest.raises(ValueError, match=r"month|time"):
            ReportRequest.model_validate(bad)
