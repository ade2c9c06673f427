"""POST /webhooks/{channel}: signed sales-channel webhooks in; 202 with the order id (or 200 for a ping)."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.channels.errors import MalformedBodyError, UnsupportedContentTypeError
from oms.config import Settings
from oms.domain.errors import ChannelPayloadError, OmsError, SignatureError, UnknownChannelError
from oms.logic.webhooks import IntakeTargets, PayloadTooLargeError, accept_webhook
from oms.observability import MetricUnit, logger, metrics, tracer
from oms.runtime import now, prepare

app = APIGatewayHttpResolver()

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
def _bad_request(error: OmsError) -> Response:
    status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)
    metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"WebhooksRejected_{error.code}", unit=MetricUnit.Count, value=1)
    logger.info("webhook rejected", extra={"code": error.code, "reason": error.reason, "status": status})
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": error.code, "reason": error.reason},
    )


@app.post("/webhooks/<channel>")
@tracer.capture_method
def receive_webhook(channel: str) -> Response:
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
        ),
        now=now(),
    )
    if outcome.order_id:
        logger.set_correlation_id(outcome.order_id)
    body: dict[str, Any] = {"kind": outcome.kind.value, "delivery_id": outcome.delivery_id}
    if outcome.order_id:
        body |= {"order_id": outcome.order_id, "status": outcome.status, "duplicate": outcome.duplicate}
    if outcome.note:
        body["note"] = outcome.note
    return Response(
        status_code=202 if outcome.accepted_for_processing else 200,
        content_type=content_types.APPLICATION_JSON,
        body=body,
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
