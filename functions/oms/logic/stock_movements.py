"""Receipts, adjustments and cycle counts: each one ledger entry and one stock change, in one transaction.

Idempotent per (SKU, warehouse, kind, reference): the same reference again answers with the movement
already recorded and changes nothing. Refusals (unknown SKU or warehouse, stock below reserved, a reused
reference) raise before anything is written. After a change: a receipt publishes StockReceived, and every
movement checks the low-stock flag of its stock item (oms.logic.stock_alerts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from oms.data.bus import publish
from oms.data.models import InventoryMovementRecord
from oms.data.movements import (
    WriteOutcome,
    get_movement,
    get_stock,
    mark_published,
    record_movement,
    sku_exists,
    stock_levels,
    warehouse_exists,
)
from oms.domain.events import INVENTORY_SOURCE, StockReceived
from oms.domain.order import Sku
from oms.domain.stock_movements import (
    AdjustmentBody,
    CountBody,
    InvalidMovementError,
    Movement,
    MovementKind,
    NoStockRecordError,
    ReceiptBody,
    ReferenceReusedError,
    StockBelowReservedError,
    StockChangedError,
    StockLevel,
    StockView,
    UnknownSkuError,
    UnknownWarehouseError,
    movement_id,
    stock_key,
)
from oms.logic.stock_alerts import check_low_stock
from oms.observability import MetricUnit, metrics

MAX_ATTEMPTS = 5
"""Optimistic attempts when the stock item changes between read and write (then 409 STOCK_CHANGED)."""

_M = TypeVar("_M", bound=BaseModel)
_SKU: TypeAdapter[str] = TypeAdapter(Sku)

_METRIC = {
    MovementKind.RECEIPT: "StockReceipts",
    MovementKind.ADJUSTMENT: "StockAdjustments",
    MovementKind.CYCLE_COUNT: "CycleCounts",
}


@dataclass(frozen=True)
class MovementResult:
    movement: Movement
    created: bool
    """False when the reference was already recorded (an idempotent replay: nothing changed now)."""


def receipt(
    sku: str, warehouse_id: str, quantity: int, *, reference: str, note: str | None, by: str, now: datetime
) -> MovementResult:
    """Goods in: on_hand and available grow by `quantity` (> 0). The first receipt of a SKU in a
    warehouse creates its stock item. Publishes StockReceived once the change is recorded."""
    body = _valid(ReceiptBody, warehouse_id=warehouse_id, quantity=quantity, reference=reference, note=note)
    result = _move(
        MovementKind.RECEIPT,
        sku,
        body.warehouse_id,
        reference=body.reference,
        reason=body.note,
        by=by,
        now=now,
        change=lambda _on_hand: body.quantity,
        requested=body.quantity,
    )
    if result.created:
        metrics.add_metric(name="UnitsReceived", unit=MetricUnit.Count, value=body.quantity)
    return result


def adjustment(
    sku: str, warehouse_id: str, quantity_change: int, *, reference: str, reason: str, by: str, now: datetime
) -> MovementResult:
    """A correction: on_hand and available change by `quantity_change` (not 0), refused when on_hand
    would fall below the units reserved for orders."""
    body = _valid(
        AdjustmentBody,
        warehouse_id=warehouse_id,
        quantity_change=quantity_change,
        reference=reference,
        reason=reason,
    )
    return _move(
        MovementKind.ADJUSTMENT,
        sku,
        body.warehouse_id,
        reference=body.reference,
        reason=body.reason,
        by=by,
        now=now,
        change=lambda _on_hand: body.quantity_change,
        requested=body.quantity_change,
    )


def cycle_count(
    sku: str, warehouse_id: str, counted: int, *, reference: str, reason: str, by: str, now: datetime
) -> MovementResult:
    """A count: on_hand becomes `counted` (>= 0) and available `counted - reserved`; the ledger records the
    difference. Conditional on the on_hand it read (retried when it changed); refused below reserved."""
    body = _valid(CountBody, warehouse_id=warehouse_id, counted=counted, reference=reference, reason=reason)
    return _move(
        MovementKind.CYCLE_COUNT,
        sku,
        body.warehouse_id,
        reference=body.reference,
        reason=body.reason,
        by=by,
        now=now,
        change=lambda on_hand: body.counted - on_hand,
        requested=body.counted,
    )


def stock_view(sku: str) -> StockView:
    """Stock of a catalog SKU in every warehouse; UnknownSkuError for a SKU not in the catalog."""
    _valid_sku(sku)
    if not sku_exists(sku):
        raise UnknownSkuError(f"SKU {sku} is not in the catalog")
    levels = [
        StockLevel(
            warehouse_id=item.warehouse_id,
            on_hand=int(item.on_hand),
            reserved=int(item.reserved),
            available=int(item.available),
            reorder_point=int(item.reorder_point or 0),
            low_stock_since=item.low_stock_since,
            updated_at=item.updated_at,
        )
        for item in stock_levels(sku)
    ]
    return StockView(
        sku=sku,
        on_hand=sum(level.on_hand for level in levels),
        reserved=sum(level.reserved for level in levels),
        available=sum(level.available for level in levels),
        warehouses=levels,
    )


# ------------------------------------------------------------------------------------------- inside
def _valid(model: type[_M], **values: object) -> _M:
    """The movement's arguments checked by the same model the API validates bodies with."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "movement"
        raise InvalidMovementError(f"{field}: {first['msg']}") from exc


