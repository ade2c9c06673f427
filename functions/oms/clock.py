"""The time every handler acts at (`oms.runtime.now()`).

On AWS it is the system clock: no setting and no request field moves it, and the one environment variable
read here (`EMBEDDED_CLOCK_OFFSET_SECONDS`) is set only by the embedded AWS, never by the template. Locally,
the embedded AWS (infra/embedded) hands its scheduler's clock to this process with `follow()` when it starts
and takes it back when it stops, and gives each invocation the clock's offset (which is how handlers in
worker containers follow it too), so that when a developer advances the simulated clock
(`aws.scheduler.advance(timedelta(days=30))`, `python -m infra clock advance 30d`), invoices are issued,
payments received and dunning letters dated on the simulated day, the same day the schedules fire on
(decision 0031).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_source: Callable[[], datetime] | None = None

#: Set by the embedded local AWS on every invocation it runs, in process or in a worker container: how far its
#: clock is ahead of real time. The template never sets it; on AWS it is absent.
LOCAL_CLOCK_OFFSET = "EMBEDDED_CLOCK_OFFSET_SECONDS"


def now() -> datetime:
    """The current UTC time: the system's, or the embedded AWS's clock while one runs (followed in this
    process, or the offset it gives the invocation)."""
    if _source is not None:
        return _source()
    offset = os.environ.get(LOCAL_CLOCK_OFFSET)
    if offset:
        return datetime.now(UTC) + timedelta(seconds=float(offset))
    return datetime.now(UTC)


def follow(source: Callable[[], datetime] | None) -> None:
    """Take the time from `source` (None: the system clock again). Called by the embedded AWS only."""
    global _source
    _source = source
