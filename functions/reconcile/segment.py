"""Reconciliation, step 3 (one Map item): the order-scope checks over one segment of the period's orders."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.observability import logger, metrics, tracer
from oms.reconciliation.runs import check_segment, context_for
from oms.runtime import prepare, transient_errors_retryable
from reconcile.models import SegmentInput, invoice_grace_minutes, unapplied_cash_days


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    request = SegmentInput.model_validate(event)
    run = request.plan
    result = check_segment(
        request.segment.segment_key,
        bucket=run.bucket,
        context=context_for(
            run.period, run.as_of, invoice_grace_minutes(settings), unapplied_cash_days(settings)
        ),
        result_key=f"{run.run_prefix}/results/{request.index:05d}.json",
    )
    return result.as_dict()
