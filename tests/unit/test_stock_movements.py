"""Receipts, adjustments and cycle counts on moto: the arithmetic, the ledger, idempotent replays, refusals
that change nothing, and the events (StockReceived, InventoryLow) that reach the bus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import oms.logic.stock_alerts as stock_alerts
import oms.logic.stock_movements as stock_movements
from oms.data.movements import WriteOutcome, get_stock
from oms.domain.stock_movements import (
    InvalidMovementError,
    MovementKind,
    NoStockRecordError,
    ReferenceReusedError,
    StockBelowReservedError,
    UnknownSkuError,
    UnknownWarehouseError,
)
from oms.logic.stock_alerts import check_low_stock
from oms.logic.stock_movements import adjustment, cycle_count, receipt, stock_view
from tests.support.inventory import StockWorld, put_stock, seed, snapshot, stock_world

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CLERK = "user:clerk-1"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[StockWorld]:
    with stock_world(monkeypatch) as w:
        seed(["ELC-PSU-65W", "ELC-HDMI-2M"], ["WH-NJ", "WH-TX"])
        yield w


def _stock(sku: str = "ELC-PSU-65W", warehouse_id: str = "WH-NJ") -> tuple[int, int, int]:
    item = get_stock(sku, warehouse_id)
    assert item is not None
    return int(item.on_hand), int(item.reserved), int(item.available)


# -------------------------------------------------------------------------------------------- receipts
def test_a_first_receipt_creates_the_stock_item_records_the_movement_and_announces_it(
    world: StockWorld,
) -> None:
    """Given a catalog SKU that has never been stocked in WH-TX
    When a clerk records a receipt of 40 units
    Then the stock item exists with 40 on hand and available, the ledger holds the movement with who, when
    and why, and one StockReceived event reached the bus."""
    result = receipt(
        "ELC-HDMI-2M", "WH-TX", 40, reference="GRN-1001", note="PO 77 pallet 1", by=CLERK, now=NOW
    )

    assert result.created is True
    assert _stock("ELC-HDMI-2M", "WH-TX") == (40, 0, 40)
    movement = result.movement
    assert (movement.movement_id, movement.kind, movement.quantity_change) == (
        "RECEIPT#GRN-1001",
        MovementKind.RECEIPT,
        40,
    )
    assert (movement.on_hand_before, movement.on_hand_after, movement.available_after) == (0, 40, 40)
    assert (movement.by, movement.at, movement.reason) == (CLERK, NOW, "PO 77 pallet 1")
    _, ledger = snapshot("ELC-HDMI-2M", "WH-TX")
    assert [(m["movement_id"], m["by"], m["quantity_change"]) for m in ledger] == [
        ("RECEIPT#GRN-1001", CLERK, 40)
    ]
    events = world.published()
    assert [(e["source"], e["detail-type"]) for e in events] == [("oms.inventory", "StockReceived")]
    assert events[0]["detail"] == {
        "sku": "ELC-HDMI-2M",
        "warehouse_id": "WH-TX",
        "quantity": 40,
        "movement_id": "RECEIPT#GRN-1001",
        "available_after": 40,
    }


def test_a_receipt_adds_to_existing_stock_and_keeps_the_reservations(world: StockWorld) -> None:
    """Given 10 on hand with 4 reserved
    When 5 units are received
    Then on hand is 15, reserved 4, available 11."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=10, reserved=4)
    result = receipt("ELC-PSU-65W", "WH-NJ", 5, reference="GRN-2", note=None, by=CLERK, now=NOW)
    assert _stock() == (15, 4, 11)
    assert (result.movement.on_hand_before, result.movement.on_hand_after) == (10, 15)
    assert world.published()[0]["detail"]["available_after"] == 11


