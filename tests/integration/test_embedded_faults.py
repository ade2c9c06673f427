"""Fault injection in the embedded AWS (infra/embedded/_faults.py), on the probe application: each kind of
fault reaches the code the way AWS would deliver it, and the caller's own retries are what cope."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra import DeployedStack, EmbeddedAws, FaultPlan, FaultRule
from infra.embedded._faults import check_moto_fault_points
from tests.conftest import PROBE_TEMPLATE, TEST_RETRY_DELAY


@pytest.fixture(scope="module")
def probe() -> Iterator[tuple[EmbeddedAws, DeployedStack]]:
    with EmbeddedAws(retry_delay=TEST_RETRY_DELAY, faults=FaultPlan(seed=7)) as aws:
        yield aws, aws.deploy(PROBE_TEMPLATE, stack_name="faultprobe")


def _use(aws: EmbeddedAws, *rules: FaultRule) -> Any:
    injector = aws.faults
    assert injector is not None
    injector.use(FaultPlan(seed=7, rules=rules))
    return injector


def _item(stack: DeployedStack, pk: str) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(stack.table_name("StockTable"))
    item: dict[str, Any] | None = table.get_item(Key={"pk": pk}).get("Item")
    return item


def _send(stack: DeployedStack, *bodies: str) -> None:
    sqs = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=stack.queue_url("WorkQueue"), MessageBody=body)


def test_the_wrapped_moto_internals_are_where_the_injector_expects_them() -> None:
    check_moto_fault_points()


def test_a_throttled_call_inside_a_handler_is_retried_by_the_client(
    probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = probe
    # Given DynamoDB throttling the worker's next two PutItem calls
    injector = _use(
        aws,
        FaultRule(
            "throttle", 1.0, service="dynamodb", operation="PutItem", function="WorkerFunction", limit=2
        ),
    )
    # When a message reaches the worker
    body = f"thr-{uuid.uuid4().hex[:8]}"
    _send(stack, body)
    aws.wait_idle(timeout=30)
    # Then both throttles were injected into the handler's call and boto3's retries got the item written
    assert injector.report()["throttle"] == 2
    assert [(i.caller, i.target) for i in injector.log] == [("WorkerFunction", "dynamodb.PutItem")] * 2
    item = _item(stack, f"done#{body}")
    assert item is not None
    assert item["attempts"] == 1


def test_the_driver_and_the_pollers_are_not_faulted_by_default(
    probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = probe
    injector = _use(aws, FaultRule("server_error", 1.0, service="dynamodb"))
    # When the test itself (the driver) writes and reads
    table = boto3.resource("dynamodb").Table(stack.table_name("StockTable"))
    table.put_item(Item={"pk": "driver"})
    # Then nothing was injected: default rules fault handlers and the state machine only
    assert _item(stack, "driver") == {"pk": "driver"}
    assert injector.report()["server_error"] == 0


def test_a_reset_after_the_write_took_effect_leaves_the_write_and_the_retry_sees_it(
    probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = probe
    # Given the connection dropping after DynamoDB applied the driver's conditional put
    injector = _use(
        aws,
        FaultRule(
            "connection_reset", 1.0, operation="PutItem", origins=("driver",), after_apply=1.0, limit=1
        ),
    )
    table = boto3.resource("dynamodb").Table(stack.table_name("StockTable"))
    # When the client's retry sends the same conditional put again
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.put_item(Item={"pk": "once"}, ConditionExpression="attribute_not_exists(pk)")
    # Then the first attempt had written the item: exactly the ambiguity a lost response leaves
    assert _item(stack, "once") == {"pk": "once"}
    assert [i.after_apply for i in injector.log] == [True]


def test_a_crash_after_side_effects_makes_sqs_deliver_the_batch_again(
    probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = probe
    injector = _use(aws, FaultRule("crash_after_side_effects", 1.0, function="WorkerFunction", limit=1))
    # When the worker processes a message and its process dies before answering
    body = f"crash-{uuid.uuid4().hex[:8]}"
    _send(stack, body)
    aws.wait_idle(timeout=30)
    # Then the side effect of the first run is there, and the message came back and ran again
    item = _item(stack, f"done#{body}")
    assert item is not None
    assert (item["attempts"], item["receive_count"]) == (2, "2")
    assert injector.report()["crash_after_side_effects"] == 1
    assert aws.stats()["functions"][stack.function_name("WorkerFunction")]["errors"] >= 1


def test_a_lambda_invoke_failing_in_the_state_machine_reaches_the_asl_as_lambda_service_exception(
    probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = probe
    injector = _use(
        aws,
        FaultRule(
            "server_error", 1.0, service="lambda", operation="Invoke", origins=("stepfunctions",), limit=1
        ),
    )
    sfn = boto3.client("stepfunctions")
    run = f"sum-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(
        stateMachineArn=stack.state_machine_arn("Workflow"),
        name=run,
        input=json.dumps({"id": run, "a": 2, "b": 3}),
    )["executionArn"]
    aws.wait_idle(timeout=30)
    # Then, as on AWS, the integration reports it to the state machine, whose Retry must cover it (the
    # probe's workflow has none, so the execution fails with that error)
    execution = sfn.describe_execution(executionArn=arn)
    assert (execution["status"], execution["error"]) == ("FAILED", "Lambda.ServiceException")
    assert [(i.kind, i.caller, i.target) for i in injector.log] == [
        ("server_error", "stepfunctions", "lambda.Invoke")
    ]


def test_a_crashed_task_fails_with_runtime_exit_error(probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = probe
    _use(aws, FaultRule("crash_after_side_effects", 1.0, function="AddFunction", limit=1))
    lam = boto3.client("lambda")
    answer = lam.invoke(
        FunctionName=stack.function_name("AddFunction"), Payload=b'{"id": "x", "a": 1, "b": 1}'
    )
    error = json.loads(answer["Payload"].read())
    assert answer["FunctionError"]
    assert error["errorType"] == "Runtime.ExitError"


def test_a_duplicate_delivery_runs_the_message_twice(probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = probe
    injector = _use(aws, FaultRule("duplicate_delivery", 1.0, resource="WorkQueue", limit=1))
    body = f"dup-{uuid.uuid4().hex[:8]}"
    _send(stack, body)
    aws.wait_idle(timeout=30)
    item = _item(stack, f"done#{body}")
    assert item is not None
    assert item["attempts"] == 2
    assert injector.report()["duplicate_delivery"] == 1


def test_held_back_and_shuffled_deliveries_all_arrive(probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = probe
    injector = _use(
        aws,
        FaultRule("out_of_order", 1.0, resource="WorkQueue"),
        FaultRule("delayed_delivery", 0.5, resource="WorkQueue", delay_s=0.5),
    )
    bodies = [f"ooo-{i}-{uuid.uuid4().hex[:6]}" for i in range(8)]
    _send(stack, *bodies)
    aws.wait_idle(timeout=30)
    assert all(_item(stack, f"done#{b}") is not None for b in bodies)
    report = injector.report()
    assert report["delayed_delivery"] > 0
    assert report["out_of_order"] > 0


def test_eventbridge_delivers_an_event_twice_and_later(probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = probe
    injector = _use(
        aws,
        FaultRule("duplicate_delivery", 1.0, resource="ShipmentRule", limit=1),
        FaultRule("delayed_delivery", 1.0, resource="ShipmentRule", delay_s=0.3, limit=1),
    )
    boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": stack.resources["Bus"],
                "Source": "carrier.test",
                "DetailType": "ShipmentUpdated",
                "Detail": json.dumps({"tracking": "T-9"}),
            }
        ]
    )
    sqs = boto3.client("sqs")
    deadline = time.monotonic() + 10
    bodies: list[dict[str, Any]] = []
    while len(bodies) < 2 and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=stack.queue_url("ShipmentQueue"), MaxNumberOfMessages=10
        ).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(
                QueueUrl=stack.queue_url("ShipmentQueue"), ReceiptHandle=message["ReceiptHandle"]
            )
        time.sleep(0.05)
    # Then the same event (one id) arrived twice, after the hold-back
    assert [b["detail"] for b in bodies] == [{"tracking": "T-9"}] * 2
    assert len({b["id"] for b in bodies}) == 1
    assert injector.report()["duplicate_delivery"] == 1
    assert injector.report()["delayed_delivery"] == 1
    assert injector.pending_deliveries == 0


def test_a_paused_call_waits_for_its_gate(probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = probe
    injector = _use(
        aws, FaultRule("pause", 1.0, function="WorkerFunction", operation="PutItem", gate="w", limit=1)
    )
    body = f"gate-{uuid.uuid4().hex[:8]}"
    _send(stack, body)
    injector.wait_paused("w", timeout=10)
    assert _item(stack, f"done#{body}") is None  # held at the gate
    injector.open_gate("w")
    aws.wait_idle(timeout=30)
    assert _item(stack, f"done#{body}") is not None
