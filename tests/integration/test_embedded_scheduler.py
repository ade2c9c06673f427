"""The template's EventBridge Scheduler schedules fire on the local clock, with retries and a DLQ."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from conftest import PROBE_TEMPLATE, TEMPLATE

from infra import DeployedStack, EmbeddedAws


@pytest.fixture
def probe_with_schedules() -> Iterator[tuple[EmbeddedAws, DeployedStack]]:
    with EmbeddedAws() as aws:
        yield aws, aws.deploy(PROBE_TEMPLATE, stack_name="sched")


def test_schedules_fire_when_the_clock_passes_them(
    probe_with_schedules: tuple[EmbeddedAws, DeployedStack],
) -> None:
    # Given the probe's schedules: a daily rate, a failing nightly cron with 2 retries and a DLQ, a paused one
    aws, stack = probe_with_schedules
    add = stack.function_name("AddFunction")
    assert {"sched-Nightly", "sched-FailingNightly", "sched-PausedNightly"} <= set(aws.scheduler.schedules)
    aws.reset_stats()
    # When nothing has fallen due yet, then the clock moves a day and a minute ahead
    assert aws.scheduler.tick() == []
    fired = aws.scheduler.advance(timedelta(days=1, minutes=1))
    # Then the daily rate ran once and succeeded, the nightly cron ran once and failed, the paused none
    by_name = {name: (planned, ok) for name, planned, ok in fired}
    assert sorted(name for name, _, _ in fired) == ["sched-FailingNightly", "sched-Nightly"]
    assert by_name["sched-Nightly"][1] is True
    assert by_name["sched-FailingNightly"][1] is False
    assert by_name["sched-FailingNightly"][0].hour == 2
    # the failing target was tried 1 + 2 times, the succeeding one once
    assert aws.stats()["functions"][add]["invocations"] == 1 + 3
    # and the failed run's input went to the schedule's DLQ with the Scheduler's error attributes
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=stack.queue_url("ScheduleDLQ"), MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    assert len(messages) == 1
    attributes = {k: v["StringValue"] for k, v in messages[0]["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "ValueError"
    assert attributes["ERROR_MESSAGE"] == "cannot add"
    assert attributes["TARGET_ARN"].endswith(f":function:{add}")
    assert messages[0]["Body"] == '{"fail": true, "attempt": "3"}'
    # and a second tick at the same time fires nothing again
    assert aws.scheduler.tick() == []


def test_the_stock_sweeper_runs_every_fifteen_minutes_with_its_planned_time() -> None:
    # Given the project's template (the stock sweeper on rate(15 minutes))
    with EmbeddedAws() as aws:
        stack = aws.deploy(TEMPLATE, stack_name="oms")
        sweeper = stack.function_name("StockSweeperFunction")
        (name,) = [n for n, s in aws.scheduler.schedules.items() if s.target_arn.endswith(sweeper)]
        # When the clock moves 31 minutes ahead
        fired = [f for f in aws.scheduler.advance(timedelta(minutes=31)) if f[0] == name]
        # Then the sweep ran twice, 15 minutes apart, and each run succeeded (the daily reconciliation and
        # export fire too when the 31 minutes cross 02:15 or 02:30 UTC, the hourly audit digest when they
        # cross minute 5 of an hour: not counted here)
        assert [(n, ok) for n, _, ok in fired] == [(name, True), (name, True)]
        assert fired[1][1] - fired[0][1] == timedelta(minutes=15)
        assert aws.stats()["functions"][sweeper]["invocations"] == 2
