"""Test helpers that set up the business world on a deployed stack and talk to it over real HTTP."""

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
import httpx
import pytest

from demo.seed import stack_settings
from infra import DeployedStack
from oms.channels.signatures import shopify_signature
from oms.data.models import CatalogItemRecord, InventoryRecord, WarehouseRecord, bind_tables

EVENTS = Path(__file__).resolve().parent.parent / "events"
SHOPIFY_SECRET = "test-shopify-secret"
WOOCOMMERCE_SECRET = "test-woocommerce-secret"
WEBSHOP_SECRETS = ["whsec_bmV3LXdlYnNob3Atc2VjcmV0LWZvci10ZXN0cw==", "whsec_b2xkLXdlYnNob3Atc2VjcmV0"]
""" The web shop is rotating its secret: the new one first, the old one still accepted."""


@dataclass(frozen=True)
class SignedWebhook:
    headers: dict[str, str]
    body: bytes


def load_event(relative: str) -> Any:
    return json.loads((EVENTS / relative).read_text())


def bind(stack: DeployedStack) -> None:
    bind_tables(stack_settings(stack))
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.resources["WebhookSecrets"],
        SecretString=json.dumps(
            {"shopify": SHOPIFY_SECRET, "woocommerce": WOOCOMMERCE_SECRET, "webshop": WEBSHOP_SECRETS}
        ),
    )


@contextmanager
def with_the_bus(stack: DeployedStack) -> Iterator[None]:
    """For tests that call logic directly (as the allocate function would): EVENT_BUS_NAME set as in the
    function's environment, so the events the logic puts (low stock, releases) go to the stack's bus."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EVENT_BUS_NAME", stack.outputs["EventBusName"])
        yield


def seed_catalog(prices: dict[str, str], currency: str = "USD") -> None:
    for sku, price in prices.items():
        CatalogItemRecord(sku, name=sku, unit_price=Decimal(price), currency=currency).save()


def seed_warehouses(priorities: dict[str, int]) -> None:
    for warehouse_id, priority in priorities.items():
        WarehouseRecord(warehouse_id, name=warehouse_id, region="US", priority=priority).save()


def set_stock(
    sku: str, warehouse_id: str, on_hand: int, *, reserved: int = 0, reorder_point: int = 0
) -> None:
    """A stock item as allocation leaves it: `reserved` of the `on_hand` units held for orders."""
    InventoryRecord(
        sku,
        warehouse_id,
        on_hand=on_hand,
        reserved=reserved,
        available=on_hand - reserved,
        reorder_point=reorder_point,
        updated_at=datetime.now(UTC),
    ).save()


def stock_of(sku: str, warehouse_id: str) -> tuple[int, int, int]:
    item = InventoryRecord.get(sku, warehouse_id, consistent_read=True)
    return int(item.on_hand), int(item.reserved), int(item.available)


def shopify_webhook(
    payload: dict[str, Any], *, secret: str = SHOPIFY_SECRET, topic: str = "orders/create"
) -> SignedWebhook:
    body = json.dumps(payload).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "voltline-distribution.myshopify.com",
        "X-Shopify-Webhook-Id": f"wh-{payload.get('id')}",
        "X-Shopify-Event-Id": f"ev-{payload.get('id')}",
        "X-Shopify-Triggered-At": "2026-11-02T14:14:29Z",
        "X-Shopify-Hmac-Sha256": shopify_signature(body, secret),
    }
    return SignedWebhook(headers, body)


def post_webhook(stack: DeployedStack, webhook: SignedWebhook, channel: str = "shopify") -> httpx.Response:
    return httpx.post(
        f"{stack.api_url}/webhooks/{channel}", content=webhook.body, headers=webhook.headers, timeout=30
    )


def reader_token(stack: DeployedStack) -> str:
    """A JWT of the local identity provider with the scope GET /orders/{id} requires."""
    return stack.mint_token("user-tester", ["oms/orders.read"])


def get_order(stack: DeployedStack, order_id: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {reader_token(stack)}"}
    return httpx.get(f"{stack.api_url}/orders/{order_id}", headers=headers, timeout=30)


def shopify_order(
    order_number: int,
    lines: list[tuple[str, int, str]],
    *,
    province: str = "CA",
    shipping: str = "0.00",
    tax_override: str | None = None,
) -> dict[str, Any]:
    """A consistent Shopify orders/create payload built on the recorded sample, for the given lines
    (sku, quantity, unit price), with tax computed per line and tax line for the US state as Shopify does
    (`tests.support.channel_math`), shipping taxed where that channel taxes it."""
    from copy import deepcopy

    from tests.support.channel_math import CHANNEL_RATES, SHIPPING_TAXED, exclusive_taxes

    payload = deepcopy(load_event("shopify/orders_create.json"))
    jurisdiction = f"US-{province}"
    rates = CHANNEL_RATES[jurisdiction]
    template_line = payload["line_items"][0]
    items = []
    subtotal = tax = Decimal("0")
    by_title: dict[str, Decimal] = {}

    def tax_lines(net: Decimal) -> list[dict[str, str]]:
        nonlocal tax
        found = []
        for title, rate, amount in exclusive_taxes(net, rates):
            found.append({"price": str(amount), "rate": str(rate), "title": title})
            by_title[title] = by_title.get(title, Decimal("0")) + amount
            tax += amount
        return found

    for index, (sku, quantity, price) in enumerate(lines):
        net = Decimal(price) * quantity
        item = deepcopy(template_line)
        item.update(
            id=order_number * 100 + index,
            sku=sku,
            title=sku,
            name=sku,
            quantity=quantity,
            price=price,
            total_discount="0.00",
            discount_allocations=[],
            tax_lines=tax_lines(net),
        )
        items.append(item)
        subtotal += net
    shipping_tax = (
        tax_lines(Decimal(shipping)) if jurisdiction in SHIPPING_TAXED and Decimal(shipping) else []
    )
    if tax_override is not None:
        tax = Decimal(tax_override)
    payload.update(
        id=order_number,
        name=f"#{order_number}",
        order_number=order_number,
        line_items=items,
        discount_codes=[],
        discount_applications=[],
        total_discounts="0.00",
        shipping_lines=[{**payload["shipping_lines"][0], "price": shipping, "tax_lines": shipping_tax}],
        total_line_items_price=str(subtotal),
        subtotal_price=str(subtotal),
        tax_lines=[{"title": t, "price": str(a)} for t, a in by_title.items()],
        total_tax=str(tax),
        total_price=str(subtotal + Decimal(shipping) + tax),
    )
    payload["shipping_address"]["province_code"] = province
    return payload
