"""SQS event-source mappings: batches, ReportBatchItemFailures, retries, DLQ."""

from __future__ import annotations

import uuid

import boto3
import pytest

from infra import DeployedStack, EmbeddedAws


def _done_items(stack: DeployedStack) -> dict[str, dict[str, str]]:
    table = boto3.resource("dynamodb").Table(stack.table_name("StockTable"))
    items = table.scan()["Items"]
    return {str(i["pk"]).removeprefix("done#"): i for i in items if str(i["pk"]).startswith("done#")}


def _dlq_bodies(stack: DeployedStack) -> list[str]:
    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=stack.queue_url("WorkDlq"), MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not msgs:
            return bodies
        for m in msgs:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=stack.queue_url("WorkDlq"), ReceiptHandle=m["ReceiptHandle"])


def test_partial_batch_failure_retries_only_failed_and_dead_letters_poison(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = embedded_probe
    run = uuid.uuid4().hex[:8]
    ok, flaky, poison = f"ok-{run}", f"flaky-{run}", f"poison-{run}"
    sqs = boto3.client("sqs")
    sqs.send_message_batch(
        QueueUrl=stack.queue_url("WorkQueue"),
        Entries=[
            {
                "Id": str(i),
                "MessageBody": body,
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "probe"}},
            }
            for i, body in enumerate([ok, flaky, poison])
        ],
    )
    aws.wait_idle(timeout=30)

    done = _done_items(stack)
    assert done[ok]["attempts"] == 1  # processed once, never retried
    assert done[ok]["receive_count"] == "1"
    assert done[ok]["source"] == "aws:sqs"
    assert done[ok]["arn"].endswith(":" + stack.queue_url("WorkQueue").rsplit("/", 1)[1])
    assert done[ok]["attr"] == "probe"
    assert done[flaky]["attempts"] == 2  # failed once, retried once
    assert done[flaky]["receive_count"] == "2"
    assert poison not in done
    assert _dlq_bodies(stack) == [poison]  # after maxReceiveCount (3) receives


def test_function_error_fails_the_whole_batch(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = embedded_probe
    name = stack.function_name("WorkerFunction")
    aws.reset_stats()
    boto3.client("sqs").send_message(QueueUrl=stack.queue_url("WorkQueue"), MessageBody="crash-batch")
    aws.wait_idle(timeout=30)
    stats = aws.stats()["functions"][name]
    assert stats["invocations"] == 3  # maxReceiveCount attempts
    assert stats["errors"] == 3
    assert _dlq_bodies(stack) == ["crash-batch"]


def test_parse_batch_item_failures_follows_lambda_rules() -> None:
    from infra.embedded._esm import SqsPollers

    ids = {"a", "b"}
    parse = SqsPollers._parse_failures
    assert parse(b"", ids) == set()
    assert parse(b"null", ids) == set()
    assert parse(b'{"batchItemFailures": []}', ids) == set()
    assert parse(b'{"batchItemFailures": [{"itemIdentifier": "a"}]}', ids) == {"a"}
    assert parse(b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}', ids) == ids
    assert parse(b'{"batchItemFailures": [{"itemIdentifier": ""}]}', ids) == ids
    assert parse(b'"nonsense"', ids) == ids


def test_wait_idle_times_out_while_work_is_pending(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = embedded_probe
    body = f"poison-{uuid.uuid4().hex[:8]}"
    boto3.client("sqs").send_message(QueueUrl=stack.queue_url("WorkQueue"), MessageBody=body)
    with pytest.raises(TimeoutError, match="WorkQueue"):
        aws.wait_idle(timeout=0.1)
    aws.wait_idle(timeout=30)
    assert _dlq_bodies(stack) == [body]
