"""Channel updates and cancellations, queued by intake: amend before allocation, cancel before shipment."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.logic.channel_changes import ChannelChange, apply_change
from oms.observability import logger, metrics, tracer
from oms.runtime import now, prepare

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def handle_record(record: SQSRecord) -> str:
    settings = prepare()
    change = ChannelChange.model_validate_json(record.body)
    logger.set_correlation_id(change.order_id)
    result = apply_change(
        change,
        workflow_arn=settings.require("order_workflow_arn"),
        event_bus=settings.require("event_bus_name"),
        now=now(),
        notifications_queue_url=settings.channel_notifications_queue_url or None,
    )
    logger.info("channel change", extra={"kind": change.kind, "applied": result.applied, "note": result.note})
    return result.status


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
