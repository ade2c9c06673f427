"""Daily (EventBridge Scheduler): overdue invoices marked, dunning letters for each level reached (PDF in S3,
`DunningLetterIssued`), credit hold at the last level. The schedule's planned time is the run's day, so a
retried run judges by the same day (and finds the letters it recorded)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict

from oms.cash.collections import dunning_run
from oms.observability import logger, metrics, tracer
from oms.policies import cash_policy, seller_lines
from oms.runtime import prepare


class ScheduledEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    time: AwareDatetime


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    scheduled = ScheduledEvent.model_validate(event)
    outcome = dunning_run(
        day=scheduled.time.date(),
        at=scheduled.time,
        policy=cash_policy(settings),
        bucket=settings.require("documents_bucket"),
        seller_lines=seller_lines(settings),
    )
    return {
        "day": outcome.day.isoformat(),
        "marked_overdue": outcome.marked_overdue,
        "letters": outcome.letters,
        "credit_holds": outcome.credit_holds,
    }
