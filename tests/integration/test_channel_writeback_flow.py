"""The channel is told what happened, through the deployed stack: warehouse and carrier events on the bus
→ track → ChannelNotifications queue → notify-channel → the channel's own API (local fakes over real HTTP
that refuse any request not in the documented shape). Each shipment is told exactly once, through
duplicated events, injected failures, lost answers and rate limits; what cannot be told ends in the DLQ."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from demo.fake_channels import FakeShopify, FakeWebhookReceiver, FakeWooCommerce, connect_channels
from demo.seed import seed_reference_data
from infra import DeployedStack
from oms.channels.signatures import standard_webhook_signature, woocommerce_signature
from oms.data.notifications import notifications_of
from oms.domain.events import CARRIER_SOURCE, WAREHOUSE_SOURCE
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
    shopify_order,
    shopify_webhook,
)


@pytest.fixture(scope="module")
def fakes(embedded_aws: DeployedStack) -> Iterator[dict[str, Any]]:
    seed_reference_data(embedded_aws)
    bind(embedded_aws)
    seed_catalog({"ELC-KVM-4P": "129.00"})
    set_stock("ELC-KVM-4P", "WH-NJ", 40)
    with FakeShopify() as shop, FakeWooCommerce() as woo, FakeWebhookReceiver() as webshop:
        connect_channels(
            embedded_aws,
            shopify=shop.credentials(),
            woocommerce=woo.credentials(),
            webshop=webshop.credentials(),
        )
        yield {"shopify": shop, "woocommerce": woo, "webshop": webshop}


def _order(stack: DeployedStack, order_id: str) -> dict[str, Any]:
    stack.embedded.wait_idle(timeout=120)
    response = get_order(stack, order_id)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


def _put(source: str, detail_type: str, details: list[dict[str, Any]], bus: str) -> None:
    entries = [
        {"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps(d)}
        for d in details
    ]
    response = boto3.client("events").put_events(Entries=entries)
    assert not response.get("FailedEntryCount"), response


def _ship(stack: DeployedStack, order: dict[str, Any], tracking: str, *, times: int = 1) -> str:
    """The allocated warehouse confirms the shipment (`times` deliveries of the same event)."""
    line = order["allocation"][0]
    shipment_id = f"{order['order_id']}-{line['warehouse_id']}"
    detail = {
        "order_id": order["order_id"],
        "warehouse_id": line["warehouse_id"],
        "shipment_id": shipment_id,
        "carrier": "UPS",
        "tracking_number": tracking,
        "shipped_at": datetime.now(UTC).isoformat(),
        "lines": [{"sku": a["sku"], "quantity": a["quantity"]} for a in order["allocation"]],
    }
    _put(WAREHOUSE_SOURCE, "ShipmentConfirmed", [detail] * times, stack.outputs["EventBusName"])
    return shipment_id


def _deliver(stack: DeployedStack, order_id: str, shipment_id: str, tracking: str, *, times: int = 1) -> None:
    detail = {
        "order_id": order_id,
        "shipment_id": shipment_id,
        "carrier": "UPS",
        "tracking_number": tracking,
        "status": "DELIVERED",
        "occurred_at": datetime.now(UTC).isoformat(),
        "description": "Delivered, front door",
    }
    _put(CARRIER_SOURCE, "TrackingUpdated", [detail] * times, stack.outputs["EventBusName"])


def _shopify_order(stack: DeployedStack, shop: FakeShopify, number: int) -> dict[str, Any]:
    payload = shopify_order(number, [("ELC-HDMI-2M", 2, "14.50"), ("ELC-PSU-65W", 1, "39.95")])
    shop.add_order(payload)
    response = post_webhook(stack, shopify_webhook(payload))
    assert response.status_code == 202, response.text
    order = _order(stack, response.json()["order_id"])
    assert order["status"] == "FULFILLMENT_REQUESTED", order["history"][-1]
    return order


def test_a_shipped_shopify_order_is_fulfilled_with_its_tracking_number_exactly_once(
    embedded_aws: DeployedStack, fakes: dict[str, Any]
) -> None:
    shop: FakeShopify = fakes["shopify"]
    # Given an order from Shopify, on its way to the warehouse
    order = _shopify_order(embedded_aws, shop, 920001)
    # When the warehouse's confirmation arrives three times (EventBridge and SQS deliver at least once)
    shipment = _ship(embedded_aws, order, "1ZONCE0001", times=3)
    _order(embedded_aws, order["order_id"])
    # And the carrier's delivery scan twice
    _deliver(embedded_aws, order["order_id"], shipment, "1ZONCE0001", times=2)
    _order(embedded_aws, order["order_id"])
    # Then Shopify has one fulfillment of both lines with the tracking number, and one delivered event
    (fulfillment,) = shop.fulfillments_of(920001)
    assert fulfillment["tracking_number"] == "1ZONCE0001"
    assert fulfillment["tracking_company"] == "UPS"
    assert sorted(x["quantity"] for x in fulfillment["line_items"]) == [1, 2]
    assert [e["status"] for e in shop.events_of(920001, fulfillment["id"])] == ["delivered"]
    assert shop.violations == []
    # And the OMS keeps what it told the channel, and when
    told = {r.kind: r for r in notifications_of(order["order_id"])}
    assert told["SHIPPED"].state == "DELIVERED"
    assert told["SHIPPED"].channel_reference == str(fulfillment["id"])
    assert told["DELIVERED"].state == "DELIVERED"


def test_failures_and_lost_answers_do_not_fulfil_twice(
    embedded_aws: DeployedStack, fakes: dict[str, Any]
) -> None:
    shop: FakeShopify = fakes["shopify"]
    order = _shopify_order(embedded_aws, shop, 920002)
    # Given Shopify fails twice, then creates the fulfillment but its answer is lost
    shop.fail_next(2, 503)
    shop.lose_answers(1)
    # When the shipment is confirmed
    _ship(embedded_aws, order, "1ZLOST0002")
    _order(embedded_aws, order["order_id"])
    # Then the retries end with exactly one fulfillment
    assert [f["tracking_number"] for f in shop.fulfillments_of(920002)] == ["1ZLOST0002"]
    (shipped,) = [r for r in notifications_of(order["order_id"]) if r.kind == "SHIPPED"]
    assert shipped.state == "DELIVERED"
    assert int(shipped.attempts) >= 2


def test_a_rate_limited_shop_is_told_when_its_retry_after_allows(
    embedded_aws: DeployedStack, fakes: dict[str, Any]
) -> None:
    shop: FakeShopify = fakes["shopify"]
    order = _shopify_order(embedded_aws, shop, 920003)
    # Given a shop whose bucket is full and drains slowly: 429 with Retry-After 20 s (longer than the
    # notifier waits inline, so the message goes back to the queue for that long)
    capacity, leak = shop.capacity, shop.leak_per_second
    throttled = shop.throttled
    shop.capacity, shop.leak_per_second = 1, 0.05
    try:
        _ship(embedded_aws, order, "1ZSLOW0003")
        deadline = time.monotonic() + 60
        while shop.throttled == throttled and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        # When the shop has capacity again
        shop.capacity, shop.leak_per_second = capacity, leak
    _order(embedded_aws, order["order_id"])
    # Then the shipment was told once, after being turned away
    assert shop.throttled > throttled
    assert [f["tracking_number"] for f in shop.fulfillments_of(920003)] == ["1ZSLOW0003"]


def test_woocommerce_gets_a_customer_note_and_the_order_completes(
    embedded_aws: DeployedStack, fakes: dict[str, Any]
) -> None:
    woo: FakeWooCommerce = fakes["woocommerce"]
    payload = json.loads((EVENTS / "woocommerce/order_created.json").read_text())
    payload["id"] = 990777
    woo.add_order(990777)
    body = json.dumps(payload).encode()
    headers = dict(load_event("woocommerce/order_created_headers.json"))
    headers |= {
        "X-WC-Webhook-Delivery-ID": "wc-990777",
        "X-WC-Webhook-Signature": woocommerce_signature(body, WOOCOMMERCE_SECRET),
    }
    response = post_webhook(embedded_aws, SignedWebhook(headers, body), channel="woocommerce")
    order = _order(embedded_aws, response.json()["order_id"])
    assert order["status"] == "FULFILLMENT_REQUESTED", order["history"][-1]
    _ship(embedded_aws, order, "1ZWOO0777", times=2)
    _order(embedded_aws, order["order_id"])
    notes = woo.orders[990777]["notes"]
    assert len(notes) == 1
    assert "1ZWOO0777" in notes[0]["note"]
    assert notes[0]["customer_note"] is True
    assert woo.orders[990777]["status"] == "completed"
    assert woo.violations == []


def test_the_web_shop_gets_one_signed_webhook_per_shipment(
    embedded_aws: DeployedStack, fakes: dict[str, Any]
) -> None:
    receiver: FakeWebhookReceiver = fakes["webshop"]
    payload = load_event("webshop/order_created.json")
    payload["data"]["order_id"] = "WS-WRITEBACK-1"
    payload["data"]["currency"] = "USD"
    payload["data"]["shipping_address"] |= {
        "country": "US",
        "region": "OR",
        "city": "Portland",
        "postal_code": "97209",
    }
    for line in payload["data"]["lines"]:
        line["tax"] = "0.00"
    payload["data"]["lines"] = [
        {"line_id": "1", "sku": "ELC-HDMI-2M", "name": "HDMI", "quantity": 2, "unit_price": "14.50"},
    ]
    payload["data"] |= {"shipping_total": "5.00", "tax_total": "0.00", "grand_total": "34.00"}
    body = json.dumps(payload).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": "msg_writeback_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard_webhook_signature("msg_writeback_1", stamp, body, WEBSHOP_SECRETS[0]),
    }
    response = post_webhook(embedded_aws, SignedWebhook(headers, body), channel="webshop")
    assert response.status_code == 202, response.text
    order = _order(embedded_aws, response.json()["order_id"])
    assert order["status"] == "FULFILLMENT_REQUESTED", order["history"][-1]
    _ship(embedded_aws, order, "1ZWEB0001", times=2)
    _order(embedded_aws, order["order_id"])
    shipped = [m for m in receiver.messages.values() if m["data"]["order_id"] == "WS-WRITEBACK-1"]
    assert [m["type"] for m in shipped] == ["order.shipped"]
    assert shipped[0]["data"]["tracking_number"] == "1ZWEB0001"
    assert receiver.violations == []


def test_what_the_channel_refuses_ends_in_the_dlq(embedded_aws: DeployedStack, fakes: dict[str, Any]) -> None:
    # Given a shipment of a Shopify order the shop does not know (a 404 on every attempt)
    payload = shopify_order(920404, [("ELC-HDMI-2M", 1, "14.50")])
    response = post_webhook(embedded_aws, shopify_webhook(payload))
    order = _order(embedded_aws, response.json()["order_id"])
    _ship(embedded_aws, order, "1ZNONE0404")
    deadline = time.monotonic() + 60
    sqs = boto3.client("sqs")
    dlq = embedded_aws.resources["ChannelNotificationsDLQ"]
    found: list[dict[str, Any]] = []
    while not found and time.monotonic() < deadline:
        embedded_aws.embedded.wait_idle(timeout=60)
        found = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
    # Then after the queue's retries the notification waits in the DLQ (its alarm fires) for someone to look
    assert any(json.loads(m["Body"])["order_id"] == order["order_id"] for m in found)


def test_two_copies_of_one_notification_never_call_the_channel_at_once(
    embedded_aws: DeployedStack, fakes: dict[str, Any]
) -> None:
    from datetime import timedelta

    from oms.data.notifications import (
        IN_FLIGHT_GRACE,
        NotificationInProgressError,
        begin_attempt,
        fail_attempt,
        finish_attempt,
    )
    from oms.domain.notifications import ChannelNotification, NotificationKind

    now = datetime.now(UTC)
    notification = ChannelNotification(
        notification_id="ord_0123456789abcdef01234599:shipped:s1",
        kind=NotificationKind.SHIPPED,
        order_id="ord_0123456789abcdef01234599",
        channel="shopify",
        external_id="920099",
        shipment_id="s1",
        occurred_at=now,
    )
    # Given one copy is telling the channel
    first = begin_attempt(notification, now)
    assert (first.first, first.finished) == (True, False)
    # When a second copy arrives meanwhile, it waits
    with pytest.raises(NotificationInProgressError):
        begin_attempt(notification, now + timedelta(seconds=1))
    # When the first fails (it may have reached the channel), the next copy goes on, checking the channel
    fail_attempt(first.record, detail="lost answer")
    second = begin_attempt(notification, now + timedelta(seconds=2))
    assert (second.first, second.finished) == (False, False)
    # And an attempt that died without a word is taken over after the grace period
    third = begin_attempt(notification, now + IN_FLIGHT_GRACE + timedelta(seconds=3))
    assert (third.first, third.finished) == (False, False)
    finish_attempt(third.record, state="DELIVERED", reference="1", detail="done", now=now)
    assert begin_attempt(notification, now + IN_FLIGHT_GRACE * 2).finished
