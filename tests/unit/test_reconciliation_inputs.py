"""What starts a reconciliation run or an export, read as the handlers read it: the Scheduler's planned time
gives the day before (the export: the days before, restated), a person's day is taken as given, anything
else is refused before a step runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from finance_export.app import ExportRequest
from reconcile.models import PlanInput

STARTED = "2026-12-02T02:30:07.123Z"


def plan(run_input: dict[str, object]) -> tuple[str, datetime]:
    return PlanInput.model_validate(
        {
            "input": run_input,
            "run_id": "oms-ReconciliationWorkflowDaily-20261202T023000",
            "started_at": STARTED,
        }
    ).period_and_clock()


def test_the_scheduled_run_reconciles_the_day_before_its_planned_time_and_judges_by_it() -> None:
    assert plan({"time": "2026-12-02T02:30:00Z"}) == ("2026-12-01", datetime(2026, 12, 2, 2, 30, tzinfo=UTC))
    # across a month and a year boundary
    assert plan({"time": "2027-01-01T02:30:00Z"})[0] == "2026-12-31"


def test_a_persons_run_takes_the_day_given_and_judges_by_now_or_the_clock_given() -> None:
    assert plan({"period": "2026-11-30"}) == (
        "2026-11-30",
        datetime(2026, 12, 2, 2, 30, 7, 123000, tzinfo=UTC),
    )
    assert plan({"period": "2026-11-30", "as_of": "2026-12-03T00:00:00+00:00"})[1] == datetime(
        2026, 12, 3, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "run_input",
    [
        {"period": "2026-13-01T00"},
        {"period": "2026-02-30"},
        {"period": "../../etc"},
        {"as_of": "2026-12-03T00:00:00"},  # no zone: refused, time is UTC and said so
        {"time": "yesterday"},
    ],
)
def test_anything_else_is_refused(run_input: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        plan(run_input)


def test_a_run_id_that_is_not_an_execution_name_is_refused() -> None:
    with pytest.raises(ValidationError):
        PlanInput.model_validate({"input": {}, "run_id": "a/b", "started_at": STARTED})


def test_the_scheduled_export_restates_the_days_before_its_planned_time() -> None:
    request = ExportRequest.model_validate({"time": "2026-12-02T02:15:00Z", "restate_days": 3})
    assert request.periods() == ["2026-11-29", "2026-11-30", "2026-12-01"]
    by_hand = ExportRequest.model_validate({"days": ["2026-12-01", "2026-11-30", "2026-12-01"]})
    assert by_hand.periods() == ["2026-11-30", "2026-12-01"]
    with pytest.raises(ValidationError):
        ExportRequest.model_validate({"days": ["2026-12-01"] * 32})
    with pytest.raises(ValueError, match="give `time`"):
        ExportRequest.model_validate({}).periods()
