"""Shipments: one record per warehouse shipment of an order, with the carrier's scans appended."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError

from oms.data.models import ShipmentRecord
from oms.data.orders import history_entry


def record_shipment(
    *,
    order_id: str,
    shipment_id: str,
    warehouse_id: str,
    carrier: str,
    tracking_number: str,
    shipped_at: datetime,
) -> bool:
    """Store a confirmed shipment once. Returns False when it was already recorded (a redelivery)."""
    record = ShipmentRecord(
        order_id,
        shipment_id,
        warehouse_id=warehouse_id,
        carrier=carrier,
        tracking_number=tracking_number,
        shipped_at=shipped_at,
        status="SHIPPED",
        events=[history_entry("SHIPPED", None, shipped_at, f"warehouse:{warehouse_id}")],
    )
    try:
        record.save(condition=ShipmentRecord.shipment_id.does_not_exist())
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        return False
    return True


def shipments_of(order_id: str) -> list[ShipmentRecord]:
    return list(ShipmentRecord.query(order_id, consistent_read=True))


def get_shipment(order_id: str, shipment_id: str) -> ShipmentRecord | None:
    try:
        return ShipmentRecord.get(order_id, shipment_id, consistent_read=True)
    except DoesNotExist:
        return None