def test_the_same_receipt_reference_twice_moves_stock_once_and_announces_once(world: StockWorld) -> None:
    """Given a recorded receipt GRN-3 of 5 units
    When the client retries it with the same reference
    Then the answer is the recorded movement marked duplicate, stock and ledger are unchanged, and no second
    StockReceived goes out."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=10)
    first = receipt("ELC-PSU-65W", "WH-NJ", 5, reference="GRN-3", note=None, by=CLERK, now=NOW)
    assert len(world.published()) == 1
    before = snapshot("ELC-PSU-65W", "WH-NJ")

    again = receipt("ELC-PSU-65W", "WH-NJ", 5, reference="GRN-3", note=None, by=CLERK, now=NOW + timedelta(1))

    assert again.created is False
    assert again.movement.duplicate is True
    assert again.movement.model_dump(exclude={"duplicate"}) == first.movement.model_dump(
        exclude={"duplicate"}
    )
    assert snapshot("ELC-PSU-65W", "WH-NJ") == before
    assert world.published() == []


def test_a_reference_reused_for_another_quantity_is_refused_and_changes_nothing(world: StockWorld) -> None:
    """Given receipt GRN-4 of 5 units recorded
    When GRN-4 comes again for 50 units
    Then it is refused as REFERENCE_REUSED naming both quantities, and nothing changes."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=10)
    receipt("ELC-PSU-65W", "WH-NJ", 5, reference="GRN-4", note=None, by=CLERK, now=NOW)
    before = snapshot("ELC-PSU-65W", "WH-NJ")
    with pytest.raises(ReferenceReusedError, match="quantity 5, not 50"):
        receipt("ELC-PSU-65W", "WH-NJ", 50, reference="GRN-4", note=None, by=CLERK, now=NOW)
    assert snapshot("ELC-PSU-65W", "WH-NJ") == before


