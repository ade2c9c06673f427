"""Integration events out: one small interface over EventBridge's PutEvents for the logic that publishes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

from oms.aws import client
from oms.config import get_settings


class IntegrationEvent(Protocol):
    detail_type: ClassVar[str]

    def model_dump_json(self) -> str: ...


def publish(source: str, event: IntegrationEvent, *, resources: Sequence[str] = ()) -> None:
    """Put one event on the OMS bus (EVENT_BUS_NAME); raises when EventBridge did not accept it."""
    response = client("events").put_events(
        Entries=[
            {
                "EventBusName": get_settings().require("event_bus_name"),
                "Source": source,
                "DetailType": event.detail_type,
                "Detail": event.model_dump_json(),
                "Resources": list(resources),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused {event.detail_type}: {json.dumps(response['Entries'])}")


MAX_ENTRIES_PER_CALL = 10  # EventBridge PutEvents takes at most 10 entries


def put_events(
    event_bus: str, source: str, detail_type: str, events: Sequence[tuple[Mapping[str, Any], Sequence[str]]]
) -> None:
    """Put several events of one type on `event_bus`, 10 per call: (detail, resources) each. Raises when
    EventBridge refused any (the caller's retry puts them again; consumers dedupe on the detail's ids)."""
    entries = [
        {
            "EventBusName": event_bus,
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, default=str),
            "Resources": list(resources),
        }
        for detail, resources in events
    ]
    for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
        response = client("events").put_events(Entries=entries[start : start + MAX_ENTRIES_PER_CALL])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused {detail_type}: {json.dumps(response['Entries'])}")
