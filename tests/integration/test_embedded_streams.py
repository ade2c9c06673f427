"""DynamoDB Streams → Lambda on the embedded AWS: committed writes only, in order, with retries, partial
batch failures, bisection and the on-failure destination, as the Lambda service polls a stream."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import DeployedStack, EmbeddedAws


def _copies(stack: DeployedStack, key: str) -> list[dict[str, Any]]:
    """What the stream function recorded for `key`, in stream order."""
    table = boto3.resource("dynamodb").Table(stack.table_name("StockTable"))
    items = [i for i in table.scan()["Items"] if str(i["pk"]).startswith(f"stream#{key}#")]
    return sorted(items, key=lambda i: int(str(i["pk"]).rsplit("#", 1)[1]))


def test_each_committed_write_reaches_the_function_once_in_order_with_both_images(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = embedded_probe
    ledger = boto3.resource("dynamodb").Table(stack.table_name("LedgerTable"))
    # When an item is created, changed twice and deleted
    ledger.put_item(Item={"pk": "a", "n": 1})
    ledger.update_item(Key={"pk": "a"}, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": 2})
    ledger.update_item(Key={"pk": "a"}, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": 3})
    ledger.delete_item(Key={"pk": "a"})
    aws.wait_idle(timeout=30)
    # Then the function saw INSERT, MODIFY, MODIFY, REMOVE, each once, with the images before and after
    copies = _copies(stack, "a")
    assert [c["event"] for c in copies] == ["INSERT", "MODIFY", "MODIFY", "REMOVE"]
    assert [json.loads(c["old"]) for c in copies] == [
        None,
        {"pk": {"S": "a"}, "n": {"N": "1"}},
        {"pk": {"S": "a"}, "n": {"N": "2"}},
        {"pk": {"S": "a"}, "n": {"N": "3"}},
    ]
    assert json.loads(copies[2]["new"]) == {"pk": {"S": "a"}, "n": {"N": "3"}}
    assert all(c["attempts"] == 1 for c in copies)
    assert f":table/{stack.table_name('LedgerTable')}/stream/" in copies[0]["arn"]
    sequences = [int(str(c["pk"]).rsplit("#", 1)[1]) for c in copies]
    assert sequences == sorted(set(sequences))


def test_a_cancelled_transaction_leaves_no_records_and_a_committed_one_leaves_all(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = embedded_probe
    name = stack.table_name("LedgerTable")
    client = boto3.client("dynamodb")
    put = {"Put": {"TableName": name, "Item": {"pk": {"S": "tx-1"}}}}
    failing = {
        "ConditionCheck": {
            "TableName": name,
            "Key": {"pk": {"S": "absent"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    # When a transaction writing tx-1 is cancelled by its second item's condition
    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=[put, failing])
    # and then a transaction writing tx-1 and tx-2 commits
    second = {"Put": {"TableName": name, "Item": {"pk": {"S": "tx-2"}}}}
    client.transact_write_items(TransactItems=[put, second])
    aws.wait_idle(timeout=30)
    # Then only the committed writes were streamed, once each
    assert [c["event"] for c in _copies(stack, "tx-1")] == ["INSERT"]
    assert [c["event"] for c in _copies(stack, "tx-2")] == ["INSERT"]


def test_a_record_that_keeps_failing_goes_to_the_on_failure_destination_and_the_rest_go_on(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = embedded_probe
    ledger = boto3.resource("dynamodb").Table(stack.table_name("LedgerTable"))
    # Given a record the function always fails (reported as the batch's first failure), between two good ones
    ledger.put_item(Item={"pk": "before-poison"})
    ledger.put_item(Item={"pk": "poison-1"})
    ledger.put_item(Item={"pk": "after-poison"})
    aws.wait_idle(timeout=60)
    # Then the good records were delivered once each; the poison one was tried 1 + 2 times, then described
    # in the on-failure queue as Lambda does (DDBStreamBatchInfo), and the stream moved past it
    assert len(_copies(stack, "before-poison")) == 1
    assert _copies(stack, "poison-1") == []
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.queue_url("StreamFailures"), MaxNumberOfMessages=10)[
        "Messages"
    ]
    infos = [json.loads(m["Body"]) for m in messages]
    assert [i["requestContext"]["condition"] for i in infos] == ["RetryAttemptsExhausted"]
    batch = infos[0]["DDBStreamBatchInfo"]
    assert batch["streamArn"].startswith("arn:aws:dynamodb:")
    assert int(batch["startSequenceNumber"]) <= int(batch["endSequenceNumber"])
    # the record after the poison one was retried with it, then delivered once the stream moved on
    assert len(_copies(stack, "after-poison")) == 1


def test_a_crashed_invocation_is_retried_from_the_start_of_its_batch(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, stack = embedded_probe
    ledger = boto3.resource("dynamodb").Table(stack.table_name("LedgerTable"))
    ledger.put_item(Item={"pk": "crash-1"})
    aws.wait_idle(timeout=30)
    (copy,) = _copies(stack, "crash-1")
    assert copy["attempts"] == 2
