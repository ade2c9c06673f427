"""AWS clients, created on first use (never at import) and reused across invocations of a container."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

#: Standard retry mode: exponential backoff with full jitter on throttling, 5xx and connection errors,
#: 6 attempts (botocore counts max_attempts as retries). Timeouts are short so that a task stays within
#: its Lambda timeout and the workflow's retries (not one stuck call) decide how long an order waits
#: (decision 0015).
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2, read_timeout=5)

#: Error codes AWS services use for "try again later" (throttling, capacity, internal errors).
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceException",
        "RequestTimeout",
        "RequestTimeoutException",
        "TransactionInProgressException",
    }
)


def is_transient_error(exc: BaseException) -> bool:
    """True when `exc` (or what caused it: PynamoDB wraps botocore's errors) is AWS saying "try again":
    throttling, a 5xx, a dropped or timed-out connection, a transaction conflict."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | HTTPClientError):
            return True
        if isinstance(current, ClientError):
            error = current.response.get("Error", {})
            status = int(current.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if error.get("Code") in TRANSIENT_CODES or status >= 500:
                return True
            reasons = current.response.get("CancellationReasons") or []
            if any((r or {}).get("Code") in ("TransactionConflict", "ThrottlingError") for r in reasons):
                return True
        code = getattr(current, "cause_response_code", None)
        if code in TRANSIENT_CODES:
            return True
        current = current.__cause__ or current.__context__ or getattr(current, "cause", None)
    return False


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]
