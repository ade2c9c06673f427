"""Reconciliation, step 2: the stock items against their ledger, and the DLQs, once per run."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.observability import logger, metrics, tracer
from oms.reconciliation.runs import check_ledgers, context_for
from oms.runtime import prepare, transient_errors_retryable
from reconcile.models import PlanOutput, dead_letter_queues, invoice_grace_minutes, unapplied_cash_days


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    run = PlanOutput.model_validate(event["plan"])
    result = check_ledgers(
        dead_letter_queues(settings),
        context=context_for(
            run.period, run.as_of, invoice_grace_minutes(settings), unapplied_cash_days(settings)
        ),
    )
    return result.as_dict()
