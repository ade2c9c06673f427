"""Workflow task: reserve stock across warehouses; the order becomes ALLOCATED, or BACKORDERED when short."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from oms.logic.allocation import allocate_order
from oms.observability import logger, metrics, tracer
from oms.policies import allocation_policy
from oms.runtime import OrderRef, now, prepare


class AllocationOutput(BaseModel):
    order_id: str
    outcome: str
    reason: str


@logger.inject_lambda_context(correlation_id_path="order_id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    ref = OrderRef.model_validate(event)
    result = allocate_order(ref.order_id, policy=allocation_policy(settings), now=now())
    return AllocationOutput(
        order_id=ref.order_id, outcome=result.outcome.value, reason=result.reason
    ).model_dump()
