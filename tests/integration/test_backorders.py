"""Backorders on the embedded AWS: short orders wait in per-SKU queues, stock coming back serves them
oldest first through the workflow, cancellations leave the queue, reservations expire exactly once and
old backorders escalate once."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest

from infra import DeployedStack
from oms.channels.shopify import parse_shopify_order
from oms.data.backorders import waiting_orders
from oms.data.models import ReservationRecord
from oms.data.orders import new_order_record
from oms.logic.allocation import allocate_order
from oms.logic.allocation_policy import AllocationPolicy
from tests.support.world import (
    bind,
    get_order,
    post_webhook,
    seed_catalog,
    seed_warehouses,
    set_stock,
    shopify_order,
    shopify_webhook,
    stock_of,
    with_the_bus,
)


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog({"BO-1": "10.00", "BO-2": "20.00", "BO-3": "30.00", "BO-4": "40.00"})
    seed_warehouses({"WH-NJ": 1, "WH-TX": 2})
    for sku in ("BO-1", "BO-2", "BO-3", "BO-4"):
        set_stock(sku, "WH-NJ", 0)
    return embedded_aws


@pytest.fixture(scope="module")
def bus_events(world: DeployedStack) -> list[dict[str, Any]]:
    """Everything the OMS puts on its bus from here on, through a rule and queue of the test's own."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    bus = world.outputs["EventBusName"]
    url = sqs.create_queue(QueueName="test-bus-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="test-bus-tap",
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["oms.orders", "oms.inventory"]}),
    )
    events.put_targets(Rule="test-bus-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    class Tap(list[dict[str, Any]]):
        def drain(self) -> list[dict[str, Any]]:
            while True:
                batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                if not batch:
                    return self
                for message in batch:
                    self.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return Tap(seen)


def _place(world: DeployedStack, number: int, lines: list[tuple[str, int, str]]) -> dict[str, Any]:
    response = post_webhook(world, shopify_webhook(shopify_order(number, lines)))
    assert response.status_code == 202, response.text
    world.embedded.wait_idle(timeout=60)
    order: dict[str, Any] = get_order(world, response.json()["order_id"]).json()
    return order


def _order(world: DeployedStack, order_id: str) -> dict[str, Any]:
    result: dict[str, Any] = get_order(world, order_id).json()
    return result


_receipts = itertools.count(1)


def _receive(world: DeployedStack, sku: str, warehouse_id: str, quantity: int) -> None:
    """Goods in, through the inventory API (which announces StockReceived); then let the system settle."""
    token = world.mint_token("receiving-clerk", ["oms/inventory.write"])
    response = httpx.post(
        f"{world.api_url}/inventory/{sku}/receipts",
        json={"warehouse_id": warehouse_id, "quantity": quantity, "reference": f"GRN-{next(_receipts)}"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    world.embedded.wait_idle(timeout=120)


def _sweep(world: DeployedStack, at: datetime) -> dict[str, Any]:
    response = boto3.client("lambda").invoke(
        FunctionName=world.function_name("StockSweeperFunction"),
        Payload=json.dumps({"time": at.isoformat()}).encode(),
    )
    assert "FunctionError" not in response, response["Payload"].read()
    world.embedded.wait_idle(timeout=120)
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def test_a_backordered_order_says_what_it_waits_for(world: DeployedStack) -> None:
    # Given no BO-1 in stock
    # When an order for 2 BO-1 and 1 BO-2 arrives
    order = _place(world, 9101, [("BO-1", 2, "10.00")])
    # Then it is BACKORDERED, the API shows the missing units and why, and nothing is reserved
    assert order["status"] == "BACKORDERED"
    assert order["backorder"] == [{"sku": "BO-1", "quantity": 2}]
    assert "BO-1 short by 2" in order["allocation_reason"]
    assert [h["status"] for h in order["history"]] == ["RECEIVED", "VALIDATED", "BACKORDERED"]
    assert [e.order_id for e in waiting_orders("BO-1")] == [order["order_id"]]
    with pytest.raises(ReservationRecord.DoesNotExist):
        ReservationRecord.get(order["order_id"])


def test_received_stock_serves_the_queue_oldest_first_through_the_workflow(world: DeployedStack) -> None:
    # Given the order of the previous test waits for 2 BO-1, and two newer orders wait for 1 each
    first = next(iter(waiting_orders("BO-1"))).order_id
    second = _place(world, 9102, [("BO-1", 1, "10.00")])["order_id"]
    third = _place(world, 9103, [("BO-1", 1, "10.00")])["order_id"]
    assert [e.order_id for e in waiting_orders("BO-1")] == [first, second, third]
    # When 3 units arrive
    _receive(world, "BO-1", "WH-NJ", 3)
    # Then the two oldest orders get them and go on to the warehouse; the third keeps waiting
    assert _order(world, first)["status"] == "FULFILLMENT_REQUESTED"
    assert _order(world, second)["status"] == "FULFILLMENT_REQUESTED"
    assert _order(world, third)["status"] == "BACKORDERED"
    assert [e.order_id for e in waiting_orders("BO-1")] == [third]
    assert stock_of("BO-1", "WH-NJ") == (3, 3, 0)
    history = [h["status"] for h in _order(world, first)["history"]]
    assert history[-3:] == ["BACKORDERED", "ALLOCATED", "FULFILLMENT_REQUESTED"]
    assert _order(world, first)["backorder"] == []


def test_the_head_of_the_queue_is_not_skipped_for_a_smaller_newer_order(world: DeployedStack) -> None:
    # Given an order waits for 5 BO-2 and a newer one for 1 BO-2
    big = _place(world, 9104, [("BO-2", 5, "20.00")])["order_id"]
    small = _place(world, 9105, [("BO-2", 1, "20.00")])["order_id"]
    # When 2 units arrive (enough for the small order, not for the big one)
    _receive(world, "BO-2", "WH-NJ", 2)
    # Then both keep waiting: first come, first served; the stock stays available for the head
    assert _order(world, big)["status"] == "BACKORDERED"
    assert _order(world, small)["status"] == "BACKORDERED"
    # And a brand-new order does not take the units the queue is waiting for
    newcomer = _place(world, 9106, [("BO-2", 1, "20.00")])
    assert newcomer["status"] == "BACKORDERED"
    assert "behind" in newcomer["allocation_reason"]
    assert stock_of("BO-2", "WH-NJ") == (2, 0, 2)


def test_a_cancelled_backorder_leaves_the_queue_and_the_next_is_served(world: DeployedStack) -> None:
    # Given the big BO-2 order of the previous test heads the queue
    head = next(iter(waiting_orders("BO-2")))
    # When the channel cancels it
    payload = shopify_order(9104, [("BO-2", 5, "20.00")])
    payload["cancelled_at"] = "2026-11-02T15:00:00-05:00"
    payload["cancel_reason"] = "customer"
    response = post_webhook(world, shopify_webhook(payload, topic="orders/cancelled"))
    assert response.status_code in (200, 202), response.text
    world.embedded.wait_idle(timeout=60)
    # Then it is CANCELLED and out of the queue
    assert _order(world, head.order_id)["status"] == "CANCELLED"
    assert head.order_id not in [e.order_id for e in waiting_orders("BO-2")]
    # And the waiting orders behind it were served with the 2 units on hand
    statuses = [_order(world, e)["status"] for e in (_order_id(world, 9105), _order_id(world, 9106))]
    assert statuses == ["FULFILLMENT_REQUESTED", "FULFILLMENT_REQUESTED"]
    assert list(waiting_orders("BO-2")) == []


def _order_id(world: DeployedStack, number: int) -> str:
    from oms.domain.order import order_id_for

    return order_id_for("shopify", str(number))


def test_a_reservation_past_its_hold_time_is_released_once_and_serves_the_queue(
    world: DeployedStack, bus_events: Any
) -> None:
    # Given one BO-3 in stock, an order that reserved it (sent to the warehouse), and one waiting behind
    set_stock("BO-3", "WH-NJ", 1)
    holder = _place(world, 9107, [("BO-3", 1, "30.00")])
    waiter = _place(world, 9108, [("BO-3", 1, "30.00")])
    assert (holder["status"], waiter["status"]) == ("FULFILLMENT_REQUESTED", "BACKORDERED")
    bus_events.drain()
    # When the sweep runs after the 72-hour hold time
    later = datetime.now(UTC) + timedelta(hours=73)
    first = _sweep(world, later)
    # Then the holder's stock went back, the holder is ON_HOLD for a person, its warehouse was told
    assert holder["order_id"] in first["reservations_expired"]
    held = _order(world, holder["order_id"])
    assert (held["status"], held["hold_reason"]) == ("ON_HOLD", "RESERVATION_EXPIRED")
    assert ReservationRecord.get(holder["order_id"]).state == "RELEASED"
    kinds = [
        (e["detail-type"], e["detail"].get("order_id") or e["detail"].get("sku")) for e in bus_events.drain()
    ]
    assert ("FulfillmentCancelled", holder["order_id"]) in kinds
    assert ("StockReleased", "BO-3") in kinds
    # And the released unit went to the waiting order, through the workflow
    assert _order(world, waiter["order_id"])["status"] == "FULFILLMENT_REQUESTED"
    assert stock_of("BO-3", "WH-NJ") == (1, 1, 0)
    # And a second sweep at the same time releases nothing of the holder's again
    second = _sweep(world, later)
    assert holder["order_id"] not in second["reservations_expired"]
    assert ReservationRecord.get(holder["order_id"]).closed_by == "schedule:stock-sweeper"


def test_a_backorder_older_than_its_limit_escalates_once(world: DeployedStack, bus_events: Any) -> None:
    # Given an order waiting for BO-4
    waiting = _place(world, 9109, [("BO-4", 1, "40.00")])
    assert waiting["status"] == "BACKORDERED"
    bus_events.drain()
    # When sweeps run before and after its 72-hour limit
    early = _sweep(world, datetime.now(UTC) + timedelta(hours=1))
    late = _sweep(world, datetime.now(UTC) + timedelta(hours=80))
    again = _sweep(world, datetime.now(UTC) + timedelta(hours=81))
    # Then it escalates exactly once, with a BackorderOverdue event for purchasing
    assert waiting["order_id"] not in early["backorders_escalated"]
    assert waiting["order_id"] in late["backorders_escalated"]
    assert waiting["order_id"] not in again["backorders_escalated"]
    overdue = [
        e
        for e in bus_events.drain()
        if e["detail-type"] == "BackorderOverdue" and e["detail"]["sku"] == "BO-4"
    ]
    assert [(e["detail"]["order_id"], e["detail"]["sku"]) for e in overdue] == [(waiting["order_id"], "BO-4")]
    assert overdue[0]["detail"]["waiting_hours"] >= 72


@pytest.fixture
def ship_available(world: DeployedStack) -> Iterator[None]:
    """The Shopify channel's policy switched to ship-what-is-available for one test (then restored)."""
    from aws_lambda_powertools.utilities import parameters

    ssm = boto3.client("ssm")
    name = world.resources["AllocationPolicyParameter"]
    original = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    policy = json.loads(original)
    policy["channels"] = {"shopify": {"backorder": "SHIP_AVAILABLE"}}
    ssm.put_parameter(Name=name, Value=json.dumps(policy), Overwrite=True)
    parameters.clear_caches()  # as if the functions' 5-minute cache had expired
    yield
    ssm.put_parameter(Name=name, Value=original, Overwrite=True)
    parameters.clear_caches()


def test_ship_available_splits_off_a_backorder_order_that_ships_when_stock_arrives(
    world: DeployedStack, ship_available: None
) -> None:
    # Given one BO-5 in stock and a channel whose policy is to ship what is available
    seed_catalog({"BO-5": "15.00", "BO-6": "7.50"})
    set_stock("BO-5", "WH-NJ", 1)
    set_stock("BO-6", "WH-NJ", 5)
    lines = [("BO-5", 3, "15.00"), ("BO-6", 1, "7.50")]
    payload = shopify_order(9110, lines)
    # When an order for 3 BO-5 (and 1 BO-6) arrives
    parent = _place(world, 9110, lines)
    # Then the available unit ships now with the BO-6, and a child order waits for the other 2
    assert parent["status"] == "FULFILLMENT_REQUESTED", parent["allocation_reason"]
    assert sorted((x["sku"], x["quantity"]) for x in parent["lines"]) == [("BO-5", 1), ("BO-6", 1)]
    child = _order(world, parent["backorder_order_id"])
    assert child["status"] == "BACKORDERED"
    assert child["split_from_order_id"] == parent["order_id"]
    assert [(x["sku"], x["quantity"]) for x in child["lines"]] == [("BO-5", 2)]
    assert child["backorder"] == [{"sku": "BO-5", "quantity": 2}]
    # And the money of the two parts adds up to the channel's order exactly
    for name, channel_total in (("grand_total", "total_price"), ("tax_total", "total_tax")):
        assert Decimal(parent["totals"][name]) + Decimal(child["totals"][name]) == Decimal(
            payload[channel_total]
        )
    # When the shop then edits the order (Shopify orders/updated)
    edited = shopify_order(9110, [("BO-5", 4, "15.00"), ("BO-6", 1, "7.50")])
    response = post_webhook(world, shopify_webhook(edited, topic="orders/updated"))
    assert response.status_code in (200, 202), response.text
    world.embedded.wait_idle(timeout=60)
    # Then the split order is not amended (its child carries part of it), and the history says why
    after = _order(world, parent["order_id"])
    assert sorted((x["sku"], x["quantity"]) for x in after["lines"]) == [("BO-5", 1), ("BO-6", 1)]
    assert (
        after["history"][-1]["reason"]
        == f"channel update not applied: order was split into {child['order_id']}"
    )
    # When the missing units arrive
    _receive(world, "BO-5", "WH-NJ", 2)
    # Then the child ships on its own
    assert _order(world, child["order_id"])["status"] == "FULFILLMENT_REQUESTED"
    assert stock_of("BO-5", "WH-NJ") == (3, 3, 0)


def _preview(world: DeployedStack, body: dict[str, Any]) -> httpx.Response:
    token = world.mint_token("planner", ["oms/orders.read"])
    return httpx.post(
        f"{world.api_url}/allocations/preview",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_the_dry_run_explains_the_decision_and_reserves_nothing(world: DeployedStack) -> None:
    # Given BO-6 in stock at WH-NJ, and an order waiting in the BO-4 queue
    before = stock_of("BO-6", "WH-NJ")
    waiting = next(iter(waiting_orders("BO-4"))).order_id
    # When a planner asks what would happen to 2 BO-6 for California, and to the waiting order
    lines = _preview(
        world, {"lines": [{"sku": "BO-6", "quantity": 2}], "ship_to": {"country": "US", "region": "CA"}}
    )
    order = _preview(world, {"order_id": waiting})
    # Then the lines would be allocated from WH-NJ, with the reason, and nothing was reserved
    assert lines.status_code == 200, lines.text
    answer = lines.json()
    assert (answer["would"], answer["strategy"], answer["destination"]) == (
        "ALLOCATE",
        "FEWEST_SHIPMENTS",
        "US-CA",
    )
    assert answer["lines"] == [{"sku": "BO-6", "warehouse_id": "WH-NJ", "quantity": 2}]
    assert answer["choices"][0].startswith("WH-NJ: holds every line")
    assert stock_of("BO-6", "WH-NJ") == before
    # And the waiting order would stay backordered, behind nobody but short of BO-4
    assert order.status_code == 200, order.text
    assert order.json()["would"] == "BACKORDER"
    assert order.json()["order_status"] == "BACKORDERED"
    assert order.json()["missing"] == [{"sku": "BO-4", "quantity": 1}]


def test_a_new_order_behind_waiting_backorders_is_told_so(world: DeployedStack) -> None:
    answer = _preview(world, {"lines": [{"sku": "BO-4", "quantity": 1}], "ship_to": {"country": "US"}}).json()
    assert answer["would"] == "BACKORDER"
    assert answer["waiting_behind_older_backorders"] == ["BO-4"]


def test_a_dry_run_request_that_is_not_one_thing_or_the_other_is_422_and_an_unknown_order_404(
    world: DeployedStack,
) -> None:
    both = _preview(world, {"order_id": "ord_" + "0" * 24, "lines": [{"sku": "BO-6", "quantity": 1}]})
    assert both.status_code == 422
    assert "either order_id or lines" in both.json()["reason"]
    no_address = _preview(world, {"lines": [{"sku": "BO-6", "quantity": 1}]})
    assert no_address.status_code == 422
    unknown = _preview(world, {"order_id": "ord_" + "0" * 24})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "ORDER_NOT_FOUND"


def test_a_reservation_that_takes_stock_below_its_reorder_point_raises_inventory_low_once(
    world: DeployedStack, bus_events: Any
) -> None:
    # Given 5 BO-7 in WH-NJ with a reorder point of 3
    seed_catalog({"BO-7": "12.00"})
    set_stock("BO-7", "WH-NJ", 5, reorder_point=3)
    bus_events.drain()
    # When orders reserve 1 unit (4 left), then 2 (2 left: below 3), then 1 more (1 left)
    statuses = [_place(world, 9120 + n, [("BO-7", q, "12.00")])["status"] for n, q in enumerate((1, 2, 1))]
    # Then all three are allocated and exactly one InventoryLow went out, when the stock crossed 3
    assert statuses == ["FULFILLMENT_REQUESTED"] * 3
    lows = [e["detail"] for e in bus_events.drain() if e["detail-type"] == "InventoryLow"]
    assert [(low["sku"], low["warehouse_id"], low["available"], low["reorder_point"]) for low in lows] == [
        ("BO-7", "WH-NJ", 2, 3)
    ]


def test_operations_list_the_backorder_queues_in_serving_order(world: DeployedStack) -> None:
    from typer.testing import CliRunner

    from ops.__main__ import app

    # Given an order waiting in the BO-4 queue (from the escalation test)
    waiting = next(iter(waiting_orders("BO-4"))).order_id
    # When an operator lists the BO-4 queue
    result = CliRunner().invoke(
        app, ["backorders", "--stack", world.stack_name, "--sku", "BO-4"], terminal_width=200
    )
    # Then the waiting order is shown first in line, with its units
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if waiting in line)
    assert "BO-4" in row
    assert "│ 1 " in row


def test_an_allocated_order_whose_workflow_was_lost_is_resumed_by_the_sweep(world: DeployedStack) -> None:
    # Given an order that was allocated by a process that died before it started the order's workflow
    seed_catalog({"BO-8": "8.00"})
    set_stock("BO-8", "WH-NJ", 3)
    payload = shopify_order(9130, [("BO-8", 1, "8.00")])
    record = new_order_record(parse_shopify_order(payload), datetime.now(UTC))
    record.status = "VALIDATED"
    record.save()
    with with_the_bus(world):
        allocated = allocate_order(record.order_id, policy=AllocationPolicy(), now=datetime.now(UTC))
    assert allocated.outcome.value == "ALLOCATED"
    # When the sweep runs a few minutes later (not yet stranded) and then 20 minutes later
    soon = _sweep(world, datetime.now(UTC) + timedelta(minutes=5))
    late = _sweep(world, datetime.now(UTC) + timedelta(minutes=20))
    # Then only the second one resumes it, and the order goes on to the warehouse
    assert record.order_id not in soon["allocations_resumed"]
    assert record.order_id in late["allocations_resumed"]
    assert _order(world, record.order_id)["status"] == "FULFILLMENT_REQUESTED"
    assert stock_of("BO-8", "WH-NJ") == (3, 1, 2)
