"""Concurrency and at-least-once delivery against the embedded DynamoDB (serialized like the real one):
no overselling, gapless invoice numbers, each side effect once."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from pynamodb.connection import Connection

from demo.seed import stack_settings
from infra import DeployedStack
from oms.channels.shopify import parse_shopify_order
from oms.data.models import InvoiceRecord, OrderRecord, ReservationRecord, ShipmentRecord
from oms.data.orders import create_order, transition
from oms.domain.status import OrderStatus
from oms.governance.audit_trail import order_history
from oms.logic.allocation import allocate_order
from oms.logic.allocation_policy import AllocationPolicy
from oms.logic.invoicing import SellerProfile, issue_invoice
from tests.support.world import (
    bind,
    seed_catalog,
    seed_warehouses,
    set_stock,
    shopify_order,
    stock_of,
    with_the_bus,
)

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
POLICY = AllocationPolicy()
SELLER = SellerProfile(name="Northwind", address_lines=["1 Way"], tax_id="US-1")


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> Iterator[DeployedStack]:
    with with_the_bus(embedded_aws):
        yield _world(embedded_aws)


def _world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog({"ELC-HOT": "49.00", "ELC-A": "19.99"})
    seed_warehouses({"WH-NJ": 1, "WH-TX": 2})
    set_stock("ELC-HOT", "WH-NJ", 6)
    set_stock("ELC-HOT", "WH-TX", 4)
    set_stock("ELC-A", "WH-NJ", 1000)
    return embedded_aws


def _validated_order(number: int, lines: list[tuple[str, int, str]]) -> str:
    payload = json.loads(json.dumps(shopify_order(number, lines)), parse_float=Decimal)
    record, _ = create_order(parse_shopify_order(payload), NOW)
    transition(record.order_id, OrderStatus.VALIDATED, by="test", at=NOW)
    return record.order_id


def test_concurrent_allocations_never_oversell(world: DeployedStack) -> None:
    # Given 10 units of a hot SKU across two warehouses and 30 orders for one unit each
    order_ids = [_validated_order(9000 + n, [("ELC-HOT", 1, "49.00")]) for n in range(30)]
    random.Random(7).shuffle(order_ids)
    # When 8 workers allocate them at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda oid: allocate_order(oid, policy=POLICY, now=NOW).outcome, order_ids))
    # Then exactly 10 are allocated, the rest are backordered, and the stock adds up
    assert outcomes.count(OrderStatus.ALLOCATED) == 10
    assert outcomes.count(OrderStatus.BACKORDERED) == 20
    assert stock_of("ELC-HOT", "WH-NJ") == (6, 6, 0)
    assert stock_of("ELC-HOT", "WH-TX") == (4, 4, 0)


def test_a_retried_allocation_reserves_once(world: DeployedStack) -> None:
    order_id = _validated_order(9100, [("ELC-A", 3, "19.99")])
    first = allocate_order(order_id, policy=POLICY, now=NOW)
    second = allocate_order(order_id, policy=POLICY, now=NOW)
    assert first.outcome == second.outcome == OrderStatus.ALLOCATED
    assert first.reason == second.reason
    assert stock_of("ELC-A", "WH-NJ") == (1000, 3, 997)


class _Crash(Exception):
    """The Lambda container died (injected)."""


@pytest.mark.parametrize("when", ["before the write reaches DynamoDB", "after DynamoDB committed it"])
def test_a_crash_around_the_reservation_neither_leaks_nor_doubles_stock(
    world: DeployedStack, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    # Given a validated order for 2 units
    order_id = _validated_order(9901 if when.startswith("before") else 9902, [("ELC-A", 2, "19.99")])
    before = stock_of("ELC-A", "WH-NJ")
    real = Connection.transact_write_items

    def crashing(self: Connection, *args: Any, **kwargs: Any) -> Any:
        if when.startswith("after"):
            real(self, *args, **kwargs)
        raise _Crash(when)

    # When the allocation task crashes around the one transaction that reserves and records
    monkeypatch.setattr(Connection, "transact_write_items", crashing)
    with pytest.raises(_Crash):
        allocate_order(order_id, policy=POLICY, now=NOW)
    monkeypatch.undo()
    committed = when.startswith("after")
    # Then stock and reservation record moved together or not at all
    expected_reserved = before[1] + (2 if committed else 0)
    assert stock_of("ELC-A", "WH-NJ") == (before[0], expected_reserved, before[0] - expected_reserved)
    assert (ReservationRecord.count(order_id, consistent_read=True) == 1) is committed
    # And the retried task (Step Functions runs tasks at least once) ends ALLOCATED with one reservation
    assert allocate_order(order_id, policy=POLICY, now=NOW).outcome is OrderStatus.ALLOCATED
    assert stock_of("ELC-A", "WH-NJ") == (before[0], before[1] + 2, before[2] - 2)
    assert ReservationRecord.get(order_id).state == "RESERVED"


def _shipped_order(number: int) -> str:
    order_id = _validated_order(number, [("ELC-A", 1, "19.99")])
    allocate_order(order_id, policy=POLICY, now=NOW)
    for status in (OrderStatus.FULFILLMENT_REQUESTED, OrderStatus.SHIPPED):
        transition(order_id, status, by="test", at=NOW)
    return order_id


def test_concurrent_invoicing_numbers_without_gaps_or_reuse(world: DeployedStack) -> None:
    # Given 12 shipped orders
    bucket = world.outputs["DocumentsBucketName"]
    order_ids = [_shipped_order(9200 + n) for n in range(12)]
    # When 6 workers invoice them, every order twice (at-least-once delivery)
    with ThreadPoolExecutor(max_workers=6) as pool:
        invoices = list(
            pool.map(lambda oid: issue_invoice(oid, bucket=bucket, seller=SELLER, now=NOW), order_ids * 2)
        )
    # Then each order has one number, and the numbers are 1..12 of the year with no gap
    by_order: dict[str, set[str]] = {}
    for order_id, invoice in zip(order_ids * 2, invoices, strict=True):
        by_order.setdefault(order_id, set()).add(invoice.invoice_number)
    assert all(len(numbers) == 1 for numbers in by_order.values())
    numbers = sorted(int(next(iter(n)).rsplit("-", 1)[1]) for n in by_order.values())
    assert numbers == list(range(1, 13))
    stored = [i for i in InvoiceRecord.scan() if not i.order_id.startswith("SEQUENCE#")]
    assert len(stored) == 12
    # And the order shows its invoice
    order = OrderRecord.get(order_ids[0])
    assert order.billing_status == "INVOICED"
    assert order.invoice_number in by_order[order_ids[0]]


def test_a_reissued_invoice_rewrites_identical_documents(world: DeployedStack) -> None:
    bucket = world.outputs["DocumentsBucketName"]
    order_id = _shipped_order(9300)
    first = issue_invoice(order_id, bucket=bucket, seller=SELLER, now=NOW)
    s3 = boto3.client("s3")
    pdf_before = s3.get_object(Bucket=bucket, Key=first.pdf_key)["Body"].read()
    again = issue_invoice(order_id, bucket=bucket, seller=SELLER, now=datetime(2026, 11, 3, tzinfo=UTC))
    assert again.invoice_number == first.invoice_number
    assert s3.get_object(Bucket=bucket, Key=first.pdf_key)["Body"].read() == pdf_before
    assert pdf_before.startswith(b"%PDF")


def _bus_event(detail_type: str, detail: dict[str, object], source: str) -> dict[str, str]:
    return {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}


def test_a_redelivered_shipment_confirmation_records_one_shipment(world: DeployedStack) -> None:
    # Given an order waiting for the warehouse
    order_id = _validated_order(9400, [("ELC-A", 2, "19.99")])
    allocate_order(order_id, policy=POLICY, now=NOW)
    transition(order_id, OrderStatus.FULFILLMENT_REQUESTED, by="test", at=NOW)
    confirmation = {
        "order_id": order_id,
        "warehouse_id": "WH-NJ",
        "shipment_id": "SHP-9400",
        "carrier": "UPS",
        "tracking_number": "1Z9400",
        "shipped_at": NOW.isoformat(),
        "lines": [{"sku": "ELC-A", "quantity": 2}],
    }
    bus = world.outputs["EventBusName"]
    events = boto3.client("events")
    # When the warehouse sends the confirmation three times
    for _ in range(3):
        entry = _bus_event("ShipmentConfirmed", confirmation, "oms.warehouse") | {"EventBusName": bus}
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
    world.embedded.wait_idle(timeout=60)
    # Then one shipment exists, the order is shipped and invoiced once, and the stock left once
    assert [s.shipment_id for s in ShipmentRecord.query(order_id)] == ["SHP-9400"]
    order = OrderRecord.get(order_id)
    assert order.status == "SHIPPED"
    assert order.billing_status == "INVOICED"
    assert [h.status for h in order_history(order_id, order)].count("SHIPPED") == 1


def test_an_event_that_can_never_be_processed_ends_in_the_dead_letter_queue(world: DeployedStack) -> None:
    # Given a tracking scan for a shipment nobody confirmed
    scan = {
        "order_id": "ord_doesnotexist000000000000",
        "shipment_id": "SHP-GHOST",
        "carrier": "UPS",
        "tracking_number": "1ZGHOST",
        "status": "DELIVERED",
        "occurred_at": NOW.isoformat(),
    }
    entry = _bus_event("TrackingUpdated", scan, "oms.carrier") | {
        "EventBusName": world.outputs["EventBusName"]
    }
    boto3.client("events").put_events(Entries=[entry])
    # When the track function has retried it up to the queue's maxReceiveCount
    world.embedded.wait_idle(timeout=60)
    # Then it waits in the DLQ for someone to act on it, with its body intact
    sqs = boto3.client("sqs")
    dlq = world.resources["ShipmentEventsDLQ"]
    messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert any(json.loads(m["Body"])["detail"]["shipment_id"] == "SHP-GHOST" for m in messages)


def test_settings_of_the_deployed_stack_name_every_table(world: DeployedStack) -> None:
    settings = stack_settings(world)
    assert settings.orders_table == world.resources["OrdersTable"]
    assert settings.require("documents_bucket") == world.outputs["DocumentsBucketName"]
