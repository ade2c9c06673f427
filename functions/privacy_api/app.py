"""POST /customers/{customer_id}/erasure (scope `oms/privacy.erase`): the customer's personal data
pseudonymised everywhere, their raw webhook bodies deleted, the legal copies kept; answers the
machine-readable report. POST /customers/{customer_id}/access-request (scope `oms/privacy.access`):
everything held on the customer as JSON in S3. Each scope is checked here too (decision 0055), a refusal
recorded in the audit trail. Shopify's compliance webhooks reach the same functions through a queue."""

# No `from __future__ import annotations` here: Powertools reads the route signatures' annotations at
# run time to validate parameters and to generate the OpenAPI document.

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from oms.api import (
    NotAuthenticatedError,
    Problem,
    oms_error_status,
    problem,
    problem_responses,
    user_principal,
    validation_problem,
)
from oms.config import Settings
from oms.domain.errors import OmsError
from oms.governance.audit_trail import record_refusal
from oms.governance.duties import Identity
from oms.observability import logger, metrics, request_id, tracer
from oms.privacy.access import ACCESS_SCOPE, ERASE_SCOPE
from oms.privacy.erasure import (
    CustomerNotKnownError,
    PrivacyTargets,
    access_export,
    channel_request,
    erase_customer,
)
from oms.privacy.keys import pseudonym_key
from oms.runtime import now, prepare

app = APIGatewayHttpResolver(enable_validation=True)
processor = BatchProcessor(event_type=EventType.SQS)

CUSTOMER = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,79}$"


class ScopeRefusedError(OmsError):
    code = "privacy-scope"


_STATUS: dict[type[OmsError], int] = {
    NotAuthenticatedError: 401,
    ScopeRefusedError: 403,
    CustomerNotKnownError: 404,
}


@app.exception_handler(OmsError)
def _refused(error: OmsError) -> Response[Problem]:
    return problem(oms_error_status(error, _STATUS), error.code, error.reason)


@app.exception_handler(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Problem]:
    return validation_problem(error)


@app.exception_handler(ClientError)
def _aws_failed(error: ClientError) -> Response[Problem]:
    # AWS kept failing after the SDK's retries: nothing is lost (every step is resumable); ask for a retry.
    logger.warning(
        "privacy request interrupted", extra={"aws_error": error.response.get("Error", {}).get("Code")}
    )
    return problem(503, "RETRY", "an AWS service failed mid-way; send the same request again to finish it")


@app.exception_handler(PynamoDBException)
def _table_failed(error: PynamoDBException) -> Response[Problem]:
    logger.warning("privacy request interrupted", extra={"aws_error": error.cause_response_code})
    return problem(503, "RETRY", "a table did not take a write; send the same request again to finish it")


@app.exception_handler(BotoCoreError)
def _aws_unreachable(error: BotoCoreError) -> Response[Problem]:
    logger.warning("privacy request interrupted", extra={"aws_error": type(error).__name__})
    return problem(503, "RETRY", "an AWS service did not answer; send the same request again to finish it")


def _identity(scope: str, action: str, customer_id: str) -> Identity:
    claims = dict(app.current_event.request_context.authorizer.jwt_claim or {})
    identity = Identity.from_claims(user_principal(claims), claims)
    if scope not in identity.scopes:
        reason = f"{identity.subject} does not hold {scope}"
        record_refusal(
            None,
            actor=identity.subject,
            action=action,
            rule="privacy-scope",
            reason=reason,
            at=now(),
            request_id=request_id(),
            details={"customer_id": customer_id},
        )
        raise ScopeRefusedError(reason)
    return identity


def _targets(settings: Settings) -> PrivacyTargets:
    return PrivacyTargets(
        raw_payloads_bucket=settings.require("raw_payloads_bucket"),
        finance_bucket=settings.require("finance_bucket"),
        privacy_bucket=settings.require("privacy_bucket"),
    )


@app.post(
    "/customers/<customer_id>/erasure",
    summary="Erase a customer's personal data (GDPR art. 17): pseudonymised everywhere, legal copies kept",
    description="Pseudonymises the customer's name, e-mail and addresses in every table and in the personal "
    "export partitions, deletes their raw webhook bodies (every version), keeps invoices and credit notes as "
    "the legal copy, and answers the report of what was erased, what was kept and why (also stored in the "
    "privacy bucket). Idempotent: repeating it, or retrying after a failure, ends in the same state and "
    "report. Scope `oms/privacy.erase`.",
    responses={200: {"description": "The erasure report"}} | problem_responses(400, 401, 403, 404),
    tags=["privacy"],
)
@tracer.capture_method
def post_erasure(customer_id: Annotated[str, Path(pattern=CUSTOMER)]) -> Response[dict[str, Any]]:
    settings = prepare()
    identity = _identity(ERASE_SCOPE, "ERASURE_REFUSED", customer_id)
    report = erase_customer(
        customer_id,
        by=identity.subject,
        source=f"api:{request_id() or 'unknown'}",
        key=pseudonym_key(settings),
        targets=_targets(settings),
        now=now(),
    )
    return Response(200, content_types.APPLICATION_JSON, report)


@app.post(
    "/customers/<customer_id>/access-request",
    summary="Everything held on a customer (GDPR art. 15), as one JSON document in S3",
    description="Writes the customer, their orders, invoices, shipments, payments, credit notes and returns "
    "to `access/<customer>/<time>.json` in the privacy bucket (kept 30 days) and answers its key. Scope "
    "`oms/privacy.access`.",
    responses={200: {"description": "Where the export is"}} | problem_responses(400, 401, 403, 404),
    tags=["privacy"],
)
@tracer.capture_method
def post_access_request(customer_id: Annotated[str, Path(pattern=CUSTOMER)]) -> Response[dict[str, Any]]:
    settings = prepare()
    identity = _identity(ACCESS_SCOPE, "ACCESS_REFUSED", customer_id)
    answer = access_export(
        customer_id,
        by=identity.subject,
        source=f"api:{request_id() or 'unknown'}",
        targets=_targets(settings),
        now=now(),
    )
    return Response(200, content_types.APPLICATION_JSON, answer)


@tracer.capture_method
def handle_channel_request(record: SQSRecord) -> None:
    """A channel's privacy request queued by intake (Shopify's compliance webhooks): the same erasure or
    export as the API's; a failure comes back (the queue's redrive, then its DLQ)."""
    settings = prepare()
    outcome = channel_request(
        json.loads(record.body), key=pseudonym_key(settings), targets=_targets(settings), now=now()
    )
    logger.info("channel privacy request", extra={"request_id": outcome.get("request_id")})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if "Records" in event:  # the channels' privacy requests queue
        return process_partial_response(
            event=event, record_handler=handle_channel_request, processor=processor, context=context
        )
    return app.resolve(event, context)
