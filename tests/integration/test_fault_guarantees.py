"""Each promise of the README held under the failure that used to break it, injected into the embedded AWS
(infra/embedded/_faults.py) rather than assumed away: a crash between a release and its follow-ups, a
shipment of released stock, a compensated order's request, a re-released expired hold, an amendment while
validating, throttled and failing AWS calls, a released TAX_MISMATCH order's invoice, a cancellation before
its creation, a reused delivery id, and hostile numbers. One test per class of defect (issue 15)."""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest
from pypdf import PdfReader

from demo.seed import stack_settings
from infra import DeployedStack, EmbeddedAws, FaultPlan, FaultRule
from oms.data.models import OrderRecord, ReservationRecord
from oms.data.snapshot import read_snapshot
from oms.domain.order import order_id_for
from oms.governance.invariants import (
    check_invariants,
    shipped_orders_invoiced_once,
)
from tests.conftest import TEMPLATE, TEST_RETRY_DELAY
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
)

_numbers = itertools.count(7_150_000)


@pytest.fixture(scope="module")
def world() -> Iterator[DeployedStack]:
    with EmbeddedAws(retry_delay=TEST_RETRY_DELAY, faults=FaultPlan(seed=15)) as aws:
        stack = aws.deploy(TEMPLATE, stack_name="oms")
        stack.serve_http_api()
        bind(stack)
        seed_warehouses({"WH-NJ": 1, "WH-TX": 2})
        yield stack


def _faults(world: DeployedStack, *rules: FaultRule) -> Any:
    injector = world.embedded.faults
    assert injector is not None
    injector.use(FaultPlan(seed=15, rules=rules))
    return injector


@pytest.fixture(autouse=True)
def _no_faults_left(world: DeployedStack) -> Iterator[None]:
    yield
    _faults(world)


def _sku(world: DeployedStack, on_hand: int, price: str = "10.00") -> str:
    sku = f"GX-{next(_numbers)}"
    seed_catalog({sku: price})
    set_stock(sku, "WH-NJ", on_hand)
    return sku


def _place(world: DeployedStack, lines: list[tuple[str, int, str]], **kwargs: Any) -> str:
    response = post_webhook(world, shopify_webhook(shopify_order(next(_numbers), lines, **kwargs)))
    assert response.status_code == 202, response.text
    world.embedded.wait_idle(timeout=120)
    order_id: str = response.json()["order_id"]
    return order_id


def _post(world: DeployedStack, lines: list[tuple[str, int, str]]) -> str:
    """Send an order without waiting for the system to settle."""
    response = post_webhook(world, shopify_webhook(shopify_order(next(_numbers), lines)))
    assert response.status_code == 202, response.text
    order_id: str = response.json()["order_id"]
    return order_id


def _wait_for(order_id: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if _record(order_id).status == status:
                return
        except OrderRecord.DoesNotExist:
            pass
        assert time.monotonic() < deadline, f"{order_id} never reached {status}"
        time.sleep(0.05)


def _order(world: DeployedStack, order_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = get_order(world, order_id).json()
    return answer


def _record(order_id: str) -> OrderRecord:
    return OrderRecord.get(order_id, consistent_read=True)


def _sweep(world: DeployedStack, at: datetime) -> dict[str, Any]:
    response = boto3.client("lambda").invoke(
        FunctionName=world.function_name("StockSweeperFunction"),
        Payload=json.dumps({"time": at.isoformat()}).encode(),
    )
    world.embedded.wait_idle(timeout=120)
    answer: dict[str, Any] = json.loads(response["Payload"].read())
    if "FunctionError" in response:
        answer["failed"] = True
    return answer


def _warehouse_messages(world: DeployedStack, order_id: str) -> list[str]:
    """The detail types the warehouse connector's queue received for `order_id` (drained)."""
    sqs = boto3.client("sqs")
    url = world.outputs["FulfillmentRequestsQueueUrl"]
    seen = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            event = json.loads(message["Body"])
            if event["detail"]["order_id"] == order_id:
                seen.append(event["detail-type"])
            else:
                _keep.append(event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return seen


_keep: list[dict[str, Any]] = []


def _ship(
    world: DeployedStack, order_id: str, warehouse_id: str = "WH-NJ", quantity: int = 1, sku: str = ""
) -> None:
    detail = {
        "order_id": order_id,
        "warehouse_id": warehouse_id,
        "shipment_id": f"{order_id}-{warehouse_id}",
        "carrier": "UPS",
        "tracking_number": f"1Z{next(_numbers)}",
        "shipped_at": datetime.now(UTC).isoformat(),
        "lines": [{"sku": sku or "X", "quantity": quantity}],
    }
    boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": world.outputs["EventBusName"],
                "Source": "oms.warehouse",
                "DetailType": "ShipmentConfirmed",
                "Detail": json.dumps(detail),
            }
        ]
    )
    world.embedded.wait_idle(timeout=120)


