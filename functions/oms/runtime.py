"""What every handler does first: read the settings and bind the tables (at invocation, not at import)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from pydantic import BaseModel

from oms.config import Settings, get_settings
from oms.data.models import bind_tables
from oms.domain.order import SafeId, utc_now


def prepare() -> Settings:
    settings = get_settings()
    bind_tables(settings)
    return settings


#: Set by the embedded local AWS on every invocation: how far its clock (which tests and the demo advance to
#: run SLAs, escalations and schedules) is ahead of real time. Never set on AWS.
LOCAL_CLOCK_OFFSET = "EMBEDDED_CLOCK_OFFSET_SECONDS"


def now() -> datetime:
    """The current UTC time (on the embedded AWS, its clock's)."""
    offset = os.environ.get(LOCAL_CLOCK_OFFSET)
    if offset:
        return utc_now() + timedelta(seconds=float(offset))
    return utc_now()


class OrderRef(BaseModel):
    """The input of every workflow task: the order it works on."""

    order_id: SafeId
