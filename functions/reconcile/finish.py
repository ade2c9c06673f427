"""Reconciliation, step 4: escalate what is past its SLA, sum the run up, emit the exception metrics."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.observability import MetricUnit, dimensioned_metric, logger, metrics, tracer
from oms.reconciliation.runs import context_for, finish
from oms.runtime import prepare, transient_errors_retryable
from reconcile.models import FinishInput, invoice_grace_minutes, unapplied_cash_days


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    request = FinishInput.model_validate(event)
    run = request.plan
    summary = finish(
        bucket=run.bucket,
        prefix=run.run_prefix,
        context=context_for(
            run.period, run.as_of, invoice_grace_minutes(settings), unapplied_cash_days(settings)
        ),
        ledgers=request.ledgers,
    )
    metrics.add_metric("ReconciliationExceptionsOpen", MetricUnit.Count, sum(summary.open_by_kind.values()))
    metrics.add_metric("ReconciliationExceptionsPastSla", MetricUnit.Count, summary.past_sla)
    metrics.add_metric("ReconciliationExceptionsEscalated", MetricUnit.Count, len(summary.escalated))
    metrics.add_metric("ReconciliationOrdersJudged", MetricUnit.Count, summary.orders_judged)
    metrics.add_metric("ReconciliationCashSubjectsJudged", MetricUnit.Count, summary.cash_judged)
    for kind, count in summary.open_by_kind.items():  # the finance dashboard's exceptions by type
        dimensioned_metric("ReconciliationExceptionsOpenByKind", MetricUnit.Count, count, kind=kind)
    logger.info("reconciliation finished", extra={"summary": asdict(summary)})
    return asdict(summary)
