"""The monthly management report as an A4 PDF (fpdf2, core fonts), its charts drawn with fpdf2's own
primitives (lines, rectangles, text): aging by bucket at month end and over the month, DSO per day, order
cycle time p50/p90 per day, exceptions filed per day by type (decision 0047)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from oms.finance.management_report import MonthlyFigures

_FONT = "Helvetica"
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
)
CHART_TITLES = (
    "Receivables aging at month end",
    "Receivables aging over the month",
    "DSO per day",
    "Order cycle time per day (placed to delivered)",
    "Exceptions filed per day, by type",
)


def _nice_max(value: float) -> float:
    """The smallest 1/2/5 x 10^n at or above `value` (an axis that ends on a round number)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        top = step * 10**exponent
        if top >= value:
            return float(top)
    return float(10 ** (exponent + 1))


def _label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}".rstrip("0")


class _Chart:
    def __init__(self, pdf: Any, x: float, y: float, w: float, h: float, title: str) -> None:
        self.pdf, self.x, self.y, self.w, self.h = pdf, x, y, w, h
        pdf.set_font(_FONT, "B", 11)
        pdf.set_text_color(0, 0, 0)
        pdf.text(x, y - 4, title)
        # plot area: room for the y labels on the left, the x labels and legend below
        self.left, self.top = x + 14, y + 2
        self.right, self.bottom = x + w - 2, y + h - 16

    def axes(self, top: float, unit: str) -> None:
        pdf = self.pdf
        pdf.set_draw_color(210, 210, 210)
        pdf.set_line_width(0.1)
        pdf.set_font(_FONT, size=7)
        pdf.set_text_color(80, 80, 80)
        for n in range(5):
            value = top * n / 4
            y = self.bottom - (self.bottom - self.top) * n / 4
            pdf.line(self.left, y, self.right, y)
            pdf.text(self.x, y + 1, _label(value))
        pdf.set_font(_FONT, "I", 7)
        pdf.text(self.left + 1, self.top - 0.5, unit)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.3)
        pdf.line(self.left, self.bottom, self.right, self.bottom)
        pdf.line(self.left, self.top, self.left, self.bottom)
        self.top_value = top

    def y_of(self, value: float) -> float:
        return self.bottom - (self.bottom - self.top) * (value / self.top_value)

    def day_axis(self, days: Sequence[str]) -> float:
        """Ticks every 5th day; returns the width of one day's slot."""
        slot = (self.right - self.left) / max(len(days), 1)
        pdf = self.pdf
        pdf.set_font(_FONT, size=7)
        pdf.set_text_color(80, 80, 80)
        for n, day in enumerate(days):
            if n == 0 or (n + 1) % 5 == 0:
                pdf.text(self.left + slot * n + slot / 2 - 1.5, self.bottom + 4, str(int(day[-2:])))
        return slot

    def legend(self, entries: Sequence[tuple[str, tuple[int, int, int]]]) -> None:
        pdf = self.pdf
        x, y = self.left, self.bottom + 8
        pdf.set_font(_FONT, size=7)
        pdf.set_text_color(0, 0, 0)
        for label, color in entries:
            width = pdf.get_string_width(label) + 8
            if x + width > self.right:
                x, y = self.left, y + 4
            pdf.set_fill_color(*color)
            pdf.rect(x, y - 2.2, 3, 3, style="F")
            pdf.text(x + 4, y, label)
            x += width

    def empty(self, why: str) -> None:
        pdf = self.pdf
        pdf.set_font(_FONT, "I", 9)
        pdf.set_text_color(120, 120, 120)
        pdf.text(self.left + 4, (self.top + self.bottom) / 2, why)


def _line_chart(
    pdf: Any,
    box: tuple[float, float, float, float],
    title: str,
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str,
) -> None:
    chart = _Chart(pdf, *box, title)
    known = [v for _, values in series for v in values if v is not None]
    chart.axes(_nice_max(max(known) if known else 0), unit)
    slot = chart.day_axis(days)
    if not known:
        chart.empty("no figures for the month")
    for n, (_, values) in enumerate(series):
        color = PALETTE[n % len(PALETTE)]
        pdf.set_draw_color(*color)
        pdf.set_fill_color(*color)
        pdf.set_line_width(0.5)
        previous: tuple[float, float] | None = None
        for i, value in enumerate(values):
            if value is None:
                previous = None
                continue
            point = (chart.left + slot * i + slot / 2, chart.y_of(value))
            if previous is not None:
                pdf.line(*previous, *point)
            pdf.rect(point[0] - 0.6, point[1] - 0.6, 1.2, 1.2, style="F")
            previous = point
    chart.legend([(label, PALETTE[n % len(PALETTE)]) for n, (label, _) in enumerate(series)])


