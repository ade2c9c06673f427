"""Step Functions timeouts, heartbeats, task-token waits and Wait states run on the local clock: one
``scheduler.advance()`` moves them with the schedules, and an execution that only waits is idle."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from infra import EmbeddedAws
from infra.embedded._sfn_clock import _PATCHED_MODULES

FOUR_HOURS = 4 * 3600


def _await_token(queue: str, timeout: int | str, heartbeat: int | None = None) -> dict[str, Any]:
    """A Standard machine: send the task token to SQS, wait for it (SLA from the input), report."""
    wait: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
        "ResultPath": "$.decision",
        "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.breach", "Next": "Breached"}],
        "Next": "Decided",
    }
    if isinstance(timeout, str):
        wait["TimeoutSecondsPath"] = timeout
    else:
        wait["TimeoutSeconds"] = timeout
    if heartbeat is not None:
        wait["HeartbeatSeconds"] = heartbeat
    return {
        "StartAt": "Await",
        "States": {
            "Await": wait,
            "Decided": {"Type": "Pass", "Result": "decided", "ResultPath": "$.outcome", "End": True},
            "Breached": {"Type": "Pass", "Result": "breached", "ResultPath": "$.outcome", "End": True},
        },
    }


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as running:
        yield running


def _machine(definition: dict[str, Any], name: str) -> str:
    sfn = boto3.client("stepfunctions")
    arn: str = sfn.create_state_machine(
        name=name,
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
        type="STANDARD",
    )["stateMachineArn"]
    return arn


def _queue(name: str) -> str:
    url: str = boto3.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    return url


def _token(queue: str, deadline: float = 10.0) -> str:
    sqs = boto3.client("sqs")
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", [])
        if messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
            token: str = json.loads(messages[0]["Body"])["token"]
            return token
        time.sleep(0.02)
    raise AssertionError("no task token arrived")


def _status(arn: str) -> str:
    status: str = boto3.client("stepfunctions").describe_execution(executionArn=arn)["status"]
    return status


def _finished(arn: str, deadline: float = 10.0) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.02)
    raise AssertionError(f"{arn} still running")


def _start(machine: str, name: str, payload: dict[str, Any] | None = None) -> str:
    arn: str = boto3.client("stepfunctions").start_execution(
        stateMachineArn=machine, name=name, input=json.dumps(payload or {})
    )["executionArn"]
    return arn


def test_moto_still_has_what_the_clock_replaces() -> None:
    # moto 5.2.5's interpreter: these modules use threading.Event / datetime as the fill-in expects
    import importlib
    import threading

    modules = {key: importlib.import_module(path) for key, path in _PATCHED_MODULES.items()}
    assert modules["callback"].__dict__["Event"] is not None
    assert hasattr(modules["wait_function"].WaitFunction, "_wait_interval")
    assert "threading" in modules["execute_state"].__dict__
    assert threading.Event is not None


def test_a_task_token_wait_times_out_on_the_clock_not_in_real_time(aws: EmbeddedAws) -> None:
    # Given an execution waiting for a person with a four-hour SLA from its input
    queue = _queue("sla-tokens")
    machine = _machine(_await_token(queue, "$.sla_seconds"), "sla")
    started = time.monotonic()
    arn = _start(machine, "sla-1", {"sla_seconds": FOUR_HOURS})
    _token(queue)
    # When three hours pass on the clock, it still waits, and the stack counts as idle
    aws.scheduler.advance(timedelta(hours=3))
    aws.wait_idle(timeout=10)
    assert _status(arn) == "RUNNING"
    # When the fourth hour passes
    aws.scheduler.advance(timedelta(hours=1, seconds=1))
    # Then the wait timed out (States.Timeout caught) within seconds of real time
    done = _finished(arn)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["outcome"] == "breached"
    assert json.loads(done["output"])["breach"]["Error"] == "States.Timeout"
    assert time.monotonic() - started < 30


def test_a_token_sent_before_the_sla_ends_the_wait(aws: EmbeddedAws) -> None:
    queue = _queue("decided-tokens")
    machine = _machine(_await_token(queue, FOUR_HOURS), "decided")
    arn = _start(machine, "decided-1")
    token = _token(queue)
    aws.scheduler.advance(timedelta(hours=2))
    boto3.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps({"by": "user:ann"}))
    done = _finished(arn)
    assert json.loads(done["output"])["outcome"] == "decided"
    assert json.loads(done["output"])["decision"] == {"by": "user:ann"}
    # and a later advance past the SLA changes nothing
    aws.scheduler.advance(timedelta(hours=3))
    assert _status(arn) == "SUCCEEDED"


def test_heartbeats_extend_a_wait_until_they_stop(aws: EmbeddedAws) -> None:
    # Given a wait with a 10-minute heartbeat inside a 4-hour timeout
    queue = _queue("heartbeat-tokens")
    machine = _machine(_await_token(queue, FOUR_HOURS, heartbeat=600), "heartbeat")
    arn = _start(machine, "heartbeat-1")
    token = _token(queue)
    sfn = boto3.client("stepfunctions")
    # When a heartbeat arrives every 8 minutes for half an hour
    for _ in range(4):
        aws.scheduler.advance(timedelta(minutes=8))
        sfn.send_task_heartbeat(taskToken=token)
        time.sleep(0.05)
        assert _status(arn) == "RUNNING"
    # Then the wait goes on; when they stop for 11 minutes it times out
    aws.scheduler.advance(timedelta(minutes=11))
    done = _finished(arn)
    assert json.loads(done["output"])["breach"]["Error"] == "States.Timeout"


def test_wait_states_follow_the_clock(aws: EmbeddedAws) -> None:
    # Given a Wait of one day, and a Wait until a timestamp two hours ahead on the clock
    until = (aws.scheduler.clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    definition = {
        "StartAt": "Day",
        "States": {
            "Day": {"Type": "Wait", "Seconds": 86400, "Next": "Until"},
            "Until": {"Type": "Wait", "Timestamp": until, "Next": "Done"},
            "Done": {"Type": "Pass", "End": True},
        },
    }
    arn = _start(_machine(definition, "waits"), "waits-1")
    time.sleep(0.1)
    aws.wait_idle(timeout=10)  # a Wait whose time lies ahead is idle
    aws.scheduler.advance(timedelta(hours=1))
    time.sleep(0.1)
    assert _status(arn) == "RUNNING"
    # When the clock passes the day (and with it the timestamp)
    aws.scheduler.advance(timedelta(hours=24))
    # Then both waits are over and the execution history carries clock times
    done = _finished(arn)
    assert done["status"] == "SUCCEEDED"
    events = boto3.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    assert events[-1]["timestamp"] - events[0]["timestamp"] >= timedelta(hours=25)
