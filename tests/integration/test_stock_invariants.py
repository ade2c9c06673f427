"""Property: over random sequences of orders, receipts, cancellations and expiries on the embedded AWS,
stock stays consistent. After every step, for every SKU and warehouse: on hand = available + reserved,
nothing is negative, `reserved` equals the open reservations exactly (so no release happened twice and
none was lost), and every BACKORDERED order, and only those, waits in the queues of what it misses."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra import DeployedStack
from oms.channels.shopify import parse_shopify_order
from oms.data.backorders import waiting_orders
from oms.data.models import InventoryRecord, OrderRecord, ReservationRecord
from oms.data.orders import new_order_record
from oms.logic.allocation import allocate_order
from oms.logic.allocation_policy import AllocationPolicy
from oms.logic.backorders import expire_reservations, serve_backorders
from oms.logic.channel_changes import cancel_order
from tests.support.world import bind, seed_warehouses, set_stock, shopify_order, with_the_bus

WAREHOUSES = ("WH-NJ", "WH-TX")
POLICY = AllocationPolicy()
_examples = itertools.count(1)
_order_numbers = itertools.count(810_000)


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> Iterator[DeployedStack]:
    with with_the_bus(embedded_aws):
        yield _world(embedded_aws)


def _world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    seed_warehouses({"WH-NJ": 1, "WH-TX": 2})
    return embedded_aws


order_op = st.tuples(
    st.just("order"),
    st.lists(st.tuples(st.integers(0, 1), st.integers(1, 4)), min_size=1, max_size=2),
)
receive_op = st.tuples(st.just("receive"), st.integers(0, 1), st.sampled_from(WAREHOUSES), st.integers(1, 6))
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 20))
expire_op = st.tuples(st.just("expire"))
operations = st.lists(
    st.one_of(order_op, order_op, receive_op, cancel_op, expire_op), min_size=3, max_size=10
)


class Example:
    def __init__(self, world: DeployedStack) -> None:
        n = next(_examples)
        self.world = world
        self.skus = [f"INV{n}-A", f"INV{n}-B"]
        self.orders: list[str] = []
        self.now = datetime.now(UTC)
        for sku in self.skus:
            for warehouse in WAREHOUSES:
                set_stock(sku, warehouse, 2)

    def place(self, lines: list[tuple[int, int]]) -> None:
        payload = shopify_order(next(_order_numbers), [(self.skus[i], q, "1.00") for i, q in lines])
        record = new_order_record(parse_shopify_order(payload), self.now)
        record.status = "VALIDATED"
        record.save()
        self.orders.append(record.order_id)
        allocate_order(record.order_id, policy=POLICY, now=self.now)

    def receive(self, sku_index: int, warehouse: str, quantity: int) -> None:
        sku = self.skus[sku_index]
        InventoryRecord(sku, warehouse).update(
            actions=[InventoryRecord.on_hand.add(quantity), InventoryRecord.available.add(quantity)]
        )
        serve_backorders(
            sku, policy=POLICY, workflow_arn=self.world.outputs["OrderWorkflowArn"], now=self.now
        )

    def cancel(self, index: int) -> None:
        if self.orders:
            order_id = self.orders[index % len(self.orders)]
            cancel_order(
                order_id,
                by="channel:shopify",
                reason="customer changed their mind",
                event_bus=self.world.outputs["EventBusName"],
                now=self.now,
            )

    def expire(self) -> None:
        self.now += timedelta(hours=100)  # past every hold time
        expire_reservations(event_bus=self.world.outputs["EventBusName"], now=self.now)

    def check(self) -> None:
        open_reserved: dict[tuple[str, str], int] = defaultdict(int)
        for order_id in self.orders:
            try:
                reservation = ReservationRecord.get(order_id, consistent_read=True)
            except ReservationRecord.DoesNotExist:
                continue
            assert reservation.state in ("RESERVED", "RELEASED", "CONSUMED")
            if reservation.state == "RESERVED":
                for line in reservation.lines:
                    open_reserved[(line.sku, line.warehouse_id)] += int(line.quantity)
        for sku in self.skus:
            for warehouse in WAREHOUSES:
                item = InventoryRecord.get(sku, warehouse, consistent_read=True)
                on_hand, available, reserved = int(item.on_hand), int(item.available), int(item.reserved)
                assert on_hand == available + reserved, (sku, warehouse, on_hand, available, reserved)
                assert min(on_hand, available, reserved) >= 0, (sku, warehouse, on_hand, available, reserved)
                assert reserved == open_reserved[(sku, warehouse)], (sku, warehouse, reserved)
        queued: dict[str, set[str]] = defaultdict(set)
        for sku in self.skus:
            for entry in waiting_orders(sku):
                queued[entry.order_id].add(sku)
        for order_id in self.orders:
            record = OrderRecord.get(order_id, consistent_read=True)
            missing = {line.sku for line in record.backorder or []}
            if record.status == "BACKORDERED":
                assert queued[order_id] == missing, (order_id, queued[order_id], missing)
            else:
                assert order_id not in queued, (order_id, record.status)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_stock_stays_consistent_over_any_sequence(world: DeployedStack, ops: list[tuple[Any, ...]]) -> None:
    # Given 2 units of two SKUs in each of two warehouses
    example = Example(world)
    for op in ops:
        # When the next order, receipt, cancellation or expiry happens (and the system settles)
        getattr(example, {"order": "place"}.get(op[0], op[0]))(*op[1:])
        world.embedded.wait_idle(timeout=60)
        # Then the invariants hold
        example.check()
