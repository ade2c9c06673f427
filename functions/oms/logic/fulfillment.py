"""Ask the warehouses to ship: one FulfillmentRequested event per warehouse of the allocation."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from oms.aws import client
from oms.data.models import OrderRecord
from oms.data.orders import amendment_of, get_order, ship_to, transition
from oms.domain.events import ORDERS_SOURCE, FulfillmentLine, FulfillmentRequested
from oms.domain.status import OrderStatus

ACTOR = "workflow:request-fulfillment"


def fulfillment_requests(record: OrderRecord, now: datetime) -> list[FulfillmentRequested]:
    """One request per warehouse of the order's allocation, with the lines that warehouse ships."""
    by_warehouse: dict[str, list[FulfillmentLine]] = defaultdict(list)
    for line in record.allocation or []:
        by_warehouse[line.warehouse_id].append(FulfillmentLine(sku=line.sku, quantity=int(line.quantity)))
    address = ship_to(record)
    return [
        FulfillmentRequested(
            order_id=record.order_id, warehouse_id=warehouse, ship_to=address, lines=lines, requested_at=now
        )
        for warehouse, lines in sorted(by_warehouse.items())
    ]


class Superseded(Exception):
    """The order was amended after this execution started (a newer execution carries it)."""


def request_fulfillment(
    order_id: str, *, event_bus: str, now: datetime, amendment: int | None = None
) -> list[FulfillmentRequested]:
    """Publish the requests, then mark the order FULFILLMENT_REQUESTED.

    Events go out before the status changes, so a crash in between re-publishes on retry (warehouses
    dedupe on order id + warehouse id) rather than leaving an order marked as requested that nobody got.
    """
    record = get_order(order_id)
    if amendment is not None and amendment_of(record) != amendment:
        raise Superseded(f"order {order_id} was amended since (amendment {amendment_of(record)})")
    if record.status == OrderStatus.CANCELLED.value:
        return []  # cancelled by the channel while the workflow ran: nothing to ask for
    if record.status not in (OrderStatus.ALLOCATED.value, OrderStatus.FULFILLMENT_REQUESTED.value):
        raise ValueError(f"order {order_id} is {record.status}, not ALLOCATED")
    requests = fulfillment_requests(record, now)
    if record.status == OrderStatus.ALLOCATED.value:
        entries = [
            {
                "EventBusName": event_bus,
                "Source": ORDERS_SOURCE,
                "DetailType": request.detail_type,
                "Detail": request.model_dump_json(exclude={"detail_type"}),
                "Resources": [f"order/{order_id}"],
            }
            for request in requests
        ]
        response = client("events").put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused fulfillment requests: {json.dumps(response['Entries'])}")
        warehouses = ", ".join(r.warehouse_id for r in requests)
        transition(
            record, OrderStatus.FULFILLMENT_REQUESTED, by=ACTOR, at=now, reason=f"sent to {warehouses}"
        )
    return requests
