"""Workflow task: reserve stock across warehouses; the order becomes ALLOCATED, or BACKORDERED when short."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from oms.logic.allocation import allocate_order
from oms.observability import logger, metrics, tracer
from oms.policies import allocation_policy
from oms.runtime import OrderRef, now, prepare, transient_errors_retryable


class AllocationOutput(BaseModel):
    order_id: str
    outcome: str
    reason: str


@logger.inject_lambda_context(correlation_id_path="order_id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    ref = OrderRef.model_validate(event)
    result = allocate_order(
        ref.order_id, policy=allocation_policy(settings), now=now(), amendment=ref.amendment
    )
    outcome = "SUPERSEDED" if result.superseded else result.outcome.value
    return AllocationOutput(order_id=ref.order_id, outcome=outcome, reason=result.reason).model_dump()
