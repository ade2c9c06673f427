"""Channel notification records: one per fact told to a channel, written before the channel is called and
finished after, so that a retry knows whether an earlier attempt may have reached the channel.

States: SENDING (an attempt is under way, or died without a word), RETRYING (the last attempt failed and
may have reached the channel), DELIVERED, SKIPPED. Only one attempt runs at a time: a second copy of the
message that finds an attempt SENDING waits (it is retried later) unless that attempt is older than the
grace (`IN_FLIGHT_GRACE` unless the function's settings give another: longer than the notifier's timeout,
so an older attempt died).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from oms.data.models import ChannelNotificationRecord
from oms.domain.notifications import ChannelNotification, NotificationKind, notification_id
from oms.privacy.retention import NOTIFICATION_DAYS, expires_at

SENDING = "SENDING"
RETRYING = "RETRYING"
DELIVERED = "DELIVERED"
SKIPPED = "SKIPPED"
IN_FLIGHT_GRACE = timedelta(seconds=180)
"""Longer than NotifyChannelFunction's timeout (60 s) with room for its retries."""


class NotificationInProgressError(Exception):
    """Another attempt at the same notification is under way: come back later (`retry_after` seconds: when
    that attempt, if it died, may be taken over)."""

    def __init__(self, message: str, retry_after: float = IN_FLIGHT_GRACE.total_seconds()) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    record: ChannelNotificationRecord
    first: bool
    """No earlier attempt exists: the channel has certainly not been told yet."""
    finished: bool
    """An earlier attempt told the channel (or found nothing to tell): nothing to do."""


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def begin_attempt(
    notification: ChannelNotification, now: datetime, *, grace: timedelta = IN_FLIGHT_GRACE
) -> Attempt:
    record = ChannelNotificationRecord(
        notification.notification_id,
        order_id=notification.order_id,
        channel=notification.channel,
        kind=notification.kind.value,
        shipment_id=notification.shipment_id,
        state=SENDING,
        attempts=1,
        first_attempt_at=now,
        attempt_at=now,
        expires_at=expires_at(now, NOTIFICATION_DAYS),
    )
    try:
        record.save(condition=ChannelNotificationRecord.notification_id.does_not_exist())
    except PutError as exc:
        if not _conditional_failure(exc):
            raise
    else:
        return Attempt(record, first=True, finished=False)
    existing = ChannelNotificationRecord.get(notification.notification_id, consistent_read=True)
    if existing.state in (DELIVERED, SKIPPED):
        return Attempt(existing, first=False, finished=True)
    takeover = (ChannelNotificationRecord.state == RETRYING) | (
        (ChannelNotificationRecord.state == SENDING) & (ChannelNotificationRecord.attempt_at < now - grace)
    )
    try:
        existing.update(
            actions=[
                ChannelNotificationRecord.state.set(SENDING),
                ChannelNotificationRecord.attempt_at.set(now),
                ChannelNotificationRecord.attempts.add(1),
            ],
            condition=takeover,
        )
    except UpdateError as exc:
        if not _conditional_failure(exc):
            raise
        waited = (now - existing.attempt_at).total_seconds() if existing.attempt_at else 0.0
        raise NotificationInProgressError(
            f"{notification.notification_id} is being told right now",
            retry_after=max(1.0, grace.total_seconds() - waited),
        ) from exc
    return Attempt(existing, first=False, finished=False)


def finish_attempt(
    record: ChannelNotificationRecord, *, state: str, reference: str | None, detail: str, now: datetime
) -> None:
    record.update(
        actions=[
            ChannelNotificationRecord.state.set(state),
            ChannelNotificationRecord.channel_reference.set(reference)
            if reference
            else ChannelNotificationRecord.channel_reference.remove(),
            ChannelNotificationRecord.detail.set(detail[:500]),
            ChannelNotificationRecord.finished_at.set(now),
        ]
    )


def fail_attempt(record: ChannelNotificationRecord, *, detail: str) -> None:
    """The attempt ended with an error (it may have reached the channel): the next one may start now."""
    record.update(
        actions=[
            ChannelNotificationRecord.state.set(RETRYING),
            ChannelNotificationRecord.detail.set(detail[:500]),
        ]
    )


def shipment_reference(order_id: str, shipment_id: str | None) -> str | None:
    """What telling the channel about a shipment created (the Shopify fulfillment id), if it was told."""
    if not shipment_id:
        return None
    try:
        record = ChannelNotificationRecord.get(
            notification_id(NotificationKind.SHIPPED, order_id, shipment_id), consistent_read=True
        )
    except DoesNotExist:
        return None
    return record.channel_reference if record.state == DELIVERED else None


def notifications_of(order_id: str) -> list[ChannelNotificationRecord]:
    """Every notification of an order (a scan: for tests and the demo's check, not for a hot path)."""
    return list(ChannelNotificationRecord.scan(ChannelNotificationRecord.order_id == order_id))
