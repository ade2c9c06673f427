"""The fast JSON response path (infra/embedded/_serialize.py) answers byte for byte what moto's own
serializer answers, on a corpus of DynamoDB responses covering every attribute type and item operation,
and hands anything it cannot prove equal back to moto."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import EmbeddedAws
from infra.embedded._serialize import Unsupported, fast_json_body


@pytest.fixture(scope="module")
def verifying_aws() -> Iterator[EmbeddedAws]:
    """An EmbeddedAws that runs moto's serializer beside the fast one on every response."""
    with EmbeddedAws(verify_speedups=True) as aws:
        yield aws


def _table(ddb: Any, *, range_key: bool = True) -> str:
    name = f"corpus-{uuid.uuid4().hex[:8]}"
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "N"})
    attrs.append({"AttributeName": "gsi_pk", "AttributeType": "S"})
    ddb.create_table(
        TableName=name,
        KeySchema=keys,
        AttributeDefinitions=attrs,
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-gsi",
                "KeySchema": [{"AttributeName": "gsi_pk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return name


def _random_value(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["M", "L"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "x", "Grüße", "line\nbreak", '{"json": true}', "9" * 40])}
    if kind == "N":
        return {
            "N": rng.choice(["0", "-1", "3.14", "1E+3", "409.94", "12345678901234567890123456789012345678"])
        }
    if kind == "B":
        return {"B": bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12)))}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "SS":
        return {"SS": sorted({f"s{rng.randrange(100)}" for _ in range(rng.randrange(1, 4))})}
    if kind == "NS":
        return {"NS": sorted({str(rng.randrange(100)) for _ in range(rng.randrange(1, 4))})}
    if kind == "BS":
        return {"BS": list({bytes([rng.randrange(256), i]) for i in range(rng.randrange(1, 4))})}
    if kind == "M":
        return {"M": {f"k{i}": _random_value(rng, depth + 1) for i in range(rng.randrange(0, 4))}}
    return {"L": [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]}


def test_item_operations_answer_as_moto_does(verifying_aws: EmbeddedAws) -> None:
    # Given a table, items of every attribute type nested to depth 3 (seeded), and every item operation
    ddb = boto3.client("dynamodb")
    rng = random.Random(20261201)
    name = _table(ddb)
    json_responses = verifying_aws.speedups.json_responses
    fast_before = json_responses.fast
    for i in range(40):
        item = {"pk": {"S": f"P{i % 4}"}, "sk": {"N": str(i)}, "gsi_pk": {"S": f"G{i % 3}"}}
        item.update({f"a{j}": _random_value(rng) for j in range(rng.randrange(1, 8))})
        ddb.put_item(TableName=name, Item=item, ReturnConsumedCapacity="TOTAL")
    # When each operation runs, with the return options the application and its libraries use
    ddb.get_item(TableName=name, Key={"pk": {"S": "P1"}, "sk": {"N": "1"}}, ConsistentRead=True)
    ddb.get_item(TableName=name, Key={"pk": {"S": "P1"}, "sk": {"N": "999"}})
    ddb.get_item(
        TableName=name,
        Key={"pk": {"S": "P2"}, "sk": {"N": "2"}},
        ProjectionExpression="#p, a0",
        ExpressionAttributeNames={"#p": "pk"},
        ReturnConsumedCapacity="INDEXES",
    )
    for values in ("ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD", "NONE"):
        ddb.update_item(
            TableName=name,
            Key={"pk": {"S": "P0"}, "sk": {"N": "0"}},
            UpdateExpression="SET tally = if_not_exists(tally, :zero) + :one, labels = :tags",
            ExpressionAttributeValues={
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":tags": {"L": [{"S": "a"}, {"M": {"n": {"N": "1.50"}}}]},
            },
            ReturnValues=values,
        )
    ddb.put_item(
        TableName=name, Item={"pk": {"S": "P0"}, "sk": {"N": "4"}, "x": {"S": "y"}}, ReturnValues="ALL_OLD"
    )
    ddb.delete_item(TableName=name, Key={"pk": {"S": "P0"}, "sk": {"N": "8"}}, ReturnValues="ALL_OLD")
    page = ddb.query(
        TableName=name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "P1"}},
        Limit=3,
        ReturnConsumedCapacity="TOTAL",
    )
    ddb.query(
        TableName=name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "P1"}},
        ExclusiveStartKey=page["LastEvaluatedKey"],
        ScanIndexForward=False,
    )
    ddb.query(
        TableName=name,
        IndexName="by-gsi",
        KeyConditionExpression="gsi_pk = :g",
        ExpressionAttributeValues={":g": {"S": "G1"}},
        Select="COUNT",
    )
    ddb.scan(TableName=name, Limit=7)
    ddb.scan(TableName=name, FilterExpression="attribute_exists(a3)")
    ddb.batch_get_item(
        RequestItems={
            name: {"Keys": [{"pk": {"S": f"P{i % 4}"}, "sk": {"N": str(i)}} for i in range(0, 12, 3)]}
        }
    )
    ddb.batch_write_item(
        RequestItems={
            name: [{"PutRequest": {"Item": {"pk": {"S": "W"}, "sk": {"N": str(i)}}}} for i in range(3)]
        }
    )
    ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": name, "Key": {"pk": {"S": "P3"}, "sk": {"N": "3"}}}}]
    )
    ddb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": name,
                    "Item": {"pk": {"S": "T"}, "sk": {"N": "1"}, "b": {"B": b"\x00\xff"}},
                }
            },
            {
                "Update": {
                    "TableName": name,
                    "Key": {"pk": {"S": "P2"}, "sk": {"N": "6"}},
                    "UpdateExpression": "ADD n :n",
                    "ExpressionAttributeValues": {":n": {"N": "2"}},
                }
            },
        ]
    )
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": {"pk": {"S": "T"}, "sk": {"N": "1"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            ]
        )
    ddb.describe_table(TableName=name)
    ddb.list_tables()
    # Then every answer equals moto's own, and the fast path served the item operations
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert json_responses.mismatches == []
    assert json_responses.fast - fast_before >= 60


