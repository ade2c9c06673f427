"""Publishing what a committed change owes the bus (the outbox on the order item, decision 0014)."""

from __future__ import annotations

import json
from collections import defaultdict

from oms.data.bus import put_events
from oms.data.models import OrderRecord
from oms.data.orders import find_order
from oms.data.outbox import clear_outbox, orders_with_pending_events, pending_events
from oms.observability import MetricUnit, metrics


def flush_outbox(order: str | OrderRecord, *, event_bus: str, reread: bool = True) -> int:
    """Publish the order's pending events, then remove them. Returns how many were published.

    At least once: a crash after publishing and before the removal publishes them again later (consumers
    are idempotent: serving a queue, cancelling a request twice changes nothing)."""
    record = (
        find_order(order) if isinstance(order, str) else (find_order(order.order_id) if reread else order)
    )
    if record is None:
        return 0
    token, entries = pending_events(record)
    if not token or not entries:
        return 0
    by_kind: dict[tuple[str, str], list[tuple[dict[str, object], list[str]]]] = defaultdict(list)
    for entry in entries:
        by_kind[(entry.source, entry.detail_type)].append(
            (json.loads(entry.detail), list(entry.resources or []))
        )
    for (source, detail_type), events in by_kind.items():
        put_events(event_bus, source, detail_type, events)
    clear_outbox(record.order_id, token)
    metrics.add_metric(name="OutboxEventsPublished", unit=MetricUnit.Count, value=len(entries))
    return len(entries)


def flush_pending_outboxes(*, event_bus: str) -> list[str]:
    """The sweeper's pass: publish what crashed steps left owing (orders in the outbox-pending index)."""
    flushed = []
    for record in orders_with_pending_events():
        if flush_outbox(record.order_id, event_bus=event_bus):
            flushed.append(record.order_id)
    return flushed
