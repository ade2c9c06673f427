"""Integration events out: one small interface over EventBridge's PutEvents for the logic that publishes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar, Protocol

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
