"""Telling the sales channel what happened to its order (docs/decisions/0022).

Producers (the track and channel-changes functions) put one `ChannelNotification` per fact on the
ChannelNotifications queue, on every delivery of the event that caused it (a lost message is worse than a
repeated one); `deliver_notification` (the notify-channel function) tells the channel once: a record
written before the call and finished after it guards every fact, and an attempt that may follow an earlier
one that reached the channel first looks for that one's effect there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from oms.aws import client
from oms.channels.writeback.adapters import WriteBack, WriteBackResult
from oms.data.models import OrderRecord
from oms.data.notifications import (
    DELIVERED,
    IN_FLIGHT_GRACE,
    SKIPPED,
    begin_attempt,
    fail_attempt,
    finish_attempt,
    shipment_reference,
)
from oms.domain.events import FulfillmentLine
from oms.domain.notifications import ChannelNotification, NotificationKind, NotifiedLine, notification_id
from oms.logic.backorder_split import SUFFIX
from oms.observability import MetricUnit, logger, metrics


def channel_order_id(record: OrderRecord) -> str:
    """The channel's id of the order: a backorder order split off carries its parent's ("<id>#backorder")."""
    return record.external_id.split("#", 1)[0]


def _channel_line_id(line_id: str) -> str:
    return line_id.removesuffix(SUFFIX)


def notified_lines(record: OrderRecord, shipped: list[FulfillmentLine]) -> list[NotifiedLine]:
    """The shipped units per channel line (a SKU on several lines fills them in order)."""
    left = {line.line_id: int(line.quantity) for line in record.lines}
    result: dict[str, NotifiedLine] = {}
    for item in shipped:
        need = item.quantity
        for line in record.lines:
            if line.sku != item.sku or need == 0:
                continue
            take = min(need, left[line.line_id])
            if take == 0:
                continue
            left[line.line_id] -= take
            need -= take
            key = _channel_line_id(line.line_id)
            before = result[key].quantity if key in result else 0
            result[key] = NotifiedLine(line_id=key, sku=line.sku, quantity=before + take)
    return list(result.values())


def shipped_notification(
    record: OrderRecord,
    *,
    shipment_id: str,
    carrier: str,
    tracking_number: str,
    lines: list[FulfillmentLine],
    all_shipped: bool,
    at: datetime,
) -> ChannelNotification:
    return ChannelNotification(
        notification_id=notification_id(NotificationKind.SHIPPED, record.order_id, shipment_id),
        kind=NotificationKind.SHIPPED,
        order_id=record.order_id,
        channel=record.channel,
        external_id=channel_order_id(record),
        shipment_id=shipment_id,
        carrier=carrier,
        tracking_number=tracking_number,
        lines=notified_lines(record, lines),
        all_shipped=all_shipped,
        occurred_at=at,
    )


def delivered_notification(
    record: OrderRecord, *, shipment_id: str, carrier: str, tracking_number: str, at: datetime
) -> ChannelNotification:
    return ChannelNotification(
        notification_id=notification_id(NotificationKind.DELIVERED, record.order_id, shipment_id),
        kind=NotificationKind.DELIVERED,
        order_id=record.order_id,
        channel=record.channel,
        external_id=channel_order_id(record),
        shipment_id=shipment_id,
        carrier=carrier,
        tracking_number=tracking_number,
        occurred_at=at,
    )


def cancelled_notification(
    record: OrderRecord, *, by: str, reason: str, at: datetime
) -> ChannelNotification | None:
    """A cancellation to tell the channel, unless the channel itself asked for it (no echo)."""
    if by == f"channel:{record.channel}":
        return None
    return ChannelNotification(
        notification_id=notification_id(NotificationKind.CANCELLED, record.order_id),
        kind=NotificationKind.CANCELLED,
        order_id=record.order_id,
        channel=record.channel,
        external_id=channel_order_id(record),
        occurred_at=at,
        reason=reason[:500],
    )


def publish(notification: ChannelNotification | None, queue_url: str | None) -> None:
    """Queue a notification (nothing when the function was given no queue, or there is nothing to say)."""
    if notification is None or not queue_url:
        return
    client("sqs").send_message(QueueUrl=queue_url, MessageBody=notification.model_dump_json())


# --- delivery ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    notification_id: str
    state: str
    detail: str


WriteBackFor = Callable[[str, Mapping[str, Any]], WriteBack]


def deliver_notification(
    notification: ChannelNotification,
    *,
    credentials: Mapping[str, Any],
    writeback_for: WriteBackFor,
    now: datetime,
    in_flight_grace: timedelta = IN_FLIGHT_GRACE,
) -> DeliveryOutcome:
    """Tell the channel, once. Raises the write-back's errors for the queue to retry (rate limits, outages,
    refusals end in the DLQ after the queue's retries)."""
    channel = notification.channel
    settings = credentials.get(channel)
    if not settings:
        logger.debug("no write-back configured for the channel", extra={"channel": channel})
        metrics.add_metric(name="ChannelNotificationsSkipped", unit=MetricUnit.Count, value=1)
        return DeliveryOutcome(
            notification.notification_id, SKIPPED, f"no write-back configured for {channel}"
        )
    attempt = begin_attempt(notification, now, grace=in_flight_grace)
    if attempt.finished:
        return DeliveryOutcome(notification.notification_id, attempt.record.state, "already told")
    reference = None
    if notification.kind is NotificationKind.DELIVERED:
        reference = shipment_reference(notification.order_id, notification.shipment_id)
    try:
        result: WriteBackResult = writeback_for(channel, settings).deliver(
            notification, first_attempt=attempt.first, reference=reference
        )
    except Exception as exc:
        fail_attempt(attempt.record, detail=f"{type(exc).__name__}: {exc}")
        raise
    state = DELIVERED if result.done else SKIPPED
    finish_attempt(attempt.record, state=state, reference=result.reference, detail=result.detail, now=now)
    metrics.add_metric(
        name="ChannelNotificationsDelivered" if result.done else "ChannelNotificationsSkipped",
        unit=MetricUnit.Count,
        value=1,
    )
    return DeliveryOutcome(notification.notification_id, state, result.detail)
