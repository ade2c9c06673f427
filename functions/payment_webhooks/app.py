"""`POST /payment-webhooks/stripe`: Stripe's events, verified with the `stripe` library's own check
(`Webhook.construct_event`: HMAC-SHA256 of `t.body` in `Stripe-Signature`, 5-minute tolerance), then
recorded once per event id (decision 0033). No API Gateway authorizer: Stripe signs, it sends no token.

Answers: 200 when the event was recorded, was a duplicate or is of a type the OMS does not act on; 400 when
the signature is missing, wrong or too old (a replay), or the body is not an event; a failure of ours is a
5xx, which Stripe retries for three days."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms.cash.intake import handle_stripe_event
from oms.cash.ledger import CashError
from oms.observability import MetricUnit, logger, metrics, tracer
from oms.policies import cash_policy
from oms.runtime import now, prepare

MAX_BODY_BYTES = 256 * 1024
TOLERANCE_SECONDS = 300


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    if status >= 400:
        metrics.add_metric(name="PaymentWebhooksRejected", unit=MetricUnit.Count, value=1)
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _secrets(name: str) -> list[str]:
    raw = parameters.get_secret(name, transform="json", max_age=300)
    stripe = (raw or {}).get("stripe") if isinstance(raw, dict) else None
    secret = (stripe or {}).get("webhook_secret") if isinstance(stripe, dict) else None
    return [secret] if isinstance(secret, str) else [s for s in (secret or []) if isinstance(s, str)]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from stripe import SignatureVerificationError, Webhook

    settings = prepare()
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    if len(body) > MAX_BODY_BYTES:
        return _answer(413, {"error": "PAYLOAD_TOO_LARGE", "reason": f"body of {len(body)} bytes"})
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    signature = headers.get("stripe-signature")
    if not signature:
        return _answer(400, {"error": "MISSING_SIGNATURE", "reason": "no Stripe-Signature header"})
    verified = None
    problem = "no webhook secret configured"
    for secret in _secrets(settings.require("payment_provider_secret_name")):
        try:
            verified = Webhook.construct_event(body, signature, secret, tolerance=TOLERANCE_SECONDS)
            break
        except SignatureVerificationError as exc:
            problem = str(exc.user_message or exc)
        except ValueError as exc:
            return _answer(400, {"error": "MALFORMED_BODY", "reason": f"not a Stripe event: {exc}"[:300]})
    if verified is None:
        code = "STALE_SIGNATURE" if "tolerance" in problem.lower() else "INVALID_SIGNATURE"
        return _answer(400, {"error": code, "reason": problem[:300]})
    payload = json.loads(body)
    if not isinstance(payload, dict) or not payload.get("id") or not payload.get("type"):
        return _answer(400, {"error": "MALFORMED_BODY", "reason": "a Stripe event has an id and a type"})
    logger.append_keys(stripe_event=payload["id"], stripe_type=payload["type"])
    try:
        outcome = handle_stripe_event(payload, at=now(), policy=cash_policy(settings))
    except CashError as exc:
        return _answer(422, {"error": exc.code, "reason": exc.reason})
    return _answer(200, {"event": payload["id"], "outcome": outcome})