def _backordered_waiting_for(world: DeployedStack, sku: str) -> str:
    waiting = _place(world, [(sku, 1, "10.00")])
    assert _order(world, waiting)["status"] == "BACKORDERED"
    return waiting


# ------------------------------------------------------------------ a release and its follow-ups
def test_an_expiry_whose_events_fail_is_finished_by_the_next_sweep(world: DeployedStack) -> None:
    # Given an order at the warehouse holding the only unit, and an order waiting for that SKU
    sku = _sku(world, 1)
    held = _place(world, [(sku, 1, "10.00")])
    assert _order(world, held)["status"] == "FULFILLMENT_REQUESTED"
    waiting = _backordered_waiting_for(world, sku)
    assert _warehouse_messages(world, held) == ["FulfillmentRequested"]
    # When the sweep releases the expired reservation and EventBridge then fails every attempt to
    # publish what follows (the sweeper's process gives up after the release committed)
    _faults(world, FaultRule("server_error", 1.0, service="events", function="StockSweeperFunction", limit=6))
    first = _sweep(world, datetime.now(UTC) + timedelta(hours=100))
    # Then the release and the hold were committed together, and what they owe is kept on the order
    assert first.get("failed"), first
    assert _order(world, held)["hold_reason"] == "RESERVATION_EXPIRED"
    assert len(_record(held).outbox or []) == 2  # StockReleased and FulfillmentCancelled
    assert stock_of(sku, "WH-NJ") == (1, 0, 1)
    # When the next sweep runs (AWS back to normal)
    second = _sweep(world, datetime.now(UTC) + timedelta(hours=100, minutes=15))
    # Then the warehouse is told, and the released unit went to the waiting order
    assert held in second["outboxes_flushed"]
    assert _warehouse_messages(world, held) == ["FulfillmentCancelled"]
    assert _order(world, waiting)["status"] == "FULFILLMENT_REQUESTED"
    assert _record(held).outbox is None


