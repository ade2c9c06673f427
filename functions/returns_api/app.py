"""Returns (JWT): `POST /returns` authorizes an RMA over lines of one customer's invoiced orders
(`oms/returns.write`); `POST /returns/{rma_id}/receipts` records the goods arriving in the warehouse
(`oms/returns.receive`): restocked or scrapped through the stock ledger, then the credit note is issued
(gapless number, PDF and JSON in S3) and applied. `GET /returns/{rma_id}` (`oms/receivables.read`)."""

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
    guard_json_bodies,
    oms_error_status,
    problem,
    problem_responses,
    user_principal,
    validation_problem,
)
from oms.cash.returns import (
    ReturnRefusedError,
    ReturnRequest,
    Seller,
    UnknownReturnError,
    create_return,
    receive_return,
)
from oms.data.models import ReturnLineAttribute, ReturnRecord
from oms.domain.errors import OmsError
from oms.domain.stock_movements import StockBelowReservedError
from oms.logic.stock_movements import adjustment, receipt
from oms.observability import logger, metrics, tracer
from oms.policies import cash_policy, seller_lines
from oms.runtime import now, prepare

app = APIGatewayHttpResolver(enable_validation=True)
guard_json_bodies(app)

ID = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,79}$"

_STATUS: dict[type[OmsError], int] = {
    NotAuthenticatedError: 401,
    UnknownReturnError: 404,
    ReturnRefusedError: 409,
    StockBelowReservedError: 409,
}


@app.exception_handler(OmsError)
def _refused(error: OmsError) -> Response[Problem]:
    return problem(oms_error_status(error, _STATUS), error.code, error.reason)


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Problem]:
    return validation_problem(error)


def _user() -> str:
    return user_principal(app.current_event.request_context.authorizer.jwt_claim)


def _view(record: ReturnRecord) -> dict[str, Any]:
    return {
        "rma_id": record.rma_id,
        "customer_id": record.customer_id,
        "currency": record.currency,
        "amount": str(record.amount),
        "resolution": record.resolution,
        "state": record.state,
        "reason": record.reason,
        "credit_note_id": record.credit_note_id,
        "created_by": record.created_by,
        "received_by": record.received_by,
        "lines": [
            {
                "order_id": line.order_id,
                "invoice_number": line.invoice_number,
                "sku": line.sku,
                "quantity": int(line.quantity),
                "amount": str(line.amount),
                "disposition": line.disposition,
                "warehouse_id": line.warehouse_id,
            }
            for line in record.lines
        ],
    }


def _previous_returns(request: ReturnRequest) -> list[ReturnRecord]:
    orders = {line.order_id for line in request.lines}
    return [r for r in ReturnRecord.scan() if any(line.order_id in orders for line in r.lines)]


@app.post(
    "/returns",
    summary="Authorize a return (RMA) of lines of one customer's invoiced orders",
    responses={201: {"description": "Authorized (or the same RMA again)"}}
    | problem_responses(400, 401, 403, 409, 415, 422),
    tags=["returns"],
)
@tracer.capture_method
def post_return(body: Annotated[ReturnRequest, Body()]) -> Response[dict[str, Any]]:
    prepare()
    record = create_return(body, by=_user(), at=now(), previous=_previous_returns(body))
    return Response(201, content_types.APPLICATION_JSON, _view(record))


@app.post(
    "/returns/<rma_id>/receipts",
    summary="The returned goods arrived: restock or scrap each line, issue and apply the credit note",
    responses={200: {"description": "Received and credited"}} | problem_responses(400, 401, 403, 404, 409),
    tags=["returns"],
)
@tracer.capture_method
def post_receipt(rma_id: Annotated[str, Path(pattern=ID)]) -> Response[dict[str, Any]]:
    settings = prepare()
    user, at = _user(), now()

    def move_stock(line: ReturnLineAttribute, reference: str) -> None:
        note = f"return {rma_id} of order {line.order_id}"
        receipt(
            line.sku, line.warehouse_id, int(line.quantity), reference=reference, note=note, by=user, now=at
        )
        if line.disposition == "SCRAP":
            adjustment(
                line.sku,
                line.warehouse_id,
                -int(line.quantity),
                reference=f"{reference}-SCRAP",
                reason=f"{note}: scrapped",
                by=user,
                now=at,
            )

    record = receive_return(
        rma_id,
        by=user,
        at=at,
        bucket=settings.require("documents_bucket"),
        seller=Seller(seller_lines(settings)),
        policy=cash_policy(settings),
        move_stock=move_stock,
    )
    return Response(200, content_types.APPLICATION_JSON, _view(record))


@app.get(
    "/returns/<rma_id>",
    summary="A return, its lines and its credit note",
    responses={200: {"description": "The return"}} | problem_responses(400, 401, 403, 404),
    tags=["returns"],
)
@tracer.capture_method
def get_return(rma_id: Annotated[str, Path(pattern=ID)]) -> Response[dict[str, Any]]:
    prepare()
    try:
        record = ReturnRecord.get(rma_id, consistent_read=True)
    except ReturnRecord.DoesNotExist:
        raise UnknownReturnError(f"no return {rma_id}") from None
    return Response(200, content_types.APPLICATION_JSON, _view(record))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
