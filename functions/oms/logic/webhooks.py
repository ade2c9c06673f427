"""Webhook intake: verify the signature over the raw bytes, archive the body, interpret it, then persist a
new order once and start its lifecycle, or queue an update/cancellation. Nothing slow on this path."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from oms.aws import client
from oms.channels.base import ChannelDelivery, DeliveryKind
from oms.channels.errors import MAX_BODY_BYTES, PayloadTooLargeError
from oms.channels.registry import CHANNELS
from oms.data.archive import archive_delivery
from oms.domain.errors import ChannelPayloadError, UnknownChannelError
from oms.domain.order import order_id_for
from oms.logic.channel_changes import ChannelChange
from oms.logic.intake import receive_order


@dataclass(frozen=True)
class WebhookOutcome:
    kind: DeliveryKind
    delivery_id: str
    order_id: str | None = None
    status: str | None = None
    duplicate: bool = False
    note: str | None = None

    @property
    def accepted_for_processing(self) -> bool:
        return self.kind in (
            DeliveryKind.CREATED,
            DeliveryKind.UPDATED,
            DeliveryKind.CANCELLED,
            DeliveryKind.PRIVACY,
        )


@dataclass(frozen=True)
class IntakeTargets:
    """Where intake writes: the workflow to start, the archive bucket, the queue for channel changes."""

    workflow_arn: str
    archive_bucket: str
    changes_queue_url: str
    privacy_queue_url: str = ""
    """Where a channel's privacy request goes (the privacy function's queue)."""


def accept_webhook(
    channel_name: str,
    raw_body: bytes,
    headers: Mapping[str, str],
    *,
    secrets_for: Callable[[str], Sequence[str]],
    targets: IntakeTargets,
    now: datetime,
) -> WebhookOutcome:
    """Verify, interpret, archive and act on one delivery. Bad input raises an OmsError subclass before
    anything is written: the archive holds the bodies that were signed and understood, before any order
    is written from them."""
    channel = CHANNELS.get(channel_name)
    if channel is None:
        raise UnknownChannelError(f"unknown channel {channel_name!r}; known: {', '.join(sorted(CHANNELS))}")
    if len(raw_body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"body of {len(raw_body)} bytes exceeds {MAX_BODY_BYTES}")
    lowered = {k.lower(): v for k, v in headers.items()}
    channel.verify(raw_body, lowered, secrets_for(channel.name), now)
    delivery = channel.interpret(raw_body, lowered)
    if delivery.kind is DeliveryKind.PING:
        return WebhookOutcome(delivery.kind, delivery.delivery_id, note=delivery.note)
    archived = archive_delivery(
        targets.archive_bucket, channel.name, delivery.delivery_id, raw_body, lowered, now
    )
    if delivery.kind is DeliveryKind.IGNORED:
        return WebhookOutcome(delivery.kind, delivery.delivery_id, note=delivery.note)
    if delivery.kind is DeliveryKind.PRIVACY:
        return queue_privacy_request(channel.name, delivery, archived, targets=targets)
    return process_delivery(channel.name, delivery, targets=targets, now=now)


def process_delivery(
    channel: str, delivery: ChannelDelivery, *, targets: IntakeTargets, now: datetime
) -> WebhookOutcome:
    """Act on an interpreted delivery (from a webhook or from the archive during a replay). Idempotent."""
    if delivery.kind is DeliveryKind.CREATED:
        assert delivery.order is not None
        result = receive_order(delivery.order, workflow_arn=targets.workflow_arn, received_at=now)
        return WebhookOutcome(
            delivery.kind, delivery.delivery_id, result.order_id, result.status, duplicate=result.duplicate
        )
    if delivery.external_id is None and delivery.order is None:
        raise ChannelPayloadError("the delivery names no order")
    change = _change_of(channel, delivery, now)
    client("sqs").send_message(QueueUrl=targets.changes_queue_url, MessageBody=change.model_dump_json())
    return WebhookOutcome(delivery.kind, delivery.delivery_id, change.order_id, note="queued")


def queue_privacy_request(
    channel: str, delivery: ChannelDelivery, archive_key: str, *, targets: IntakeTargets
) -> WebhookOutcome:
    """A channel's privacy request to the privacy function's queue: ids only; the personal values it names
    are read from the archived body by the privacy function (nothing personal travels in the queue)."""
    request = delivery.privacy
    assert request is not None
    if not targets.privacy_queue_url:
        raise ChannelPayloadError("privacy requests are not configured for this function")
    message = {
        "kind": request.kind,
        "customer_id": request.customer_id,
        "orders": list(request.orders),
        "channel": channel,
        "delivery_id": delivery.delivery_id,
        "archive_key": archive_key,
    }
    client("sqs").send_message(QueueUrl=targets.privacy_queue_url, MessageBody=json.dumps(message))
    return WebhookOutcome(delivery.kind, delivery.delivery_id, note=delivery.note)


def _change_of(channel: str, delivery: ChannelDelivery, now: datetime) -> ChannelChange:
    if delivery.order is not None:
        order_id = delivery.order.order_id
        by = delivery.order.entered_by
    else:
        order_id = order_id_for(channel, str(delivery.external_id))
        by = f"channel:{channel}"
    kind = "UPDATED" if delivery.kind is DeliveryKind.UPDATED else "CANCELLED"
    reason = delivery.note or f"{kind.lower()} by {channel} (delivery {delivery.delivery_id})"
    return ChannelChange(
        kind=kind, order_id=order_id, order=delivery.order, by=by, reason=reason, received_at=now
    )
