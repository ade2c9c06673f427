"""POST /orders: orders entered by a person in the ERP / sales portal (JWT-authenticated); the entering user
is recorded on the order, because approval rules depend on who entered it."""

# No `from __future__ import annotations` here: Powertools reads the route signatures' annotations at
# run time to validate parameters and to generate the OpenAPI document.

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.api import (
    Accepted,
    NotAuthenticatedError,
    Problem,
    oms_error_status,
    problem,
    problem_responses,
    user_principal,
    validation_problem,
)
from oms.channels.erp import parse_erp_submission
from oms.channels.errors import (
    JSON_CONTENT_TYPE,
    MAX_BODY_BYTES,
    MalformedBodyError,
    PayloadTooLargeError,
    UnsupportedContentTypeError,
    decode_json_object,
    require_content_type,
)
from oms.domain.errors import ChannelPayloadError, OmsError
from oms.logic.intake import receive_order
from oms.observability import logger, metrics, tracer
from oms.runtime import now, prepare

app = APIGatewayHttpResolver(enable_validation=True)

_STATUS: dict[type[OmsError], int] = {
    NotAuthenticatedError: 401,
    PayloadTooLargeError: 413,
    UnsupportedContentTypeError: 415,
    MalformedBodyError: 400,
    ChannelPayloadError: 422,
}


@app.exception_handler(OmsError)
def _bad_request(error: OmsError) -> Response[Problem]:
    return problem(oms_error_status(error, _STATUS), error.code, error.reason)


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Problem]:
    return validation_problem(error)


@app.post(
    "/orders",
    summary="Enter an order from the ERP or sales portal",
    description="Body: the order document of docs/channels/webshop.md (`data`), plus `customer_reference`. "
    "Idempotent per `order_id`: a resubmission answers with the first order.",
    responses={202: {"description": "Accepted", "content": {"application/json": {"model": Accepted}}}}
    | problem_responses(400, 401, 413, 415, 422),
    tags=["orders"],
)
@tracer.capture_method
def enter_order() -> Response[Accepted]:
    settings = prepare()
    event = app.current_event
    entered_by = user_principal(event.request_context.authorizer.jwt_claim)
    raw = base64.b64decode(event.body or "") if event.is_base64_encoded else (event.body or "").encode()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"body of {len(raw)} bytes exceeds {MAX_BODY_BYTES}")
    require_content_type({k.lower(): v for k, v in event.headers.items()}, JSON_CONTENT_TYPE)
    submission = parse_erp_submission(decode_json_object(raw), entered_by=entered_by)
    result = receive_order(
        submission.order, workflow_arn=settings.require("order_workflow_arn"), received_at=now()
    )
    logger.set_correlation_id(result.order_id)
    accepted = Accepted(
        kind="CREATED", order_id=result.order_id, status=result.status, duplicate=result.duplicate
    )
    return Response(202, content_types.APPLICATION_JSON, accepted)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