def test_a_compensation_that_crashes_after_releasing_announces_the_stock_on_its_retry(
    world: DeployedStack,
) -> None:
    # Given an order that will fail at the warehouse step (its status update keeps failing), whose
    # compensation dies right after its work (EventBridge down for it, then its process killed)...
    sku = _sku(world, 1)
    injector = _faults(
        world,
        FaultRule(
            "server_error",
            1.0,
            service="dynamodb",
            operation="UpdateItem",
            function="RequestFulfillmentFunction",
        ),
        FaultRule("pause", 1.0, function="CompensateFunction", gate="compensate", limit=1),
        FaultRule("server_error", 1.0, service="events", function="CompensateFunction", limit=6),
        FaultRule("crash_after_side_effects", 1.0, function="CompensateFunction", limit=1),
    )
    failing = _post(world, [(sku, 1, "10.00")])
    injector.wait_paused("compensate", timeout=60)
    # ... and an order waiting for the same SKU meanwhile (for which the warehouse step works)
    injector = _faults(
        world,
        FaultRule("server_error", 1.0, service="events", function="CompensateFunction", limit=6),
        FaultRule("crash_after_side_effects", 1.0, function="CompensateFunction", limit=1),
    )
    waiting = _post(world, [(sku, 1, "10.00")])
    _wait_for(waiting, "BACKORDERED")
    injector.open_gate("compensate")
    world.embedded.wait_idle(timeout=120)
    # Then the failed order is FAILED and released its unit once, to the waiting order (StockReleased was
    # published by the compensation's retry, from what the first attempt committed)
    assert _order(world, failing)["status"] == "FAILED"
    assert ReservationRecord.get(failing).state == "RELEASED"
    assert _order(world, waiting)["status"] == "FULFILLMENT_REQUESTED"
    assert stock_of(sku, "WH-NJ") == (1, 1, 0)
    # ... and the warehouse that had the failed order's request was told to stop
    told = _warehouse_messages(world, failing)  # each attempt of the step asked again (warehouses dedupe)
    assert set(told) == {"FulfillmentRequested", "FulfillmentCancelled"}
    assert told[-1] == "FulfillmentCancelled"
    assert injector.report()["crash_after_side_effects"] == 1


def test_a_cancellation_whose_events_fail_is_finished_when_sqs_delivers_it_again(
    world: DeployedStack,
) -> None:
    # Given an order at the warehouse holding the only unit, and an order waiting for that SKU
    sku = _sku(world, 1)
    cancelled = _place(world, [(sku, 1, "10.00")])
    waiting = _backordered_waiting_for(world, sku)
    assert _warehouse_messages(world, cancelled) == ["FulfillmentRequested"]
    # When the channel cancels it and the cancellation's events cannot be published on the first delivery
    injector = _faults(
        world, FaultRule("server_error", 1.0, service="events", function="ChannelChangesFunction", limit=6)
    )
    payload = shopify_order(int(_record(cancelled).external_id), [(sku, 1, "10.00")])
    assert post_webhook(world, shopify_webhook(payload, topic="orders/cancelled")).status_code == 202
    world.embedded.wait_idle(timeout=120)
    # Then the redelivered message found the order cancelled and published what its commit owed
    assert injector.report()["server_error"] == 6
    assert _order(world, cancelled)["status"] == "CANCELLED"
    assert _warehouse_messages(world, cancelled) == ["FulfillmentCancelled"]
    assert _order(world, waiting)["status"] == "FULFILLMENT_REQUESTED"
    assert stock_of(sku, "WH-NJ") == (1, 1, 0)


