"""Invoice requests from SQS: a numbered invoice record, a PDF and a JSON document in S3, per order once."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.logic.invoicing import SellerProfile, issue_invoice
from oms.observability import logger, metrics, tracer
from oms.runtime import OrderRef, now, prepare

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def handle_record(record: SQSRecord) -> str:
    settings = prepare()
    ref = OrderRef.model_validate(json.loads(record.body))
    logger.set_correlation_id(ref.order_id)
    seller = SellerProfile.model_validate(
        parameters.get_parameter(settings.require("seller_profile_parameter"), transform="json", max_age=300)
    )
    invoice = issue_invoice(
        ref.order_id, bucket=settings.require("documents_bucket"), seller=seller, now=now()
    )
    return invoice.invoice_number


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
