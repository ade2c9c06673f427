"""Channel notification records: one per fact told to a channel, written before the channel is called and
finished after, so that a retry knows whether an earlier attempt may have reached the channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError

from oms.data.models import ChannelNotificationRecord
from oms.domain.notifications import ChannelNotification, NotificationKind, notification_id

SENDING = "SENDING"
DELIVERED = "DELIVERED"
SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class Attempt:
    record: ChannelNotificationRecord
    first: bool
    """No earlier attempt exists: the channel has certainly not been told yet."""
    finished: bool
    """An earlier attempt told the channel (or found nothing to tell): nothing to do."""


def begin_attempt(notification: ChannelNotification, now: datetime) -> Attempt:
    record = ChannelNotificationRecord(
        notification.notification_id,
        order_id=notification.order_id,
        channel=notification.channel,
        kind=notification.kind.value,
        shipment_id=notification.shipment_id,
        state=SENDING,
        attempts=1,
        first_attempt_at=now,
    )
    try:
        record.save(condition=ChannelNotificationRecord.notification_id.does_not_exist())
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        existing = ChannelNotificationRecord.get(notification.notification_id, consistent_read=True)
        if existing.state in (DELIVERED, SKIPPED):
            return Attempt(existing, first=False, finished=True)
        existing.update(actions=[ChannelNotificationRecord.attempts.add(1)])
        return Attempt(existing, first=False, finished=False)
    return Attempt(record, first=True, finished=False)


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
