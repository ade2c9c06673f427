"""The speed-ups of moto internals (infra/embedded/_speedups.py) change costs, never results."""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid

import boto3

from infra import DeployedStack, EmbeddedAws

# ---------------------------------------------------------------------------------------------- SQS


def test_sqs_clock_is_moto_clock(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    import datetime

    import moto.sqs.models as sqs_models
    from moto.core import utils

    before = time.time()
    now, now_ms = sqs_models.unix_time(), sqs_models.unix_time_millis()
    assert before - 0.001 <= now <= time.time() + 0.001
    assert before * 1000 - 1 <= now_ms <= time.time() * 1000 + 1
    assert abs(utils.unix_time() - sqs_models.unix_time()) < 1
    moment = datetime.datetime(2026, 11, 2, 13, 0, 0, 250000, tzinfo=datetime.UTC).replace(tzinfo=None)
    assert sqs_models.unix_time(moment) == utils.unix_time(moment)
    assert sqs_models.unix_time_millis(moment) == utils.unix_time_millis(moment)


def test_sqs_retention_period_still_applies(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    from moto.sqs.models import sqs_backends

    aws, _ = embedded_probe
    sqs = boto3.client("sqs")
    name = f"retention-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    queue = sqs_backends[aws.account_id][aws.region].get_queue(name)
    queue._messages[0].sent_timestamp -= 61_000  # sent 61 s ago: past the 60 s retention
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
    sqs.send_message(QueueUrl=url, MessageBody="fresh")
    queue._messages[-1].sent_timestamp -= 59_000
    # moto marked "old" received (in flight) before finding it expired; "fresh" is the only one left.
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert bodies == ["fresh"]


def test_deep_queue_delivers_every_message_once(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"deep-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for start in range(0, 300, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)} for i in range(10)]
        )
    seen: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        seen.extend(m["Body"] for m in messages)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    assert sorted(seen, key=int) == [str(i) for i in range(300)]


# --------------------------------------------------------------------------------- Step Functions


def test_every_importer_of_boto_client_for_gets_the_cached_one(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    from moto.stepfunctions.parser.asl.utils import boto_client

    patched = boto_client.boto_client_for
    original = patched.__wrapped__
    holders = [
        name
        for name, module in list(sys.modules.items())
        if name.startswith("moto.") and getattr(module, "boto_client_for", None) is not None
    ]
    assert len(holders) >= 14
    for name in holders:
        assert sys.modules[name].boto_client_for is patched, name
    assert original is not patched
    lam = patched(region="us-east-1", service="lambda")
    assert patched(region="us-east-1", service="lambda", state_credentials=None) is lam
    assert patched(region="us-east-1", service="sqs") is not lam
    assert patched(region="eu-west-1", service="lambda") is not lam
    assert lam.meta.region_name == "us-east-1"


_MACHINE = {
    "Comment": "per-execution data everywhere: paths, intrinsics, Choice, Map, a Lambda task",
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.a", "NumericGreaterThanEquals": 50, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {
            "Type": "Pass",
            "Parameters": {"id.$": "$.id", "a.$": "$.a", "b.$": "$.b", "items.$": "$.items", "size": "big"},
            "Next": "Add",
        },
        "Small": {
            "Type": "Pass",
            "Parameters": {"id.$": "$.id", "a.$": "$.a", "b.$": "$.b", "items.$": "$.items", "size": "small"},
            "Next": "Add",
        },
        "Add": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "__ADD__",
                "Payload": {"id.$": "$.id", "a.$": "$.a", "b.$": "$.b"},
            },
            "ResultSelector": {"sum.$": "$.Payload.sum"},
            "ResultPath": "$.added",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"item.$": "$$.Map.Item.Value", "id.$": "$.id"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Label",
                "States": {
                    "Label": {
                        "Type": "Pass",
                        "Parameters": {"label.$": "States.Format('{}:{}', $.id, $.item)"},
                        "OutputPath": "$.label",
                        "End": True,
                    }
                },
            },
            "ResultPath": "$.labels",
            "Next": "Done",
        },
        "Done": {
            "Type": "Pass",
            "Parameters": {
                "id.$": "$.id",
                "size.$": "$.size",
                "sum.$": "$.added.sum",
                "labels.$": "$.labels",
            },
            "End": True,
        },
    },
}


def test_concurrent_executions_of_one_machine_each_get_their_own_output(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = embedded_probe
    sfn = boto3.client("stepfunctions")
    definition = json.dumps(_MACHINE).replace("__ADD__", stack.function_name("AddFunction"))
    arn = sfn.create_state_machine(
        name=f"speedups-{uuid.uuid4().hex[:8]}",
        definition=definition,
        roleArn=f"arn:aws:iam::{aws.account_id}:role/embedded-test",
        type="STANDARD",
    )["stateMachineArn"]
    inputs = {
        f"x{i:02d}": {"id": f"x{i:02d}", "a": i * 3, "b": i, "items": [f"i{j}" for j in range(i % 4 + 1)]}
        for i in range(30)
    }
    arns: dict[str, str] = {}
    lock = threading.Lock()

    def start(name: str) -> None:
        execution = boto3.client("stepfunctions").start_execution(
            stateMachineArn=arn, name=name, input=json.dumps(inputs[name])
        )["executionArn"]
        with lock:
            arns[name] = execution

    threads = [threading.Thread(target=start, args=(name,)) for name in inputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    aws.wait_idle(timeout=120)
    for name, given in inputs.items():
        described = sfn.describe_execution(executionArn=arns[name])
        assert described["status"] == "SUCCEEDED", (name, described)
        assert json.loads(described["output"]) == {
            "id": name,
            "size": "big" if given["a"] >= 50 else "small",
            "sum": given["a"] + given["b"],
            "labels": [f"{name}:{item}" for item in given["items"]],
        }
