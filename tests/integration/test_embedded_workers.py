"""Handlers in worker processes (``EmbeddedAws(workers=True)``): the same probe behaviour as in process,
each function in containers of its own, Lambda's timeouts and runtime exits, and the AWS calls a
container makes reaching the one emulated AWS."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import boto3
import httpx
import pytest
from conftest import PROBE_TEMPLATE, TEST_RETRY_DELAY

# The environment-isolation and Step Functions probes, run again here against worker containers.
from test_embedded_runtime import test_each_function_sees_its_own_environment_concurrently  # noqa: F401
from test_embedded_stepfunctions import (  # noqa: F401
    test_function_env_ref_starts_the_executing_machine_and_lambda_task_runs,
)

from infra import DeployedStack, EmbeddedAws


@pytest.fixture(scope="module")
def embedded_probe() -> Iterator[tuple[EmbeddedAws, DeployedStack]]:
    """The probe application with every handler in worker containers."""
    with EmbeddedAws(retry_delay=TEST_RETRY_DELAY, workers=True) as aws:
        stack = aws.deploy(PROBE_TEMPLATE, stack_name="probe")
        stack.serve_http_api()
        yield aws, stack


def _invoke(name: str, payload: dict[str, object]) -> tuple[dict[str, object], str | None]:
    answer = boto3.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    return json.loads(answer["Payload"].read()), answer.get("FunctionError")


def test_a_handler_runs_in_a_container_process_with_the_function_s_environment(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    # Given a function invoked through moto's Lambda API
    _, stack = embedded_probe
    name = stack.function_name("SlowEnvFunction")
    # When it runs
    result, error = _invoke(name, {"sleep": 0})
    # Then it ran in another process, with its own variables and the local overrides
    assert error is None
    assert result["pid"] != os.getpid()
    assert result["before"] == ["slow", name, None]
    assert result["trace_disabled"] == "true"
    assert str(result["arn"]).endswith(f":function:{name}")


def test_a_container_s_aws_calls_reach_the_emulated_aws(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    # Given messages on the queue a container's handler consumes (ReportBatchItemFailures) and writes from
    aws, stack = embedded_probe
    sqs = boto3.client("sqs")
    bodies = [f"w-{uuid.uuid4().hex[:6]}-{i}" for i in range(7)]
    for body in bodies:
        sqs.send_message(QueueUrl=stack.queue_url("WorkQueue"), MessageBody=body)
    # When the event-source mapping delivers them to the container
    aws.wait_idle(timeout=60)
    # Then every item the container wrote through DynamoDB is in the table this process reads
    table = boto3.resource("dynamodb").Table(stack.table_name("StockTable"))
    for body in bodies:
        item = table.get_item(Key={"pk": f"done#{body}"}, ConsistentRead=True)["Item"]
        assert item["source"] == "aws:sqs"


def test_an_http_api_route_is_answered_by_a_container(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    _, stack = embedded_probe
    assert httpx.get(f"{stack.api_url}/raw", timeout=30).json() == {"hello": "world", "role": "raw"}
    assert httpx.get(f"{stack.api_url}/boom", timeout=30).status_code == 500


def test_an_invocation_past_its_timeout_is_ended_like_lambda_ends_it(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    # Given a function whose Timeout is 2 s
    _, stack = embedded_probe
    name = stack.function_name("SlowEnvTwinFunction")
    # When an invocation runs for 4 s
    result, error = _invoke(name, {"sleep": 4})
    # Then the caller gets Lambda's timeout error, and the next invocation runs in a fresh container
    assert error is not None
    assert result["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after" in str(result["errorMessage"])
    again, error = _invoke(name, {"sleep": 0})
    assert error is None
    assert again["before"][0] == "twin"


def test_a_runtime_that_dies_is_reported_and_replaced(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    # Given a function whose process exits in the middle of an invocation
    _, stack = embedded_probe
    name = stack.function_name("SlowEnvFunction")
    # When it is invoked
    result, error = _invoke(name, {"exit": 3})
    # Then the caller gets Runtime.ExitError with the exit status, and the function keeps working
    assert error is not None
    assert result["errorType"] == "Runtime.ExitError"
    assert "exited with 3" in str(result["errorMessage"])
    again, error = _invoke(name, {"sleep": 0})
    assert error is None
    assert again["before"][0] == "slow"
