"""A small moto world for the stock ledger: the inventory, ledger, catalog and warehouse tables created from
template.yaml's own definitions (so tests and the stack cannot drift), the OMS bus, and a queue that
receives every `oms.inventory` event so tests can see what was published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import cfn_yaml
from moto import mock_aws

from oms.aws import client
from oms.config import Settings
from oms.data.models import (
    CatalogItemRecord,
    InventoryRecord,
    WarehouseRecord,
    bind_tables,
)
from oms.data.movements import movements_of

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TABLES = {
    "inventory_table": "InventoryTable",
    "movements_table": "InventoryMovementsTable",
    "catalog_table": "CatalogTable",
    "warehouses_table": "WarehousesTable",
}
BUS = "oms-test-bus"


@dataclass(frozen=True)
class StockWorld:
    events_queue_url: str

    def published(self) -> list[dict[str, Any]]:
        """Every event put on the bus with source oms.inventory since the last call (drained)."""
        sqs = boto3.client("sqs")
        events: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events


def _create_tables_from_template() -> None:
    resources = cfn_yaml.load(str(TEMPLATE))["Resources"]
    dynamodb = boto3.client("dynamodb")
    for logical_id in TABLES.values():
        properties = resources[logical_id]["Properties"]
        dynamodb.create_table(
            TableName=logical_id,
            BillingMode=properties["BillingMode"],
            AttributeDefinitions=properties["AttributeDefinitions"],
            KeySchema=properties["KeySchema"],
        )


@contextmanager
def stock_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[StockWorld]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "EVENT_BUS_NAME": BUS,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client.cache_clear()
        _create_tables_from_template()
        bind_tables(Settings(**TABLES))
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="inventory-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="inventory", EventBusName=BUS, EventPattern='{"source": ["oms.inventory"]}')
        events.put_targets(Rule="inventory", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
        try:
            yield StockWorld(queue_url)
        finally:
            client.cache_clear()


def seed(skus: list[str], warehouses: list[str]) -> None:
    for sku in skus:
        CatalogItemRecord(sku, name=sku, unit_price=Decimal("10.00"), currency="USD").save()
    for priority, warehouse_id in enumerate(warehouses, start=1):
        WarehouseRecord(warehouse_id, name=warehouse_id, region="US", priority=priority).save()


def put_stock(
    sku: str, warehouse_id: str, *, on_hand: int, reserved: int = 0, reorder_point: int = 0
) -> None:
    """A stock item as allocation leaves it: `reserved` units of `on_hand` held for orders."""
    InventoryRecord(
        sku,
        warehouse_id,
        on_hand=on_hand,
        reserved=reserved,
        available=on_hand - reserved,
        reorder_point=reorder_point,
        updated_at=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
    ).save()


def snapshot(sku: str, warehouse_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The stock item's attributes and the whole ledger of it, to compare before and after."""
    try:
        item: dict[str, Any] | None = InventoryRecord.get(
            sku, warehouse_id, consistent_read=True
        ).attribute_values
    except InventoryRecord.DoesNotExist:
        item = None
    return item, [dict(m.attribute_values) for m in movements_of(sku, warehouse_id)]
