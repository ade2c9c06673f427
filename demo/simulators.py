"""The outside world for the demo and the tests: a warehouse (3PL) and a carrier talking to the OMS the way
real ones would, through the fulfillment-request queue and EventBridge events."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from oms.domain.events import (
    CARRIER_SOURCE,
    WAREHOUSE_SOURCE,
    ShipmentConfirmed,
    TrackingStatus,
    TrackingUpdated,
)

CARRIERS = ("UPS", "FEDEX", "USPS", "DHL")


@dataclass(frozen=True)
class Shipment:
    order_id: str
    shipment_id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime


def _put_events(bus: str, source: str, detail_type: str, details: list[str]) -> None:
    events = boto3.client("events")
    for start in range(0, len(details), 10):
        entries = [
            {"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": detail}
            for detail in details[start : start + 10]
        ]
        response = events.put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"put_events failed: {response['Entries']}")


class WarehouseSimulator:
    """Reads FulfillmentRequested events from the connector queue and confirms a shipment for each."""

    def __init__(self, *, queue_url: str, event_bus: str, seed: int) -> None:
        self.queue_url = queue_url
        self.event_bus = event_bus
        self.random = random.Random(seed)
        self.shipments: list[Shipment] = []
        self._seen: set[tuple[str, str]] = set()

    def ship_pending(self, now: datetime | None = None) -> int:
        """Ship every request waiting in the queue; returns the number of shipments confirmed."""
        sqs = boto3.client("sqs")
        requests: list[dict[str, Any]] = []
        cancelled: set[tuple[str, str]] = set()
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages: list[dict[str, Any]] = batch.get("Messages", [])
            if not messages:
                break
            for message in messages:
                event = json.loads(message["Body"])
                detail = event["detail"]
                if event["detail-type"] == "FulfillmentCancelled":
                    cancelled.add((detail["order_id"], detail["warehouse_id"]))
                else:
                    requests.append(detail)
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        confirmed: list[str] = []
        for detail in requests:
            key = (detail["order_id"], detail["warehouse_id"])
            # A 3PL dedupes redelivered requests on order + warehouse, and does not ship cancelled ones.
            if key not in self._seen and key not in cancelled:
                self._seen.add(key)
                confirmed.append(self._confirm(detail, now or datetime.now(UTC)))
        _put_events(self.event_bus, WAREHOUSE_SOURCE, "ShipmentConfirmed", confirmed)
        return len(confirmed)

    def _confirm(self, request: dict[str, Any], now: datetime) -> str:
        carrier = self.random.choice(CARRIERS)
        shipment = Shipment(
            order_id=request["order_id"],
            shipment_id=f"{request['order_id']}-{request['warehouse_id']}",
            carrier=carrier,
            tracking_number=f"{carrier[:2]}{self.random.randrange(10**11, 10**12)}",
            shipped_at=now,
        )
        self.shipments.append(shipment)
        return ShipmentConfirmed(
            order_id=shipment.order_id,
            warehouse_id=request["warehouse_id"],
            shipment_id=shipment.shipment_id,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            shipped_at=shipment.shipped_at,
            lines=request["lines"],
        ).model_dump_json()


class CarrierSimulator:
    """Sends the carrier's scans for shipments: in transit, out for delivery, delivered."""

    def __init__(self, *, event_bus: str) -> None:
        self.event_bus = event_bus

    def scan(self, shipments: list[Shipment], status: TrackingStatus, *, hours_after_shipping: int) -> int:
        details = [
            TrackingUpdated(
                order_id=s.order_id,
                shipment_id=s.shipment_id,
                carrier=s.carrier,
                tracking_number=s.tracking_number,
                status=status,
                occurred_at=s.shipped_at + timedelta(hours=hours_after_shipping),
                description=f"{s.carrier}: {status.value.replace('_', ' ').lower()}",
            ).model_dump_json()
            for s in shipments
        ]
        _put_events(self.event_bus, CARRIER_SOURCE, "TrackingUpdated", details)
        return len(details)