def test_a_failed_order_shows_a_code_and_a_sentence_and_ops_retry_re_drives_it(world: DeployedStack) -> None:
    from typer.testing import CliRunner

    from ops.__main__ import app

    # Given an order whose reservation step fails on every attempt (the workflow's retries exhausted)
    sku = _sku(world, 5)
    injector = _faults(
        world,
        FaultRule(
            "server_error",
            1.0,
            service="dynamodb",
            operation="TransactWriteItems",
            function="AllocateFunction",
        ),
    )
    order_id = _place(world, [(sku, 2, "10.00")])
    assert injector.report()["server_error"] >= 5  # every attempt of the workflow failed
    _faults(world)
    # Then the API shows what happened as a code and a sentence, nothing of the raw error
    order = _order(world, order_id)
    assert order["status"] == "FAILED"
    assert order["failure_code"] == "RETRIES_EXHAUSTED"
    assert order["failure_reason"].startswith("Reserving stock did not succeed after several attempts")
    text = json.dumps(order)
    assert "site-packages" not in text
    assert "stackTrace" not in text
    assert "Traceback" not in text
    # ... and operations see the full error
    shown = CliRunner().invoke(app, ["show", order_id, "--stack", world.stack_name], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "TransientAwsError" in shown.output
    assert stock_of(sku, "WH-NJ") == (5, 0, 5)
    # When an operator retries it (AWS works again)
    retried = CliRunner().invoke(
        app,
        [
            "retry",
            order_id,
            "--by",
            "user:ops-anna",
            "--note",
            "DynamoDB incident over",
            "--stack",
            world.stack_name,
        ],
        terminal_width=200,
    )
    assert retried.exit_code == 0, retried.output
    world.embedded.wait_idle(timeout=120)
    # Then it goes on from allocation to the warehouse, and the history says who retried it and why
    order = _order(world, order_id)
    assert order["status"] == "FULFILLMENT_REQUESTED"
    assert order["failure_code"] is None
    retry = next(h for h in order["history"] if h["by"] == "user:ops-anna")
    assert (retry["previous"], retry["status"]) == ("FAILED", "VALIDATED")
    assert "DynamoDB incident over" in retry["reason"]
    assert stock_of(sku, "WH-NJ") == (5, 2, 3)


def test_a_throttled_call_inside_a_workflow_task_does_not_fail_the_order(world: DeployedStack) -> None:
    # Given DynamoDB throttling the reservation more often than the client retries (the task fails once)
    sku = _sku(world, 3)
    injector = _faults(
        world,
        FaultRule("throttle", 1.0, operation="TransactWriteItems", function="AllocateFunction", limit=6),
    )
    # When an order runs through the workflow
    order_id = _place(world, [(sku, 1, "10.00")])
    # Then the workflow's retry of the task got it through
    assert injector.report()["throttle"] == 6
    assert _order(world, order_id)["status"] == "FULFILLMENT_REQUESTED"
    assert stock_of(sku, "WH-NJ") == (3, 1, 2)


# ------------------------------------------------------------------ shipments of released stock
def test_a_shipment_after_expiry_takes_the_units_from_stock(world: DeployedStack) -> None:
    # Given an order at the warehouse whose reservation expired (stock released, warehouse told)
    sku = _sku(world, 5)
    order_id = _place(world, [(sku, 1, "10.00")])
    _sweep(world, datetime.now(UTC) + timedelta(hours=100))
    assert _order(world, order_id)["status"] == "ON_HOLD"
    assert stock_of(sku, "WH-NJ") == (5, 0, 5)
    # When the warehouse ships it anyway (the cancellation crossed the shipment)
    _ship(world, order_id, sku=sku)
    # Then the unit left stock: 4 on hand, no phantom unit to sell twice, and a person is told
    assert stock_of(sku, "WH-NJ") == (4, 0, 4)
    assert ReservationRecord.get(order_id).state == "CONSUMED"
    assert "SHIPPED_AFTER_RELEASE" in (_order(world, order_id)["shipment_exception"] or "")


def test_a_cancellation_and_a_shipment_racing_end_with_stock_right_either_way(world: DeployedStack) -> None:
    sku = _sku(world, 5)
    cancelled_first = _place(world, [(sku, 1, "10.00")])
    shipped_first = _place(world, [(sku, 1, "10.00")])
    # When one is cancelled before its shipment arrives, and the other ships before its cancellation
    for order_id, first in ((cancelled_first, "cancel"), (shipped_first, "ship")):
        external = _record(order_id).external_id
        steps = ["cancel", "ship"] if first == "cancel" else ["ship", "cancel"]
        for step in steps:
            if step == "ship":
                _ship(world, order_id, sku=sku)
            else:
                payload = shopify_order(int(external), [(sku, 1, "10.00")])
                assert (
                    post_webhook(world, shopify_webhook(payload, topic="orders/cancelled")).status_code == 202
                )
                world.embedded.wait_idle(timeout=120)
    # Then both units left stock, the late cancellation was refused, the early one is an exception
    assert stock_of(sku, "WH-NJ") == (3, 0, 3)
    assert _order(world, shipped_first)["status"] == "SHIPPED"
    assert _order(world, cancelled_first)["status"] == "CANCELLED"
    assert _order(world, cancelled_first)["shipment_exception"]


# ------------------------------------------------------------------ holds, amendments
def test_an_expired_hold_released_by_ops_is_allocated_again(world: DeployedStack) -> None:
    from typer.testing import CliRunner

    from ops.__main__ import app

    sku = _sku(world, 2)
    order_id = _place(world, [(sku, 1, "10.00")])
    _sweep(world, datetime.now(UTC) + timedelta(hours=100))
    assert _order(world, order_id)["hold_reason"] == "RESERVATION_EXPIRED"
    # When an operator releases the hold
    result = CliRunner().invoke(
        app,
        [
            "release",
            order_id,
            "--by",
            "user:ops-ben",
            "--note",
            "customer confirmed",
            "--stack",
            world.stack_name,
        ],
    )
    assert result.exit_code == 0, result.output
    world.embedded.wait_idle(timeout=120)
    # Then the old released reservation gives way to a new one and the order goes back to the warehouse
    assert _order(world, order_id)["status"] == "FULFILLMENT_REQUESTED"
    assert ReservationRecord.get(order_id).state == "RESERVED"
    assert stock_of(sku, "WH-NJ") == (2, 1, 1)


def test_an_update_landing_while_revision_1_is_validated_does_not_fail_revision_2(
    world: DeployedStack,
) -> None:
    sku = _sku(world, 10)
    number = next(_numbers)
    injector = _faults(
        world,
        FaultRule(
            "pause", 1.0, operation="UpdateItem", function="ValidateFunction", gate="validate-r1", limit=1
        ),
    )
    # Given revision 1 being validated (its status write held at a gate)...
    assert post_webhook(world, shopify_webhook(shopify_order(number, [(sku, 1, "10.00")]))).status_code == 202
    injector.wait_paused("validate-r1", timeout=30)
    # ... when the channel's update is applied meanwhile
    updated = shopify_order(number, [(sku, 2, "10.00")])
    assert post_webhook(world, shopify_webhook(updated, topic="orders/updated")).status_code == 202
    order_id = order_id_for("shopify", str(number))
    deadline = time.monotonic() + 30
    while int(_record(order_id).amendment or 0) != 1:
        assert time.monotonic() < deadline, "the amendment was not applied"
        time.sleep(0.05)
    injector.open_gate("validate-r1")
    world.embedded.wait_idle(timeout=120)
    # Then revision 1's execution stood down and revision 2 went on to the warehouse
    order = _order(world, order_id)
    assert order["status"] == "FULFILLMENT_REQUESTED", order["history"]
    assert order["lines"][0]["quantity"] == 2
    assert "FAILED" not in [h["status"] for h in order["history"]]
    assert stock_of(sku, "WH-NJ") == (10, 2, 8)


# ------------------------------------------------------------------ invoices, intake
def test_a_released_tax_mismatch_is_invoiced_with_one_total(world: DeployedStack) -> None:
    from oms.logic.holds import release_hold

    # Given a Shopify order whose line was taxed 4.00 (20 %) to California, where 1.45 is expected
    sku = _sku(world, 5, price="19.99")
    payload = shopify_order(next(_numbers), [(sku, 1, "19.99")], tax_override="4.00")
    payload["line_items"][0]["tax_lines"] = [{"price": "4.00", "rate": "0.2", "title": "CA State Tax"}]
    response = post_webhook(world, shopify_webhook(payload))
    assert response.status_code == 202, response.text
    world.embedded.wait_idle(timeout=120)
    order_id = response.json()["order_id"]
    assert _order(world, order_id)["hold_reason"] == "TAX_MISMATCH"
    release_hold(
        order_id,
        by="user:finance-cho",
        note="channel tax accepted",
        workflow_arn=world.outputs["OrderWorkflowArn"],
        now=datetime.now(UTC),
    )
    world.embedded.wait_idle(timeout=120)
    _ship(world, order_id, sku=sku)
    order = _order(world, order_id)
    assert order["billing_status"] == "INVOICED"
    # Then the invoice record, its JSON and its PDF carry one and the same total (the one price breakdown)
    snapshot = read_snapshot(documents_bucket=stack_settings(world).documents_bucket)
    mine = [i for i in snapshot.invoices if i.order_id == order_id]
    snapshot.invoices = mine
    snapshot.orders = [o for o in snapshot.orders if o.order_id == order_id]
    assert shipped_orders_invoiced_once(snapshot).violations == []
    document = json.loads(snapshot.documents[mine[0].json_key] or b"{}")
    assert document["grand_total"] == str(mine[0].grand_total)
    # and it is what the channel charged and ops accepted: 19.99 + the channel's 4.00 tax
    assert mine[0].grand_total == Decimal("23.99")
    assert mine[0].tax_total == Decimal("4.00")
    pdf = snapshot.documents[mine[0].pdf_key]
    assert pdf is not None
    assert str(mine[0].grand_total) in "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages
    )


