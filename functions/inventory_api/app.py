"""The inventory API (JWT-authenticated): stock per warehouse, and receipts, adjustments and cycle counts,
each recorded in the stock ledger with the user who sent it."""

# No `from __future__ import annotations` here: Powertools reads the route signatures' annotations at
# run time to validate parameters and to generate the OpenAPI document.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.api import (
    NotAuthenticatedError,
    Problem,
    StockProblem,
    guard_json_bodies,
    oms_error_status,
    problem,
    problem_responses,
    user_principal,
    validation_problem,
)
from oms.domain.errors import OmsError
from oms.domain.stock_movements import (
    AdjustmentBody,
    CountBody,
    InvalidMovementError,
    Movement,
    NoStockRecordError,
    ReceiptBody,
    ReferenceReusedError,
    StockBelowReservedError,
    StockChangedError,
    StockView,
    UnknownSkuError,
    UnknownWarehouseError,
)
from oms.logic.stock_movements import MovementResult, adjustment, cycle_count, receipt, stock_view
from oms.observability import logger, metrics, tracer
from oms.runtime import now, prepare

app = APIGatewayHttpResolver(enable_validation=True)
guard_json_bodies(app)

SKU = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"

_STATUS: dict[type[OmsError], int] = {
    NotAuthenticatedError: 401,
    UnknownSkuError: 404,
    UnknownWarehouseError: 404,
    NoStockRecordError: 404,
    ReferenceReusedError: 409,
    StockChangedError: 409,
    InvalidMovementError: 422,
}

_DESCRIBED = {
    404: "Unknown SKU or warehouse, or no stock record to adjust or count",
    409: "Refused: on hand would fall below reserved (STOCK_BELOW_RESERVED, with the numbers), the "
    "reference was used for another quantity (REFERENCE_REUSED), or stock kept changing (STOCK_CHANGED)",
    422: "The body is not a valid movement (the reason names the field)",
}


def _movement_responses() -> dict[int, Any]:
    answer = {"content": {"application/json": {"model": Movement}}}
    return (
        {
            201: {"description": "Recorded", **answer},
            200: {"description": "Already recorded under this reference; nothing changed", **answer},
        }
        | problem_responses(400, 401, 403, 404, 415, 422, described=_DESCRIBED)
        | {409: {"description": _DESCRIBED[409], "content": {"application/json": {"model": StockProblem}}}}
    )


@app.exception_handler(StockBelowReservedError)
def _below_reserved(error: StockBelowReservedError) -> Response[StockProblem]:
    body = StockProblem(
        error=error.code,
        reason=error.reason,
        on_hand=error.on_hand,
        reserved=error.reserved,
        available=error.on_hand - error.reserved,
        quantity_change=error.change,
    )
    return Response(409, content_types.APPLICATION_JSON, body)


@app.exception_handler(OmsError)
def _refused(error: OmsError) -> Response[Problem]:
    return problem(oms_error_status(error, _STATUS), error.code, error.reason)


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Problem]:
    return validation_problem(error)


def _answer(result: MovementResult) -> Response[Movement]:
    logger.append_keys(movement_id=result.movement.movement_id, duplicate=not result.created)
    return Response(201 if result.created else 200, content_types.APPLICATION_JSON, result.movement)


def _user() -> str:
    return user_principal(app.current_event.request_context.authorizer.jwt_claim)


@app.get(
    "/inventory/<sku>",
    summary="Stock of a SKU in every warehouse: on hand, reserved, available, reorder point, low-stock flag",
    responses={200: {"description": "The stock", "content": {"application/json": {"model": StockView}}}}
    | problem_responses(400, 401, 403, 404, described={404: "The SKU is not in the catalog"}),
    tags=["inventory"],
)
@tracer.capture_method
def get_stock(sku: Annotated[str, Path(pattern=SKU)]) -> Response[StockView]:
    prepare()
    return Response(200, content_types.APPLICATION_JSON, stock_view(sku))


@app.post(
    "/inventory/<sku>/receipts",
    summary="Record goods received into a warehouse",
    description="Idempotent per `reference`: the same reference again answers 200 with the recorded "
    "receipt and changes nothing. Publishes StockReceived.",
    responses=_movement_responses(),
    tags=["inventory"],
)
@tracer.capture_method
def post_receipt(
    sku: Annotated[str, Path(pattern=SKU)], body: Annotated[ReceiptBody, Body()]
) -> Response[Movement]:
    prepare()
    result = receipt(
        sku,
        body.warehouse_id,
        body.quantity,
        reference=body.reference,
        note=body.note,
        by=_user(),
        now=now(),
    )
    return _answer(result)


@app.post(
    "/inventory/<sku>/adjustments",
    summary="Correct on-hand stock by a signed quantity, with the reason",
    description="Refused with 409 STOCK_BELOW_RESERVED when on hand would fall below the units reserved for "
    "orders. Idempotent per `reference`.",
    responses=_movement_responses(),
    tags=["inventory"],
)
@tracer.capture_method
def post_adjustment(
    sku: Annotated[str, Path(pattern=SKU)], body: Annotated[AdjustmentBody, Body()]
) -> Response[Movement]:
    prepare()
    result = adjustment(
        sku,
        body.warehouse_id,
        body.quantity_change,
        reference=body.reference,
        reason=body.reason,
        by=_user(),
        now=now(),
    )
    return _answer(result)


@app.post(
    "/inventory/<sku>/counts",
    summary="Record a cycle count: on hand becomes the counted units",
    description="The ledger records the difference. Refused with 409 STOCK_BELOW_RESERVED when fewer "
    "units were counted than are reserved. Idempotent per `reference`.",
    responses=_movement_responses(),
    tags=["inventory"],
)
@tracer.capture_method
def post_count(
    sku: Annotated[str, Path(pattern=SKU)], body: Annotated[CountBody, Body()]
) -> Response[Movement]:
    prepare()
    result = cycle_count(
        sku,
        body.warehouse_id,
        body.counted,
        reference=body.reference,
        reason=body.reason,
        by=_user(),
        now=now(),
    )
    return _answer(result)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
