"""Channel notifications from SQS: tell each sales channel, through its own API, that its order shipped
(per shipment), was delivered, cancelled or refunded; once per fact, respecting the channel's rate limits."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.aws import client
from oms.channels.writeback.adapters import writeback_for
from oms.channels.writeback.http import ChannelRateLimitedError
from oms.data.notifications import IN_FLIGHT_GRACE, NotificationInProgressError
from oms.domain.notifications import ChannelNotification
from oms.logic.channel_notifications import deliver_notification
from oms.observability import MetricUnit, logger, metrics, tracer
from oms.runtime import now, prepare

processor = BatchProcessor(event_type=EventType.SQS)

#: SQS allows a message to be hidden for at most 12 hours.
MAX_VISIBILITY_SECONDS = 43_200


def in_flight_grace(setting: str) -> timedelta:
    """The configured takeover grace (seconds), else the default."""
    return timedelta(seconds=float(setting)) if setting else IN_FLIGHT_GRACE


@tracer.capture_method
def handle_record(record: SQSRecord) -> str:
    settings = prepare()
    notification = ChannelNotification.model_validate_json(record.body)
    logger.set_correlation_id(notification.order_id)
    logger.append_keys(notification_id=notification.notification_id, channel=notification.channel)
    credentials: dict[str, Any] = parameters.get_secret(
        settings.require("channel_api_secret_name"), transform="json", max_age=300
    )
    try:
        outcome = deliver_notification(
            notification,
            credentials=credentials,
            writeback_for=writeback_for,
            now=now(),
            in_flight_grace=in_flight_grace(settings.notification_in_flight_grace_seconds),
        )
    except (ChannelRateLimitedError, NotificationInProgressError) as exc:
        # Come back when the channel said to (its Retry-After), or when an attempt that may have died can be
        # taken over: the message stays hidden until then instead of using up its receives meanwhile.
        if isinstance(exc, ChannelRateLimitedError):
            metrics.add_metric(name="ChannelRateLimited", unit=MetricUnit.Count, value=1)
        client("sqs").change_message_visibility(
            QueueUrl=settings.require("channel_notifications_queue_url"),
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=min(MAX_VISIBILITY_SECONDS, math.ceil(exc.retry_after)),
        )
        raise
    logger.debug("channel notified", extra={"state": outcome.state, "detail": outcome.detail})
    return outcome.state


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
