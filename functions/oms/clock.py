"""The time every handler acts at (`oms.runtime.now()`).

On AWS it is the system clock, and nothing in the deployed code can change that: there is no setting, no
environment variable and no request field that moves it. Locally, the embedded AWS (infra/embedded) hands
its scheduler's clock to this process with `follow()` when it starts and takes it back when it stops, so
that when a developer advances the simulated clock (`aws.scheduler.advance(timedelta(days=30))`,
`python -m infra clock advance 30d`), invoices are issued, payments received and dunning letters dated on
the simulated day, the same day the schedules fire on (decision 0031).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current UTC time: the system's, or the embedded AWS's simulated clock while one runs."""
    return _source() if _source is not None else datetime.now(UTC)


def follow(source: Callable[[], datetime] | None) -> None:
    """Take the time from `source` (None: the system clock again). Called by the embedded AWS only."""
    global _source
    _source = source
