"""GET /approvals?assigned=me: the approvals waiting for the caller's groups. POST /approvals/{id}/approve
and /reject with a reason: decide the current level. JWT-authenticated; the caller's groups and scopes are
their duties (segregation of duties is checked here, on the server: every refusal names its rule)."""

# No `from __future__ import annotations` here: Powertools reads the route signatures' annotations at
# run time to validate parameters and to generate the OpenAPI document.

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from oms.api import (
    NotAuthenticatedError,
    Problem,
    guard_json_bodies,
    problem,
    problem_responses,
    user_principal,
    validation_problem,
)
from oms.governance.approvals import ApprovalRefused, ApprovalView, assigned_to, decide
from oms.governance.duties import Identity
from oms.observability import logger, metrics, tracer
from oms.policies import governance_policy
from oms.runtime import now, prepare

app = APIGatewayHttpResolver(enable_validation=True)
guard_json_bodies(app)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
    """Why: kept with the decision and in the order's audit trail."""


class ApprovalList(BaseModel):
    approvals: list[ApprovalView]


@app.exception_handler(ApprovalRefused)
def _refused(error: ApprovalRefused) -> Response[Problem]:
    return problem(error.status, error.rule, error.reason)


@app.exception_handler(NotAuthenticatedError)
def _unauthenticated(error: NotAuthenticatedError) -> Response[Problem]:
    return problem(401, error.code, error.reason)


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Problem]:
    return validation_problem(error)


def _identity() -> Identity:
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    return Identity.from_claims(user_principal(claims), claims)


@app.get(
    "/approvals",
    summary="The approvals waiting for the caller (assigned=me): a group of theirs decides the level",
    responses={
        200: {"description": "Open approvals", "content": {"application/json": {"model": ApprovalList}}}
    }
    | problem_responses(400, 401, 403, 422),
    tags=["approvals"],
)
@tracer.capture_method
def list_approvals(assigned: Annotated[Literal["me"], Query()] = "me") -> Response[ApprovalList]:
    prepare()
    views = assigned_to(_identity())
    return Response(200, content_types.APPLICATION_JSON, ApprovalList(approvals=views))


def _decide(approval_id: str, decision: Decision, *, approve: bool) -> Response[ApprovalView]:
    settings = prepare()
    view = decide(
        approval_id,
        identity=_identity(),
        approve=approve,
        reason=decision.reason,
        policy=governance_policy(settings),
        now=now(),
        request_id=app.lambda_context.aws_request_id,
    )
    logger.set_correlation_id(view.order_id)
    return Response(200, content_types.APPLICATION_JSON, view)


@app.post(
    "/approvals/<approval_id>/approve",
    summary="Approve the approval's current level (segregation of duties applies: 403 names the rule)",
    responses={200: {"description": "The approval", "content": {"application/json": {"model": ApprovalView}}}}
    | problem_responses(400, 401, 403, 404, 409, 415, 422),
    tags=["approvals"],
)
@tracer.capture_method
def approve(
    approval_id: Annotated[str, Path(max_length=64)], decision: Annotated[Decision, Body()]
) -> Response[ApprovalView]:
    return _decide(approval_id, decision, approve=True)


@app.post(
    "/approvals/<approval_id>/reject",
    summary="Reject the order at the approval's current level: it ends REJECTED",
    responses={200: {"description": "The approval", "content": {"application/json": {"model": ApprovalView}}}}
    | problem_responses(400, 401, 403, 404, 409, 415, 422),
    tags=["approvals"],
)
@tracer.capture_method
def reject(
    approval_id: Annotated[str, Path(max_length=64)], decision: Annotated[Decision, Body()]
) -> Response[ApprovalView]:
    return _decide(approval_id, decision, approve=False)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
