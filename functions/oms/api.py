"""What the HTTP API answers, as models: the OpenAPI document (docs/openapi.json) is generated from these
and the Powertools routes that use them (`python -m tools.openapi`)."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel, Field

from oms.domain.errors import OmsError


class Problem(BaseModel):
    """Every 4xx answer: a machine-readable code and a reason a person can act on."""

    error: str = Field(description="Machine-readable error code, e.g. INVALID_SIGNATURE")
    reason: str = Field(description="What was wrong, naming the field or header")


class Accepted(BaseModel):
    """The answer to a delivery or an order submission."""

    kind: str = Field(description="CREATED, UPDATED, CANCELLED, PING or IGNORED")
    delivery_id: str | None = None
    order_id: str | None = None
    status: str | None = None
    duplicate: bool = False
    note: str | None = None


class StockProblem(Problem):
    """A refused stock movement; refused for stock below reserved, with the numbers it was refused on."""

    on_hand: int | None = Field(default=None, description="STOCK_BELOW_RESERVED: units on hand")
    reserved: int | None = Field(default=None, description="STOCK_BELOW_RESERVED: units reserved for orders")
    available: int | None = Field(default=None, description="STOCK_BELOW_RESERVED: on_hand - reserved")
    quantity_change: int | None = Field(
        default=None, description="STOCK_BELOW_RESERVED: the change the movement asked for"
    )


def problem(status: int, code: str, reason: str) -> Response[Problem]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=Problem(error=code, reason=reason),
    )


def problem_responses(*statuses: int, described: dict[int, str] | None = None) -> dict[int, dict[str, Any]]:
    """The OpenAPI `responses` entries of the given 4xx statuses (`described`: route-specific wording)."""
    descriptions = {
        400: "Malformed request",
        401: "Missing or invalid signature or token",
        403: "The caller may not do this",
        404: "Unknown channel or order",
        409: "The order is not in a state that allows this",
        413: "Body too large",
        415: "Unsupported content type",
        422: "The payload is not a valid order",
    } | (described or {})
    return {
        status: {"description": descriptions[status], "content": {"application/json": {"model": Problem}}}
        for status in statuses
    }


def validation_problem(error: RequestValidationError) -> Response[Problem]:
    """Powertools' request validation in the same shape as every other 4xx: a malformed path or query
    parameter, or a body that is not JSON at all, is a 400; a body that breaks its schema a 422."""
    first = error.errors()[0] if error.errors() else {}
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "invalid JSON")
        return problem(400, "MALFORMED_BODY", f"body is not valid JSON: {detail}")
    location = tuple(str(part) for part in first.get("loc", ()))
    status = 422 if location[:1] == ("body",) else 400
    return problem(status, "INVALID_REQUEST", f"{'.'.join(location)}: {first.get('msg', 'invalid')}")


def oms_error_status(error: OmsError, statuses: dict[type[OmsError], int]) -> int:
    """The status of the first class (most specific first) the error is an instance of; 400 otherwise."""
    return next((code for kind, code in statuses.items() if isinstance(error, kind)), 400)


class NotAuthenticatedError(OmsError):
    """No verified identity on the request (API Gateway's JWT authorizer normally stops these first)."""

    code = "NOT_AUTHENTICATED"


def user_principal(authorizer_claims: dict[str, Any] | None) -> str:
    """`user:<sub>` of the JWT the API's authorizer verified; the order records who entered or released it."""
    subject = str((authorizer_claims or {}).get("sub", "")).strip()
    if not subject:
        raise NotAuthenticatedError("this route needs a verified user token")
    # Identity providers use characters ("auth0|123") that ids here do not; map them, keep it readable.
    return "user:" + re.sub(r"[^A-Za-z0-9._:\-]", "-", subject)[:70]


def guard_json_bodies(app: APIGatewayHttpResolver) -> None:
    """Register the handlers that turn Powertools' failures to read a JSON body into 4xx answers.

    Powertools decodes and parses the body before any route code runs; without these a client's bad body
    (wrong content type, multipart without a boundary, bytes that are not UTF-8) would be a 500.
    """

    def unsupported_content_type() -> Response[Problem] | None:
        content_type = app.current_event.headers.get("content-type", "").strip()
        if not content_type or content_type.lower().startswith("application/json"):
            return None
        return problem(
            415, "UNSUPPORTED_CONTENT_TYPE", f"content type {content_type!r}: send application/json"
        )

    def unsupported(error: RequestUnsupportedContentType) -> Response[Problem]:
        return unsupported_content_type() or problem(415, "UNSUPPORTED_CONTENT_TYPE", "send application/json")

    def not_utf8(error: UnicodeDecodeError) -> Response[Problem]:
        return problem(400, "MALFORMED_BODY", f"body is not UTF-8 text: {error.reason} at byte {error.start}")

    def unparseable(error: ValueError) -> Response[Problem]:
        """Powertools raises a bare ValueError for a multipart body without a boundary, before any route
        code: a body that is not JSON is the client's mistake (415). Any other ValueError is a defect."""
        answer = unsupported_content_type()
        if answer is None:
            raise error
        return answer

    app.exception_handler(RequestUnsupportedContentType)(unsupported)
    app.exception_handler(UnicodeDecodeError)(not_utf8)
    app.exception_handler(ValueError)(unparseable)
