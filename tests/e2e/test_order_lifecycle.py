"""The whole lifecycle over real HTTP on the embedded AWS: webhook → validated → allocated → fulfillment
requested → shipped → invoiced → delivered, with the real statemachine/ ASL file executing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from pypdf import PdfReader

from demo.simulators import CarrierSimulator, WarehouseSimulator
from infra import DeployedStack
from oms.domain.events import TrackingStatus
from tests.support.world import (
    bind,
    get_order,
    load_event,
    post_webhook,
    seed_catalog,
    seed_warehouses,
    set_stock,
    shopify_webhook,
    stock_of,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog({"ELC-USB-C-1M": "8.99", "ELC-HDMI-2M": "14.50", "ELC-PSU-65W": "39.95"})
    seed_warehouses({"WH-NJ": 1, "WH-TX": 2})
    for sku in ("ELC-USB-C-1M", "ELC-HDMI-2M", "ELC-PSU-65W"):
        set_stock(sku, "WH-NJ", 100)
        set_stock(sku, "WH-TX", 100)
    return embedded_aws


def test_the_workflow_executed_is_the_asl_file_in_statemachine(world: DeployedStack) -> None:
    sfn = boto3.client("stepfunctions")
    definition = sfn.describe_state_machine(stateMachineArn=world.outputs["OrderWorkflowArn"])["definition"]
    on_disk = json.loads((ROOT / "statemachine" / "order_fulfillment.asl.json").read_text())
    assert json.loads(definition)["States"].keys() == on_disk["States"].keys()
    assert "${" not in definition, "DefinitionSubstitutions were not applied"


def test_signed_shopify_order_is_followed_to_delivered_with_its_invoice_pdf_in_s3(
    world: DeployedStack,
) -> None:
    embedded = world.embedded
    # Given a signed Shopify orders/create webhook for three lines shipped to California
    webhook = shopify_webhook(load_event("shopify/orders_create.json"))

    # When the channel delivers it over HTTP
    response = post_webhook(world, webhook)

    # Then it is accepted with the order id, and the Express workflow asks the warehouse to ship
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]
    embedded.wait_idle(timeout=60)
    order = get_order(world, order_id).json()
    assert order["status"] == "FULFILLMENT_REQUESTED", order
    assert order["allocation_reason"] == "fewest shipments: WH-NJ ships all"
    assert stock_of("ELC-USB-C-1M", "WH-NJ") == (100, 10, 90)

    # When the warehouse confirms the shipment
    warehouse = WarehouseSimulator(
        queue_url=world.outputs["FulfillmentRequestsQueueUrl"],
        event_bus=world.outputs["EventBusName"],
        seed=7,
    )
    assert warehouse.ship_pending() == 1
    embedded.wait_idle(timeout=60)

    # Then the order is SHIPPED, its stock left the shelf, and it is invoiced
    order = get_order(world, order_id).json()
    assert order["status"] == "SHIPPED"
    assert order["billing_status"] == "INVOICED"
    assert stock_of("ELC-USB-C-1M", "WH-NJ") == (90, 0, 90)

    # When the carrier scans it in transit and delivered
    carrier = CarrierSimulator(event_bus=world.outputs["EventBusName"])
    carrier.scan(warehouse.shipments, TrackingStatus.IN_TRANSIT, hours_after_shipping=5)
    embedded.wait_idle(timeout=60)
    carrier.scan(warehouse.shipments, TrackingStatus.DELIVERED, hours_after_shipping=30)
    embedded.wait_idle(timeout=60)

    # Then GET /orders/{id} shows DELIVERED with the full history, and the invoice PDF opens
    order = get_order(world, order_id).json()
    assert order["status"] == "DELIVERED"
    assert [h["status"] for h in order["history"]] == [
        "RECEIVED",
        "VALIDATED",
        "ALLOCATED",
        "FULFILLMENT_REQUESTED",
        "SHIPPED",
        "INVOICED",
        "IN_TRANSIT",
        "DELIVERED",
    ]
    assert all(h["by"] and h["at"] for h in order["history"])
    pdf = boto3.client("s3").get_object(
        Bucket=world.outputs["DocumentsBucketName"], Key=order["invoice_pdf_key"]
    )
    reader = PdfReader(io.BytesIO(pdf["Body"].read()))
    text = "".join(page.extract_text() for page in reader.pages)
    assert order["invoice_number"] in text
    assert "273.43" in text
