"""Scheduled (every 15 minutes): release reservations past their hold time, escalate overdue backorders,
resume allocated orders whose workflow was lost.

The scheduled event's `time` is the sweep's "now", so a sweep retried later judges by the same clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict

from oms.logic.backorders import sweep
from oms.observability import logger, metrics, tracer
from oms.runtime import prepare


class ScheduledEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    time: AwareDatetime


class SweepOutput(BaseModel):
    swept_at: datetime
    reservations_expired: list[str]
    backorders_escalated: list[str]
    allocations_resumed: list[str]
    outboxes_flushed: list[str]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    scheduled = ScheduledEvent.model_validate(event)
    result = sweep(
        event_bus=settings.require("event_bus_name"),
        workflow_arn=settings.require("order_workflow_arn"),
        now=scheduled.time,
    )
    return SweepOutput(
        swept_at=scheduled.time,
        reservations_expired=result.reservations_expired,
        backorders_escalated=result.backorders_escalated,
        allocations_resumed=result.allocations_resumed,
        outboxes_flushed=result.outboxes_flushed,
    ).model_dump(mode="json")
