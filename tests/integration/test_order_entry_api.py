"""POST /orders: people in the ERP or sales portal enter orders with a JWT; the order records who."""

from __future__ import annotations

import json

import httpx
import pytest

from infra import DeployedStack
from oms.data.models import OrderRecord
from tests.support.world import bind, get_order, load_event, seed_catalog, seed_warehouses, set_stock


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog({"ELC-PSU-65W": "39.95", "ELC-HDMI-2M": "14.50", "ELC-KVM-4P": "129.00"})
    seed_warehouses({"WH-NJ": 1})
    for sku in ("ELC-PSU-65W", "ELC-HDMI-2M", "ELC-KVM-4P"):
        set_stock(sku, "WH-NJ", 500)
    return embedded_aws


def _enter(
    world: DeployedStack, body: bytes, token: str | None, content_type: str = "application/json"
) -> httpx.Response:
    headers = {"Content-Type": content_type} | ({"Authorization": f"Bearer {token}"} if token else {})
    return httpx.post(f"{world.api_url}/orders", content=body, headers=headers, timeout=30)


def test_an_order_entered_by_a_sales_rep_records_who_entered_it(world: DeployedStack) -> None:
    # Given a sales rep's token with the write scope and the recorded ERP order
    token = world.mint_token("jdoe", ["oms/orders.write"])
    body = json.dumps(load_event("erp/order.json")).encode()
    # When it is posted twice (a portal retry)
    first = _enter(world, body, token)
    again = _enter(world, body, token)
    # Then one order exists, entered by user:jdoe, and it runs through the workflow
    assert first.status_code == again.status_code == 202, first.text
    assert first.json()["order_id"] == again.json()["order_id"]
    assert again.json()["duplicate"] is True
    world.embedded.wait_idle(timeout=60)
    order = get_order(world, first.json()["order_id"]).json()
    assert order["entered_by"] == "user:jdoe"
    assert order["channel"] == "erp"
    assert order["history"][0] == order["history"][0] | {"status": "RECEIVED", "by": "user:jdoe"}
    assert order["status"] in {"FULFILLMENT_REQUESTED", "ON_HOLD"}, order


@pytest.mark.parametrize(
    ("token_scopes", "body", "content_type", "status"),
    [
        (None, b"{}", "application/json", 401),
        (["oms/orders.read"], b"{}", "application/json", 403),
        (["oms/orders.write"], b"{not json", "application/json", 400),
        (["oms/orders.write"], b"{}", "text/plain", 415),
        (["oms/orders.write"], b'{"order_id": "../../etc"}', "application/json", 422),
    ],
    ids=["no token", "read scope only", "malformed JSON", "wrong content type", "schema violation"],
)
def test_bad_order_entries_get_a_clear_4xx_and_write_nothing(
    world: DeployedStack, token_scopes: list[str] | None, body: bytes, content_type: str, status: int
) -> None:
    before = sum(1 for _ in OrderRecord.scan())
    token = world.mint_token("jdoe", token_scopes) if token_scopes is not None else None
    response = _enter(world, body, token, content_type)
    assert response.status_code == status, response.text
    assert sum(1 for _ in OrderRecord.scan()) == before
