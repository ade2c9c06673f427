"""GET /orders/{order_id}: an order with its status, allocation, invoice and history."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from oms.data.orders import get_order, to_view
from oms.domain.errors import OrderNotFoundError
from oms.observability import logger, metrics, tracer
from oms.runtime import OrderRef, prepare

app = APIGatewayHttpResolver()


@app.exception_handler(OrderNotFoundError)
def _not_found(error: OrderNotFoundError) -> Response:
    return Response(404, content_types.APPLICATION_JSON, {"error": error.code, "reason": error.reason})


@app.exception_handler(ValidationError)
def _bad_id(error: ValidationError) -> Response:
    return Response(
        400, content_types.APPLICATION_JSON, {"error": "INVALID_ORDER_ID", "reason": "malformed order id"}
    )


@app.get("/orders/<order_id>")
@tracer.capture_method
def get_order_view(order_id: str) -> Response:
    prepare()
    ref = OrderRef(order_id=order_id)
    logger.set_correlation_id(ref.order_id)
    view = to_view(get_order(ref.order_id, consistent=False))
    return Response(200, content_types.APPLICATION_JSON, view.model_dump_json())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
