"""A flash sale on the embedded AWS: 2,000 orders for one SKU with 100 units in stock, sent concurrently
over HTTP. Exactly 100 units are allocated, none oversold, every other order is backordered in arrival
order, and every order is accounted for."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from infra import DeployedStack
from oms.data.backorders import waiting_orders
from oms.data.models import OrderRecord, ReservationRecord
from tests.support.world import (
    bind,
    get_order,
    seed_catalog,
    seed_warehouses,
    set_stock,
    shopify_order,
    shopify_webhook,
    stock_of,
)

ORDERS = 2_000
UNITS = 100
SKU = "FLASH-1"
CONNECTIONS = 16


@pytest.mark.slow
# A load test of code the other tests cover: measured without the coverage tracer, which doubles its time
# (make test's long pole, 281 s -> about 130 s).
@pytest.mark.no_cover
def test_a_flash_sale_allocates_exactly_the_stock_and_backorders_the_rest(
    embedded_aws: DeployedStack,
) -> None:
    # Given 100 units of one SKU, split over two warehouses
    bind(embedded_aws)
    seed_catalog({SKU: "49.00"})
    seed_warehouses({"WH-NJ": 1, "WH-TX": 2})
    set_stock(SKU, "WH-NJ", 60)
    set_stock(SKU, "WH-TX", 40)
    rng = random.Random(20261127)
    payloads = [
        shopify_order(700_000 + n, [(SKU, 1, "49.00")], province=rng.choice(["CA", "NY", "TX"]))
        for n in range(ORDERS)
    ]
    webhooks = [shopify_webhook(p) for p in payloads]

    # When 2,000 customers order one unit each at the same time, over 16 concurrent connections
    with httpx.Client(base_url=embedded_aws.api_url, timeout=120) as http:

        def send(index: int) -> tuple[int, str]:
            hook = webhooks[index]
            response = http.post("/webhooks/shopify", content=hook.body, headers=hook.headers)
            return response.status_code, response.json().get("order_id", "")

        with ThreadPoolExecutor(CONNECTIONS) as pool:
            answers = list(pool.map(send, range(ORDERS)))
    embedded_aws.embedded.wait_idle(timeout=1800)

    # Then every webhook was acknowledged with its own order
    assert Counter(code for code, _ in answers) == {202: ORDERS}
    order_ids = {order_id for _, order_id in answers}
    assert len(order_ids) == ORDERS
    # And every order is accounted for: 100 went to the warehouses, the other 1,900 wait as backorders
    statuses = Counter(OrderRecord.get(order_id).status for order_id in order_ids)
    assert statuses == {"FULFILLMENT_REQUESTED": UNITS, "BACKORDERED": ORDERS - UNITS}
    # And exactly the stock was reserved, none oversold, in both warehouses
    assert stock_of(SKU, "WH-NJ") == (60, 60, 0)
    assert stock_of(SKU, "WH-TX") == (40, 40, 0)
    reserved = [
        ReservationRecord.get(o) for o in order_ids if OrderRecord.get(o).status == "FULFILLMENT_REQUESTED"
    ]
    assert sum(int(line.quantity) for r in reserved for line in r.lines) == UNITS
    # And the backorder queue holds each waiting order once, oldest first
    queue = list(waiting_orders(SKU))
    assert len(queue) == ORDERS - UNITS
    assert len({entry.order_id for entry in queue}) == ORDERS - UNITS
    assert [entry.queue_key for entry in queue] == sorted(entry.queue_key for entry in queue)
    # And the API shows a waiting order's reason
    sample = get_order(embedded_aws, queue[0].order_id).json()
    assert sample["backorder"] == [{"sku": SKU, "quantity": 1}]
    assert f"{SKU} short by 1" in sample["allocation_reason"]
