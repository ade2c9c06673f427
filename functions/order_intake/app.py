"""POST /webhooks/{channel}: signed sales-channel webhooks in; 202 with the order id (or 200 for a ping)."""

# No `from __future__ import annotations` here: Powertools reads the route signatures' annotations at
# run time to validate parameters and to generate the OpenAPI document.

import base64
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.api import Accepted, Problem, oms_error_status, problem, problem_responses, validation_problem
from oms.channels.errors import MalformedBodyError, UnsupportedContentTypeError
from oms.config import Settings
from oms.domain.errors import ChannelPayloadError, OmsError, SignatureError, UnknownChannelError
from oms.logic.webhooks import IntakeTargets, PayloadTooLargeError, accept_webhook
from oms.observability import MetricUnit, logger, metrics, tracer
from oms.runtime import now, prepare

app = APIGatewayHttpResolver(enable_validation=True)

# Most specific first: the first class an error is an instance of gives its status.
_STATUS: dict[type[OmsError], int] = {
    UnknownChannelError: 404,
    SignatureError: 401,
    PayloadTooLargeError: 413,
    UnsupportedContentTypeError: 415,
    MalformedBodyError: 400,
    ChannelPayloadError: 422,
}


def _raw_body() -> bytes:
    event = app.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


def _secrets_for(settings: Settings) -> Any:
    def secrets_for(channel: str) -> list[str]:
        """The channel's signing secrets: one, or several while a secret is being rotated."""
        secrets: dict[str, str | list[str]] = parameters.get_secret(
            settings.require("webhook_secrets_name"), transform="json", max_age=300
        )
        configured = secrets.get(channel)
        if not configured:
            raise UnknownChannelError(f"channel {channel!r} has no webhook secret configured")
        return [configured] if isinstance(configured, str) else list(configured)

    return secrets_for


@app.exception_handler(OmsError)
def _bad_request(error: OmsError) -> Response[Problem]:
    status = oms_error_status(error, _STATUS)
    metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"WebhooksRejected_{error.code}", unit=MetricUnit.Count, value=1)
    logger.info("webhook rejected", extra={"code": error.code, "reason": error.reason, "status": status})
    return problem(status, error.code, error.reason)


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Problem]:
    return validation_problem(error)


@app.post(
    "/webhooks/<channel>",
    summary="Receive a signed sales-channel webhook",
    description="Channels: shopify (X-Shopify-Hmac-Sha256), woocommerce (X-WC-Webhook-Signature), "
    "webshop (Standard Webhooks). The body is the channel's own; it is verified over the raw bytes, "
    "archived, then acted on. 202 for orders created, updated or cancelled and for Shopify's compliance "
    "webhooks (customers/redact, customers/data_request, shop/redact: queued for the privacy function); "
    "200 for pings and ignored topics.",
    responses={
        200: {"description": "Ping or ignored topic", "content": {"application/json": {"model": Accepted}}},
        202: {"description": "Accepted", "content": {"application/json": {"model": Accepted}}},
    }
    | problem_responses(400, 401, 404, 413, 415, 422),
    tags=["webhooks"],
)
@tracer.capture_method
def receive_webhook(channel: Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,31}$")]) -> Response[Accepted]:
    settings = prepare()
    outcome = accept_webhook(
        channel,
        _raw_body(),
        dict(app.current_event.headers),
        secrets_for=_secrets_for(settings),
        targets=IntakeTargets(
            workflow_arn=settings.require("order_workflow_arn"),
            archive_bucket=settings.require("raw_payloads_bucket"),
            changes_queue_url=settings.require("channel_changes_queue_url"),
            privacy_queue_url=settings.privacy_requests_queue_url,
        ),
        now=now(),
    )
    if outcome.order_id:
        logger.set_correlation_id(outcome.order_id)
    accepted = Accepted(
        kind=outcome.kind.value,
        delivery_id=outcome.delivery_id,
        order_id=outcome.order_id,
        status=outcome.status,
        duplicate=outcome.duplicate,
        note=outcome.note,
    )
    return Response(
        status_code=202 if outcome.accepted_for_processing else 200,
        content_type=content_types.APPLICATION_JSON,
        body=accepted,
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
