"""POST /webhooks/{channel} over real HTTP: bad input gets a clear 4xx and writes nothing;
redeliveries, sequential or concurrent, yield one order."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import boto3
import httpx
import pytest

from infra import DeployedStack
from oms.data.models import OrderRecord
from tests.support.world import (
    SignedWebhook,
    bind,
    get_order,
    post_webhook,
    reader_token,
    seed_catalog,
    seed_warehouses,
    set_stock,
    shopify_order,
    shopify_webhook,
)


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog({"ELC-A": "19.99"})
    seed_warehouses({"WH-NJ": 1})
    set_stock("ELC-A", "WH-NJ", 10_000)
    return embedded_aws


def _order_count() -> int:
    return sum(1 for _ in OrderRecord.scan())


def _archived(world: DeployedStack) -> int:
    listing = boto3.client("s3").list_objects_v2(Bucket=world.outputs["RawPayloadsBucketName"])
    return int(listing.get("KeyCount", 0))


def _resign(webhook: SignedWebhook, body: bytes) -> SignedWebhook:
    return SignedWebhook(webhook.headers, body)


def _bad_requests() -> list[tuple[str, SignedWebhook, str, int, str]]:
    good = shopify_webhook(shopify_order(5001, [("ELC-A", 1, "19.99")]))
    no_signature = {k: v for k, v in good.headers.items() if k != "X-Shopify-Hmac-Sha256"}
    zero_quantity = shopify_order(5002, [("ELC-A", 1, "19.99")])
    zero_quantity["line_items"][0]["quantity"] = 0
    too_precise = shopify_order(5003, [("ELC-A", 1, "19.99")])
    too_precise["line_items"][0]["price"] = "19.991"
    bad_sku = shopify_order(5004, [("ELC-A", 1, "19.99")])
    bad_sku["line_items"][0]["sku"] = "../../etc/passwd"
    return [
        (
            "wrong secret",
            shopify_webhook(shopify_order(5005, [("ELC-A", 1, "19.99")]), secret="nope"),
            "shopify",
            401,
            "INVALID_SIGNATURE",
        ),
        ("missing signature", SignedWebhook(no_signature, good.body), "shopify", 401, "INVALID_SIGNATURE"),
        (
            "signature over another body",
            _resign(good, good.body.replace(b"19.99", b"09.99")),
            "shopify",
            401,
            "INVALID_SIGNATURE",
        ),
        ("unknown channel", good, "ebay", 404, "UNKNOWN_CHANNEL"),
        (
            "malformed JSON",
            shopify_webhook({"id": 1}).__class__(
                shopify_webhook({"id": 1}).headers | {"X-Shopify-Hmac-Sha256": ""}, b"{not json"
            ),
            "shopify",
            401,
            "INVALID_SIGNATURE",
        ),
        ("zero quantity", shopify_webhook(zero_quantity), "shopify", 422, "INVALID_PAYLOAD"),
        ("more decimals than USD allows", shopify_webhook(too_precise), "shopify", 422, "INVALID_PAYLOAD"),
        ("path characters in a SKU", shopify_webhook(bad_sku), "shopify", 422, "INVALID_PAYLOAD"),
        (
            "wrong content type",
            SignedWebhook(good.headers | {"Content-Type": "text/plain"}, good.body),
            "shopify",
            415,
            "UNSUPPORTED_CONTENT_TYPE",
        ),
    ]


@pytest.mark.parametrize(
    ("case", "webhook", "channel", "status", "code"), _bad_requests(), ids=[c[0] for c in _bad_requests()]
)
def test_bad_input_gets_a_clear_4xx_and_writes_nothing(
    world: DeployedStack, case: str, webhook: SignedWebhook, channel: str, status: int, code: str
) -> None:
    # Given the orders and archived bodies that exist now
    before = _order_count()
    archived = _archived(world)
    # When the bad delivery arrives
    response = post_webhook(world, webhook, channel=channel)
    # Then it gets the right 4xx with a reason, and no order was written
    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    assert response.json()["reason"]
    assert _order_count() == before
    assert _archived(world) == archived


def test_a_topic_the_oms_does_not_handle_is_acknowledged_and_stores_nothing(world: DeployedStack) -> None:
    # Given a signed delivery of another topic (Shopify disables endpoints that keep failing)
    before = _order_count()
    webhook = shopify_webhook(shopify_order(5006, [("ELC-A", 1, "19.99")]), topic="products/create")
    # When it arrives
    response = post_webhook(world, webhook)
    # Then it gets 200 with the reason, and nothing is written
    assert response.status_code == 200
    assert response.json()["kind"] == "IGNORED"
    assert "products/create" in response.json()["note"]
    assert _order_count() == before


def test_signed_but_malformed_json_is_a_400(world: DeployedStack) -> None:
    webhook = shopify_webhook({"id": 1})
    from oms.channels.signatures import shopify_signature
    from tests.support.world import SHOPIFY_SECRET

    body = b'{"id": 1, "line_items": ['
    headers = webhook.headers | {"X-Shopify-Hmac-Sha256": shopify_signature(body, SHOPIFY_SECRET)}
    response = post_webhook(world, SignedWebhook(headers, body))
    assert response.status_code == 400
    assert response.json()["error"] == "MALFORMED_BODY"


def test_body_over_the_limit_is_a_413(world: DeployedStack) -> None:
    from oms.channels.signatures import shopify_signature
    from tests.support.world import SHOPIFY_SECRET

    body = json.dumps({"id": 1, "note": "x" * 1_100_000}).encode()
    headers = shopify_webhook({"id": 1}).headers | {
        "X-Shopify-Hmac-Sha256": shopify_signature(body, SHOPIFY_SECRET)
    }
    response = post_webhook(world, SignedWebhook(headers, body))
    assert response.status_code == 413


def test_a_redelivered_webhook_yields_the_same_single_order(world: DeployedStack) -> None:
    # Given one order delivered three times in a row
    webhook = shopify_webhook(shopify_order(6001, [("ELC-A", 2, "19.99")]))
    responses = [post_webhook(world, webhook) for _ in range(3)]
    # Then every answer names the same order, the later ones flagged as duplicates
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert [r.json()["duplicate"] for r in responses] == [False, True, True]
    world.embedded.wait_idle(timeout=60)
    order = get_order(world, responses[0].json()["order_id"]).json()
    assert [h["status"] for h in order["history"]].count("RECEIVED") == 1


def test_concurrent_duplicates_create_exactly_one_order_each(world: DeployedStack) -> None:
    # Given 20 orders, each delivered 3 times at once
    webhooks = [shopify_webhook(shopify_order(7000 + n, [("ELC-A", 1, "19.99")])) for n in range(20)]
    before = _order_count()
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda w: post_webhook(world, w), [w for w in webhooks for _ in range(3)]))
    # Then exactly 20 new orders exist and each triple of answers agrees on its id
    assert all(r.status_code == 202 for r in responses)
    ids = [r.json()["order_id"] for r in responses]
    assert all(len(set(ids[i : i + 3])) == 1 for i in range(0, 60, 3))
    world.embedded.wait_idle(timeout=120)
    assert _order_count() == before + 20


def test_get_order_answers_404_for_an_unknown_order_and_400_for_a_malformed_id(world: DeployedStack) -> None:
    assert get_order(world, "ord_000000000000000000000000").status_code == 404
    token = reader_token(world)
    response = httpx.get(f"{world.api_url}/orders/%00bad%20id", headers={"Authorization": token}, timeout=10)
    assert response.status_code == 400


def test_reading_an_order_needs_a_token_with_the_read_scope(world: DeployedStack) -> None:
    order_id = "ord_000000000000000000000000"
    assert httpx.get(f"{world.api_url}/orders/{order_id}", timeout=10).status_code == 401
    writer = world.mint_token("user-writer", ["oms/orders.write"])
    response = httpx.get(f"{world.api_url}/orders/{order_id}", headers={"Authorization": writer}, timeout=10)
    assert response.status_code == 403
