"""Daily (EventBridge Scheduler): the receivables snapshot of the planned day: aging with the not-yet-due
bucket, DSO (standard and countback), lateness per customer, the weekly cash forecast and the backtest of
the forecast made four weeks before; JSON in S3 under `receivables/aging/date=<day>/`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict

from oms.cash.collections import aging_snapshot
from oms.observability import logger, metrics, tracer
from oms.policies import cash_policy
from oms.runtime import now, prepare


class ScheduledEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    time: AwareDatetime


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    scheduled = ScheduledEvent.model_validate(event)
    report = aging_snapshot(
        day=scheduled.time.date(),
        policy=cash_policy(settings),
        bucket=settings.require("documents_bucket"),
        generated_at=now(),
    )
    return {"as_of": report["as_of"], "outstanding": report["outstanding"], "dso": report["dso"]}