def _stacked_bars(
    pdf: Any,
    box: tuple[float, float, float, float],
    title: str,
    columns: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    unit: str,
    *,
    day_axis: bool = True,
) -> None:
    chart = _Chart(pdf, *box, title)
    totals = [sum(values[i] for _, values in series) for i in range(len(columns))]
    chart.axes(_nice_max(max(totals, default=0)), unit)
    if day_axis:
        slot = chart.day_axis(columns)
    else:
        slot = (chart.right - chart.left) / max(len(columns), 1)
        pdf.set_font(_FONT, size=7)
        pdf.set_text_color(0, 0, 0)
        for i, label in enumerate(columns):
            pdf.text(chart.left + slot * i + 1, chart.bottom + 4, label)
    if not any(totals):
        chart.empty("nothing in the month")
    for i in range(len(columns)):
        base = 0.0
        for n, (_, values) in enumerate(series):
            value = values[i]
            if value <= 0:
                continue
            pdf.set_fill_color(*PALETTE[n % len(PALETTE)])
            top, bottom = chart.y_of(base + value), chart.y_of(base)
            pdf.rect(chart.left + slot * i + slot * 0.15, top, slot * 0.7, bottom - top, style="F")
            base += value
    if day_axis or len(series) > 1:
        chart.legend([(label, PALETTE[n % len(PALETTE)]) for n, (label, _) in enumerate(series)])


def _month_title(month: str) -> str:
    return date.fromisoformat(f"{month}-01").strftime("%B %Y")


def render_management_report(figures: MonthlyFigures, *, generated_at: datetime, seller: str = "") -> bytes:
    # fpdf2 loads on the first report, not when the handler is imported.
    from fpdf import FPDF

    from oms.documents.invoice_pdf import latin1

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(generated_at)
    pdf.set_title(latin1(f"Management report {figures.month}"))
    pdf.set_creator("oms.documents.report_pdf")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 18)
    pdf.cell(
        0, 10, latin1(f"Management report - {_month_title(figures.month)}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font(_FONT, size=9)
    pdf.set_text_color(90, 90, 90)
    money = f"; amounts in {figures.currency}" if figures.currency else ""
    pdf.cell(
        0,
        5,
        latin1(
            f"{seller + ' - ' if seller else ''}from the daily finance exports of {figures.days[0]} to "
            f"{figures.days[-1]}{money}; generated {generated_at:%Y-%m-%d %H:%M} UTC"
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    pdf.set_text_color(0, 0, 0)
    for label, value in figures.summary.items():
        pdf.set_font(_FONT, size=10)
        pdf.cell(100, 6, latin1(label))
        pdf.set_font(_FONT, "B", 10)
        pdf.cell(0, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")
    end = figures.aging_at_end
    _stacked_bars(
        pdf,
        (15, 135, 180, 65),
        CHART_TITLES[0],
        figures.buckets or ["-"],
        [("outstanding", [float(end.get(b, Decimal(0))) for b in figures.buckets] or [0.0])],
        figures.currency or "",
        day_axis=False,
    )
    _stacked_bars(
        pdf,
        (15, 215, 180, 70),
        CHART_TITLES[1],
        figures.days,
        [(b, [float(day.get(b, Decimal(0))) for day in figures.aging]) for b in figures.buckets]
        or [("outstanding", [0.0] * len(figures.days))],
        figures.currency or "",
    )
    pdf.add_page()
    _line_chart(
        pdf,
        (15, 25, 180, 75),
        CHART_TITLES[2],
        figures.days,
        [("standard (30 days)", figures.dso), ("countback", figures.dso_countback)],
        "days",
    )
    _line_chart(
        pdf,
        (15, 120, 180, 75),
        CHART_TITLES[3],
        figures.days,
        [("p50", figures.cycle_p50), ("p90", figures.cycle_p90)],
        "hours",
    )
    _stacked_bars(
        pdf,
        (15, 215, 180, 70),
        CHART_TITLES[4],
        figures.days,
        [(kind, [float(v) for v in values]) for kind, values in figures.exceptions.items()]
        or [("none", [0.0] * len(figures.days))],
        "count",
    )
    return bytes(pdf.output())
