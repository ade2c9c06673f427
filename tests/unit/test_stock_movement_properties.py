"""Property: whatever sequence of receipts, adjustments, cycle counts, replays and order reservations hits
one stock item, on_hand = available + reserved, nothing is negative, every refusal changes nothing, and the
ledger's changes add up to the change of on_hand."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pynamodb.exceptions import UpdateError

from oms.data.models import InventoryRecord
from oms.data.movements import get_stock, movements_of
from oms.domain.stock_movements import StockBelowReservedError
from oms.logic.stock_movements import adjustment, cycle_count, receipt
from tests.support.inventory import StockWorld, put_stock, seed, stock_world

START = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
WAREHOUSE = "WH-NJ"
_SKUS = itertools.count(1)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("receipt"), st.integers(1, 25)),
        st.tuples(st.just("adjustment"), st.integers(-25, 25).filter(bool)),
        st.tuples(st.just("count"), st.integers(0, 60)),
        st.tuples(st.just("reserve"), st.integers(1, 15)),
        st.tuples(st.just("release"), st.integers(1, 15)),
        st.tuples(st.just("replay"), st.integers(0, 30)),
    ),
    min_size=1,
    max_size=14,
)


@pytest.fixture(scope="module")
def world() -> Iterator[StockWorld]:
    with pytest.MonkeyPatch.context() as monkeypatch, stock_world(monkeypatch) as w:
        seed([], [WAREHOUSE])
        yield w


def _reserve(sku: str, quantity: int) -> None:
    """What allocation does to the item when it reserves for an order (and refuses when short)."""
    with contextlib.suppress(UpdateError):  # short: the order is held instead
        InventoryRecord(sku, WAREHOUSE).update(
            actions=[InventoryRecord.reserved.add(quantity), InventoryRecord.available.add(-quantity)],
            condition=InventoryRecord.available >= quantity,
        )


def _release(sku: str, quantity: int) -> None:
    with contextlib.suppress(UpdateError):  # nothing that large reserved
        InventoryRecord(sku, WAREHOUSE).update(
            actions=[InventoryRecord.reserved.add(-quantity), InventoryRecord.available.add(quantity)],
            condition=InventoryRecord.reserved >= quantity,
        )


def _levels(sku: str) -> tuple[int, int, int]:
    item = get_stock(sku, WAREHOUSE)
    assert item is not None
    return int(item.on_hand), int(item.reserved), int(item.available)


@settings(max_examples=40, deadline=None)
@given(initial=st.integers(0, 30), steps=operations)
def test_stock_invariants_hold_over_any_sequence_of_movements(
    world: StockWorld, initial: int, steps: list[tuple[str, int]]
) -> None:
    """Given a fresh SKU with `initial` units on hand in WH-NJ
    When any sequence of receipts, adjustments, counts, reservations, releases and replays of earlier
    references is applied
    Then after every step on_hand = available + reserved and none is negative; a refused movement left the
    item as it was; a replay changed nothing; and the ledger's quantity changes sum to on_hand's change,
    each entry taking on_hand from its before to its after."""
    sku = f"PROP-{next(_SKUS)}"
    seed([sku], [])
    put_stock(sku, WAREHOUSE, on_hand=initial)
    done: list[tuple[str, str, int]] = []  # (kind, reference, value) of every recorded movement
    for number, (operation, value) in enumerate(steps):
        now = START + timedelta(minutes=number)
        before = _levels(sku)
        reference = f"REF-{number}"
        try:
            if operation == "receipt":
                receipt(sku, WAREHOUSE, value, reference=reference, note=None, by="user:p", now=now)
            elif operation == "adjustment":
                adjustment(sku, WAREHOUSE, value, reference=reference, reason="prop", by="user:p", now=now)
            elif operation == "count":
                cycle_count(sku, WAREHOUSE, value, reference=reference, reason="prop", by="user:p", now=now)
            elif operation == "reserve":
                _reserve(sku, value)
            elif operation == "release":
                _release(sku, value)
            elif done:
                kind, old_reference, old_value = done[value % len(done)]
                call = {"receipt": receipt, "adjustment": adjustment, "count": cycle_count}[kind]
                extra = {"note": None} if kind == "receipt" else {"reason": "prop"}
                result = call(
                    sku, WAREHOUSE, old_value, reference=old_reference, by="user:p", now=now, **extra
                )
                assert result.created is False
                assert _levels(sku) == before
            if operation in ("receipt", "adjustment", "count"):
                done.append((operation, reference, value))
        except StockBelowReservedError:
            assert operation in ("adjustment", "count")
            assert _levels(sku) == before
        on_hand, reserved, available = _levels(sku)
        assert on_hand == available + reserved
        assert min(on_hand, reserved, available) >= 0

    ledger = sorted(movements_of(sku, WAREHOUSE), key=lambda m: m.at)
    assert len(ledger) == len(done)
    assert sum(int(m.quantity_change) for m in ledger) == _levels(sku)[0] - initial
    for movement in ledger:
        assert int(movement.on_hand_after) == int(movement.on_hand_before) + int(movement.quantity_change)
    for earlier, later in itertools.pairwise(ledger):
        assert int(later.on_hand_before) == int(earlier.on_hand_after)
