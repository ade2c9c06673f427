"""Daily (EventBridge Scheduler): the finance export of the days before the planned time, as Parquet in S3
for Athena, and the day's KPIs as EMF metrics. The last `days` days are restated each night, so shipments,
invoices and deliveries that came after a day was first exported reach its partition."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from oms.finance.export import export_day
from oms.observability import MetricUnit, dimensioned_metric, logger, metrics, tracer
from oms.privacy.keys import pseudonym_key
from oms.runtime import prepare, transient_errors_retryable

KPI_METRICS = {
    "cycle_time_p50_hours": ("OrderCycleTimeP50", MetricUnit.Seconds),
    "cycle_time_p90_hours": ("OrderCycleTimeP90", MetricUnit.Seconds),
    "perfect_order_rate_product": ("PerfectOrderRateProduct", MetricUnit.Percent),
    "perfect_order_rate_all": ("PerfectOrderRateAllCriteria", MetricUnit.Percent),
    "invoice_accuracy": ("InvoiceAccuracy", MetricUnit.Percent),
    "on_time_shipment_rate": ("OnTimeShipment", MetricUnit.Percent),
    "fill_rate": ("FillRate", MetricUnit.Percent),
    "gross_margin_pct": ("GrossMarginPct", MetricUnit.Percent),
    "dso_standard_days": ("DaysSalesOutstanding", MetricUnit.Count),
    "dso_countback_days": ("DaysSalesOutstandingCountback", MetricUnit.Count),
}


class ExportRequest(BaseModel):
    """The Scheduler's planned time (the days before it are exported), or the days to export by hand."""

    model_config = ConfigDict(extra="ignore")

    time: AwareDatetime | None = None
    days: list[date] = Field(default_factory=list, max_length=31)
    restate_days: int = Field(default=3, ge=1, le=31)

    def periods(self) -> list[str]:
        if self.days:
            return sorted({d.isoformat() for d in self.days})
        if self.time is None:
            raise ValueError("give `time` (the Scheduler's) or `days`")
        first = self.time.date() - timedelta(days=self.restate_days)
        return [(first + timedelta(days=n)).isoformat() for n in range(self.restate_days)]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    request = ExportRequest.model_validate(event)
    ship_within = timedelta(hours=int(settings.ship_within_hours or 48))
    exported: list[dict[str, Any]] = []
    day = None
    for period in request.periods():
        day = export_day(
            period,
            finance_bucket=settings.require("finance_bucket"),
            documents_bucket=settings.require("documents_bucket"),
            ship_within=ship_within,
            pseudonym_key=pseudonym_key(settings),
        )
        exported.append({"period": day.period, "rows": day.rows, "kpis": _jsonable(day.kpis)})
    latest = exported[-1]["kpis"]
    for field_name, (metric, unit) in KPI_METRICS.items():
        value = latest.get(field_name)
        if value is not None:
            scale = {MetricUnit.Percent: 100, MetricUnit.Seconds: 3600}.get(unit, 1)
            scaled = float(value) * scale
            metrics.add_metric(metric, unit, scaled)
    metrics.add_metric("GrossMargin", MetricUnit.Count, float(latest["gross_margin"]))
    metrics.add_metric("OrdersExported", MetricUnit.Count, sum(e["rows"]["orders"] for e in exported))
    if day is not None:  # the finance dashboard: the latest day's receivables, per currency and bucket
        _receivables_metrics(day.receivables, day.aging)
    return {"exported": exported}


RECEIVABLES_METRICS = {
    "outstanding": "ReceivablesOutstanding",
    "unapplied_credit": "UnappliedCredit",
    "payments_received": "PaymentsReceived",
    "cash_applied": "CashApplied",
    "credit_applied": "CreditApplied",
    "dso_standard_days": "DaysSalesOutstanding",
}


def _receivables_metrics(rows: list[dict[str, Any]], aging: dict[tuple[str, str], Any]) -> None:
    for row in rows:
        for column, metric in RECEIVABLES_METRICS.items():
            if row.get(column) is not None:
                dimensioned_metric(metric, MetricUnit.Count, float(row[column]), currency=row["currency"])
    for (currency, bucket), amount in sorted(aging.items()):
        dimensioned_metric(
            "AgingOutstanding", MetricUnit.Count, float(amount), currency=currency, bucket=bucket
        )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if not isinstance(v, int | float | type(None)) else v) for k, v in values.items()}
