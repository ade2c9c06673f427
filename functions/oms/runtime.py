"""What every handler does first: read the settings and bind the tables (at invocation, not at import)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from oms.config import Settings, get_settings
from oms.data.models import bind_tables
from oms.domain.order import SafeId, utc_now


def prepare() -> Settings:
    settings = get_settings()
    bind_tables(settings)
    return settings


def now() -> datetime:
    return utc_now()


class OrderRef(BaseModel):
    """The input of every workflow task: the order it works on."""

    order_id: SafeId
