"""The speed-ups of moto internals (infra/embedded/_speedups.py) change costs, never results."""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

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


def test_speedups_uninstall_restores_every_replaced_name(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    from infra.embedded._speedups import MotoSpeedups

    def snapshot() -> dict[tuple[str, str], object]:
        return {
            (name, attr): module.__dict__[attr]
            for name, module in list(sys.modules.items())
            if name.startswith(("moto.", "jsonpath_ng"))
            for attr in ("boto_client_for", "parse", "copy", "unix_time", "unix_time_millis")
            if attr in getattr(module, "__dict__", {})
        }

    before = snapshot()
    extra = MotoSpeedups()
    extra.install()
    assert snapshot() != before
    extra.uninstall()
    assert snapshot() == before


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


# ------------------------------------------------------------------------------------------ DynamoDB


def _table(hash_only: bool) -> str:
    ddb = boto3.client("dynamodb")
    name = f"tx-{uuid.uuid4().hex[:8]}"
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if not hash_only:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "S"})
    ddb.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST"
    )  # type: ignore[arg-type]
    return name


def _scan(name: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=name, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda i: json.dumps(i, sort_keys=True))


def _backend_table(aws: EmbeddedAws, name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[aws.account_id][aws.region].tables[name]


def test_cancelled_transaction_leaves_every_table_as_it_was(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    aws, _ = embedded_probe
    ddb = boto3.client("dynamodb")
    ranged, plain = _table(hash_only=False), _table(hash_only=True)
    for sk in ("a", "b"):
        ddb.put_item(TableName=ranged, Item={"pk": {"S": "p1"}, "sk": {"S": sk}, "n": {"N": "1"}})
    ddb.put_item(TableName=plain, Item={"pk": {"S": "k1"}, "n": {"N": "5"}})
    before = (_scan(ranged), _scan(plain))
    table_objects = (_backend_table(aws, ranged), _backend_table(aws, plain))
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": ranged, "Item": {"pk": {"S": "p1"}, "sk": {"S": "c"}}}},
                {"Put": {"TableName": ranged, "Item": {"pk": {"S": "p9"}, "sk": {"S": "a"}}}},
                {
                    "Update": {
                        "TableName": ranged,
                        "Key": {"pk": {"S": "p1"}, "sk": {"S": "a"}},
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Delete": {"TableName": plain, "Key": {"pk": {"S": "k1"}}}},
                {"Put": {"TableName": plain, "Item": {"pk": {"S": "k2"}}}},
                {
                    "ConditionCheck": {
                        "TableName": plain,
                        "Key": {"pk": {"S": "k3"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert reasons == ["None"] * 5 + ["ConditionalCheckFailed"]
    assert (_scan(ranged), _scan(plain)) == before
    assert (_backend_table(aws, ranged), _backend_table(aws, plain)) == table_objects
    # Validation errors (two operations on one item) roll back too.
    with pytest.raises(ClientError):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": plain, "Item": {"pk": {"S": "k4"}}}},
                {"Delete": {"TableName": plain, "Key": {"pk": {"S": "k4"}}}},
            ]
        )
    assert (_scan(ranged), _scan(plain)) == before


def test_committed_transaction_writes_everything(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    ddb = boto3.client("dynamodb")
    ranged = _table(hash_only=False)
    ddb.put_item(TableName=ranged, Item={"pk": {"S": "p1"}, "sk": {"S": "a"}, "n": {"N": "1"}})
    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": ranged,
                    "Key": {"pk": {"S": "p1"}, "sk": {"S": "a"}},
                    "UpdateExpression": "SET n = n + :one",
                    "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Put": {"TableName": ranged, "Item": {"pk": {"S": "p1"}, "sk": {"S": "b"}}}},
            {"Put": {"TableName": ranged, "Item": {"pk": {"S": "p2"}, "sk": {"S": "a"}}}},
        ]
    )
    assert _scan(ranged) == sorted(
        [
            {"pk": {"S": "p1"}, "sk": {"S": "a"}, "n": {"N": "2"}},
            {"pk": {"S": "p1"}, "sk": {"S": "b"}},
            {"pk": {"S": "p2"}, "sk": {"S": "a"}},
        ],
        key=lambda i: json.dumps(i, sort_keys=True),
    )


# ------------------------------------------------------------------------------------------ JSONPath


def test_jsonpath_parses_are_shared_and_still_correct(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    import jsonpath_ng.ext
    from jsonpath_ng.exceptions import JsonPathParserError
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    parse = jsonpath_ng.ext.parse
    assert parse("$.detail.order_id") is parse("$.detail.order_id")
    assert [m.value for m in parse("$.items[*].sku").find({"items": [{"sku": "A"}, {"sku": "B"}]})] == [
        "A",
        "B",
    ]
    assert extract_json("$.a.b", {"a": {"b": 1}}) == 1
    assert extract_json("$.a.b", {"a": {"b": 2}}) == 2
    for _ in range(2):
        with pytest.raises(JsonPathParserError):  # every time: errors are not cached
            parse("$.[[")


# ------------------------------------------------------------------------- like for like, on a corpus


def _outcome(call: Any) -> Any:
    """A call's answer without per-request metadata, or its error code and message."""
    try:
        answer = call()
    except ClientError as exc:
        return ("error", exc.response["Error"].get("Code"), exc.response["Error"].get("Message"))
    answer.pop("ResponseMetadata", None)
    return answer


def _dynamodb_corpus(ddb: Any, name: str) -> list[Any]:
    """Queries (partitions, conditions, pages, both directions, filters, an index), update expressions
    (every action, functions, nested paths, conditions that fail, syntax errors), items at the size limit."""
    outcomes: list[Any] = []
    for p in range(3):
        for s in range(6):
            ddb.put_item(
                TableName=name,
                Item={
                    "pk": {"S": f"p{p}"},
                    "sk": {"S": f"s{s:02d}"},
                    "g": {"S": f"g{s % 2}"},
                    "n": {"N": str(s * 10 + p)},
                    "doc": {
                        "M": {
                            "tags": {"L": [{"S": "a"}, {"N": str(s)}]},
                            "deep": {"M": {"x": {"BOOL": True}}},
                        }
                    },
                },
            )
    key = {"pk": {"S": "p1"}, "sk": {"S": "s02"}}
    queries: list[dict[str, Any]] = [
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p1"}}},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
        {
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":p": {"S": "p2"}, ":a": {"S": "s01"}, ":b": {"S": "s04"}},
            "ScanIndexForward": False,
        },
        {
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": {"S": "p0"}, ":s": {"S": "s0"}},
            "Limit": 2,
        },
        {
            "KeyConditionExpression": "pk = :p",
            "FilterExpression": "n > :n",
            "ExpressionAttributeValues": {":p": {"S": "p1"}, ":n": {"N": "20"}},
            "ProjectionExpression": "sk, doc.tags[1]",
        },
        {
            "IndexName": "by-g",
            "KeyConditionExpression": "g = :g",
            "ExpressionAttributeValues": {":g": {"S": "g1"}},
        },
    ]
    for query in queries:
        outcomes.append(_outcome(lambda query=query: ddb.query(TableName=name, **query)))
    page = ddb.query(
        TableName=name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p2"}},
        Limit=4,
    )
    outcomes.append(
        _outcome(
            lambda: ddb.query(
                TableName=name,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "p2"}},
                ExclusiveStartKey=page["LastEvaluatedKey"],
            )
        )
    )
    updates: list[dict[str, Any]] = [
        {
            "UpdateExpression": "SET n = n + :one, added = :v",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":v": {"S": "x"}},
        },
        {
            "UpdateExpression": "SET doc.tags[0] = :v, doc.deep.y = :v",
            "ExpressionAttributeValues": {":v": {"S": "y"}},
        },
        {
            "UpdateExpression": "SET doc.tags = list_append(doc.tags, :l)",
            "ExpressionAttributeValues": {":l": {"L": [{"S": "z"}]}},
        },
        {
            "UpdateExpression": "SET fresh = if_not_exists(fresh, :z)",
            "ExpressionAttributeValues": {":z": {"N": "0"}},
        },
        {"UpdateExpression": "REMOVE added, doc.deep.x"},
        {
            "UpdateExpression": "ADD counter :c, tags :t",
            "ExpressionAttributeValues": {":c": {"N": "2"}, ":t": {"SS": ["a", "b"]}},
        },
        {"UpdateExpression": "DELETE tags :t", "ExpressionAttributeValues": {":t": {"SS": ["a"]}}},
        {
            "UpdateExpression": "SET n = :n",
            "ConditionExpression": "n = :old",
            "ExpressionAttributeValues": {":n": {"N": "1"}, ":old": {"N": "-1"}},
        },
        {"UpdateExpression": "SET n = = :n", "ExpressionAttributeValues": {":n": {"N": "1"}}},
        {
            "UpdateExpression": "SET #s = :s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": "A"}},
        },
        {
            "UpdateExpression": "SET #s = :s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": "B"}},
        },
        {"UpdateExpression": "SET missing.path = :s", "ExpressionAttributeValues": {":s": {"S": "B"}}},
    ]
    for update in updates:
        outcomes.append(
            _outcome(
                lambda update=update: ddb.update_item(
                    TableName=name, Key=key, ReturnValues="ALL_NEW", **update
                )
            )
        )
    outcomes.append(_outcome(lambda: ddb.get_item(TableName=name, Key=key, ConsistentRead=True)))
    big = "x" * 1000
    for attributes in (400, 405):  # just under and just over moto's size limit
        item = {"pk": {"S": "big"}, "sk": {"S": str(attributes)}}
        item.update({f"a{i:03d}": {"S": big} for i in range(attributes)})
        outcomes.append(_outcome(lambda item=item: ddb.put_item(TableName=name, Item=item)))
    outcomes.append(_outcome(lambda: ddb.scan(TableName=name, ConsistentRead=True, Select="COUNT")))
    return [json.loads(json.dumps(o, default=repr).replace(name, "TABLE")) for o in outcomes]


