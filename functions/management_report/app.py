"""Monthly (EventBridge Scheduler, the 1st at 04:00 UTC): the management report of the month before, a PDF
with charts of aging, DSO, cycle time and exceptions, drawn from that month's finance exports and written
to the finance bucket under `reports/monthly/<YYYY-MM>/`. A person runs any month with
`python -m ops report monthly --month YYYY-MM`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from oms.finance.management_report import previous_month
from oms.finance.monthly import publish_monthly_report
from oms.observability import MetricUnit, logger, metrics, tracer
from oms.runtime import now, prepare, transient_errors_retryable


class ReportRequest(BaseModel):
    """The Scheduler's planned time (the month before it is reported), or a month by hand."""

    model_config = ConfigDict(extra="ignore")

    time: AwareDatetime | None = None
    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")

    @model_validator(mode="after")
    def _one_of(self) -> ReportRequest:
        if self.time is None and self.month is None:
            raise ValueError("give `time` (the Scheduler's) or `month` (YYYY-MM)")
        return self

    def the_month(self) -> str:
        if self.month is not None:
            return self.month
        assert self.time is not None
        return previous_month(self.time.date())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    request = ReportRequest.model_validate(event)
    report = publish_monthly_report(
        request.the_month(), bucket=settings.require("finance_bucket"), generated_at=now()
    )
    metrics.add_metric("ManagementReportsWritten", MetricUnit.Count, 1)
    logger.info("management report written", extra={"month": report.month, "key": report.key})
    return {
        "month": report.month,
        "key": report.key,
        "bytes": report.bytes,
        "files_read": report.files_read,
        "summary": report.figures.summary,
    }
