"""Hourly (EventBridge Scheduler): sign a digest of every audit chain that grew in each full hour since the
last digest, and lock it in S3 (decision 0026). The schedule's planned time is the run's clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from oms.governance.digests import run_digests
from oms.observability import MetricUnit, logger, metrics, tracer
from oms.runtime import now, prepare


class DigestRequest(BaseModel):
    time: datetime | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    request = DigestRequest.model_validate(event or {})
    run = run_digests(
        now=request.time or now(),
        bucket=settings.require("audit_digests_bucket"),
        key_id=settings.require("audit_signing_key_id"),
    )
    metrics.add_metric(name="AuditDigestsWritten", unit=MetricUnit.Count, value=len(run.written))
    return {"written": run.written, "chains": run.chains}
