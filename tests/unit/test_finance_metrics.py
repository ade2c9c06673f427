"""The finance export's receivables metrics as CloudWatch receives them (EMF on stdout): one per currency, and
aging per currency and bucket, each with its own dimensions (what the finance dashboard's SEARCH reads)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from finance_export.app import _receivables_metrics


def test_receivables_and_aging_metrics_carry_their_currency_and_bucket(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "finance-export")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    rows = [
        {
            "currency": "EUR",
            "outstanding": Decimal("125.50"),
            "unapplied_credit": Decimal("7.00"),
            "payments_received": Decimal("80.00"),
            "cash_applied": Decimal("60.00"),
            "credit_applied": Decimal("0"),
            "dso_standard_days": 12.6,
        }
    ]
    _receivables_metrics(rows, {("EUR", "1-30"): Decimal("20.00"), ("EUR", "not_due"): Decimal("105.50")})
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    found = {}
    for blob in emitted:
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                dims = tuple(sorted((d, blob[d]) for d in definition["Dimensions"][0]))
                value = blob[metric["Name"]]
                found[(metric["Name"], dims)] = value[0] if isinstance(value, list) else value
    service = ("service", "finance-export")
    assert found[("CashApplied", (("currency", "EUR"), service))] == 60.0
    assert found[("DaysSalesOutstanding", (("currency", "EUR"), service))] == 12.6
    assert found[("UnappliedCredit", (("currency", "EUR"), service))] == 7.0
    assert found[("AgingOutstanding", (("bucket", "1-30"), ("currency", "EUR"), service))] == 20.0
    assert found[("AgingOutstanding", (("bucket", "not_due"), ("currency", "EUR"), service))] == 105.5
    assert len(found) == 8  # six receivables figures and two buckets
