"""Issue 13's done-when on the embedded AWS: a day with a shipment never invoiced and a stock adjustment that
bypassed the ledger yields exactly those two exceptions; fixing each (redriving the invoice DLQ, putting the
adjustment through the ledger) closes it on the next run; rerunning changes nothing. The reconciliation runs
as it does on AWS: the Standard workflow from statemachine/, its Distributed Map over the S3 manifest, the
four Lambda steps; driven through `python -m ops` (recon run, exceptions list, dlq peek/redrive).

(The payment-never-applied case of the issue comes with the cash work: its check plugs into the registry.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from typer.testing import CliRunner

from demo.simulators import WarehouseSimulator
from infra import DeployedStack, EmbeddedAws
from infra.embedded._faults import FaultPlan, FaultRule
from oms.data.models import InventoryRecord, ReconciliationExceptionRecord
from ops.__main__ import app
from tests.conftest import TEMPLATE, TEST_RETRY_DELAY
from tests.support.world import (
    bind,
    post_webhook,
    seed_catalog,
    seed_warehouses,
    set_stock,
    shopify_order,
    shopify_webhook,
)

SKUS = {"ELC-USB-C-1M": "8.99", "ELC-HDMI-2M": "14.50"}
runner = CliRunner()


@pytest.fixture(scope="module")
def world() -> Iterator[DeployedStack]:
    # Faults off, but the injector in place: the test makes the invoicing fail for one order.
    with EmbeddedAws(retry_delay=TEST_RETRY_DELAY, faults=FaultPlan()) as aws:
        stack = aws.deploy(TEMPLATE, stack_name="oms")
        stack.serve_http_api()
        bind(stack)
        seed_catalog(SKUS)
        seed_warehouses({"WH-NJ": 1})
        for sku in SKUS:
            set_stock(sku, "WH-NJ", 100)
        yield stack


def ops(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def exceptions() -> dict[str, dict[str, Any]]:
    return {
        r.exception_id: r.to_simple_dict()
        for r in ReconciliationExceptionRecord.scan(consistent_read=True)
        if not r.exception_id.startswith("BASELINE#")
    }


def open_ids() -> set[str]:
    return {i for i, r in exceptions().items() if r["state"] == "OPEN"}


def order(world: DeployedStack, number: int) -> str:
    payload = shopify_order(number, [("ELC-USB-C-1M", 2, "8.99"), ("ELC-HDMI-2M", 1, "14.50")])
    response = post_webhook(world, shopify_webhook(payload))
    assert response.status_code == 202, response.text
    return str(response.json()["order_id"])


def test_a_day_with_a_shipment_never_invoiced_and_stock_changed_past_the_ledger(world: DeployedStack) -> None:
    embedded = world.embedded
    injector = embedded.faults
    assert injector is not None
    today = datetime.now(UTC).date().isoformat()
    later = (datetime.now(UTC) + timedelta(hours=6)).isoformat()  # past the 4-hour invoicing grace

    # Given the reconciliation went live on a clean stock (its first run takes the ledger's baseline)
    ops("recon", "run", "--date", (datetime.now(UTC) - timedelta(days=1)).date().isoformat())
    assert open_ids() == set()

    # And a day: two orders shipped, the second while invoicing fails (its request ends in the DLQ)
    warehouse = WarehouseSimulator(
        queue_url=world.outputs["FulfillmentRequestsQueueUrl"],
        event_bus=world.outputs["EventBusName"],
        seed=3,
    )
    invoiced = order(world, 91001)
    embedded.wait_idle(timeout=60)
    assert warehouse.ship_pending() == 1
    embedded.wait_idle(timeout=60)
    never_invoiced = order(world, 91002)
    embedded.wait_idle(timeout=60)
    injector.use(FaultPlan(rules=(FaultRule("throttle", 1.0, function="InvoiceFunction"),)))
    assert warehouse.ship_pending() == 1
    embedded.wait_idle(timeout=120)
    injector.use(FaultPlan())
    assert never_invoiced in ops("dlq", "peek", "InvoiceDLQ")
    # And someone set the stock of a SKU by hand, past the ledger (5 units more on the shelf)
    item = InventoryRecord.get("ELC-HDMI-2M", "WH-NJ", consistent_read=True)
    item.update(actions=[InventoryRecord.on_hand.add(5), InventoryRecord.available.add(5)])

    # When the day is reconciled
    out = ops("recon", "run", "--date", today, "--as-of", later)

    # Then exactly those two exceptions are open, each with its owner, SLA and escalation
    assert "2 orders judged" in out
    filed = exceptions()
    assert set(filed) == {
        f"SHIPPED_NOT_INVOICED#order:{never_invoiced}",
        "STOCK_LEDGER_DRIFT#stock:ELC-HDMI-2M#WH-NJ",
    }
    shipped = filed[f"SHIPPED_NOT_INVOICED#order:{never_invoiced}"]
    assert (shipped["state"], shipped["owner_group"], shipped["escalate_to"]) == (
        "OPEN",
        "billing",
        "finance-managers",
    )
    assert datetime.fromisoformat(shipped["sla_due_at"]) == datetime.fromisoformat(later) + timedelta(
        hours=24
    )
    drift = filed["STOCK_LEDGER_DRIFT#stock:ELC-HDMI-2M#WH-NJ"]
    assert drift["owner_group"] == "inventory-control"
    assert "+5 unexplained" in drift["detail"]
    listed = ops("exceptions", "list")
    assert never_invoiced in listed
    assert invoiced not in listed

    # When the same period is run again, nothing changes
    ops("recon", "run", "--date", today, "--as-of", later)
    assert exceptions() == filed

    # When each cause is fixed: the invoice request redriven, the stock put right through the ledger
    assert "1 message(s) sent back" in ops("dlq", "redrive", "InvoiceDLQ")
    embedded.wait_idle(timeout=60)
    item.update(actions=[InventoryRecord.on_hand.add(-5), InventoryRecord.available.add(-5)])
    token = world.mint_token("user:stock-controller", ["oms/inventory.write"])
    adjustment = httpx.post(
        f"{world.api_url}/inventory/ELC-HDMI-2M/adjustments",
        json={
            "warehouse_id": "WH-NJ",
            "quantity_change": 5,
            "reference": "found-5",
            "reason": "found on shelf",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert adjustment.status_code in (200, 201), adjustment.text

    # Then the next run closes both, saying why and who
    ops("recon", "run", "--date", today, "--as-of", later)
    closed = exceptions()
    assert open_ids() == set()
    for record in closed.values():
        assert record["state"] == "CLOSED"
        assert record["closed_by"] == "system:reconciliation"
        assert record["close_reason"].startswith("cleared")
    # (100 on the shelf - 1 shipped per order + the 5 found, now in the ledger)
    assert InventoryRecord.get("ELC-HDMI-2M", "WH-NJ", consistent_read=True).on_hand == 103

    # And rerunning changes nothing
    ops("recon", "run", "--date", today, "--as-of", later)
    assert exceptions() == closed


def test_the_daily_schedule_reconciles_the_day_before(world: DeployedStack) -> None:
    sfn = boto3.client("stepfunctions")
    arn = world.state_machine_arn("ReconciliationWorkflow")
    before = {e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]}
    fired = world.embedded.scheduler.advance(timedelta(days=1))
    assert [name for name, _, ok in fired if "Reconciliation" in name and ok]
    world.embedded.wait_idle(timeout=60)
    started = [e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["name"] not in before]
    assert len(started) == 1
    execution = sfn.describe_execution(executionArn=started[0]["executionArn"])
    planned = datetime.fromisoformat(json.loads(execution["input"])["time"])
    assert (
        json.loads(execution["output"])["plan"]["period"] == (planned - timedelta(days=1)).date().isoformat()
    )