def _corpus_table(ddb: Any) -> str:
    name = f"corpus-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return name


def test_speedups_answer_exactly_as_moto_does(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    # Given the same DynamoDB work run with the speed-ups installed and with moto's own code
    aws, _ = embedded_probe
    ddb = boto3.client("dynamodb")

    fast = _dynamodb_corpus(ddb, _corpus_table(ddb))
    aws.speedups.uninstall()
    try:
        plain = _dynamodb_corpus(boto3.client("dynamodb"), _corpus_table(ddb))
    finally:
        aws.speedups.install()
    # Then every answer and every error is the same
    assert len(fast) == len(plain)
    for index, (got, expected) in enumerate(zip(fast, plain, strict=True)):
        assert got == expected, index
    errors = [o[1] for o in fast if isinstance(o, list) and o[0] == "error"]
    assert "ConditionalCheckFailedException" in errors
    assert "ValidationException" in errors
    size_refusal = fast[-2]
    assert size_refusal[0] == "error"
    assert "maximum allowed size" in size_refusal[2]
    assert fast[-3] == {}  # the item just under the limit was stored


def _tree_shape(node: Any) -> Any:
    """A parse tree as nested tuples: each node's class, its children and its scalar attributes."""
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    if not isinstance(node, Node):
        return repr(node)
    scalars = sorted((k, repr(v)) for k, v in node.__dict__.items() if k not in ("parent", "children"))
    return (type(node).__name__, tuple(scalars), tuple(_tree_shape(c) for c in node.children or []))


def test_shared_update_expression_trees_are_never_changed(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    # Given the update expressions of the corpus run with the speed-ups (each parse tree shared)
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    aws, _ = embedded_probe
    ddb = boto3.client("dynamodb")
    _dynamodb_corpus(ddb, _corpus_table(ddb))
    trees = aws.speedups.update_expression_trees
    # When each cached tree is compared with what moto's parser builds from the text today
    make = next(value for owner, name, value in aws.speedups._saved if owner is UpdateExpressionParser)
    # Then validation and execution left every shared tree exactly as parsed
    assert len(trees) >= 8
    for text, tree in trees.items():
        assert _tree_shape(tree) == _tree_shape(make.__func__(UpdateExpressionParser, text)), text


def _ua(header: str) -> tuple[list[str], set[str]]:
    """A User-Agent header as (its components but the features, the set of features)."""
    parts = header.split(" ")
    features = {f for p in parts if p.startswith("m/") for f in p[2:].split(",")}
    return [p for p in parts if not p.startswith("m/")], features


def test_user_agent_is_botocore_s_own(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    # Given clients with different configurations and a request context with features
    from botocore import useragent
    from botocore.config import Config
    from botocore.context import ClientContext, start_as_current_context

    from infra.embedded import _speedups

    plain_to_string = next(
        value for owner, name, value in reversed(_embedded_saved(embedded_probe[0])) if name == "to_string"
    )
    clients = [
        boto3.client("dynamodb"),
        boto3.client("sqs", config=Config(user_agent_extra="extra/1", user_agent_appid="oms-test")),
        boto3.client("s3", config=Config(retries={"mode": "adaptive"})),
    ]
    for client in clients:
        ua = client._user_agent_creator  # type: ignore[attr-defined]
        # When the header is built with and without request features, twice
        assert _ua(ua.to_string()) == _ua(plain_to_string(ua))
        assert _ua(ua.to_string()) == _ua(plain_to_string(ua))
        with start_as_current_context(ClientContext(features={"Z", "b"})):
            # Then it is always the header botocore itself builds (its "m/" feature list is an unordered
            # set: botocore's own order varies from one call to the next)
            assert _ua(ua.to_string()) == _ua(plain_to_string(ua))
            assert "Z" in _ua(ua.to_string())[1]
    assert isinstance(useragent.UserAgentString.__dict__["to_string"], type(_speedups._fast_clock))


def _embedded_saved(aws: EmbeddedAws) -> list[tuple[Any, str, Any]]:
    return aws.speedups._saved


def test_speedups_refuse_to_start_when_a_moto_internal_moved() -> None:
    # Given a speed-up whose target is not where moto 5.2.5 defines it
    from infra.embedded._speedups import MotoSpeedups

    class Moved:
        pass

    speedups = MotoSpeedups()
    # When it is installed
    # Then start-up fails loudly, naming the internal
    with pytest.raises(RuntimeError, match=r"Moved\.query is gone"):
        speedups._set(Moved, "query", lambda: None)
    assert speedups._saved == []
