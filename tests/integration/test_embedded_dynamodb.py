"""Emulated DynamoDB is atomic per request, as the real service is."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.exceptions import ClientError

from infra import DeployedStack, EmbeddedAws


def test_concurrent_conditional_decrements_never_oversell(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    _, stack = embedded_probe
    table = stack.table_name("StockTable")
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=table, Item={"pk": {"S": "sku#race"}, "stock": {"N": "100"}})

    def worker(_: int) -> int:
        client = boto3.client("dynamodb")
        ok = 0
        for _ in range(50):
            try:
                client.update_item(
                    TableName=table,
                    Key={"pk": {"S": "sku#race"}},
                    UpdateExpression="SET stock = stock - :one",
                    ConditionExpression="stock >= :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
                ok += 1
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return ok

    with ThreadPoolExecutor(max_workers=8) as pool:
        succeeded = sum(pool.map(worker, range(8)))
    assert succeeded == 100
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "sku#race"}})["Item"]
    assert item["stock"] == {"N": "0"}


def test_concurrent_transactions_are_serialized(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    """Each transaction moves one unit from a stock item to a reservation counter, both conditioned."""
    _, stack = embedded_probe
    table = stack.table_name("StockTable")
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=table, Item={"pk": {"S": "sku#tx"}, "stock": {"N": "60"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "reserved#tx"}, "count": {"N": "0"}})

    def worker(_: int) -> int:
        client = boto3.client("dynamodb")
        ok = 0
        for _ in range(20):
            try:
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": {"pk": {"S": "sku#tx"}},
                                "UpdateExpression": "SET stock = stock - :one",
                                "ConditionExpression": "stock >= :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                        {
                            "Update": {
                                "TableName": table,
                                "Key": {"pk": {"S": "reserved#tx"}},
                                "UpdateExpression": "SET #c = #c + :one",
                                "ExpressionAttributeNames": {"#c": "count"},
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                    ]
                )
                ok += 1
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
        return ok

    with ThreadPoolExecutor(max_workers=8) as pool:
        succeeded = sum(pool.map(worker, range(8)))
    assert succeeded == 60
    stock = ddb.get_item(TableName=table, Key={"pk": {"S": "sku#tx"}})["Item"]["stock"]
    reserved = ddb.get_item(TableName=table, Key={"pk": {"S": "reserved#tx"}})["Item"]["count"]
    assert stock == {"N": "0"}
    assert reserved == {"N": "60"}
