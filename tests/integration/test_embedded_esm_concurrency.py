"""Several pollers per SQS event-source mapping take turns receiving: no message is delivered twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from infra import DeployedStack, EmbeddedAws

PROBE = Path(__file__).parent / "templates" / "probe" / "template.yaml"


@pytest.fixture(scope="module")
def concurrent_probe() -> Iterator[tuple[EmbeddedAws, DeployedStack]]:
    with EmbeddedAws(retry_delay=0.2, esm_concurrency=4) as aws:
        yield aws, aws.deploy(PROBE, stack_name="probe")


def test_each_message_is_processed_once(concurrent_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = concurrent_probe
    sqs = boto3.client("sqs")
    bodies = [f"conc-{i}" for i in range(60)]
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=stack.queue_url("WorkQueue"),
            Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])],
        )
    aws.wait_idle(timeout=60)
    table = boto3.resource("dynamodb").Table(stack.table_name("StockTable"))
    items = {i["pk"]: i for i in table.scan()["Items"]}
    for body in bodies:
        assert items[f"done#{body}"]["receive_count"] == "1"
    stats = aws.stats()["functions"][stack.function_name("WorkerFunction")]
    assert stats["errors"] == 0
    assert stats["invocations"] >= 60 // 5
