"""EventBridge custom bus → rules → SQS queues."""

from __future__ import annotations

import json
import time
import uuid

import boto3

from infra import DeployedStack, EmbeddedAws


def _drain(url: str, wait: float = 1.0) -> list[dict[str, object]]:
    sqs = boto3.client("sqs")
    out: list[dict[str, object]] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if not msgs and out:
            break
        if not msgs:
            time.sleep(0.05)
    return out


def test_put_events_on_custom_bus_reaches_the_rule_queue(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    _, stack = embedded_probe
    bus = stack.resources["Bus"]
    assert bus == "probe-bus" == stack.outputs["BusName"]
    tracking = uuid.uuid4().hex
    resp = boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "carrier.test",
                "DetailType": "ShipmentUpdated",
                "Detail": json.dumps({"tracking": tracking, "status": "IN_TRANSIT"}),
            },
            {  # matches no rule
                "EventBusName": bus,
                "Source": "somebody.else",
                "DetailType": "ShipmentUpdated",
                "Detail": json.dumps({"tracking": "ignored"}),
            },
        ]
    )
    assert resp["FailedEntryCount"] == 0
    messages = _drain(stack.queue_url("ShipmentQueue"))
    assert len(messages) == 1
    event = messages[0]
    assert event["source"] == "carrier.test"
    assert event["detail-type"] == "ShipmentUpdated"
    assert event["detail"] == {"tracking": tracking, "status": "IN_TRANSIT"}
    assert {"version", "id", "time", "region", "resources", "account"} <= set(event)
    assert event["account"] == "123456789012"


def test_input_transformer_is_applied(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    _, stack = embedded_probe
    boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": stack.resources["Bus"],
                "Source": "carrier.test",
                "DetailType": "Delivered",
                "Detail": json.dumps({"tracking": "T-1"}),
            }
        ]
    )
    assert _drain(stack.queue_url("ShipmentQueue")) == [{"delivered": "T-1"}]
