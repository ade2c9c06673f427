"""The one place Logger, Tracer and Metrics are created; every handler imports them from here."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ServerlessOMS")

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
