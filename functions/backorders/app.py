"""Stock came back (a receipt, a released reservation): serve the SKU's backorder queue, oldest first.

EventBridge (StockReceived, StockReleased) -> SQS -> this function, in partial batches. Each SKU of a
batch is served once, whatever the number of its messages; a failed SKU's messages come back alone.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from oms.domain.order import Sku
from oms.logic.backorders import serve_backorders
from oms.observability import logger, metrics, tracer
from oms.policies import allocation_policy
from oms.runtime import now, prepare

processor = BatchProcessor(event_type=EventType.SQS)


class StockReturned(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sku: Sku


class StockEvent(BaseModel):
    """The EventBridge envelope as the rule delivers it to the queue."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str
    source: str
    detail_type: str = Field(alias="detail-type")
    detail: StockReturned


class ServeOutput(BaseModel):
    sku: str
    allocated: list[str]
    still_waiting_head: str | None


@tracer.capture_method
def handle_record(record: SQSRecord) -> dict[str, Any]:
    settings = prepare()
    event = StockEvent.model_validate(json.loads(record.body))
    logger.append_keys(event_id=event.id, sku=event.detail.sku)
    result = serve_backorders(
        event.detail.sku,
        policy=allocation_policy(settings),
        workflow_arn=settings.require("order_workflow_arn"),
        now=now(),
    )
    return ServeOutput(
        sku=result.sku, allocated=result.allocated, still_waiting_head=result.still_waiting_head
    ).model_dump()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
