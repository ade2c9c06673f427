"""Bank statement files dropped into the statements bucket's `statements/` prefix: S3 tells EventBridge, a
rule queues the `Object Created` event, and each is imported once (decision 0034). A file that cannot be read
is recorded as REJECTED with an exception record; an import that fails (AWS trouble) comes back from the
queue and finishes what the first attempt did not, then the DLQ."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.cash.intake import import_statement
from oms.observability import logger, metrics, tracer
from oms.policies import cash_policy
from oms.runtime import now, prepare

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def handle_record(record: SQSRecord) -> str:
    settings = prepare()
    event = json.loads(record.body)
    detail = event.get("detail") or {}
    bucket = str((detail.get("bucket") or {}).get("name", ""))
    key = unquote_plus(str((detail.get("object") or {}).get("key", "")))
    if bucket != settings.require("statements_bucket") or not key:
        raise ValueError(f"not a statement of this stack's bucket: {bucket}/{key}")
    logger.append_keys(statement_key=key)
    outcome = import_statement(bucket=bucket, key=key, at=now(), policy=cash_policy(settings))
    logger.debug(
        "statement", extra={"state": outcome.state, "duplicate": outcome.duplicate, "reason": outcome.reason}
    )
    return outcome.state


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