def test_a_receipt_whose_event_could_not_be_published_publishes_it_on_the_retry(
    world: StockWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given EventBridge failing once, right after a receipt committed
    When the client retries the receipt with the same reference
    Then stock moved once and the StockReceived event went out once, on the retry."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=10)
    real_publish = stock_movements.publish
    calls: list[str] = []

    def failing_once(*args: Any, **kwargs: Any) -> None:
        calls.append("publish")
        if len(calls) == 1:
            raise ConnectionError("EventBridge unreachable (injected)")
        real_publish(*args, **kwargs)

    monkeypatch.setattr(stock_movements, "publish", failing_once)
    with pytest.raises(ConnectionError):
        receipt("ELC-PSU-65W", "WH-NJ", 5, reference="GRN-5", note=None, by=CLERK, now=NOW)
    assert _stock() == (15, 0, 15)
    assert world.published() == []

    again = receipt("ELC-PSU-65W", "WH-NJ", 5, reference="GRN-5", note=None, by=CLERK, now=NOW)

    assert again.created is False
    assert _stock() == (15, 0, 15)
    assert [e["detail"]["movement_id"] for e in world.published()] == ["RECEIPT#GRN-5"]


# ----------------------------------------------------------------------------------------- adjustments
def test_an_adjustment_changes_on_hand_and_available_by_the_signed_quantity(world: StockWorld) -> None:
    """Given 20 on hand, 5 reserved
    When 3 damaged units are written off and later 2 found units added
    Then on hand is 19, available 14, and the ledger has both with the reasons."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=20, reserved=5)
    adjustment("ELC-PSU-65W", "WH-NJ", -3, reference="ADJ-1", reason="damaged in aisle 4", by=CLERK, now=NOW)
    adjustment("ELC-PSU-65W", "WH-NJ", 2, reference="ADJ-2", reason="found behind rack", by=CLERK, now=NOW)
    assert _stock() == (19, 5, 14)
    _, ledger = snapshot("ELC-PSU-65W", "WH-NJ")
    assert [(m["quantity_change"], m["on_hand_before"], m["on_hand_after"], m["reason"]) for m in ledger] == [
        (-3, 20, 17, "damaged in aisle 4"),
        (2, 17, 19, "found behind rack"),
    ]
    assert world.published() == []  # adjustments announce nothing unless stock runs low


def test_an_adjustment_below_the_reserved_units_is_refused_with_the_numbers_and_changes_nothing(
    world: StockWorld,
) -> None:
    """Given 10 on hand of which 8 are reserved for orders
    When an adjustment of -3 is attempted
    Then it is refused with on hand, reserved and the change, and neither stock nor ledger changes."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=10, reserved=8)
    before = snapshot("ELC-PSU-65W", "WH-NJ")
    with pytest.raises(StockBelowReservedError) as refused:
        adjustment("ELC-PSU-65W", "WH-NJ", -3, reference="ADJ-3", reason="shrinkage", by=CLERK, now=NOW)
    assert (refused.value.on_hand, refused.value.reserved, refused.value.change) == (10, 8, -3)
    assert "on_hand 10 -3 = 7 would be below the 8 units reserved" in refused.value.reason
    assert snapshot("ELC-PSU-65W", "WH-NJ") == before


def test_an_adjustment_of_exactly_the_available_units_is_allowed(world: StockWorld) -> None:
    """Given 10 on hand, 8 reserved
    When -2 is adjusted
    Then on hand equals reserved and nothing is available."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=10, reserved=8)
    adjustment("ELC-PSU-65W", "WH-NJ", -2, reference="ADJ-4", reason="shrinkage", by=CLERK, now=NOW)
    assert _stock() == (8, 8, 0)


def test_adjusting_or_counting_a_sku_never_stocked_in_the_warehouse_is_refused(world: StockWorld) -> None:
    """Given a catalog SKU with no stock item in WH-TX
    When an adjustment or a count is recorded for it there
    Then both are refused as NO_STOCK_RECORD and nothing is written."""
    with pytest.raises(NoStockRecordError, match="record a receipt"):
        adjustment("ELC-HDMI-2M", "WH-TX", 5, reference="ADJ-5", reason="found", by=CLERK, now=NOW)
    with pytest.raises(NoStockRecordError):
        cycle_count("ELC-HDMI-2M", "WH-TX", 5, reference="CC-5", reason="count", by=CLERK, now=NOW)
    assert snapshot("ELC-HDMI-2M", "WH-TX") == (None, [])


# ---------------------------------------------------------------------------------------- cycle counts
def test_a_cycle_count_sets_on_hand_and_records_the_difference(world: StockWorld) -> None:
    """Given 30 on hand, 6 reserved
    When 27 units are counted
    Then on hand is 27, available 21 and the ledger records -3 from 30 to 27."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=30, reserved=6)
    result = cycle_count("ELC-PSU-65W", "WH-NJ", 27, reference="CC-1", reason="Q1 count", by=CLERK, now=NOW)
    assert _stock() == (27, 6, 21)
    assert (
        result.movement.quantity_change,
        result.movement.on_hand_before,
        result.movement.on_hand_after,
    ) == (
        -3,
        30,
        27,
    )


def test_a_cycle_count_below_the_reserved_units_is_refused_and_changes_nothing(world: StockWorld) -> None:
    """Given 30 on hand, 6 reserved
    When only 5 units are counted
    Then the count is refused (STOCK_BELOW_RESERVED) and nothing changes: someone must look at the orders."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=30, reserved=6)
    before = snapshot("ELC-PSU-65W", "WH-NJ")
    with pytest.raises(StockBelowReservedError, match="below the 6 units reserved"):
        cycle_count("ELC-PSU-65W", "WH-NJ", 5, reference="CC-2", reason="Q1 count", by=CLERK, now=NOW)
    assert snapshot("ELC-PSU-65W", "WH-NJ") == before


def test_a_cycle_count_retries_when_stock_moves_between_its_read_and_its_write(
    world: StockWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given 30 on hand, and a receipt of 10 committed by someone else right after the count read the stock
    When 28 units are counted
    Then the count's first write is refused (on_hand changed), it re-reads 40 and records -12: on hand is
    the counted 28 and the ledger's changes add up (+10, -12 from 30)."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=30)
    real_record = stock_movements.record_movement
    outcomes: list[WriteOutcome] = []

    def receipt_sneaks_in_first(movement: Any, stock: Any) -> WriteOutcome:
        if movement.reference == "GRN-RACE":
            return real_record(movement, stock)  # the other writer's own write
        if not outcomes:
            receipt("ELC-PSU-65W", "WH-NJ", 10, reference="GRN-RACE", note=None, by="user:other", now=NOW)
        outcomes.append(real_record(movement, stock))
        return outcomes[-1]

    monkeypatch.setattr(stock_movements, "record_movement", receipt_sneaks_in_first)
    result = cycle_count("ELC-PSU-65W", "WH-NJ", 28, reference="CC-3", reason="count", by=CLERK, now=NOW)
    assert outcomes == [WriteOutcome.STOCK_CHANGED, WriteOutcome.COMMITTED]
    assert (result.movement.on_hand_before, result.movement.quantity_change) == (40, -12)
    assert _stock() == (28, 0, 28)
    _, ledger = snapshot("ELC-PSU-65W", "WH-NJ")
    assert sum(int(m["quantity_change"]) for m in ledger) == 28 - 30


# ---------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "error"),
    [
        (
            lambda: receipt("ELC-NOPE", "WH-NJ", 1, reference="R-1", note=None, by=CLERK, now=NOW),
            UnknownSkuError,
        ),
        (
            lambda: receipt("ELC-PSU-65W", "WH-XX", 1, reference="R-1", note=None, by=CLERK, now=NOW),
            UnknownWarehouseError,
        ),
        (
            lambda: receipt("ELC-PSU-65W", "WH-NJ", 0, reference="R-1", note=None, by=CLERK, now=NOW),
            InvalidMovementError,
        ),
        (
            lambda: receipt("ELC-PSU-65W", "WH-NJ", -4, reference="R-1", note=None, by=CLERK, now=NOW),
            InvalidMovementError,
        ),
        (
            lambda: receipt("ELC-PSU-65W", "WH-NJ", 1, reference="../x", note=None, by=CLERK, now=NOW),
            InvalidMovementError,
        ),
        (
            lambda: adjustment("ELC-PSU-65W", "WH-NJ", 0, reference="A-1", reason="x", by=CLERK, now=NOW),
            InvalidMovementError,
        ),
        (
            lambda: adjustment("ELC-PSU-65W", "WH-NJ", 2, reference="A-1", reason="  ", by=CLERK, now=NOW),
            InvalidMovementError,
        ),
        (
            lambda: adjustment("ELC-PSU-65W", "WH-NJ", 2, reference="A-1", reason="\ud800", by="u", now=NOW),
            InvalidMovementError,
        ),
        (
            lambda: cycle_count("ELC-PSU-65W", "WH-NJ", -1, reference="C-1", reason="x", by=CLERK, now=NOW),
            InvalidMovementError,
        ),
        (
            lambda: cycle_count("bad sku!", "WH-NJ", 1, reference="C-1", reason="x", by=CLERK, now=NOW),
            InvalidMovementError,
        ),
    ],
    ids=[
        "unknown sku",
        "unknown warehouse",
        "zero receipt",
        "negative receipt",
        "unsafe reference",
        "zero adjustment",
        "blank reason",
        "reason that is not unicode text",
        "negative count",
        "malformed sku",
    ],
)
def test_bad_movements_are_refused_with_a_reason_and_write_nothing(
    world: StockWorld, call: Any, error: type[Exception]
) -> None:
    """Given 10 units of ELC-PSU-65W in WH-NJ
    When a movement with an unknown SKU or warehouse or an invalid quantity, reference or reason is recorded
    Then it raises its specific error and neither stock nor ledger nor the bus sees anything."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=10)
    before = snapshot("ELC-PSU-65W", "WH-NJ")
    with pytest.raises(error):
        call()
    assert snapshot("ELC-PSU-65W", "WH-NJ") == before
    assert snapshot("ELC-NOPE", "WH-NJ") == (None, [])
    assert snapshot("ELC-PSU-65W", "WH-XX") == (None, [])
    assert world.published() == []


def test_invalid_quantities_name_the_field(world: StockWorld) -> None:
    """Given any stock
    When a receipt of 0 is recorded
    Then the reason names `quantity` and the bound."""
    with pytest.raises(InvalidMovementError, match=r"^quantity: Input should be greater than 0"):
        receipt("ELC-PSU-65W", "WH-NJ", 0, reference="R-9", note=None, by=CLERK, now=NOW)


# ------------------------------------------------------------------------------------------ low stock
def _low_events(world: StockWorld) -> list[dict[str, Any]]:
    return [e["detail"] for e in world.published() if e["detail-type"] == "InventoryLow"]


def test_low_stock_alerts_once_per_crossing_and_again_after_recovery(world: StockWorld) -> None:
    """Given 12 on hand, reorder point 10
    When an adjustment takes available to 8, a second one to 6, a receipt brings it to 26, and a count to 4
    Then InventoryLow went out twice (the two crossings), with the numbers at each crossing, and the flag is
    set now, cleared in between."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=12, reorder_point=10)
    adjustment("ELC-PSU-65W", "WH-NJ", -4, reference="ADJ-L1", reason="damaged", by=CLERK, now=NOW)
    later = NOW + timedelta(hours=1)
    adjustment("ELC-PSU-65W", "WH-NJ", -2, reference="ADJ-L2", reason="damaged", by=CLERK, now=later)
    assert _low_events(world) == [
        {
            "sku": "ELC-PSU-65W",
            "warehouse_id": "WH-NJ",
            "available": 8,
            "reorder_point": 10,
            "at": NOW.isoformat().replace("+00:00", "Z"),
        }
    ]
    flagged = get_stock("ELC-PSU-65W", "WH-NJ")
    assert flagged is not None
    assert flagged.low_stock_since == NOW

    receipt("ELC-PSU-65W", "WH-NJ", 20, reference="GRN-L3", note=None, by=CLERK, now=later)
    recovered = get_stock("ELC-PSU-65W", "WH-NJ")
    assert recovered is not None
    assert recovered.low_stock_since is None

    cycle_count("ELC-PSU-65W", "WH-NJ", 4, reference="CC-L4", reason="count", by=CLERK, now=later)
    assert [(e["available"], e["reorder_point"]) for e in _low_events(world)] == [(4, 10)]


def test_two_callers_noticing_the_same_crossing_emit_one_event(world: StockWorld) -> None:
    """Given an item already below its reorder point and not flagged (a reservation took the stock)
    When check_low_stock runs twice for it (two functions noticed), and with a duplicate key
    Then one InventoryLow event was emitted in total."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=10, reserved=7, reorder_point=5)
    key = ("ELC-PSU-65W", "WH-NJ")
    emitted = check_low_stock([key, key], now=NOW) + check_low_stock([key], now=NOW)
    assert emitted == 1
    assert len(_low_events(world)) == 1


def test_a_low_stock_event_that_could_not_be_published_is_retried_by_the_next_check(
    world: StockWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given an item below its reorder point and EventBridge failing once
    When check_low_stock runs, fails, and runs again
    Then the flag was taken back after the failure and the second run emitted the event."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=3, reorder_point=5)
    real_publish = stock_alerts.publish
    calls: list[str] = []

    def failing_once(*args: Any, **kwargs: Any) -> None:
        calls.append("publish")
        if len(calls) == 1:
            raise ConnectionError("EventBridge unreachable (injected)")
        real_publish(*args, **kwargs)

    monkeypatch.setattr(stock_alerts, "publish", failing_once)
    with pytest.raises(ConnectionError):
        check_low_stock([("ELC-PSU-65W", "WH-NJ")], now=NOW)
    unflagged = get_stock("ELC-PSU-65W", "WH-NJ")
    assert unflagged is not None
    assert unflagged.low_stock_since is None
    assert check_low_stock([("ELC-PSU-65W", "WH-NJ")], now=NOW) == 1
    assert len(_low_events(world)) == 1


def test_check_low_stock_skips_items_that_do_not_exist(world: StockWorld) -> None:
    """Given no stock item for ELC-HDMI-2M in WH-TX
    When it is checked
    Then nothing is emitted and nothing is created."""
    assert check_low_stock([("ELC-HDMI-2M", "WH-TX")], now=NOW) == 0
    assert snapshot("ELC-HDMI-2M", "WH-TX") == (None, [])


# ------------------------------------------------------------------------------------------- reading
def test_the_stock_view_lists_every_warehouse_with_totals(world: StockWorld) -> None:
    """Given stock of one SKU in two warehouses
    When the stock view is read
    Then each warehouse's numbers and the totals are shown; an unknown SKU is refused."""
    put_stock("ELC-PSU-65W", "WH-NJ", on_hand=10, reserved=2, reorder_point=3)
    put_stock("ELC-PSU-65W", "WH-TX", on_hand=5)
    view = stock_view("ELC-PSU-65W")
    assert (view.on_hand, view.reserved, view.available) == (15, 2, 13)
    assert [(w.warehouse_id, w.available, w.reorder_point) for w in view.warehouses] == [
        ("WH-NJ", 8, 3),
        ("WH-TX", 5, 0),
    ]
    assert stock_view("ELC-HDMI-2M").warehouses == []
    with pytest.raises(UnknownSkuError):
        stock_view("ELC-NOPE")
