"""Reconciliation, step 1: the period's orders in segments (S3 manifest) for the workflow's Map."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.observability import logger, metrics, tracer
from oms.reconciliation.runs import plan
from oms.runtime import prepare, transient_errors_retryable
from reconcile.models import PlanInput, PlanOutput


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    request = PlanInput.model_validate(event)
    period, as_of = request.period_and_clock()
    made = plan(
        run_id=request.run_id,
        period=period,
        as_of=as_of,
        bucket=settings.require("finance_bucket"),
        segment_size=int(settings.reconciliation_segment_size or 500),
    )
    logger.info("reconciliation planned", extra={"period": period, "orders": made.orders})
    return PlanOutput(
        run_id=made.run_id,
        period=made.period,
        as_of=made.as_of,
        bucket=made.bucket,
        run_prefix=made.run_prefix,
        manifest_key=made.manifest_key,
        segments=made.segments,
        orders=made.orders,
        cash_subjects=made.cash_subjects,
    ).model_dump(mode="json")
