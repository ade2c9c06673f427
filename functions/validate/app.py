"""Workflow task: check prices, tax and totals; the order becomes VALIDATED or ON_HOLD. A valid order that
an approval rule matches (or that would pass its customer's credit limit) waits for approval: ON_HOLD, its
Standard approval workflow started (oms.governance.approvals)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from oms.domain.status import HoldReason
from oms.governance.approvals import APPROVAL_HOLDS, route_order
from oms.logic.validation import PricingPolicy, validate_order
from oms.observability import logger, metrics, tracer
from oms.policies import governance_policy
from oms.runtime import OrderRef, now, prepare, transient_errors_retryable


class ValidationOutput(BaseModel):
    order_id: str
    outcome: str
    hold_reason: HoldReason | None
    detail: str


@logger.inject_lambda_context(correlation_id_path="order_id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@transient_errors_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = prepare()
    ref = OrderRef.model_validate(event)
    policy = PricingPolicy.model_validate(
        parameters.get_parameter(settings.require("pricing_policy_parameter"), transform="json", max_age=300)
    )
    engine_secret = settings.tax_engine_secret_name

    def engine_credentials() -> dict[str, str]:
        """The external tax engine's URL and token (only read when a channel's calculator is "engine")."""
        if not engine_secret:
            raise RuntimeError("TAX_ENGINE_SECRET_NAME is not set for this function")
        secret: dict[str, str] = parameters.get_secret(engine_secret, transform="json", max_age=300)
        return secret

    result = validate_order(
        ref.order_id, policy=policy, now=now(), engine_credentials=engine_credentials, amendment=ref.amendment
    )
    outcome = "SUPERSEDED" if result.superseded else "ON_HOLD" if result.hold_reason else "VALIDATED"
    hold_reason, detail = result.hold_reason, result.detail
    if outcome == "VALIDATED" or (outcome == "ON_HOLD" and hold_reason in APPROVAL_HOLDS):
        routing = route_order(
            ref.order_id,
            policy=governance_policy(settings),
            approval_workflow_arn=settings.require("approval_workflow_arn"),
            now=now(),
        )
        if routing.outcome == "AWAITING_APPROVAL":
            outcome, detail = "AWAITING_APPROVAL", routing.detail
    return ValidationOutput(
        order_id=ref.order_id,
        outcome=outcome,
        hold_reason=hold_reason,
        detail=detail,
    ).model_dump(mode="json")
