"""Approval workflow tasks (statemachine/approval.asl.json): where an approval stands, open a level with its
task token, escalate or expire a level whose SLA passed, apply the outcome to the order."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from oms.governance.approvals import breach, next_step, open_level, settle
from oms.observability import logger, metrics, tracer
from oms.runtime import now, prepare, transient_errors_retryable


class ApprovalTask(BaseModel):
    action: Literal["next", "open", "breach", "settle"]
    approval_id: str = Field(pattern=r"^apr_[0-9a-f]{24}$")
    level_index: int = Field(default=0, ge=0, le=10)
    escalations: int = Field(default=0, ge=0, le=10)
    task_token: str | None = Field(default=None, max_length=2048)


@logger.inject_lambda_context(correlation_id_path="approval_id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    task = ApprovalTask.model_validate(event)
    at = now()
    if task.action == "next":
        return next_step(task.approval_id, now=at).model_dump(mode="json")
    if task.action == "open":
        if not task.task_token:
            raise ValueError("open needs the task token")
        open_level(
            task.approval_id,
            level_index=task.level_index,
            escalations=task.escalations,
            task_token=task.task_token,
            now=at,
        )
        return {"opened": task.approval_id}
    if task.action == "breach":
        breach(task.approval_id, level_index=task.level_index, escalations=task.escalations, now=at)
        return {"breached": task.approval_id}
    outcome = settle(
        task.approval_id,
        workflow_arn=settings.require("order_workflow_arn"),
        event_bus=settings.require("event_bus_name"),
        now=at,
    )
    return {"outcome": outcome}
