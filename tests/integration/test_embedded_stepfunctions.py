"""State machines created in the executing Step Functions backend with DefinitionSubstitutions."""

from __future__ import annotations

import json
import time
import uuid

import boto3

from infra import DeployedStack, EmbeddedAws


def test_state_machine_created_executing_with_substitutions(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    _, stack = embedded_probe
    arn = stack.state_machine_arn("Workflow")
    assert stack.outputs["WorkflowArn"] == arn
    described = boto3.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    assert described["type"] == "EXPRESS"
    definition = json.loads(described["definition"])
    add = definition["States"]["Add"]["Parameters"]["FunctionName"]
    assert add.endswith(":function:" + stack.function_name("AddFunction"))
    assert definition["States"]["Record"]["Parameters"]["TableName"] == stack.table_name("StockTable")
    assert "${" not in described["definition"]


def test_function_env_ref_starts_the_executing_machine_and_lambda_task_runs(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = embedded_probe
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    resp = boto3.client("lambda").invoke(
        FunctionName=stack.function_name("StarterFunction"),
        Payload=json.dumps({"id": order_id, "a": 40, "b": 2}).encode(),
    )
    assert resp.get("FunctionError") is None
    started = json.loads(resp["Payload"].read())
    assert started["stateMachineArn"] == stack.state_machine_arn("Workflow")
    aws.wait_idle(timeout=30)
    sfn = boto3.client("stepfunctions")
    execution = sfn.describe_execution(executionArn=started["executionArn"])
    assert execution["status"] == "SUCCEEDED"
    assert execution["name"] == order_id
    item = boto3.client("dynamodb").get_item(
        TableName=stack.table_name("StockTable"), Key={"pk": {"S": order_id}}
    )
    assert item["Item"]["sum"] == {"N": "42"}


def test_failed_lambda_task_fails_the_execution(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = embedded_probe
    sfn = boto3.client("stepfunctions")
    name = f"fail-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(
        stateMachineArn=stack.state_machine_arn("Workflow"), name=name, input=json.dumps({"fail": True})
    )["executionArn"]
    aws.wait_idle(timeout=30)
    deadline = time.monotonic() + 5
    while (
        status := sfn.describe_execution(executionArn=arn)["status"]
    ) == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status == "FAILED"
