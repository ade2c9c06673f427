"""GET /orders/{order_id}: an order with its status, allocation, invoice and history.
POST /allocations/preview: the allocation dry run. JWT-authenticated, read-only."""

# No `from __future__ import annotations` here: Powertools reads the route signatures' annotations at
# run time to validate parameters and to generate the OpenAPI document.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.api import Problem, guard_json_bodies, problem, problem_responses, validation_problem
from oms.domain.allocation import AllocationPreview, AllocationPreviewRequest
from oms.domain.audit import AuditTrailView
from oms.domain.errors import OrderNotFoundError
from oms.domain.order import OrderView
from oms.governance.audit_trail import order_audit
from oms.governance.duties import Identity
from oms.logic.allocation import preview_allocation
from oms.logic.order_view import order_view
from oms.observability import logger, metrics, tracer
from oms.policies import allocation_policy
from oms.privacy.access import PERSONAL_READ_SCOPE, masked, may_read_personal
from oms.runtime import now, prepare

app = APIGatewayHttpResolver(enable_validation=True)
guard_json_bodies(app)

ORDER_ID = r"^ord_[0-9a-f]{24}$"


@app.exception_handler(OrderNotFoundError)
def _not_found(error: OrderNotFoundError) -> Response[Problem]:
    return problem(404, error.code, error.reason)


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Problem]:
    return validation_problem(error)


def _may_read_personal() -> bool:
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    return may_read_personal(Identity.from_claims("", claims).scopes)


@app.get(
    "/orders/<order_id>",
    summary="An order with its status, price breakdown, allocation, invoice and full history",
    description="The customer's name and e-mail and the shipping address are masked (`J***`, "
    f"`a***@example.com`, `100**`) unless the token carries the scope `{PERSONAL_READ_SCOPE}` "
    "(decision 0055).",
    responses={200: {"description": "The order", "content": {"application/json": {"model": OrderView}}}}
    | problem_responses(400, 401, 403, 404),
    tags=["orders"],
)
@tracer.capture_method
def get_order_view(order_id: Annotated[str, Path(pattern=ORDER_ID)]) -> Response[OrderView]:
    prepare()
    logger.set_correlation_id(order_id)
    view = order_view(order_id)
    if not _may_read_personal():
        view = masked(view)
    return Response(200, content_types.APPLICATION_JSON, view)


@app.get(
    "/orders/<order_id>/audit",
    summary="The order's audit trail: every change and human action, hash-chained, verified",
    description="Each entry: who, when, what, the attributes before and after, why, the request; its hash "
    "and the previous entry's. `intact` says whether every entry still matches its hash and chain; "
    "`findings` name the entries that do not (signed digests are checked by `python -m ops audit verify`). "
    "Scope `oms/audit.read`.",
    responses={
        200: {"description": "The audit trail", "content": {"application/json": {"model": AuditTrailView}}}
    }
    | problem_responses(400, 401, 403, 404),
    tags=["orders"],
)
@tracer.capture_method
def get_order_audit(order_id: Annotated[str, Path(pattern=ORDER_ID)]) -> Response[AuditTrailView]:
    prepare()
    logger.set_correlation_id(order_id)
    return Response(200, content_types.APPLICATION_JSON, order_audit(order_id))


@app.post(
    "/allocations/preview",
    summary="Allocation dry run: what allocation would do now for an order, or for lines, without reserving",
    description="Give `order_id`, or `lines` with `ship_to` (and optionally `channel` and `customer_id`, "
    "whose allocation rules then apply). Answers which warehouses would ship what and why, what is short, "
    "and whether the order would be allocated, backordered or split. Nothing is written.",
    responses={
        200: {"description": "The decision", "content": {"application/json": {"model": AllocationPreview}}}
    }
    | problem_responses(400, 401, 403, 404, 415, 422),
    tags=["orders"],
)
@tracer.capture_method
def post_allocation_preview(
    request: Annotated[AllocationPreviewRequest, Body()],
) -> Response[AllocationPreview]:
    settings = prepare()
    if request.order_id:
        logger.set_correlation_id(request.order_id)
    preview = preview_allocation(request, policy=allocation_policy(settings), now=now())
    return Response(200, content_types.APPLICATION_JSON, preview)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
