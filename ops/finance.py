"""The operator's reconciliation, DLQ and finance chores (issue 13), behind `python -m ops`: against AWS, or
the local stack of `make serve` through AWS_ENDPOINT_URL, the same calls."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from ops.stack import resources_of


@dataclass(frozen=True)
class FinanceStack:
    physical: dict[str, str]
    """Logical id -> physical id of every resource of the stack."""

    @property
    def finance_bucket(self) -> str:
        return self.physical["FinanceBucket"]

    @property
    def reconciliation_workflow(self) -> str:
        return self.physical["ReconciliationWorkflow"]

    def dead_letter_queues(self) -> dict[str, str]:
        """DLQ logical id -> queue URL (every queue of the stack whose logical id ends in DLQ)."""
        return {name: url for name, url in sorted(self.physical.items()) if name.endswith("DLQ")}


def finance_stack(stack_name: str) -> FinanceStack:
    """The stack's resources, with the data layer bound to its tables."""
    resources_of(stack_name)
    cloudformation = boto3.client("cloudformation")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
        if "PhysicalResourceId" in r
    }
    return FinanceStack(physical)


# ---------------------------------------------------------------------------------------- reconciliation
def run_reconciliation(
    stack: FinanceStack, period: str, *, as_of: datetime | None = None, timeout: float = 600
) -> dict[str, Any]:
    """Start a run of the reconciliation workflow for `period` and wait for its summary."""
    sfn = boto3.client("stepfunctions")
    run_input: dict[str, str] = {"period": period}
    if as_of is not None:
        run_input["as_of"] = as_of.isoformat()
    name = f"recon-{period}-manual-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    started = sfn.start_execution(
        stateMachineArn=stack.reconciliation_workflow, name=name, input=json.dumps(run_input)
    )
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"reconciliation {name} still running after {timeout:.0f} s")
        time.sleep(0.25)
    if described["status"] != "SUCCEEDED":
        raise RuntimeError(
            f"reconciliation {name} {described['status']}: {described.get('error')} {described.get('cause')}"
        )
    summary: dict[str, Any] = json.loads(described["output"])["summary"]
    summary["execution"] = name
    return summary


# ------------------------------------------------------------------------------------------------- DLQs
def dlq_depths(stack: FinanceStack) -> list[tuple[str, int, int]]:
    """(DLQ, visible messages, in flight) of every DLQ of the stack."""
    sqs = boto3.client("sqs")
    rows = []
    for name, url in stack.dead_letter_queues().items():
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        rows.append(
            (
                name,
                int(attributes.get("ApproximateNumberOfMessages", 0)),
                int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            )
        )
    return rows


def source_queue_of(stack: FinanceStack, dlq: str) -> str | None:
    """The work queue whose failures land in `dlq` (the template's naming: <Name>Queue -> <Name>DLQ); None
    for the DLQs of schedules and asynchronous invocations, which have no queue to return to."""
    return stack.physical.get(dlq.removesuffix("DLQ") + "Queue")


def redrive(stack: FinanceStack, dlq: str, *, limit: int = 1000) -> int:
    """Move up to `limit` messages from `dlq` back to its work queue (sent, then deleted: a crash in between
    sends one twice, which every consumer takes once). Returns how many moved."""
    queues = stack.dead_letter_queues()
    if dlq not in queues:
        raise KeyError(f"{dlq} is not a DLQ of the stack (it has: {', '.join(queues)})")
    target = source_queue_of(stack, dlq)
    if target is None:
        raise LookupError(
            f"{dlq} collects failed schedule runs or asynchronous invocations; it has no queue to return to: "
            "run the job again (python -m ops recon run --date / export run --date) and purge it"
        )
    sqs = boto3.client("sqs")
    moved = 0
    while moved < limit:
        messages = sqs.receive_message(
            QueueUrl=queues[dlq],
            MaxNumberOfMessages=min(10, limit - moved),
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            attributes = {
                k: {kk: vv for kk, vv in v.items() if kk in ("DataType", "StringValue", "BinaryValue")}
                for k, v in (message.get("MessageAttributes") or {}).items()
            }
            sent: dict[str, Any] = {"QueueUrl": target, "MessageBody": message["Body"]}
            if attributes:
                sent["MessageAttributes"] = attributes
            sqs.send_message(**sent)
            sqs.delete_message(QueueUrl=queues[dlq], ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved
