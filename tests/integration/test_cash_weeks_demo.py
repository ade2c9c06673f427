"""`python -m demo --days N`'s cash weeks, short: a week of orders, statements, returns and daily dunning on
the simulated clock (net-1 terms so that a week shows letters), and the figures it prints hold together."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from demo.cash_weeks import run_cash_weeks


@pytest.mark.slow
def test_a_week_of_cash_ends_with_letters_and_an_aging_that_sums_to_the_outstanding(tmp_path: Path) -> None:
    # Given a week of orders on net-1 terms; when the demo replays it
    weeks = run_cash_weeks(days=7, seed=3, out=tmp_path, orders_per_day=4, terms_days=1)

    # Then orders were invoiced, bank statements imported and the never-paying customer reminded
    assert weeks.orders == 28
    assert weeks.invoices > 0
    assert weeks.statements > 0
    assert weeks.transfers > 0
    assert weeks.letters[1] >= 1
    assert "NEVER" in weeks.behaviours.values()
    # And each aging row's buckets sum to its outstanding, the rows to the total
    report = weeks.report
    rows = report["aging"]
    for row in rows:
        assert sum(Decimal(v) for v in row["buckets"].values()) == Decimal(row["outstanding"])
    assert sum(Decimal(r["outstanding"]) for r in rows) == Decimal(report["outstanding"]["USD"])
    # And the forecast's backtest was made and written with the rest
    assert weeks.backtest["forecast_made_on"]
    assert json.loads((tmp_path / "cash-weeks.json").read_text())["days"] == 7