def test_the_application_answers_as_moto_does(verifying_aws: EmbeddedAws) -> None:
    # Given the PynamoDB models of the application on their real tables (order items with nested history)
    from oms.data.models import OrderRecord

    ddb = boto3.client("dynamodb")
    name = f"orders-{uuid.uuid4().hex[:6]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    resource = boto3.resource("dynamodb")
    table = resource.Table(name)
    history = [{"at": f"2026-11-02T13:{i:02d}:00Z", "status": "RECEIVED", "by": "system"} for i in range(30)]
    # When an order-shaped item is written, read and updated through the resource API (Decimal numbers)
    table.put_item(
        Item={
            "order_id": "shopify-1",
            "status": "RECEIVED",
            "grand_total": Decimal("409.94"),
            "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": Decimal("199.99")}],
            "history": history,
        }
    )
    got = table.get_item(Key={"order_id": "shopify-1"}, ConsistentRead=True)["Item"]
    table.update_item(
        Key={"order_id": "shopify-1"},
        UpdateExpression="SET #s = :s, history = list_append(history, :h)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "ALLOCATED", ":h": [{"status": "ALLOCATED", "by": "system"}]},
        ReturnValues="ALL_NEW",
    )
    # Then the values come back exactly (Decimal, nested lists) and both serializers agree
    assert got["grand_total"] == Decimal("409.94")
    assert got["history"] == history
    assert verifying_aws.speedups.json_responses.mismatches == []
    assert OrderRecord.Meta.table_name  # the model module imports with the stack's table names unbound


class _Shape:
    """A minimal botocore-like shape."""

    def __init__(self, name: str, type_name: str, members: dict[str, Any] | None = None) -> None:
        self.name = name
        self.type_name = type_name
        self.members = members or {}
        self.serialization: dict[str, Any] = {}
        self.is_document_type = False


def test_values_outside_the_shape_go_to_moto() -> None:
    # Given a structure whose value carries a key that is not one of its members
    from moto.core.serialize import JSONSerializer
    from moto.core.utils import get_service_model

    model = get_service_model("dynamodb").operation_model("GetItem")
    serializer = JSONSerializer(operation_model=model)
    # When the fast path is asked to serialize it, or an object instead of a dict
    # Then it refuses, so that moto's own alias-aware picker answers
    with pytest.raises(Unsupported):
        fast_json_body(serializer, {"Item": {"pk": {"S": "x"}}, "item_extra": 1})
    with pytest.raises(Unsupported):
        fast_json_body(serializer, type("Result", (), {"Item": None})())
    assert fast_json_body(serializer, {"Item": {"pk": {"S": "x"}}}) == {"Item": {"pk": {"S": "x"}}}
