"""What every handler does first: read the settings and bind the tables (at invocation, not at import)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from oms import clock
from oms.aws import is_transient_error
from oms.config import Settings, get_settings
from oms.data.models import bind_tables
from oms.domain.order import SafeId


def prepare() -> Settings:
    settings = get_settings()
    bind_tables(settings)
    return settings


def now() -> datetime:
    """The time the invocation acts at (oms.clock: the system's, or the embedded AWS's clock)."""
    return clock.now()


class OrderRef(BaseModel):
    """The input of every workflow task: the order it works on, and the channel amendment the execution
    was started for (an amendment starts a new execution; the old one's steps then stand down)."""

    order_id: SafeId
    amendment: int | None = None


class TransientAwsError(Exception):
    """AWS throttled, failed or dropped a call after the client's own retries: the step is safe to run
    again, and the workflow's Retry does (statemachine/, error name ``TransientAwsError``)."""


F = TypeVar("F", bound=Callable[..., Any])


def transient_errors_retryable(handler: F) -> F:
    """Report a transient AWS failure as ``TransientAwsError`` (the name the workflow retries on) instead
    of the library's own class (``UpdateError``, ``ClientError``...), which the workflow cannot tell from a
    defect. Anything else goes out as it is."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            if is_transient_error(exc):
                raise TransientAwsError(f"{type(exc).__name__}: {exc}"[:1000]) from exc
            raise

    return wrapper  # type: ignore[return-value]
