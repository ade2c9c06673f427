"""The one place Logger, Tracer and Metrics are created; every handler imports them from here.

Tracing: every function runs with X-Ray *active tracing* (template Globals), so each invocation, its
duration and its place in the Step Functions trace are recorded by Lambda itself. The X-Ray SDK inside the
process (Powertools' Tracer, which adds a subsegment per AWS call) is opt-in with `OMS_XRAY_SDK=true`:
its recorder creates two botocore clients at import, which doubles a function's cold start over the bare
boto3 floor (docs/performance.md, decision 0010). Off, `tracer` keeps the same decorators and does nothing.

Logging: every record goes through oms.privacy.logs.PersonalDataFormatter (decision 0051).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from oms.privacy.logs import PersonalDataFormatter

F = TypeVar("F", bound=Callable[..., Any])


class _ActiveTracingOnly:
    """The decorators of Powertools' Tracer, for functions traced by Lambda's active tracing alone."""

    def capture_lambda_handler(self, handler: F) -> F:
        return handler

    def capture_method(self, method: F) -> F:
        return method


def _tracer() -> Any:
    if os.environ.get("OMS_XRAY_SDK", "").lower() == "true":
        from aws_lambda_powertools import Tracer

        return Tracer()
    return _ActiveTracingOnly()


def request_id() -> str | None:
    """The Lambda request being served (what its log lines carry), for the records it writes."""
    try:
        value = logger.get_current_keys().get("function_request_id")
    except Exception:  # a logger without Lambda context (tests, tools)
        return None
    return str(value) if value else None


def dimensioned_metric(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    """One metric with dimensions of its own (a currency, an aging bucket, an exception kind) beside the
    function's `service`, flushed at once (the handler's `metrics` keeps one dimension set)."""
    from aws_lambda_powertools.metrics import single_metric

    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "oms")
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace="ServerlessOMS",
        default_dimensions={"service": service, **dimensions},
    ):
        pass


# Every record through the personal-data formatter: names, e-mails, phones and addresses never reach the logs
# (decision 0051).
logger = Logger(logger_formatter=PersonalDataFormatter())
tracer = _tracer()
metrics = Metrics(namespace="ServerlessOMS")

__all__ = ["MetricUnit", "dimensioned_metric", "logger", "metrics", "request_id", "tracer"]
