"""The stock ledger: each movement is written in ONE transaction with the stock change it records.

The ledger entry is a Put conditional on `attribute_not_exists` (its key is the client's reference, so a
retry cannot move stock twice); the stock item's update is conditional on the `on_hand` the caller read
(so `on_hand_before`/`on_hand_after` in the ledger are exact) and, for a decrease, on `available` covering
it (so on-hand never drops below what is reserved for orders, however reservations race with it).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from oms.data.models import CatalogItemRecord, InventoryMovementRecord, InventoryRecord, WarehouseRecord
from oms.domain.stock_movements import stock_key


class WriteOutcome(StrEnum):
    COMMITTED = "COMMITTED"
    """The movement and its stock change are both written."""
    DUPLICATE = "DUPLICATE"
    """The movement's reference was already recorded: nothing written."""
    STOCK_CHANGED = "STOCK_CHANGED"
    """The stock item is not what the caller read (changed, created or gone): nothing written; re-read."""


def _is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _connection() -> Connection:
    return InventoryRecord._get_connection().connection


# ------------------------------------------------------------------------------------- reference data
def sku_exists(sku: str) -> bool:
    try:
        CatalogItemRecord.get(sku, attributes_to_get=["sku"])
    except DoesNotExist:
        return False
    return True


def warehouse_exists(warehouse_id: str) -> bool:
    try:
        WarehouseRecord.get(warehouse_id, attributes_to_get=["warehouse_id"])
    except DoesNotExist:
        return False
    return True


# --------------------------------------------------------------------------------------------- stock
def get_stock(sku: str, warehouse_id: str) -> InventoryRecord | None:
    try:
        return InventoryRecord.get(sku, warehouse_id, consistent_read=True)
    except DoesNotExist:
        return None


def stock_levels(sku: str) -> list[InventoryRecord]:
    """The SKU's stock item in every warehouse, strongly consistent (an answer right after a receipt)."""
    return list(InventoryRecord.query(sku, consistent_read=True))


def flag_low_stock(sku: str, warehouse_id: str, at: datetime) -> InventoryRecord | None:
    """Set `low_stock_since` if available < reorder point and it is not set yet.

    Returns the item as written (its available and reorder point at that moment), or None when the
    condition did not hold any more (another caller flagged it first, or stock came back meanwhile).
    """
    item = InventoryRecord(sku, warehouse_id)
    condition = (
        InventoryRecord.sku.exists()
        & InventoryRecord.low_stock_since.does_not_exist()
        & (InventoryRecord.available < InventoryRecord.reorder_point)
    )
    try:
        item.update(actions=[InventoryRecord.low_stock_since.set(at)], condition=condition)
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise
        return None
    return item


def unflag_low_stock(sku: str, warehouse_id: str, at: datetime) -> None:
    """Undo `flag_low_stock(..., at)` when its event could not be published, so the next check retries.
    Conditional on the flag still being the one this caller set."""
    try:
        InventoryRecord(sku, warehouse_id).update(
            actions=[InventoryRecord.low_stock_since.remove()],
            condition=InventoryRecord.low_stock_since == at,
        )
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise


def clear_low_stock(sku: str, warehouse_id: str) -> bool:
    """Remove `low_stock_since` once available is back at or above the reorder point (then the next
    crossing alerts again). False when there was nothing to clear or stock fell again meanwhile."""
    condition = (
        InventoryRecord.sku.exists()
        & InventoryRecord.low_stock_since.exists()
        & (InventoryRecord.available >= InventoryRecord.reorder_point)
    )
    try:
        InventoryRecord(sku, warehouse_id).update(
            actions=[InventoryRecord.low_stock_since.remove()], condition=condition
        )
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise
        return False
    return True


# -------------------------------------------------------------------------------------------- ledger
def get_movement(sku: str, warehouse_id: str, movement_id: str) -> InventoryMovementRecord | None:
    try:
        return InventoryMovementRecord.get(stock_key(sku, warehouse_id), movement_id, consistent_read=True)
    except DoesNotExist:
        return None


def movements_of(sku: str, warehouse_id: str) -> list[InventoryMovementRecord]:
    """Every movement of one SKU in one warehouse (the ledger of that stock item)."""
    return list(InventoryMovementRecord.query(stock_key(sku, warehouse_id), consistent_read=True))


def record_movement(movement: InventoryMovementRecord, stock: InventoryRecord | None) -> WriteOutcome:
    """Write the movement and apply its `quantity_change` to the stock item the caller read, or nothing.

    `stock` None means the caller found no stock item: it is created (a first receipt) with the movement,
    conditional on still not existing. Otherwise the update is conditional on `on_hand` being
    `movement.on_hand_before` and, for a decrease, on `available` covering it.
    """
    delta = int(movement.quantity_change)
    at = movement.at
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(movement, condition=InventoryMovementRecord.movement_id.does_not_exist())
            if stock is None:
                tx.save(
                    InventoryRecord(
                        movement.sku,
                        movement.warehouse_id,
                        on_hand=delta,
                        reserved=0,
                        available=delta,
                        reorder_point=0,
                        updated_at=at,
                    ),
                    condition=InventoryRecord.sku.does_not_exist(),
                )
            else:
                condition: Condition = InventoryRecord.sku.exists() & (
                    InventoryRecord.on_hand == int(movement.on_hand_before)
                )
                if delta < 0:
                    condition &= InventoryRecord.available >= -delta
                tx.update(
                    InventoryRecord(movement.sku, movement.warehouse_id),
                    actions=[
                        InventoryRecord.on_hand.add(delta),
                        InventoryRecord.available.add(delta),
                        InventoryRecord.updated_at.set(at),
                    ],
                    condition=condition,
                )
    except TransactWriteError as exc:
        codes = [reason.code if reason else None for reason in exc.cancellation_reasons]
        if codes and codes[0] == "ConditionalCheckFailed":
            return WriteOutcome.DUPLICATE
        if any(code in ("ConditionalCheckFailed", "TransactionConflict") for code in codes):
            return WriteOutcome.STOCK_CHANGED
        raise
    return WriteOutcome.COMMITTED


def mark_published(movement: InventoryMovementRecord, at: datetime) -> None:
    """Remember that the movement's event was accepted by EventBridge (a replay then does not resend)."""
    try:
        movement.update(
            actions=[InventoryMovementRecord.published_at.set(at)],
            condition=InventoryMovementRecord.movement_id.exists()
            & InventoryMovementRecord.published_at.does_not_exist(),
        )
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise
