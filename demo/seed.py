"""Load the reference distributor's catalog, warehouses, stock, customers and secrets into a stack."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3

from demo import reference_data as ref
from oms.config import TABLE_RESOURCES, Settings
from oms.data.models import (
    CatalogItemRecord,
    CustomerRecord,
    InventoryRecord,
    WarehouseRecord,
    bind_tables,
)

#: The local stack's channel secrets (the demo and `make serve`); the web shop rotates two, newest first.
DEMO_SHOPIFY_SECRET = "demo-shopify-app-secret-not-for-production"  # noqa: S105 - local only
DEMO_WEBHOOK_SECRETS: dict[str, str | list[str]] = {
    "shopify": DEMO_SHOPIFY_SECRET,
    "woocommerce": "demo-woocommerce-webhook-secret-not-for-production",
    "webshop": [
        "whsec_ZGVtby13ZWJzaG9wLXNlY3JldC1uZXctbm90LWZvci1wcm9kdWN0aW9u",
        "whsec_ZGVtby13ZWJzaG9wLXNlY3JldC1vbGQ=",
    ],
}


def stack_settings(stack: Any) -> Settings:
    """Settings naming every resource of a deployed stack (for tools that work on the whole system)."""
    values = {field: stack.resources[logical] for field, logical in TABLE_RESOURCES.items()}
    values["documents_bucket"] = stack.resources["DocumentsBucket"]
    values["event_bus_name"] = stack.outputs["EventBusName"]
    values["allocation_policy_parameter"] = stack.resources["AllocationPolicyParameter"]
    return Settings(**values)


def seed_reference_data(stack: Any) -> None:
    """Idempotent: re-seeding overwrites the reference items and resets stock to the reference levels."""
    bind_tables(stack_settings(stack))
    now = datetime.now(UTC)
    with CatalogItemRecord.batch_write() as batch:
        for item in ref.CATALOG:
            batch.save(
                CatalogItemRecord(
                    item.sku,
                    name=item.name,
                    unit_price=item.unit_price,
                    currency=item.currency,
                    cost_price=ref.cost_price(item),
                )
            )
    with WarehouseRecord.batch_write() as batch:
        for wh in ref.WAREHOUSES:
            batch.save(WarehouseRecord(wh.warehouse_id, name=wh.name, region=wh.region, priority=wh.priority))
    with InventoryRecord.batch_write() as batch:
        for level in ref.STOCK:
            batch.save(
                InventoryRecord(
                    level.sku,
                    level.warehouse_id,
                    on_hand=level.on_hand,
                    reserved=0,
                    available=level.on_hand,
                    reorder_point=getattr(level, "reorder_point", 0),
                    updated_at=now,
                )
            )
    with CustomerRecord.batch_write() as batch:
        for customer in ref.CUSTOMERS:
            batch.save(
                CustomerRecord(
                    customer.customer_id,
                    name=customer.name,
                    email=customer.email,
                    tier=customer.tier,
                    payment_terms_days=customer.payment_terms_days,
                )
            )
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.resources["WebhookSecrets"], SecretString=json.dumps(DEMO_WEBHOOK_SECRETS)
    )
