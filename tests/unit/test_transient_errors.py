"""Which failures the workflow may retry: AWS saying "try again" (throttling, 5xx, a dropped connection,
through PynamoDB's wrapping too), not a defect or a refusal; and how a failure is worded for people."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from pynamodb.exceptions import UpdateError

from oms.aws import is_transient_error
from oms.domain.failures import describe_failure
from oms.runtime import TransientAwsError, transient_errors_retryable


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    "error",
    [
        _client_error("ThrottlingException"),
        _client_error("ProvisionedThroughputExceededException"),
        _client_error("InternalServerError", 500),
        _client_error("SomethingNew", 503),
        ConnectionClosedError(endpoint_url="https://dynamodb"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
    ],
)
def test_aws_saying_try_again_is_transient(error: Exception) -> None:
    assert is_transient_error(error)


def test_pynamodb_wrapping_a_throttle_is_transient() -> None:
    cause = _client_error("ProvisionedThroughputExceededException")
    wrapped = UpdateError("Failed to update item", cause)
    wrapped.__cause__ = cause
    assert is_transient_error(wrapped)


@pytest.mark.parametrize(
    "error",
    [_client_error("ConditionalCheckFailedException"), _client_error("ValidationException"), ValueError("x")],
)
def test_refusals_and_defects_are_not_transient(error: Exception) -> None:
    assert not is_transient_error(error)


def test_a_handler_reports_transient_failures_under_the_name_the_workflow_retries() -> None:
    @transient_errors_retryable
    def throttled() -> None:
        raise _client_error("ThrottlingException")

    @transient_errors_retryable
    def broken() -> None:
        raise KeyError("order_id")

    with pytest.raises(TransientAwsError):
        throttled()
    with pytest.raises(KeyError):
        broken()


def test_a_failure_is_a_code_and_a_sentence_with_the_detail_kept_apart() -> None:
    failure = describe_failure(
        "ord_1", "AllocateStock", "TransientAwsError", '{"stackTrace": ["site-packages/x"]}'
    )
    assert failure.code == "RETRIES_EXHAUSTED"
    assert failure.reason.startswith("Reserving stock did not succeed after several attempts")
    assert "python -m ops retry ord_1" in failure.reason
    assert "site-packages" not in failure.reason
    assert "site-packages" in failure.detail
    other = describe_failure("ord_1", "ValidateOrder", "KeyError", "boom")
    assert other.code == "STEP_FAILED"
    assert "KeyError" in other.reason
