"""A small HTTPS client for the channels' APIs (the standard library's `urllib`, no extra package in the
functions): JSON in and out, timeouts, and the three ways a call can fail.

* `ChannelRateLimitedError` (429): the channel asks to wait `retry_after` seconds. Short waits are slept
  inline (a few times); longer ones go back to the queue, delayed by that long.
* `ChannelUnavailableError` (5xx, timeouts, connection errors): try again later.
* `ChannelCallError` (any other 4xx): the request is wrong for the channel; retried by the queue and then
  parked in the DLQ for someone to look at.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_INLINE_WAIT_SECONDS = 10.0
MAX_INLINE_RETRIES = 3


class ChannelCallError(Exception):
    """The channel refused the request (4xx other than 429)."""


class ChannelUnavailableError(Exception):
    """The channel did not answer usefully (5xx, timeout, connection refused)."""


class ChannelRateLimitedError(Exception):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ChannelUnavailableError("the channel answered something that is not JSON") from exc


def retry_after_seconds(value: str | None, default: float = 2.0) -> float:
    """`Retry-After` in seconds (Shopify sends a decimal number of seconds, e.g. "2.0")."""
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    return min(max(seconds, 0.0), 900.0)


@dataclass
class HttpClient:
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    after_response: Callable[[HttpResponse], None] | None = None
    calls: int = 0

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        url = self.base_url.rstrip("/") + "/" + path.lstrip("/") if path else self.base_url
        if params:
            url += "?" + urllib.parse.urlencode(params)
        return url

    def _send(self, method: str, url: str, body: bytes | None) -> HttpResponse:
        headers = {"Accept": "application/json", **self.headers}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
        self.calls += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                response = HttpResponse(
                    answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
                )
        except urllib.error.HTTPError as exc:
            response = HttpResponse(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ChannelUnavailableError(f"{method} {url}: {exc}") from exc
        if self.after_response is not None:
            self.after_response(response)
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> HttpResponse:
        body = (
            raw_body
            if raw_body is not None
            else (None if json_body is None else json.dumps(json_body).encode())
        )
        url = self.url(path, params)
        for _ in range(MAX_INLINE_RETRIES + 1):
            response = self._send(method, url, body)
            if response.status != 429:
                break
            wait = retry_after_seconds(response.headers.get("retry-after"))
            if wait > MAX_INLINE_WAIT_SECONDS:
                raise ChannelRateLimitedError(f"{method} {path}: rate limited for {wait} s", wait)
            self.sleep(wait)
        else:
            raise ChannelRateLimitedError(
                f"{method} {path}: still rate limited",
                retry_after_seconds(response.headers.get("retry-after")),
            )
        if response.status >= 500:
            raise ChannelUnavailableError(f"{method} {path} answered {response.status}")
        if response.status >= 400:
            detail = response.body[:300].decode("utf-8", "replace")
            raise ChannelCallError(f"{method} {path} answered {response.status}: {detail}")
        return response
