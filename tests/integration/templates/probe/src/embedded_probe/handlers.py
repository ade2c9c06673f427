"""Tiny handlers for the embedded-AWS probe template (not domain code)."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import boto3

#: messages bodies the worker fails on (once: "flaky-*" succeeds from the second attempt; always: "poison-*")
_ATTEMPTS: dict[str, int] = {}


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        body_bytes = base64.b64decode(body)
        body = {"base64": True, "length": len(body_bytes)}
    return {
        "statusCode": 201 if event["requestContext"]["http"]["method"] == "POST" else 200,
        "headers": {"content-type": "application/json", "x-role": os.environ["ROLE"]},
        "cookies": ["session=abc; Path=/"],
        "body": json.dumps(
            {
                "routeKey": event["routeKey"],
                "rawPath": event["rawPath"],
                "rawQueryString": event["rawQueryString"],
                "pathParameters": event.get("pathParameters"),
                "queryStringParameters": event.get("queryStringParameters"),
                "cookies": event.get("cookies"),
                "headers": event["headers"],
                "body": body,
                "isBase64Encoded": event["isBase64Encoded"],
                "version": event["version"],
                "stage": event["requestContext"]["stage"],
                "function": context.function_name,
                "remaining_ms": context.get_remaining_time_in_millis(),
                "memory": context.memory_limit_in_mb,
                "table": os.environ["TABLE_NAME"],
                "secret": os.environ["SECRET_ARN"],
                "stage_var": os.getenv("STAGE"),
            }
        ),
    }


def whoami(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """What a function behind a JWT authorizer sees of the caller."""
    return {
        "routeKey": event["routeKey"],
        "authorizer": event["requestContext"].get("authorizer"),
        "authorization": event["headers"].get("authorization"),
        "role": os.environ["ROLE"],
    }


def raw_result(event: dict[str, Any], context: Any) -> Any:
    if event["rawPath"] == "/boom":
        raise ValueError("boom")
    return {"hello": "world", "role": os.environ["ROLE"]}


def slow_env(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reads its environment before and after a pause: concurrent invocations must not leak."""
    seen_before = (os.environ["ROLE"], os.getenv("AWS_LAMBDA_FUNCTION_NAME"), os.environ.get("TAG"))
    if event.get("exit") is not None:  # the runtime process dies (an out-of-memory kill, a segfault...)
        os._exit(int(event["exit"]))
    time.sleep(float(event.get("sleep", 0.05)))
    seen_after = (os.environ["ROLE"], os.getenv("AWS_LAMBDA_FUNCTION_NAME"), os.environ.get("TAG"))
    return {
        "before": seen_before,
        "after": seen_after,
        "trace_disabled": os.getenv("POWERTOOLS_TRACE_DISABLED"),
        "metrics_disabled": os.getenv("POWERTOOLS_METRICS_DISABLED"),
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "event": event,
        "pid": os.getpid(),
    }


def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS batch handler with ReportBatchItemFailures: records successes in DynamoDB."""
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    failures = []
    for record in event["Records"]:
        body = record["body"]
        _ATTEMPTS[body] = _ATTEMPTS.get(body, 0) + 1
        if body == "crash-batch":
            raise RuntimeError("whole batch fails")
        if body.startswith("poison-") or (body.startswith("flaky-") and _ATTEMPTS[body] == 1):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        table.put_item(
            Item={
                "pk": f"done#{body}",
                "attempts": _ATTEMPTS[body],
                "receive_count": record["attributes"]["ApproximateReceiveCount"],
                "source": record["eventSource"],
                "arn": record["eventSourceARN"],
                "attr": record["messageAttributes"].get("kind", {}).get("stringValue", ""),
            }
        )
    return {"batchItemFailures": failures}


def stream_reader(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """DynamoDB stream handler with ReportBatchItemFailures: copies each record it accepts into the stock
    table (`stream#<key>#<sequence>`); a `poison-` key always fails, a `crash-` key fails the invocation."""
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    failures = []
    for record in event["Records"]:
        data = record["dynamodb"]
        key = data["Keys"]["pk"]["S"]
        sequence = data["SequenceNumber"]
        _ATTEMPTS[sequence] = _ATTEMPTS.get(sequence, 0) + 1
        if key.startswith("crash-") and _ATTEMPTS[sequence] == 1:
            raise RuntimeError("the whole invocation fails once")
        if key.startswith("poison-") or failures:
            failures.append({"itemIdentifier": sequence})
            continue
        table.put_item(
            Item={
                "pk": f"stream#{key}#{sequence}",
                "event": record["eventName"],
                "old": json.dumps(data.get("OldImage")),
                "new": json.dumps(data.get("NewImage")),
                "arn": record["eventSourceARN"],
                "attempts": _ATTEMPTS[sequence],
                "batch": len(event["Records"]),
            }
        )
    return {"batchItemFailures": failures}


def add(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("fail"):
        raise ValueError("cannot add")
    return {"id": event["id"], "sum": event["a"] + event["b"], "role": os.environ["ROLE"]}


def start_workflow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    resp = sfn.start_execution(
        stateMachineArn=os.environ["STATE_MACHINE_ARN"], name=event["id"], input=json.dumps(event)
    )
    return {"executionArn": resp["executionArn"], "stateMachineArn": os.environ["STATE_MACHINE_ARN"]}


def seed(stack: Any) -> None:
    """``python -m infra serve --seed embedded_probe.handlers:seed`` hook used by the CLI test."""
    table = boto3.resource("dynamodb").Table(stack.table_name("StockTable"))
    table.put_item(Item={"pk": "seeded", "by": "cli"})
    print(f"seeded {stack.table_name('StockTable')}", flush=True)
