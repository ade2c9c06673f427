"""A small chaos day on every commit: the demo's business day fault-free and then under the default faults
(10 % transient errors on every AWS call, 5 % crashes after side effects, 5 % duplicate deliveries, some
shuffled and late ones), with the same seed. Every order must end as it did without faults, every
invariant must hold in both runs, no unit may be phantom, and every kind of fault must have happened."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.chaos import run_chaos_day


@pytest.mark.slow
def test_a_business_day_under_faults_ends_every_order_as_without_them(tmp_path: Path) -> None:
    result = run_chaos_day(orders=50, seed=15, out=tmp_path)
    report = "\n".join(result.chaos.invariants + result.baseline.invariants)
    assert result.differences == {}, result.differences
    assert result.kinds_never_injected == [], result.chaos.faults_injected
    assert result.chaos.invariants_held, report
    assert result.baseline.invariants_held, report
    assert result.chaos.phantom_units == 0
    assert result.chaos.accounted, result.chaos.unaccounted
    assert sum(result.chaos.faults_injected.values()) > 50
    assert result.ok
