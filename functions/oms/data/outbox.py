"""The transactional outbox on the order item (decision 0014).

A change that must be followed by integration events (stock released, warehouses told to stop, a waiting
order withdrawn) writes those events onto the order item in the same DynamoDB transaction as the change.
Whoever committed it publishes them right away and then removes them; if that process dies in between, the
events stay on the order, marked in the sparse `outbox-pending` index, and any retry of the step or the
stock sweeper publishes them. So the follow-up of a committed change is at least once, never lost, and a
change that did not commit owes nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from oms.data.models import OrderRecord, OutboxEntryAttribute

PENDING = "PENDING"


@dataclass(frozen=True)
class OutboxEvent:
    source: str
    detail_type: str
    detail: Mapping[str, Any]
    resources: Sequence[str] = field(default_factory=tuple)


def outbox_actions(events: Sequence[OutboxEvent], at: datetime) -> list[Action]:
    """The update actions that add `events` to the order's outbox (appending to what is still pending)."""
    if not events:
        return []
    entries = [
        OutboxEntryAttribute(
            event_id=uuid.uuid4().hex,
            source=event.source,
            detail_type=event.detail_type,
            detail=json.dumps(dict(event.detail), default=str, sort_keys=True),
            resources=list(event.resources),
        )
        for event in events
    ]
    return [
        OrderRecord.outbox.set((OrderRecord.outbox | []).append(entries)),  # type: ignore[arg-type]
        OrderRecord.outbox_token.set(uuid.uuid4().hex),
        OrderRecord.outbox_pending.set(PENDING),
        OrderRecord.outbox_since.set(OrderRecord.outbox_since | at.isoformat(timespec="microseconds")),
    ]


def pending_events(record: OrderRecord) -> tuple[str | None, list[OutboxEntryAttribute]]:
    return record.outbox_token, list(record.outbox or [])


def clear_outbox(order_id: str, token: str) -> bool:
    """Remove the published events, unless more were added since they were read (token changed)."""
    try:
        OrderRecord(order_id).update(
            actions=[
                OrderRecord.outbox.remove(),
                OrderRecord.outbox_token.remove(),
                OrderRecord.outbox_pending.remove(),
                OrderRecord.outbox_since.remove(),
            ],
            condition=OrderRecord.outbox_token == token,
        )
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        return False
    return True


def orders_with_pending_events() -> Iterator[OrderRecord]:
    """Orders whose committed change still owes events, oldest first (the sparse index)."""
    yield from OrderRecord.pending_outbox.query(PENDING)
