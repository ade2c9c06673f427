"""The inventory API over real HTTP on the embedded AWS: JWT scopes, receipts that show in the stock view,
idempotent replays, refusals with a clear 4xx that write nothing, and the StockReceived / InventoryLow
events reaching the bus."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import httpx
import pytest

from infra import DeployedStack
from oms.data.models import InventoryMovementRecord, InventoryRecord
from tests.support.world import bind, seed_catalog, seed_warehouses, set_stock

READ = ["oms/inventory.read"]
WRITE = ["oms/inventory.write"]


class BusTap:
    """A temporary rule on the stack's bus sending every oms.inventory event to a queue of the test."""

    def __init__(self, bus: str) -> None:
        self.sqs, self.events, self.bus = boto3.client("sqs"), boto3.client("events"), bus
        self.url = self.sqs.create_queue(QueueName="inventory-api-test-tap")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(
            Name="inventory-api-test-tap", EventBusName=bus, EventPattern='{"source": ["oms.inventory"]}'
        )
        self.events.put_targets(
            Rule="inventory-api-test-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}]
        )

    def drain(self, *, expect: int, patience: float = 5.0) -> list[dict[str, Any]]:
        """Events received so far, waiting until at least `expect` arrived (or `patience` ran out)."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + patience
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            if not messages and (len(events) >= expect or time.monotonic() > deadline):
                return events
            if not messages:
                time.sleep(0.05)

    def close(self) -> None:
        self.events.remove_targets(Rule="inventory-api-test-tap", EventBusName=self.bus, Ids=["tap"])
        self.events.delete_rule(Name="inventory-api-test-tap", EventBusName=self.bus)
        self.sqs.delete_queue(QueueUrl=self.url)


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog({"INV-CABLE": "4.99", "INV-DOCK": "189.00", "INV-FRESH": "12.00", "INV-LOW": "9.00"})
    seed_warehouses({"WH-NJ": 1, "WH-TX": 2})
    set_stock("INV-CABLE", "WH-NJ", 100)
    set_stock("INV-DOCK", "WH-NJ", 10, reserved=8)
    set_stock("INV-LOW", "WH-TX", 20, reorder_point=15)
    return embedded_aws


@pytest.fixture(scope="module")
def tap(world: DeployedStack) -> Iterator[BusTap]:
    bus_tap = BusTap(world.outputs["EventBusName"])
    yield bus_tap
    bus_tap.close()


def _headers(world: DeployedStack, scopes: list[str] | None, subject: str = "clerk-7") -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if scopes is not None:
        headers["Authorization"] = f"Bearer {world.mint_token(subject, scopes)}"
    return headers


def _post(
    world: DeployedStack,
    path: str,
    body: dict[str, Any] | bytes,
    scopes: list[str] | None = WRITE,
    content_type: str = "application/json",
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = _headers(world, scopes) | {"Content-Type": content_type}
    return httpx.post(f"{world.api_url}{path}", content=content, headers=headers, timeout=30)


def _get(world: DeployedStack, sku: str, scopes: list[str] | None = READ) -> httpx.Response:
    return httpx.get(f"{world.api_url}/inventory/{sku}", headers=_headers(world, scopes), timeout=30)


def _ledger(sku: str, warehouse_id: str) -> list[str]:
    return [
        m.movement_id for m in InventoryMovementRecord.query(f"{sku}#{warehouse_id}", consistent_read=True)
    ]


def _item(sku: str, warehouse_id: str) -> dict[str, Any] | None:
    try:
        return dict(InventoryRecord.get(sku, warehouse_id, consistent_read=True).attribute_values)
    except InventoryRecord.DoesNotExist:
        return None


# ---------------------------------------------------------------------------------------- who may call
@pytest.mark.parametrize(
    ("method", "scopes", "status"),
    [
        ("GET", None, 401),
        ("GET", ["oms/orders.read"], 403),
        ("POST", None, 401),
        ("POST", READ, 403),
        ("POST", ["oms/orders.write"], 403),
    ],
    ids=[
        "read without token",
        "read with orders scope",
        "write without token",
        "write with read scope",
        "write with orders scope",
    ],
)
def test_the_inventory_api_needs_a_token_with_the_inventory_scope(
    world: DeployedStack, method: str, scopes: list[str] | None, status: int
) -> None:
    """Given no token, or a token without the route's inventory scope
    When the stock is read or a receipt is posted
    Then API Gateway answers 401 / 403 and no movement is recorded."""
    before = _item("INV-CABLE", "WH-NJ"), _ledger("INV-CABLE", "WH-NJ")
    body = {"warehouse_id": "WH-NJ", "quantity": 5, "reference": "GRN-AUTH"}
    response = (
        _get(world, "INV-CABLE", scopes)
        if method == "GET"
        else _post(world, "/inventory/INV-CABLE/receipts", body, scopes)
    )
    assert response.status_code == status, response.text
    assert (_item("INV-CABLE", "WH-NJ"), _ledger("INV-CABLE", "WH-NJ")) == before


# -------------------------------------------------------------------------------------------- receipts
def test_a_receipt_shows_in_the_stock_view_is_announced_and_its_replay_changes_nothing(
    world: DeployedStack, tap: BusTap
) -> None:
    """Given INV-FRESH in the catalog but never stocked
    When a clerk posts a receipt of 24 units into WH-TX, then posts it again (a client retry)
    Then the first answer is 201 with the movement by user:clerk-7, the stock view shows 24 in WH-TX,
    one StockReceived event reached the bus, and the retry answers 200 with the same movement and
    changes nothing."""
    tap.drain(expect=0, patience=0)
    body = {"warehouse_id": "WH-TX", "quantity": 24, "reference": "GRN-9001", "note": "PO-551"}

    first = _post(world, "/inventory/INV-FRESH/receipts", body)

    assert first.status_code == 201, first.text
    movement = first.json()
    assert movement | {"at": None} == {
        "movement_id": "RECEIPT#GRN-9001",
        "sku": "INV-FRESH",
        "warehouse_id": "WH-TX",
        "kind": "RECEIPT",
        "quantity_change": 24,
        "on_hand_before": 0,
        "on_hand_after": 24,
        "available_after": 24,
        "reference": "GRN-9001",
        "reason": "PO-551",
        "by": "user:clerk-7",
        "at": None,
        "duplicate": False,
    }
    view = _get(world, "INV-FRESH")
    assert view.status_code == 200, view.text
    assert (view.json()["on_hand"], view.json()["available"]) == (24, 24)
    assert [
        (w["warehouse_id"], w["on_hand"], w["reserved"], w["available"]) for w in view.json()["warehouses"]
    ] == [("WH-TX", 24, 0, 24)]
    events = tap.drain(expect=1)
    assert [(e["source"], e["detail-type"], e["detail"]) for e in events] == [
        (
            "oms.inventory",
            "StockReceived",
            {
                "sku": "INV-FRESH",
                "warehouse_id": "WH-TX",
                "quantity": 24,
                "movement_id": "RECEIPT#GRN-9001",
                "available_after": 24,
            },
        )
    ]

    again = _post(world, "/inventory/INV-FRESH/receipts", body)

    assert again.status_code == 200, again.text
    assert again.json() == movement | {"duplicate": True}
    assert _get(world, "INV-FRESH").json() == view.json()
    assert _ledger("INV-FRESH", "WH-TX") == ["RECEIPT#GRN-9001"]
    assert tap.drain(expect=0, patience=0.3) == []


# --------------------------------------------------------------------------------------------- refusals
def test_an_adjustment_below_the_reserved_units_is_409_with_the_numbers_and_writes_nothing(
    world: DeployedStack,
) -> None:
    """Given INV-DOCK in WH-NJ: 10 on hand, 8 reserved for orders
    When an adjustment of -5 is posted
    Then 409 STOCK_BELOW_RESERVED names on hand, reserved, available and the change; nothing is written."""
    before = _item("INV-DOCK", "WH-NJ"), _ledger("INV-DOCK", "WH-NJ")
    body = {"warehouse_id": "WH-NJ", "quantity_change": -5, "reference": "ADJ-77", "reason": "water damage"}
    response = _post(world, "/inventory/INV-DOCK/adjustments", body)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["error"] == "STOCK_BELOW_RESERVED"
    assert (problem["on_hand"], problem["reserved"], problem["available"], problem["quantity_change"]) == (
        10,
        8,
        2,
        -5,
    )
    assert "below the 8 units reserved" in problem["reason"]
    assert (_item("INV-DOCK", "WH-NJ"), _ledger("INV-DOCK", "WH-NJ")) == before


@pytest.mark.parametrize(
    ("path", "body", "status", "error", "names"),
    [
        (
            "/inventory/INV-CABLE/receipts",
            {"warehouse_id": "WH-NJ", "quantity": 0, "reference": "R-0"},
            422,
            "INVALID_REQUEST",
            "quantity",
        ),
        (
            "/inventory/INV-CABLE/receipts",
            {"warehouse_id": "WH-NJ", "quantity": -3, "reference": "R-0"},
            422,
            "INVALID_REQUEST",
            "quantity",
        ),
        (
            "/inventory/INV-CABLE/receipts",
            {"warehouse_id": "WH-NJ", "quantity": "many", "reference": "R-0"},
            422,
            "INVALID_REQUEST",
            "quantity",
        ),
        (
            "/inventory/INV-CABLE/adjustments",
            {"warehouse_id": "WH-NJ", "quantity_change": 0, "reference": "A-0", "reason": "x"},
            422,
            "INVALID_REQUEST",
            "quantity_change",
        ),
        (
            "/inventory/INV-CABLE/adjustments",
            {"warehouse_id": "WH-NJ", "quantity_change": 2, "reference": "A-0"},
            422,
            "INVALID_REQUEST",
            "reason",
        ),
        (
            "/inventory/INV-CABLE/counts",
            {"warehouse_id": "WH-NJ", "counted": -1, "reference": "C-0", "reason": "x"},
            422,
            "INVALID_REQUEST",
            "counted",
        ),
        ("/inventory/INV-CABLE/receipts", b"{not json", 400, "MALFORMED_BODY", "not valid JSON"),
        (
            "/inventory/INV-NOPE/receipts",
            {"warehouse_id": "WH-NJ", "quantity": 1, "reference": "R-1"},
            404,
            "UNKNOWN_SKU",
            "INV-NOPE",
        ),
        (
            "/inventory/INV-CABLE/receipts",
            {"warehouse_id": "WH-XX", "quantity": 1, "reference": "R-1"},
            404,
            "UNKNOWN_WAREHOUSE",
            "WH-XX",
        ),
        (
            "/inventory/INV-CABLE/counts",
            {"warehouse_id": "WH-TX", "counted": 3, "reference": "C-1", "reason": "x"},
            404,
            "NO_STOCK_RECORD",
            "WH-TX",
        ),
    ],
    ids=[
        "zero receipt",
        "negative receipt",
        "non-numeric quantity",
        "zero adjustment",
        "adjustment without reason",
        "negative count",
        "malformed JSON",
        "unknown sku",
        "unknown warehouse",
        "count with no stock record",
    ],
)
def test_bad_movements_get_a_clear_4xx_naming_the_problem_and_write_nothing(
    world: DeployedStack, path: str, body: dict[str, Any] | bytes, status: int, error: str, names: str
) -> None:
    """Given stock of INV-CABLE in WH-NJ only
    When a movement with an invalid quantity, a missing reason, a broken body, or an unknown SKU or
    warehouse is posted
    Then the answer is the 4xx with a Problem whose reason names the field or the unknown id, and neither
    stock nor ledger changed."""
    before = [(_item("INV-CABLE", w), _ledger("INV-CABLE", w)) for w in ("WH-NJ", "WH-TX")]
    response = _post(world, path, body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert names in response.json()["reason"]
    assert [(_item("INV-CABLE", w), _ledger("INV-CABLE", w)) for w in ("WH-NJ", "WH-TX")] == before
    assert _item("INV-NOPE", "WH-NJ") is None


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b"warehouse_id=WH-NJ quantity=3", "text/plain", 415, "UNSUPPORTED_CONTENT_TYPE"),
        (b"--x\r\n\r\n--x--", "multipart/form-data", 415, "UNSUPPORTED_CONTENT_TYPE"),
        (b'{"warehouse_id": "WH-NJ", "note": "\xdf"}', "application/json", 400, "MALFORMED_BODY"),
    ],
    ids=["text body", "multipart without boundary", "bytes that are not UTF-8"],
)
def test_a_body_that_is_not_json_text_is_a_4xx_and_writes_nothing(
    world: DeployedStack, content: bytes, content_type: str, status: int, error: str
) -> None:
    """Given stock of INV-CABLE in WH-NJ
    When a receipt is posted as text, as multipart without a boundary, or as JSON that is not UTF-8
    Then a 415 or 400 Problem answers (never a 5xx), and nothing is written."""
    before = _item("INV-CABLE", "WH-NJ"), _ledger("INV-CABLE", "WH-NJ")
    response = _post(world, "/inventory/INV-CABLE/receipts", content, content_type=content_type)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert (_item("INV-CABLE", "WH-NJ"), _ledger("INV-CABLE", "WH-NJ")) == before


def test_reading_an_unknown_sku_is_404(world: DeployedStack) -> None:
    """Given a SKU not in the catalog
    When its stock is read
    Then 404 UNKNOWN_SKU."""
    response = _get(world, "INV-NOPE")
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "UNKNOWN_SKU"


# -------------------------------------------------------------------------------------------- low stock
def test_a_count_below_the_reorder_point_sends_inventory_low_once(world: DeployedStack, tap: BusTap) -> None:
    """Given INV-LOW in WH-TX: 20 on hand, reorder point 15
    When a cycle count finds 12, and then a damage adjustment of -2 follows
    Then the count answers 201 with the -8 difference, exactly one InventoryLow event reached the bus with
    the numbers at the crossing, and the stock view shows when stock went low."""
    tap.drain(expect=0, patience=0)
    count = {"warehouse_id": "WH-TX", "counted": 12, "reference": "CC-2026-03", "reason": "monthly count"}
    response = _post(world, "/inventory/INV-LOW/counts", count)
    assert response.status_code == 201, response.text
    assert (response.json()["quantity_change"], response.json()["by"]) == (-8, "user:clerk-7")
    adjust = {"warehouse_id": "WH-TX", "quantity_change": -2, "reference": "ADJ-LOW", "reason": "damaged"}
    assert _post(world, "/inventory/INV-LOW/adjustments", adjust).status_code == 201

    events = tap.drain(expect=1)
    lows = [e for e in events if e["detail-type"] == "InventoryLow"]
    assert len(lows) == 1, events
    assert lows[0]["source"] == "oms.inventory"
    assert lows[0]["detail"] | {"at": None} == {
        "sku": "INV-LOW",
        "warehouse_id": "WH-TX",
        "available": 12,
        "reorder_point": 15,
        "at": None,
    }
    level = _get(world, "INV-LOW").json()["warehouses"][0]
    assert (level["on_hand"], level["available"]) == (10, 10)
    assert level["low_stock_since"] is not None
    assert datetime.fromisoformat(level["low_stock_since"]) == datetime.fromisoformat(lows[0]["detail"]["at"])
