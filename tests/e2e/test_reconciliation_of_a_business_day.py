"""A clean business day (the demo's: backorders served by receipts, multi-warehouse allocations, splits,
holds, every shipment invoiced) reconciles to no exception at all, and its export's orders add up to what the
day's summary says: the checks raise nothing on the flows the OMS itself produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.run import run_business_day


@pytest.mark.slow
def test_the_demo_day_reconciles_clean_and_exports_every_order(tmp_path: Path) -> None:
    summary = run_business_day(orders=40, seed=11, out=tmp_path, export_finance=True, reconcile=True)
    assert summary.accounted, summary.unaccounted
    assert summary.reconciliation
    for day, run in summary.reconciliation.items():
        assert sum(run["found"].values()) == 0, (day, run["found"])
        assert sum(run["open_by_kind"].values()) == 0, day
    assert sum(run["orders_judged"] for run in summary.reconciliation.values()) == summary.orders_received
    exported = sum(day["rows"]["orders"] for day in summary.finance_exports["days"])
    assert exported == summary.orders_received
    invoices = sum(day["rows"]["invoices"] for day in summary.finance_exports["days"])
    assert invoices == summary.invoices_issued