def test_a_cancellation_before_its_creation_wins(world: DeployedStack) -> None:
    sku = _sku(world, 5)
    number = next(_numbers)
    payload = shopify_order(number, [(sku, 1, "10.00")])
    # When orders/cancelled arrives first, then orders/create
    assert post_webhook(world, shopify_webhook(payload, topic="orders/cancelled")).status_code == 202
    world.embedded.wait_idle(timeout=60)
    assert post_webhook(world, shopify_webhook(payload)).status_code == 202
    world.embedded.wait_idle(timeout=60)
    # Then the order is CANCELLED with its content, nothing was reserved and no warehouse asked
    order_id = order_id_for("shopify", str(number))
    order = _order(world, order_id)
    assert order["status"] == "CANCELLED"
    assert order["lines"][0]["sku"] == sku
    assert stock_of(sku, "WH-NJ") == (5, 0, 5)
    assert _warehouse_messages(world, order_id) == []


def test_a_reused_delivery_id_keeps_both_archived_bodies(world: DeployedStack) -> None:
    sku = _sku(world, 5)
    first = shopify_webhook(shopify_order(next(_numbers), [(sku, 1, "10.00")]))
    second = shopify_webhook(shopify_order(next(_numbers), [(sku, 2, "10.00")]))
    second.headers["X-Shopify-Event-Id"] = first.headers["X-Shopify-Event-Id"]
    for webhook in (first, second):
        assert post_webhook(world, webhook).status_code == 202
    world.embedded.wait_idle(timeout=60)
    s3 = boto3.client("s3")
    bucket = world.resources["RawPayloadsBucket"]
    event_id = first.headers["X-Shopify-Event-Id"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="raw/shopify/").get("Contents", [])]
    bodies = {s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys if f"/{event_id}." in k}
    assert bodies == {first.body, second.body}


