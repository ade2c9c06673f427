"""Serialize every request to moto's DynamoDB.

Real DynamoDB applies each request atomically (a conditional update, a TransactWriteItems); moto's
handlers read-check-write without a lock, so concurrent conditional decrements over-commit. Wrapping
``DynamoHandler.call_action`` (the single dispatch point of every DynamoDB API call that reaches moto,
from boto3, PynamoDB or Step Functions service integrations alike) in one re-entrant lock restores
per-request atomicity. Direct calls to ``moto.dynamodb.models`` from Python bypass it.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()


class DynamoDbSerializer:
    def __init__(self) -> None:
        self._original: Any = None

    def install(self) -> None:
        from moto.dynamodb.responses import DynamoHandler

        original = DynamoHandler.__dict__["call_action"]
        self._original = original

        @functools.wraps(original)
        def call_action(handler: Any) -> Any:
            with _LOCK:
                return original(handler)

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from moto.dynamodb.responses import DynamoHandler

        if self._original is not None:
            DynamoHandler.call_action = self._original  # type: ignore[method-assign]
            self._original = None
