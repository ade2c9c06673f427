"""How a failed workflow step is described: a code and a sentence for the API and the person reading it;
the step's full error (stack traces, library paths) is kept for operations only."""

from __future__ import annotations

from dataclasses import dataclass

STEP_NAMES = {
    "ValidateOrder": "Checking prices, discounts and tax",
    "AllocateStock": "Reserving stock",
    "RequestFulfillment": "Asking the warehouse to ship",
}

#: Error names (as Step Functions reports them) of failures that are not about the order: AWS throttled,
#: failed or timed out, the function's process died, or stock kept changing under a reservation. The
#: workflow retries each of these with backoff (statemachine/order_fulfillment.asl.json).
TRANSIENT_ERRORS = (
    "TransientAwsError",
    "ReservationConflictError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    "Runtime.ExitError",
    "Sandbox.Timedout",
    "States.Timeout",
)

MAX_DETAIL_CHARS = 8_000


@dataclass(frozen=True)
class FailureDescription:
    code: str
    reason: str
    """One sentence a person can act on."""
    detail: str
    """The step's error as reported (for operations only)."""
    step: str | None


def describe_failure(order_id: str, step: str | None, error: str, cause: str) -> FailureDescription:
    doing = STEP_NAMES.get(step or "", "A workflow step")
    detail = f"{error}: {cause}"[:MAX_DETAIL_CHARS]
    retry = f"retry it with `python -m ops retry {order_id} --by user:<id> --note ...`"
    if error in TRANSIENT_ERRORS:
        return FailureDescription(
            "RETRIES_EXHAUSTED",
            f"{doing} did not succeed after several attempts because AWS kept failing ({error}); "
            f"nothing was lost: {retry}.",
            detail,
            step,
        )
    return FailureDescription(
        "STEP_FAILED",
        f"{doing} failed with an error the system did not expect ({error}); operations has the details "
        f"(`python -m ops show {order_id}`); once the cause is fixed, {retry}.",
        detail,
        step,
    )
