"""The channel-order corpus over real HTTP on the embedded AWS: each order, in its channel's real shape and
signed as that channel signs, becomes a canonical order whose totals and price breakdown are the
channel's to the cent, or a hold whose reason names the component and the amounts (tests/events/corpus:
`expected.json` is written by hand; `build.py` made the payloads with the channels' own arithmetic)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from demo.seed import seed_reference_data
from infra import DeployedStack
from oms.channels.signatures import standard_webhook_signature, woocommerce_signature
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
)

CORPUS = EVENTS / "corpus"
EXPECTED: dict[str, dict[str, Any]] = {
    name: value
    for name, value in json.loads((CORPUS / "expected.json").read_text()).items()
    if not name.startswith("_")
}


def _woocommerce(body: bytes, delivery: str) -> SignedWebhook:
    headers = dict(load_event("woocommerce/order_created_headers.json"))
    headers |= {
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "created",
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": woocommerce_signature(body, WOOCOMMERCE_SECRET),
    }
    return SignedWebhook(headers, body)


def _webshop(body: bytes, msg_id: str) -> SignedWebhook:
    timestamp = int(time.time())
    return SignedWebhook(
        {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_webhook_signature(msg_id, timestamp, body, WEBSHOP_SECRETS[0]),
        },
        body,
    )


def _channel_totals(channel: str, payload: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """(grand total, tax total) as the channel states them."""
    if channel == "shopify":
        return Decimal(payload["total_price"]), Decimal(payload["total_tax"])
    if channel == "woocommerce":
        return Decimal(payload["total"]), Decimal(payload["total_tax"])
    data = payload["data"] if channel == "webshop" else payload
    return Decimal(data["grand_total"]), Decimal(data["tax_total"])


def _send(world: DeployedStack, name: str) -> str:
    channel = name.split("/")[0]
    raw = (CORPUS / name).read_bytes()
    payload = json.loads(raw)
    delivery = name.replace("/", "-").removesuffix(".json")
    if channel == "shopify":
        response = post_webhook(world, shopify_webhook(payload))
    elif channel == "woocommerce":
        response = post_webhook(world, _woocommerce(raw, delivery), channel="woocommerce")
    elif channel == "webshop":
        response = post_webhook(world, _webshop(raw, f"msg_{delivery}"), channel="webshop")
    else:
        token = world.mint_token("jdoe", ["oms/orders.write"])
        response = httpx.post(
            f"{world.api_url}/orders",
            content=raw,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=30,
        )
    assert response.status_code in (200, 201, 202), f"{name}: {response.status_code} {response.text}"
    order_id: str = response.json()["order_id"]
    return order_id


@pytest.fixture(scope="module")
def sent(embedded_aws: DeployedStack) -> dict[str, str]:
    """Every corpus order sent over HTTP, and the workflow run to the end; the OMS order id of each."""
    seed_reference_data(embedded_aws)
    bind(embedded_aws)
    seed_catalog({"ELC-KVM-4P": "129.00"})
    seed_catalog({"UK-HUB-7P": "30.00", "UK-CABLE-2M": "10.00"}, currency="GBP")
    for sku in ("ELC-KVM-4P", "UK-HUB-7P", "UK-CABLE-2M"):
        set_stock(sku, "WH-NJ", 100)
    ids = {name: _send(embedded_aws, name) for name in EXPECTED}
    embedded_aws.embedded.wait_idle(timeout=120)
    return ids


def test_the_corpus_has_every_shape_the_issue_names() -> None:
    names = sorted(EXPECTED)
    assert len(names) >= 30
    assert {n.split("/")[0] for n in names} == {"shopify", "woocommerce", "webshop", "erp"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_order_is_priced_to_the_channels_cent_or_held_naming_the_component(
    embedded_aws: DeployedStack, sent: dict[str, str], name: str
) -> None:
    expected = EXPECTED[name]
    channel = name.split("/")[0]
    payload = json.loads((CORPUS / name).read_text())
    response = get_order(embedded_aws, sent[name])
    assert response.status_code == 200, response.text
    order = response.json()
    grand_total, tax_total = _channel_totals(channel, payload)
    # The order keeps the channel's own totals, to the cent
    assert Decimal(order["totals"]["grand_total"]) == grand_total
    assert Decimal(order["totals"]["tax_total"]) == tax_total
    if expected["hold"] is None:
        # Then it is priced and passed on, and its price breakdown (what the invoice shows) is the channel's
        assert order["status"] not in ("ON_HOLD", "FAILED"), order["history"][-1]["reason"]
        pricing = order["pricing"]
        assert Decimal(pricing["grand_total"]) == grand_total
        assert Decimal(pricing["tax_total"]) == tax_total
        assert sum(Decimal(t["amount"]) for t in pricing["taxes"]) == tax_total
    else:
        # Or it is held, with a reason that names the component and the amounts
        assert (order["status"], order["hold_reason"]) == ("ON_HOLD", expected["hold"])
        reason = order["history"][-1]["reason"]
        for words in expected["reason"]:
            assert words in reason
