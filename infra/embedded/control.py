"""Calls to the control routes of a running embedded AWS's endpoint (``/_embedded/...``), for CLIs."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"


def endpoint_url(explicit: str | None = None) -> str:
    """The endpoint to talk to: the one given, else ``$AWS_ENDPOINT_URL``, else the serve's default."""
    return (explicit or os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT).rstrip("/")


def call_control(endpoint: str | None, route: str, body: Any = None) -> Any:
    """GET (no body) or POST (a JSON body) ``/_embedded/<route>``; the JSON answer, or SystemExit."""
    url = f"{endpoint_url(endpoint)}/_embedded/{route}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - a local http:// endpoint chosen by the developer
        url,
        data=data,
        method="POST" if data is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise SystemExit(f"{url}: {exc.code} {detail}") from exc
    except urllib.error.URLError as exc:
        raise SystemExit(
            f"no embedded AWS at {endpoint_url(endpoint)} ({exc.reason}): start it with `make serve`, "
            "or pass --endpoint / set AWS_ENDPOINT_URL"
        ) from exc
