"""Workflow task: publish FulfillmentRequested per warehouse; the order becomes FULFILLMENT_REQUESTED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from oms.logic.fulfillment import Superseded, request_fulfillment
from oms.observability import logger, metrics, tracer
from oms.runtime import OrderRef, now, prepare, transient_errors_retryable


class FulfillmentOutput(BaseModel):
    order_id: str
    outcome: str
    warehouses: list[str]


@logger.inject_lambda_context(correlation_id_path="order_id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    ref = OrderRef.model_validate(event)
    try:
        requests = request_fulfillment(
            ref.order_id, event_bus=settings.require("event_bus_name"), now=now(), amendment=ref.amendment
        )
    except Superseded:
        return FulfillmentOutput(order_id=ref.order_id, outcome="SUPERSEDED", warehouses=[]).model_dump()
    return FulfillmentOutput(
        order_id=ref.order_id,
        outcome="FULFILLMENT_REQUESTED" if requests else "CANCELLED",
        warehouses=[r.warehouse_id for r in requests],
    ).model_dump()
