"""Low-stock alerts: one InventoryLow event each time a stock item's available units cross below its
reorder point, however many writers notice the crossing.

Called after every receipt, adjustment and cycle count (oms.logic.stock_movements) and, by allocation,
after reservations. Needs EVENT_BUS_NAME, GetItem and UpdateItem on the inventory table and
events:PutEvents on the bus.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from oms.data.bus import publish
from oms.data.movements import clear_low_stock, flag_low_stock, get_stock, unflag_low_stock
from oms.domain.events import INVENTORY_SOURCE, InventoryLow
from oms.observability import MetricUnit, metrics


def check_low_stock(keys: Iterable[tuple[str, str]], *, now: datetime) -> int:
    """Re-read each (sku, warehouse_id) stock item and raise or clear its low-stock flag.

    - available < reorder point and not flagged: set `low_stock_since` = now with a conditional update
      (only the caller whose update succeeds emits) and put an InventoryLow event on the bus. If the event
      cannot be put, the flag is taken back and the error raised, so a retry alerts.
    - available >= reorder point and flagged: clear the flag (conditionally), so the next crossing alerts.

    Returns how many InventoryLow events this call emitted. Unknown items are skipped.
    """
    emitted = 0
    for sku, warehouse_id in sorted(set(keys)):
        item = get_stock(sku, warehouse_id)
        if item is None:
            continue
        reorder_point = int(item.reorder_point or 0)
        if int(item.available) < reorder_point and item.low_stock_since is None:
            flagged = flag_low_stock(sku, warehouse_id, now)
            if flagged is None:
                continue  # another caller flagged it first, or stock came back meanwhile
            event = InventoryLow(
                sku=sku,
                warehouse_id=warehouse_id,
                available=int(flagged.available),
                reorder_point=int(flagged.reorder_point),
                at=now,
            )
            try:
                publish(INVENTORY_SOURCE, event, resources=[f"inventory/{sku}#{warehouse_id}"])
            except Exception:
                unflag_low_stock(sku, warehouse_id, now)
                raise
            metrics.add_metric(name="InventoryLowRaised", unit=MetricUnit.Count, value=1)
            emitted += 1
        elif int(item.available) >= reorder_point and item.low_stock_since is not None:
            clear_low_stock(sku, warehouse_id)
    return emitted
