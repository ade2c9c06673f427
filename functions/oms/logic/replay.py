"""Re-process archived webhook bodies: the archive is trusted (signatures were checked on the way in), and
processing is idempotent (one order per channel order), so a replay creates only what is missing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime

from oms.channels.base import DeliveryKind
from oms.channels.registry import CHANNELS
from oms.data.archive import archived_deliveries
from oms.domain.errors import OmsError, UnknownChannelError
from oms.logic.webhooks import IntakeTargets, process_delivery


def replay_archive(
    channel_name: str,
    day: date,
    *,
    targets: IntakeTargets,
    now: Callable[[], datetime],
) -> Counter[str]:
    """Replay every archived delivery of `channel_name` on `day`; returns counts by outcome."""
    channel = CHANNELS.get(channel_name)
    if channel is None:
        raise UnknownChannelError(f"unknown channel {channel_name!r}")
    outcomes: Counter[str] = Counter()
    for archived in archived_deliveries(targets.archive_bucket, channel_name, day):
        try:
            delivery = channel.interpret(archived.raw_body, archived.headers)
            if delivery.kind in (DeliveryKind.PING, DeliveryKind.IGNORED):
                outcomes["ignored"] += 1
                continue
            outcome = process_delivery(channel_name, delivery, targets=targets, now=now())
        except OmsError as error:
            outcomes[f"rejected:{error.code}"] += 1
            continue
        outcomes["duplicate" if outcome.duplicate else outcome.kind.value.lower()] += 1
    return outcomes
