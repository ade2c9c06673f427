"""Workflow compensation: a step failed; release the order's stock once and mark it FAILED with the cause."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from oms.logic.compensation import fail_order
from oms.observability import logger, metrics, tracer
from oms.runtime import OrderRef, now, prepare, transient_errors_retryable


class StepError(BaseModel):
    Error: str = "Unknown"
    Cause: str = ""


class CompensationInput(OrderRef):
    error: StepError = Field(default_factory=StepError)
    failed_step: str | None = None


class CompensationOutput(BaseModel):
    order_id: str
    outcome: str


@logger.inject_lambda_context(correlation_id_path="order_id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    request = CompensationInput.model_validate(event)
    outcome = fail_order(
        request.order_id,
        error=request.error.Error,
        cause=request.error.Cause,
        step=request.failed_step,
        amendment=request.amendment,
        event_bus=settings.require("event_bus_name"),
        now=now(),
    )
    return CompensationOutput(order_id=request.order_id, outcome=outcome).model_dump()
