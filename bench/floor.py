"""The throughput floor: the bare AWS calls N orders minimally need, issued straight at the same emulator.

The plan comes from the metering of the real run: every request the system made (Lambda handlers, the SQS
pollers, the warehouse connector on the OMS queue, EventBridge's deliveries to SQS, the Step Functions
service) with its count and average payload, replayed with boto3 against scratch resources in the same
EmbeddedAws: the same number of DynamoDB PutItem/UpdateItem/GetItem/Query/TransactWriteItems (same item
sizes and items per transaction), S3 PutObject of the same sizes, SQS sends/receives/deletes, PutEvents
with the same entries, and one StartExecution per order of an Express machine made of as many Pass states
as the real executions entered. What the floor leaves out is the system's own work: running handler code
(Lambda invokes), HTTP, parsing, validation, PDF rendering.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3

from bench.meter import Meter, unmetered
from infra import DeployedStack, EmbeddedAws

FLOOR = "bench-floor"
#: (service, operation) replayed, in the order an order's calls are issued.
REPLAYED = (
    ("secretsmanager", "GetSecretValue"),
    ("ssm", "GetParameter"),
    ("dynamodb", "PutItem"),
    ("dynamodb", "GetItem"),
    ("dynamodb", "BatchGetItem"),
    ("dynamodb", "Query"),
    ("dynamodb", "Scan"),
    ("dynamodb", "UpdateItem"),
    ("dynamodb", "TransactWriteItems"),
    ("dynamodb", "BatchWriteItem"),
    ("dynamodb", "DeleteItem"),
    ("stepfunctions", "StartExecution"),
    ("events", "PutEvents"),
    ("eventbridge", "SendMessage"),
    ("sqs", "SendMessage"),
    ("sqs", "ReceiveMessage"),
    ("sqs", "DeleteMessageBatch"),
    ("s3", "PutObject"),
)
#: Calls that are the system's own work, not a bare need: running a handler is what is being measured.
NOT_REPLAYED = {("lambda", "Invoke")}


@dataclass
class Step:
    service: str
    operation: str
    total: int
    payload: int  # average bytes per call
    items: int  # average items per call (DynamoDB items, PutEvents entries)


@dataclass
class FloorPlan:
    orders: int
    steps: list[Step]
    transitions_per_execution: int
    skipped: list[str] = field(default_factory=list)

    def calls(self) -> int:
        return sum(s.total for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "calls": self.calls(),
            "calls_per_order": self.calls() / self.orders if self.orders else 0.0,
            "transitions_per_execution": self.transitions_per_execution,
            "steps": [
                {
                    "call": f"{s.service}.{s.operation}",
                    "total": s.total,
                    "avg_payload_bytes": s.payload,
                    "avg_items": s.items,
                }
                for s in self.steps
            ],
            "not_replayed": self.skipped,
        }


def plan_from(meter: Meter, orders: int, transitions_per_execution: int) -> FloorPlan:
    steps: list[Step] = []
    skipped: list[str] = []
    known = set(REPLAYED)
    for (service, operation), (calls, payload, items) in sorted(meter.shapes.items()):
        if (service, operation) in NOT_REPLAYED:
            continue
        if (service, operation) not in known:
            skipped.append(f"{service}.{operation}")
            continue
        n = int(calls)
        steps.append(
            Step(service, operation, n, round(payload / n) if n else 0, max(1, round(items / n)) if n else 1)
        )
    steps.sort(key=lambda s: REPLAYED.index((s.service, s.operation)))
    return FloorPlan(orders, steps, max(1, transitions_per_execution), skipped)


def _share(total: int, orders: int, index: int) -> int:
    """Spread ``total`` calls over ``orders`` orders as evenly as integers allow."""
    return (index + 1) * total // orders - index * total // orders


def _pad(size: int, overhead: int = 40) -> str:
    return "x" * max(1, size - overhead)


class _Floor:
    def __init__(self, aws: EmbeddedAws, stack: DeployedStack, plan: FloorPlan) -> None:
        self.plan = plan
        region = aws.region
        self.ddb = boto3.client("dynamodb", region_name=region)
        self.sqs = boto3.client("sqs", region_name=region)
        self.s3 = boto3.client("s3", region_name=region)
        self.events = boto3.client("events", region_name=region)
        self.sfn = boto3.client("stepfunctions", region_name=region)
        self.secrets = boto3.client("secretsmanager", region_name=region)
        self.ssm = boto3.client("ssm", region_name=region)
        self.bucket = stack.outputs["DocumentsBucketName"]
        self.bus = stack.outputs["EventBusName"]
        self.secret = stack.resources["WebhookSecrets"]
        self.parameter = stack.resources["SellerProfileParameter"]
        with unmetered():
            self.table = f"{FLOOR}-{uuid.uuid4().hex[:6]}"
            self.ddb.create_table(
                TableName=self.table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            )
            self.queue = self.sqs.create_queue(QueueName=f"{FLOOR}-{uuid.uuid4().hex[:6]}")["QueueUrl"]
            states = {
                f"S{i}": (
                    {"Type": "Pass", "Next": f"S{i + 1}"}
                    if i + 1 < plan.transitions_per_execution
                    else {"Type": "Pass", "End": True}
                )
                for i in range(plan.transitions_per_execution)
            }
            self.machine = self.sfn.create_state_machine(
                name=f"{FLOOR}-{uuid.uuid4().hex[:6]}",
                definition=json.dumps({"StartAt": "S0", "States": states}),
                roleArn=f"arn:aws:iam::{aws.account_id}:role/{FLOOR}",
                type="EXPRESS",
            )["stateMachineArn"]

    def run_order(self, index: int) -> None:
        handles: list[str] = []
        for step in self.plan.steps:
            for _ in range(_share(step.total, self.plan.orders, index)):
                self._call(step, index, handles)

    def _call(self, step: Step, index: int, handles: list[str]) -> None:
        key = f"o{index}"
        op = (step.service, step.operation)
        item_pad = _pad(step.payload // max(1, step.items))
        if op == ("secretsmanager", "GetSecretValue"):
            self.secrets.get_secret_value(SecretId=self.secret)
        elif op == ("ssm", "GetParameter"):
            self.ssm.get_parameter(Name=self.parameter)
        elif op == ("dynamodb", "PutItem"):
            self.ddb.put_item(TableName=self.table, Item={"pk": {"S": key}, "padding": {"S": item_pad}})
        elif op == ("dynamodb", "GetItem"):
            self.ddb.get_item(TableName=self.table, Key={"pk": {"S": key}})
        elif op == ("dynamodb", "BatchGetItem"):
            keys = [{"pk": {"S": f"{key}-{j}"}} for j in range(step.items)]
            self.ddb.batch_get_item(RequestItems={self.table: {"Keys": keys}})
        elif op == ("dynamodb", "Query"):
            self.ddb.query(
                TableName=self.table,
                KeyConditionExpression="pk = :k",
                ExpressionAttributeValues={":k": {"S": key}},
            )
        elif op == ("dynamodb", "Scan"):
            self.ddb.scan(TableName=self.table, Limit=step.items)
        elif op == ("dynamodb", "UpdateItem"):
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression="SET padding = :p",
                ExpressionAttributeValues={":p": {"S": item_pad}},
            )
        elif op == ("dynamodb", "TransactWriteItems"):
            self.ddb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": f"{key}-t{j}"}},
                            "UpdateExpression": "SET padding = :p",
                            "ExpressionAttributeValues": {":p": {"S": item_pad}},
                        }
                    }
                    for j in range(step.items)
                ]
            )
        elif op == ("dynamodb", "BatchWriteItem"):
            self.ddb.batch_write_item(
                RequestItems={
                    self.table: [
                        {"PutRequest": {"Item": {"pk": {"S": f"{key}-b{j}"}, "padding": {"S": item_pad}}}}
                        for j in range(min(25, step.items))
                    ]
                }
            )
        elif op == ("dynamodb", "DeleteItem"):
            self.ddb.delete_item(TableName=self.table, Key={"pk": {"S": f"{key}-d"}})
        elif op == ("stepfunctions", "StartExecution"):
            self.sfn.start_execution(
                stateMachineArn=self.machine,
                name=f"{key}-{uuid.uuid4().hex[:8]}",
                input=json.dumps({"order_id": key}),
            )
        elif op == ("events", "PutEvents"):
            detail = json.dumps({"order_id": key, "pad": _pad(step.payload // max(1, step.items), 30)})
            self.events.put_events(
                Entries=[
                    {
                        "EventBusName": self.bus,
                        "Source": "bench.floor",
                        "DetailType": "Floor",
                        "Detail": detail,
                    }
                    for _ in range(step.items)
                ]
            )
        elif op in (("sqs", "SendMessage"), ("eventbridge", "SendMessage")):
            self.sqs.send_message(QueueUrl=self.queue, MessageBody=_pad(step.payload, 0))
        elif op == ("sqs", "ReceiveMessage"):
            got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            handles.extend(m["ReceiptHandle"] for m in got.get("Messages", []))
        elif op == ("sqs", "DeleteMessageBatch"):
            batch, handles[:] = handles[:10], handles[10:]
            if batch:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue,
                    Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(batch)],
                )
            else:  # nothing received in this order's share: the request still costs a round trip
                self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])
        elif op == ("s3", "PutObject"):
            self.s3.put_object(
                Bucket=self.bucket, Key=f"{FLOOR}/{key}/{uuid.uuid4().hex[:8]}", Body=b"x" * step.payload
            )


def run_floor(
    aws: EmbeddedAws,
    stack: DeployedStack,
    plan: FloorPlan,
    *,
    concurrency: int = 8,
    report: Callable[[str, int, int], None] | None = None,
) -> tuple[float, str]:
    """Seconds to issue ``plan`` for ``plan.orders`` orders (and let its executions finish), and the ARN
    of the floor's Pass-state machine."""
    floor = _Floor(aws, stack, plan)
    report = report or (lambda phase, done, total: None)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(floor.run_order, i) for i in range(plan.orders)]
        for done, future in enumerate(futures, start=1):
            future.result()
            report("floor", done, plan.orders)
    aws.wait_idle(timeout=600)
    return time.perf_counter() - start, floor.machine
