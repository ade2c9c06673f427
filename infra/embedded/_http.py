"""The template's HTTP API routes, served on 127.0.0.1 (API Gateway HTTP API, payload format 2.0).

moto does not invoke Lambda behind API Gateway. :class:`HttpApiServer` reads the ``HttpApi`` events of
the SAM functions, matches requests like API Gateway does (most specific route first: literal segments
over ``{param}`` over ``{proxy+}``, an exact method over ``ANY``, ``$default`` last), builds a v2 event
and invokes the function through moto's Lambda API, so the in-process runtime runs it. Routes with a
JWT authorizer are authorized first, like API Gateway does (``_auth.py``).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from ._auth import (
    AuthDecision,
    LocalIdentityProvider,
    RouteAuth,
    api_auth_sections,
    authorize,
    event_api_id,
    route_auth,
)
from ._sam import SERVERLESS_FUNCTION
from ._serving import ServingThread

LOG = logging.getLogger("infra.embedded.http")

MAX_BODY_BYTES = 10 * 1024 * 1024
_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/")
_BINARY_TYPES = {
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/x-protobuf",
    "application/vnd.ms-excel",
    "multipart/form-data",
}


@dataclass(frozen=True)
class Route:
    method: str  # "GET", "POST", ... or "ANY"
    path: str  # "/orders/{id}" or "$default"
    logical_id: str
    function_name: str = ""
    #: the authorizer API Gateway applies before invoking (None: the route is open)
    auth: RouteAuth | None = None

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]

    def match(self, method: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
        """Returns (specificity, path parameters) if the route matches."""
        if self.path == "$default":
            return (-1,), {}
        if self.method not in ("ANY", method):
            return None
        parts = [p for p in path.split("/") if p]
        params: dict[str, str] = {}
        score: list[int] = []
        segs = self.segments
        for i, seg in enumerate(segs):
            if seg.startswith("{") and seg.endswith("+}"):
                if i >= len(parts):
                    return None
                params[seg[1:-2]] = unquote("/".join(parts[i:]))
                score.append(0)
                break
            if i >= len(parts):
                return None
            if seg.startswith("{") and seg.endswith("}"):
                params[seg[1:-1]] = unquote(parts[i])
                score.append(1)
            elif seg == parts[i]:
                score.append(2)
            else:
                return None
        else:
            if len(parts) != len(segs):
                return None
        score.append(1 if self.method != "ANY" else 0)
        return tuple(score), params


def _parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        if isinstance(spec, dict) and "Default" in spec:
            default = spec["Default"]
            values[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
    return values


def routes_from_template(template: dict[str, Any], values: Mapping[str, str] | None = None) -> list[Route]:
    """HttpApi events of the SAM functions (before translation), with the authorizer of each.

    ``values``: parameter (and pseudo parameter) values that ``!Ref``/``!Sub`` in authorizer
    configurations resolve to; default: the template's parameter defaults.
    """
    values = _parameter_defaults(template) if values is None else values
    apis = api_auth_sections(template)
    routes: list[Route] = []
    for logical_id, res in (template.get("Resources") or {}).items():
        if res.get("Type") != SERVERLESS_FUNCTION:
            continue
        for event in ((res.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            path = props.get("Path", "$default")
            method = str(props.get("Method", "ANY")).upper()
            if method in ("X-AMAZON-APIGATEWAY-ANY-METHOD", "*"):
                method = "ANY"
            api_id = event_api_id(props)
            where = f"{logical_id} {method} {path}"
            auth = route_auth(api_id, apis.get(api_id) or {}, props, values, where)
            routes.append(Route(method, path, logical_id, auth=auth))
    return routes


def _is_binary(content_type: str) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    return ctype in _BINARY_TYPES or ctype.startswith(_BINARY_PREFIXES)


@dataclass
class HttpApiServer:
    routes: list[Route]
    region: str
    account_id: str
    api_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    _serving: ServingThread = field(default_factory=lambda: ServingThread("embedded-http-api"))
    _lambda: Any = None
    #: validates the tokens of routes with a JWT authorizer (None: such routes answer 401)
    identity_provider: LocalIdentityProvider | None = None

    @property
    def port(self) -> int:
        server = self._serving.server
        return int(server.server_address[1]) if server is not None else 0

    @property
    def url(self) -> str | None:
        return self._serving.url

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        import boto3

        if self._serving.server is not None:
            return self.url or ""
        self._lambda = boto3.client("lambda", region_name=self.region)
        api = self

        class Handler(_RequestHandler):
            server_api = api

        return self._serving.serve(ThreadingHTTPServer((host, port), Handler))

    def stop(self) -> None:
        self._serving.stop()

    # ------------------------------------------------------------------ request handling
    def find_route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        best: tuple[tuple[int, ...], Route, dict[str, str]] | None = None
        for route in self.routes:
            found = route.match(method, path)
            if found is None:
                continue
            score, params = found
            if best is None or score > best[0]:
                best = (score, route, params)
        return (best[1], best[2]) if best else None

    def authorize(self, route: Route, headers: list[tuple[str, str]], raw_query: str) -> AuthDecision | None:
        """None for an open route; else the authorizer's decision."""
        if route.auth is None:
            return None
        merged: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            merged[key] = f"{merged[key]},{value}" if key in merged else value
        query: dict[str, str] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        return authorize(route.auth, self.identity_provider, merged, query, route.route_key)

    def build_event(
        self,
        route: Route,
        path_params: dict[str, str],
        method: str,
        raw_path: str,
        raw_query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
    ) -> dict[str, Any]:
        merged: dict[str, list[str]] = {}
        for name, value in headers:
            merged.setdefault(name.lower(), []).append(value)
        cookies: list[str] = []
        for value in merged.pop("cookie", []):
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        header_map = {k: ",".join(v) for k, v in merged.items()}
        # What API Gateway adds in front of the function.
        header_map.setdefault("x-forwarded-for", source_ip)
        header_map.setdefault("x-forwarded-proto", "http")
        header_map.setdefault("x-forwarded-port", str(self.port))
        header_map.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        now = datetime.now(UTC)
        request_id = base64.b64encode(uuid.uuid4().bytes[:12]).decode().rstrip("=")
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": raw_path,
            "rawQueryString": raw_query,
            "headers": header_map,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": self.api_id,
                "domainName": header_map.get("host", "127.0.0.1"),
                "domainPrefix": header_map.get("host", "127.0.0.1").split(".", 1)[0],
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": header_map.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route.route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
        if path_params:
            event["pathParameters"] = path_params
        if body:
            text: str | None = None
            if not _is_binary(header_map.get("content-type", "")):
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
            if text is None:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
            else:
                event["body"] = text
        return event

    def invoke(self, route: Route, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        resp = self._lambda.invoke(FunctionName=route.function_name, Payload=json.dumps(event).encode())
        payload: bytes = resp["Payload"].read()
        if resp.get("FunctionError"):
            return _json_response(500, {"message": "Internal Server Error"})
        return map_v2_response(payload)


def _json_response(status: int, body: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("content-type", "application/json")], json.dumps(body).encode()


def map_v2_response(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Lambda result → HTTP response, by API Gateway's payload format 2.0 rules."""
    try:
        result = json.loads(payload) if payload.strip() else None
    except ValueError:
        return _json_response(500, {"message": "Internal Server Error"})
    if not isinstance(result, dict) or "statusCode" not in result:
        # No statusCode: API Gateway assumes 200, JSON content type, the whole result as body.
        if isinstance(result, str):
            return 200, [("content-type", "application/json")], result.encode()
        return 200, [("content-type", "application/json")], payload
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return _json_response(500, {"message": "Internal Server Error"})
    headers: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.append((str(name), ",".join(str(v) for v in values)))
    for name, value in (result.get("headers") or {}).items():
        headers = [h for h in headers if h[0].lower() != str(name).lower()]
        headers.append((str(name), str(value)))
    for cookie in result.get("cookies") or []:
        headers.append(("set-cookie", str(cookie)))
    body_value = result.get("body")
    if body_value is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(body_value)
    else:
        body = (body_value if isinstance(body_value, str) else json.dumps(body_value)).encode()
    if not any(h[0].lower() == "content-type" for h in headers) and body:
        headers.append(("content-type", "application/json"))
    return status, headers, body


class _RequestHandler(BaseHTTPRequestHandler):
    server_api: HttpApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s - %s", self.address_string(), format % args)

    def _handle(self) -> None:
        started = time.perf_counter()
        raw_path, _, raw_query = self.path.partition("?")
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(*_json_response(413, {"message": "Request Entity Too Large"}))
            return
        body = self.rfile.read(length) if length else b""
        api = self.server_api
        found = api.find_route(self.command, raw_path)
        if found is None:
            self._send(*_json_response(404, {"message": "Not Found"}))
            return
        route, params = found
        decision = api.authorize(route, list(self.headers.items()), raw_query)
        if decision is not None and decision.status is not None:
            # Refused by the authorizer: the function is not invoked.
            headers = [("content-type", "application/json"), *decision.headers]
            headers.append(
                ("apigw-requestid", base64.b64encode(uuid.uuid4().bytes[:12]).decode().rstrip("="))
            )
            self._send(decision.status, headers, decision.body)
            return
        event = api.build_event(
            route,
            params,
            self.command,
            raw_path,
            raw_query,
            list(self.headers.items()),
            body,
            self.client_address[0],
        )
        if decision is not None:
            event["requestContext"]["authorizer"] = decision.context
        try:
            status, headers, out = api.invoke(route, event)
        except Exception:
            LOG.exception("HTTP API invocation of %s failed", route.function_name)
            status, headers, out = _json_response(500, {"message": "Internal Server Error"})
        headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        self._send(status, headers, out)
        LOG.debug(
            "%s %s -> %s in %.1f ms", self.command, raw_path, status, (time.perf_counter() - started) * 1000
        )

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle
    do_OPTIONS = _handle
    do_HEAD = _handle

    def __getattr__(self, name: str) -> Any:
        # API Gateway answers any other method (TRACE, QUERY, …) like an unknown route (404), never 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)
