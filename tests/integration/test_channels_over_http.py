"""Every channel over real HTTP on the embedded AWS: recorded payloads become canonical orders whose totals
match the channel's to the cent (or a hold that explains the difference); updates amend before allocation,
cancellations release stock; every signed body is archived and a replay duplicates nothing."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest

from demo.seed import seed_reference_data
from infra import DeployedStack
from oms.channels.signatures import standard_webhook_signature, woocommerce_signature
from oms.data.models import OrderRecord
from oms.domain.order import order_id_for
from oms.logic.holds import orders_on_hold, release_hold
from oms.logic.replay import replay_archive
from oms.logic.webhooks import IntakeTargets
from tests.support.world import (
    EVENTS,
    WEBSHOP_SECRETS,
    WOOCOMMERCE_SECRET,
    SignedWebhook,
    bind,
    get_order,
    load_event,
    post_webhook,
    seed_catalog,
    set_stock,
    shopify_webhook,
    stock_of,
)


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    seed_reference_data(embedded_aws)
    bind(embedded_aws)  # after seeding: the test secrets for every channel
    seed_catalog({"ELC-KVM-4P": "129.00"})  # sold by the recorded WooCommerce and ERP orders
    set_stock("ELC-KVM-4P", "WH-NJ", 40)
    return embedded_aws


def _woocommerce(body: bytes, topic: str, delivery: str) -> SignedWebhook:
    headers = {k: v for k, v in load_event("woocommerce/order_created_headers.json").items()}
    resource, event = topic.split(".")
    headers |= {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": woocommerce_signature(body, WOOCOMMERCE_SECRET),
    }
    return SignedWebhook(headers, body)


def _webshop(payload: dict[str, Any], msg_id: str, secret: str = WEBSHOP_SECRETS[0]) -> SignedWebhook:
    body = json.dumps(payload).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_webhook_signature(msg_id, timestamp, body, secret),
    }
    return SignedWebhook(headers, body)


def _order(world: DeployedStack, order_id: str) -> dict[str, Any]:
    world.embedded.wait_idle(timeout=60)
    response = get_order(world, order_id)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


def test_recorded_woocommerce_order_becomes_the_canonical_order_with_the_channels_totals(
    world: DeployedStack,
) -> None:
    raw = (EVENTS / "woocommerce/order_created.json").read_bytes()
    payload = json.loads(raw, parse_float=Decimal)
    response = post_webhook(world, _woocommerce(raw, "order.created", "wc-delivery-1"), channel="woocommerce")
    assert response.status_code == 202, response.text
    order = _order(world, response.json()["order_id"])
    assert order["channel"] == "woocommerce"
    assert order["external_id"] == str(payload["id"])
    assert Decimal(order["totals"]["grand_total"]) == Decimal(payload["total"])
    assert Decimal(order["totals"]["tax_total"]) == Decimal(payload["total_tax"])
    assert order["status"] == "FULFILLMENT_REQUESTED", order.get("hold_reason")


def test_woocommerce_creation_ping_gets_200_and_creates_nothing(world: DeployedStack) -> None:
    before = sum(1 for _ in OrderRecord.scan())
    response = httpx.post(
        f"{world.api_url}/webhooks/woocommerce",
        content=(EVENTS / "woocommerce/ping.txt").read_bytes().strip(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert response.json()["kind"] == "PING"
    assert sum(1 for _ in OrderRecord.scan()) == before


def test_recorded_webshop_order_with_a_rotated_secret_is_held_with_the_difference_explained(
    world: DeployedStack,
) -> None:
    # Given the UK web shop signing with its *old* secret during rotation, selling in GBP (the catalog is USD)
    payload = load_event("webshop/order_created.json")
    response = post_webhook(world, _webshop(payload, "msg_test_rotation_1", WEBSHOP_SECRETS[1]), "webshop")
    assert response.status_code == 202, response.text
    order = _order(world, response.json()["order_id"])
    # Then the totals are the shop's, to the cent, and the hold says what differs from the price list
    assert Decimal(order["totals"]["grand_total"]) == Decimal(payload["data"]["grand_total"])
    assert (order["status"], order["hold_reason"]) == ("ON_HOLD", "CURRENCY_MISMATCH")
    assert "priced in USD, the order is in GBP" in order["history"][-1]["reason"]
    # And ops find it in the hold list and can release it as it is, by name
    held = [o.order_id for o in orders_on_hold()]
    assert order["order_id"] in held
    release_hold(
        order["order_id"],
        by="user:ops.jane",
        note="UK web shop prices in GBP agreed with finance",
        workflow_arn=world.outputs["OrderWorkflowArn"],
        now=datetime.now(UTC),
    )
    order = _order(world, order["order_id"])
    assert order["status"] == "FULFILLMENT_REQUESTED"
    assert any(h["by"] == "user:ops.jane" and "agreed with finance" in h["reason"] for h in order["history"])


def test_a_stale_webshop_signature_is_refused(world: DeployedStack) -> None:
    payload = load_event("webshop/order_created.json")
    body = json.dumps(payload).encode()
    stale = int(time.time()) - 600
    headers = {
        "Content-Type": "application/json",
        "webhook-id": "msg_stale",
        "webhook-timestamp": str(stale),
        "webhook-signature": standard_webhook_signature("msg_stale", stale, body, WEBSHOP_SECRETS[0]),
    }
    response = post_webhook(world, SignedWebhook(headers, body), "webshop")
    assert response.status_code == 401


def test_a_shopify_update_before_allocation_amends_the_held_order(world: DeployedStack) -> None:
    # Given a Shopify order held for a price the catalog does not have
    payload = load_event("shopify/orders_create.json")
    payload["id"] = 880001
    payload["line_items"] = payload["line_items"][:1]
    item = payload["line_items"][0]
    item.update(price="7.99", total_discount="0.00", discount_allocations=[])
    item["tax_lines"][0]["price"] = "5.79"  # 10 x 7.99 at 7.25 %
    payload.update(
        total_tax="5.79",
        total_discounts="0.00",
        discount_codes=[],
        discount_applications=[],
        shipping_lines=[],
        total_line_items_price="79.90",
        subtotal_price="79.90",
        tax_lines=[{"title": "CA State Tax", "price": "5.79", "rate": 0.0725}],
    )
    payload["total_price"] = "85.69"
    response = post_webhook(world, shopify_webhook(payload))
    order = _order(world, response.json()["order_id"])
    assert order["hold_reason"] == "PRICE_MISMATCH"
    # When the shop fixes the price and Shopify sends orders/updated
    item.update(price="8.99")
    item["tax_lines"][0]["price"] = "6.52"
    payload.update(
        total_tax="6.52",
        total_price="96.42",
        total_line_items_price="89.90",
        subtotal_price="89.90",
        tax_lines=[{"title": "CA State Tax", "price": "6.52", "rate": 0.0725}],
    )
    response = post_webhook(world, shopify_webhook(payload, topic="orders/updated"))
    assert response.status_code == 202
    # Then the order is amended (revision 2), validated again and allocated
    order = _order(world, order["order_id"])
    assert order["status"] == "FULFILLMENT_REQUESTED"
    assert order["totals"]["grand_total"] == "96.42"
    assert any("amended by the channel (revision 2)" in (h["reason"] or "") for h in order["history"])


def test_a_cancellation_before_shipment_releases_the_stock_once(world: DeployedStack) -> None:
    # Given an allocated WooCommerce order
    payload = json.loads((EVENTS / "woocommerce/order_created.json").read_bytes())
    payload["id"] = 990001
    raw = json.dumps(payload).encode()
    before = stock_of("ELC-KVM-4P", "WH-NJ")
    post_webhook(world, _woocommerce(raw, "order.created", "wc-delivery-990001"), channel="woocommerce")
    order_id = order_id_for("woocommerce", "990001")
    assert _order(world, order_id)["status"] == "FULFILLMENT_REQUESTED"
    # When the shop deletes it, and the delivery comes twice
    deleted = json.dumps({"id": 990001}).encode()
    for attempt in range(2):
        webhook = _woocommerce(deleted, "order.deleted", f"wc-delete-990001-{attempt}")
        assert post_webhook(world, webhook, channel="woocommerce").status_code == 202
    # Then it is CANCELLED, its stock is back where it was, and the warehouse was told
    order = _order(world, order_id)
    assert order["status"] == "CANCELLED"
    assert stock_of("ELC-KVM-4P", "WH-NJ") == before
    assert [h["status"] for h in order["history"]].count("CANCELLED") == 1


def test_every_signed_body_is_archived_and_a_replay_duplicates_nothing(world: DeployedStack) -> None:
    bucket = world.outputs["RawPayloadsBucketName"]
    keys = [
        o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="raw/").get("Contents", [])
    ]
    assert any(key.startswith("raw/woocommerce/") and "/wc-delivery-1." in key for key in keys)
    assert any(key.startswith("raw/webshop/") for key in keys)
    before = sum(1 for _ in OrderRecord.scan())
    targets = IntakeTargets(
        workflow_arn=world.outputs["OrderWorkflowArn"],
        archive_bucket=bucket,
        changes_queue_url=world.queue_url("ChannelChangesQueue"),
    )
    outcomes = replay_archive(
        "woocommerce", datetime.now(UTC).date(), targets=targets, now=lambda: datetime.now(UTC)
    )
    world.embedded.wait_idle(timeout=60)
    assert outcomes["duplicate"] >= 2
    assert sum(1 for _ in OrderRecord.scan()) == before


def test_a_hundred_orders_delivered_three_times_a_third_concurrently_make_a_hundred_orders(
    world: DeployedStack,
) -> None:
    base = load_event("shopify/orders_create.json")
    webhooks = []
    for n in range(100):
        payload = json.loads(json.dumps(base))
        payload["id"] = 770000 + n
        webhooks.append(shopify_webhook(payload))
    before = sum(1 for _ in OrderRecord.scan())
    first = [post_webhook(world, w) for w in webhooks[:67]]  # sequential: first and second delivery
    second = [post_webhook(world, w) for w in webhooks[:67]]
    with ThreadPoolExecutor(max_workers=8) as pool:  # the last third: all three deliveries at once
        concurrent = list(
            pool.map(lambda w: post_webhook(world, w), [w for w in webhooks[67:] for _ in range(3)])
        )
    third = [post_webhook(world, w) for w in webhooks[:67]]
    responses = first + second + concurrent + third
    assert all(r.status_code == 202 for r in responses)
    world.embedded.wait_idle(timeout=300)
    assert sum(1 for _ in OrderRecord.scan()) == before + 100
    assert sum(not r.json()["duplicate"] for r in responses) == 100
