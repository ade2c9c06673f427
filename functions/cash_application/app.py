"""`InvoiceIssued` events (EventBridge -> SQS): what was paid at the channel's checkout is recorded and
applied, then the customer's open credit (a card payment made before shipment, an overpayment, a credit
note) is applied to the new invoice. Idempotent: a second delivery finds everything applied."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.cash.service import on_invoice_issued
from oms.domain.order import SafeId
from oms.observability import logger, metrics, tracer
from oms.policies import cash_policy
from oms.runtime import now, prepare

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def handle_record(record: SQSRecord) -> str:
    settings = prepare()
    detail = json.loads(record.body).get("detail") or {}
    order_id: SafeId = str(detail["order_id"])
    logger.set_correlation_id(order_id)
    applied = on_invoice_issued(order_id, at=now(), policy=cash_policy(settings))
    return ",".join(applied)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
