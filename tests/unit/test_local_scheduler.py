"""Schedule expressions of the local EventBridge Scheduler, against hand-worked calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from infra.embedded._sam import SamError
from infra.embedded._scheduler import ScheduleExpression, SchedulerClock

CREATED = datetime(2026, 12, 1, 10, 7, 30, tzinfo=UTC)


def _next(text: str, after: datetime, count: int = 3, timezone: str = "UTC") -> list[datetime]:
    return list(islice(ScheduleExpression(text, timezone).occurrences_after(after, CREATED), count))


def test_a_rate_runs_one_period_after_creation_and_every_period_after() -> None:
    # Given a 15-minute rate created at 10:07:30
    # When the next runs after creation are asked for
    runs = _next("rate(15 minutes)", CREATED)
    # Then they fall at 10:22:30, 10:37:30, 10:52:30
    assert runs == [CREATED + timedelta(minutes=15 * n) for n in (1, 2, 3)]


def test_a_rate_asked_later_resumes_on_its_own_grid() -> None:
    assert _next("rate(1 hour)", datetime(2026, 12, 1, 13, 0, tzinfo=UTC), 2) == [
        datetime(2026, 12, 1, 13, 7, 30, tzinfo=UTC),
        datetime(2026, 12, 1, 14, 7, 30, tzinfo=UTC),
    ]
    assert _next("rate(1 day)", CREATED, 1) == [datetime(2026, 12, 2, 10, 7, 30, tzinfo=UTC)]


def test_cron_daily_at_two_in_the_morning() -> None:
    # Given cron(0 2 * * ? *) asked on 1 December 2026 at 10:07
    # Then the next runs are 2 and 3 December at 02:00 UTC
    assert _next("cron(0 2 * * ? *)", CREATED, 2) == [
        datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
        datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
    ]


def test_cron_weekdays_by_name_and_steps() -> None:
    # 1 December 2026 is a Tuesday: MON-FRI at 09:30 next runs Wednesday 2, Thursday 3, Friday 4,
    # then Monday 7 (the weekend skipped)
    assert _next("cron(30 9 ? * MON-FRI *)", CREATED, 4) == [
        datetime(2026, 12, d, 9, 30, tzinfo=UTC) for d in (2, 3, 4, 7)
    ]
    # every 20 minutes from minute 5 of each hour
    assert _next("cron(5/20 * * * ? *)", CREATED, 3) == [
        datetime(2026, 12, 1, 10, 25, tzinfo=UTC),
        datetime(2026, 12, 1, 10, 45, tzinfo=UTC),
        datetime(2026, 12, 1, 11, 5, tzinfo=UTC),
    ]
    # the first day of each quarter's first month, at midnight
    assert _next("cron(0 0 1 JAN,APR,JUL,OCT ? *)", CREATED, 2) == [
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2027, 4, 1, tzinfo=UTC),
    ]


def test_cron_in_a_time_zone() -> None:
    # 06:00 in New York is 11:00 UTC in December (EST, UTC-5)
    assert _next("cron(0 6 * * ? *)", CREATED, 1, "America/New_York") == [
        datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    ]


def test_at_runs_once() -> None:
    assert _next("at(2026-12-24T18:00:00)", CREATED) == [datetime(2026, 12, 24, 18, 0, tzinfo=UTC)]
    assert _next("at(2026-11-24T18:00:00)", CREATED) == []


@pytest.mark.parametrize(
    "text", ["rate(5 seconds)", "cron(0 2 L * ? *)", "cron(0 2 * * ? )", "cron(0 25 * * ? *)", "daily"]
)
def test_expressions_the_local_scheduler_cannot_run_are_refused(text: str) -> None:
    with pytest.raises(SamError):
        ScheduleExpression(text).validate()


def test_the_clock_only_moves_forward() -> None:
    clock = SchedulerClock()
    before = clock.now()
    assert clock.advance(timedelta(hours=2)) - before >= timedelta(hours=2)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))
