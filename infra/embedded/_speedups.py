"""Speed-ups of moto internals that cost CPU without changing what the emulated services do.

Everything here is a like-for-like replacement (same inputs, same results, same side effects on
moto's models); each one is restored on ``uninstall()`` and covered by
``tests/integration/test_embedded_speedups.py``. ADR 0002 lists them with the reason each is safe.
"""

from __future__ import annotations

import time
from typing import Any

_MISSING = object()


def _fast_clock(original: Any, scale: float) -> Any:
    """``moto.core.utils.unix_time``/``unix_time_millis`` without building two datetimes per call.

    moto computes "now" as ``datetime.now(UTC)`` minus the epoch, i.e. ``time.time()`` rounded to the
    microsecond, at ~6 µs a call; SQS calls it twice per message per scan of a queue. Called with an
    explicit datetime, the original runs.
    """

    def clock(dt: Any = None) -> float:
        if dt is not None:
            return float(original(dt))
        return time.time() * scale

    clock.__wrapped__ = original  # type: ignore[attr-defined]
    return clock


class MotoSpeedups:
    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def _set(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    def install(self) -> None:
        self._sqs()

    def uninstall(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)

    # ------------------------------------------------------------------ SQS
    def _sqs(self) -> None:
        import moto.sqs.models as sqs_models
        from moto.core import utils

        # Message.visible/.delayed, Queue.messages and ReceiveMessage read the clock through these
        # module globals of moto.sqs.models.
        self._set(sqs_models, "unix_time", _fast_clock(utils.unix_time, 1.0))
        self._set(sqs_models, "unix_time_millis", _fast_clock(utils.unix_time_millis, 1000.0))

        def is_message_valid_based_on_retention_period(backend: Any, queue_name: str, message: Any) -> bool:
            # moto reads MessageRetentionPeriod through get_queue_attributes, which builds the whole
            # attribute dict three times (each counting visible, delayed and in-flight messages over
            # the whole queue) for every message received: quadratic in the queue depth. The
            # attribute is the queue's ``message_retention_period`` (an int), read directly here.
            queue = backend.get_queue(queue_name)
            retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
            return bool(retain_until > sqs_models.unix_time())

        self._set(
            sqs_models.SQSBackend,
            "is_message_valid_based_on_retention_period",
            is_message_valid_based_on_retention_period,
        )