def _valid_sku(sku: str) -> None:
    try:
        _SKU.validate_python(sku)
    except ValidationError as exc:
        raise InvalidMovementError(f"sku: {exc.errors()[0]['msg']}") from exc


def _move(
    kind: MovementKind,
    sku: str,
    warehouse_id: str,
    *,
    reference: str,
    reason: str | None,
    by: str,
    now: datetime,
    change: Callable[[int], int],
    requested: int,
) -> MovementResult:
    _valid_sku(sku)
    mid = movement_id(kind, reference)
    recorded = get_movement(sku, warehouse_id, mid)
    if recorded is None:
        if not sku_exists(sku):
            raise UnknownSkuError(f"SKU {sku} is not in the catalog")
        if not warehouse_exists(warehouse_id):
            raise UnknownWarehouseError(f"warehouse {warehouse_id} does not exist")
        recorded, created = _write(kind, sku, warehouse_id, mid, reference, reason, by, now, change)
    else:
        created = False
    _same_request_or_refuse(recorded, requested)
    if not created:
        metrics.add_metric(name="MovementReplays", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name=_METRIC[kind], unit=MetricUnit.Count, value=1)
    if kind is MovementKind.RECEIPT and recorded.published_at is None:
        _publish_receipt(recorded, now)
    check_low_stock([(sku, warehouse_id)], now=now)
    return MovementResult(_view(recorded, duplicate=not created), created)


def _write(
    kind: MovementKind,
    sku: str,
    warehouse_id: str,
    mid: str,
    reference: str,
    reason: str | None,
    by: str,
    now: datetime,
    change: Callable[[int], int],
) -> tuple[InventoryMovementRecord, bool]:
    """Read the stock item, compute the change and write both, re-reading when the item moved meanwhile.
    Returns (the recorded movement, True when this call recorded it)."""
    for _ in range(MAX_ATTEMPTS):
        stock = get_stock(sku, warehouse_id)
        if stock is None and kind is not MovementKind.RECEIPT:
            raise NoStockRecordError(
                f"{sku} has no stock record in {warehouse_id}: record a receipt before adjusting or counting"
            )
        on_hand = int(stock.on_hand) if stock else 0
        reserved = int(stock.reserved) if stock else 0
        available = int(stock.available) if stock else 0
        delta = change(on_hand)
        if available + delta < 0:
            metrics.add_metric(name="MovementsRefused", unit=MetricUnit.Count, value=1)
            raise StockBelowReservedError(
                sku=sku, warehouse_id=warehouse_id, on_hand=on_hand, reserved=reserved, change=delta
            )
        movement = InventoryMovementRecord(
            stock_key(sku, warehouse_id),
            mid,
            sku=sku,
            warehouse_id=warehouse_id,
            kind=kind.value,
            quantity_change=delta,
            on_hand_before=on_hand,
            on_hand_after=on_hand + delta,
            available_after=available + delta,
            reference=reference,
            reason=reason,
            by=by,
            at=now,
        )
        outcome = record_movement(movement, stock)
        if outcome is WriteOutcome.COMMITTED:
            return movement, True
        if outcome is WriteOutcome.DUPLICATE:
            recorded = get_movement(sku, warehouse_id, mid)  # recorded by a concurrent twin request
            if recorded is not None:
                return recorded, False
    raise StockChangedError(
        f"stock of {sku} in {warehouse_id} kept changing during the {kind.value.lower()}; nothing was "
        "recorded, send the same request again"
    )


def _same_request_or_refuse(recorded: InventoryMovementRecord, requested: int) -> None:
    """A reference names one movement: a replay must ask for what the recorded one did."""
    kind = MovementKind(recorded.kind)
    counted = kind is MovementKind.CYCLE_COUNT
    recorded_value = int(recorded.on_hand_after if counted else recorded.quantity_change)
    if recorded_value != requested:
        field = {
            MovementKind.RECEIPT: "quantity",
            MovementKind.ADJUSTMENT: "quantity_change",
            MovementKind.CYCLE_COUNT: "counted",
        }[kind]
        raise ReferenceReusedError(
            f"reference {recorded.reference} was recorded for {recorded.sku} in {recorded.warehouse_id} "
            f"with {field} {recorded_value}, not {requested}; use a new reference for a new movement"
        )


def _publish_receipt(movement: InventoryMovementRecord, now: datetime) -> None:
    """StockReceived, then mark the movement published: a crash in between re-publishes on the client's
    retry (consumers dedupe on movement_id) instead of losing the event."""
    publish(
        INVENTORY_SOURCE,
        StockReceived(
            sku=movement.sku,
            warehouse_id=movement.warehouse_id,
            quantity=int(movement.quantity_change),
            movement_id=movement.movement_id,
            available_after=int(movement.available_after),
        ),
        resources=[f"inventory/{movement.stock_key}"],
    )
    mark_published(movement, now)


def _view(record: InventoryMovementRecord, *, duplicate: bool) -> Movement:
    return Movement(
        movement_id=record.movement_id,
        sku=record.sku,
        warehouse_id=record.warehouse_id,
        kind=MovementKind(record.kind),
        quantity_change=int(record.quantity_change),
        on_hand_before=int(record.on_hand_before),
        on_hand_after=int(record.on_hand_after),
        available_after=int(record.available_after),
        reference=record.reference,
        reason=record.reason,
        by=record.by,
        at=record.at,
        duplicate=duplicate,
    )
