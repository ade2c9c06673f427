"""The order workflow's other exits, run by the real ASL on the embedded AWS: holds with machine-readable
reasons, and compensation that releases reserved stock exactly once when a later step fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from infra import DeployedStack
from oms.data.models import ReservationRecord
from oms.domain.order import order_id_for
from oms.logic.compensation import fail_order
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


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog({"ELC-A": "19.99", "ELC-B": "249.00", "ELC-SCARCE": "99.00"})
    seed_warehouses({"WH-NJ": 1, "WH-TX": 2})
    set_stock("ELC-A", "WH-NJ", 50)
    set_stock("ELC-B", "WH-NJ", 1)
    set_stock("ELC-B", "WH-TX", 5)
    set_stock("ELC-SCARCE", "WH-NJ", 1)
    return embedded_aws


def _place(world: DeployedStack, payload: dict[str, Any]) -> dict[str, Any]:
    response = post_webhook(world, shopify_webhook(payload))
    assert response.status_code == 202, response.text
    world.embedded.wait_idle(timeout=60)
    order: dict[str, Any] = get_order(world, response.json()["order_id"]).json()
    return order


def test_a_price_that_differs_from_the_catalog_puts_the_order_on_hold(world: DeployedStack) -> None:
    order = _place(world, shopify_order(8001, [("ELC-A", 1, "9.99")]))
    assert order["status"] == "ON_HOLD"
    assert order["hold_reason"] == "PRICE_MISMATCH"
    assert "catalog 19.99" in order["history"][-1]["reason"]


def test_an_unknown_sku_puts_the_order_on_hold(world: DeployedStack) -> None:
    order = _place(world, shopify_order(8002, [("ELC-NOPE", 1, "5.00")]))
    assert (order["status"], order["hold_reason"]) == ("ON_HOLD", "UNKNOWN_SKU")


def test_tax_that_does_not_match_the_table_puts_the_order_on_hold(world: DeployedStack) -> None:
    order = _place(world, shopify_order(8003, [("ELC-A", 1, "19.99")], tax_override="2.00"))
    assert (order["status"], order["hold_reason"]) == ("ON_HOLD", "TAX_MISMATCH")
    assert order["computed_tax_total"] == "1.45"


def test_short_stock_backorders_the_order_and_reserves_nothing(world: DeployedStack) -> None:
    # Given one unit of ELC-SCARCE in stock
    before = stock_of("ELC-SCARCE", "WH-NJ")
    # When an order wants two (hold-until-complete is the default policy)
    order = _place(world, shopify_order(8004, [("ELC-SCARCE", 2, "99.00"), ("ELC-A", 1, "19.99")]))
    # Then it waits in the backorder queue for the missing unit, and nothing is reserved meanwhile
    assert order["status"] == "BACKORDERED"
    assert order["backorder"] == [{"sku": "ELC-SCARCE", "quantity": 1}]
    assert "ELC-SCARCE short by 1" in order["allocation_reason"]
    assert stock_of("ELC-SCARCE", "WH-NJ") == before
    with pytest.raises(ReservationRecord.DoesNotExist):
        ReservationRecord.get(order["order_id"])


def test_an_order_no_single_warehouse_can_fill_is_split_and_the_reason_says_so(world: DeployedStack) -> None:
    order = _place(world, shopify_order(8005, [("ELC-B", 3, "249.00")]))
    assert order["status"] == "FULFILLMENT_REQUESTED"
    assert order["allocation_reason"] == "fewest shipments: WH-TX ships all"
    assert order["allocation_choices"][0].startswith("WH-TX: holds every line")
    order = _place(world, shopify_order(8006, [("ELC-B", 3, "249.00")]))
    assert order["status"] == "FULFILLMENT_REQUESTED"
    assert order["allocation_reason"].startswith("fewest shipments: no single warehouse holds every line")
    assert [c.split(":")[0] for c in order["allocation_choices"]] == ["WH-TX", "WH-NJ"]
    assert sorted((a["warehouse_id"], a["quantity"]) for a in order["allocation"]) == [
        ("WH-NJ", 1),
        ("WH-TX", 2),
    ]


class _BrokenEventBridge:
    def put_events(self, **_: Any) -> dict[str, Any]:
        raise ConnectionError("EventBridge unreachable (injected)")


@pytest.fixture
def eventbridge_down(monkeypatch: pytest.MonkeyPatch) -> None:
    import oms.logic.fulfillment as fulfillment

    real_client = fulfillment.client
    monkeypatch.setattr(
        fulfillment, "client", lambda s: _BrokenEventBridge() if s == "events" else real_client(s)
    )


@pytest.mark.usefixtures("eventbridge_down")
def test_a_failure_after_allocation_releases_the_stock_and_leaves_a_visible_failed_order(
    world: DeployedStack,
) -> None:
    # Given stock of 50 units in WH-NJ, and EventBridge failing when the warehouse is to be asked
    on_hand, reserved, available = stock_of("ELC-A", "WH-NJ")
    # When an order for 4 units runs through the workflow
    order = _place(world, shopify_order(8007, [("ELC-A", 4, "19.99")]))
    # Then the compensation released the reservation and the order is FAILED with the cause
    assert order["status"] == "FAILED"
    assert "ConnectionError" in order["failure_reason"]
    assert [h["status"] for h in order["history"]] == ["RECEIVED", "VALIDATED", "ALLOCATED", "FAILED"]
    assert stock_of("ELC-A", "WH-NJ") == (on_hand, reserved, available)
    reservation = ReservationRecord.get(order["order_id"])
    assert reservation.state == "RELEASED"
    assert reservation.closed_by == "workflow:compensate"


def test_compensation_run_twice_releases_once(world: DeployedStack) -> None:
    # Given the FAILED order of the previous test, whose stock was already released
    order_id = order_id_for("shopify", "8007")
    before = stock_of("ELC-A", "WH-NJ")
    # When the compensation is delivered again (Step Functions runs tasks at least once)
    assert (
        fail_order(
            order_id,
            error="ConnectionError",
            cause="retry",
            step="RequestFulfillment",
            event_bus=world.resources["OmsEventBus"],
            now=datetime.now(UTC),
        )
        == "FAILED"
    )
    # Then no stock moves a second time
    assert stock_of("ELC-A", "WH-NJ") == before
