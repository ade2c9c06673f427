"""The monthly management report, end to end: the month's exports fetched and queried, the figures shaped,
the PDF drawn and written to the finance bucket (decision 0047)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from oms.data import reports as store
from oms.documents.report_pdf import render_management_report
from oms.finance.management_report import MonthlyFigures, figures


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    key: str
    files_read: int
    bytes: int
    figures: MonthlyFigures


def publish_monthly_report(month: str, *, bucket: str, generated_at: datetime) -> MonthlyReport:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        files = store.fetch_month(bucket, month, folder)
        shaped = figures(month, store.month_rows(folder))
    body = render_management_report(shaped, generated_at=generated_at)
    key = store.write_report(bucket, month, body)
    return MonthlyReport(month, key, files, len(body), shaped)
