"""POST /webhooks/{channel}: signed sales-channel webhooks in, 202 with the order id out."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.domain.errors import ChannelPayloadError, OmsError, SignatureError, UnknownChannelError
from oms.logic.webhooks import MalformedBodyError, PayloadTooLargeError, accept_webhook
from oms.observability import MetricUnit, logger, metrics, tracer
from oms.runtime import now, prepare

app = APIGatewayHttpResolver()

_STATUS: dict[type[OmsError], int] = {
    UnknownChannelError: 404,
    SignatureError: 401,
    PayloadTooLargeError: 413,
    MalformedBodyError: 400,
    ChannelPayloadError: 422,
}


def _raw_body() -> bytes:
    event = app.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


@app.exception_handler(OmsError)
def _bad_request(error: OmsError) -> Response:
    status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)
    metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
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

    def secret_for(name: str) -> str:
        secrets: dict[str, str] = parameters.get_secret(
            settings.require("webhook_secrets_name"), transform="json", max_age=300
        )
        if name not in secrets:
            raise UnknownChannelError(f"channel {name!r} has no webhook secret configured")
        return secrets[name]

    result = accept_webhook(
        channel,
        _raw_body(),
        dict(app.current_event.headers),
        secret_for=secret_for,
        workflow_arn=settings.require("order_workflow_arn"),
        now=now(),
    )
    logger.set_correlation_id(result.order_id)
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body={"order_id": result.order_id, "status": result.status, "duplicate": result.duplicate},
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
