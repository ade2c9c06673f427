"""Warehouse shipment confirmations and carrier scans, from EventBridge through SQS, in partial batches."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from oms.domain.events import ShipmentConfirmed, TrackingUpdated
from oms.logic.tracking import apply_tracking, confirm_shipment
from oms.observability import logger, metrics, tracer
from oms.runtime import now, prepare

processor = BatchProcessor(event_type=EventType.SQS)


class BusEvent(BaseModel):
    """The EventBridge envelope as the rule delivers it to the queue."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str
    source: str
    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any]


@tracer.capture_method
def handle_record(record: SQSRecord) -> str:
    settings = prepare()
    event = BusEvent.model_validate(json.loads(record.body))
    logger.set_correlation_id(event.detail.get("order_id"))
    logger.append_keys(event_id=event.id)
    if event.detail_type == "ShipmentConfirmed":
        status = confirm_shipment(
            ShipmentConfirmed.model_validate(event.detail),
            invoice_queue_url=settings.require("invoice_queue_url"),
            now=now(),
            notifications_queue_url=settings.channel_notifications_queue_url or None,
        )
    elif event.detail_type == "TrackingUpdated":
        status = apply_tracking(
            TrackingUpdated.model_validate(event.detail),
            now=now(),
            notifications_queue_url=settings.channel_notifications_queue_url or None,
        )
    else:
        raise ValueError(f"unexpected detail-type {event.detail_type!r} from {event.source}")
    return status.value


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