@pytest.mark.parametrize("price", ["1e30", "1234567890123456789012345678901", "1E-30", "12.345678901"])
def test_absurd_amounts_are_refused_with_a_clear_4xx_and_write_nothing(
    world: DeployedStack, price: str
) -> None:
    number = next(_numbers)
    payload = shopify_order(number, [("GX-ANY", 1, "10.00")])
    payload["line_items"][0]["price"] = price
    response = post_webhook(world, shopify_webhook(payload))
    assert response.status_code == 422, response.text
    assert "price" in response.json()["reason"]
    with pytest.raises(OrderRecord.DoesNotExist):
        OrderRecord.get(order_id_for("shopify", str(number)))


def test_a_receipt_of_true_units_is_refused(world: DeployedStack) -> None:
    sku = _sku(world, 5)
    token = world.mint_token("clerk", ["oms/inventory.write"])
    response = httpx.post(
        f"{world.api_url}/inventory/{sku}/receipts",
        json={"warehouse_id": "WH-NJ", "quantity": True, "reference": "GRN-TRUE"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert "quantity" in response.json()["reason"]
    assert stock_of(sku, "WH-NJ") == (5, 0, 5)


def test_the_invariants_hold_after_all_of_it(world: DeployedStack) -> None:
    world.embedded.wait_idle(timeout=120)
    report = check_invariants(read_snapshot(documents_bucket=stack_settings(world).documents_bucket))
    assert report.held, "\n".join(report.lines())
