"""The emulated AWS on a local HTTP endpoint (``http://127.0.0.1:<port>``), for other processes.

``aws --endpoint-url``, boto3 scripts with ``endpoint_url`` or ``AWS_ENDPOINT_URL``, the operator CLI and
the embedded runtime's worker processes send their requests here. A request to a custom endpoint still
names its service and region in its SigV4 credential scope (``Credential=AKID/date/region/service/...``
in the ``Authorization`` header, or ``X-Amz-Credential`` in a presigned URL's query). The endpoint
rebuilds the URL the request would have had on AWS (``https://<endpoint prefix>.<region>.amazonaws.com``
+ path and query, S3 in path style), sets the ``Host`` header to match, and hands it to moto through the
same entry point that in-process boto3 calls take under ``mock_aws`` (``BotocoreStubber.process_request``),
so both see one and the same emulated AWS with the same fill-ins, speed-ups and locks.

Unsigned requests under ``/_embedded/`` reach the embedded AWS itself (``control_routes``): the scheduler's
clock (``GET``/``POST /_embedded/clock``) and the local identity provider's tokens
(``POST /_embedded/token``), for the CLIs of other processes. The endpoint listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._serving import ServingThread

LOG = logging.getLogger("infra.embedded.endpoint")

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")

#: signing names whose endpoint host is global (no region in the host name)
_GLOBAL_HOSTS = {"iam": "iam.amazonaws.com", "route53": "route53.amazonaws.com"}


#: services whose host name prefix differs from the name they sign with (the rest use the signing name)
_HOST_PREFIXES = {
    "iotdata": "data-ats.iot",
    "mobiletargeting": "pinpoint",
    "aws-marketplace": "metering.marketplace",
}


def aws_url(path_and_query: str, headers: Any) -> tuple[str, str] | None:
    """(URL on AWS, host) for a request sent to the local endpoint, from its credential scope."""
    authorization = headers.get("Authorization", "")
    match = _SCOPE.search(authorization)
    if match is None:
        query = parse_qs(urlsplit(path_and_query).query)
        if authorization.startswith("AWS ") or "AWSAccessKeyId" in query:
            # Signature version 2 (S3 only: its default presigned URLs and old clients): no region in it.
            return f"https://s3.amazonaws.com{path_and_query}", "s3.amazonaws.com"
        credential = (query.get("X-Amz-Credential") or [""])[0]
        parts = credential.split("/")
        if len(parts) < 5:
            return None
        region, service = parts[2], parts[3]
    else:
        region, service = match.group(1), match.group(2)
    host = _GLOBAL_HOSTS.get(service) or f"{_HOST_PREFIXES.get(service, service)}.{region}.amazonaws.com"
    return f"https://{host}{path_and_query}", host


#: a control route: (HTTP method, JSON body or None) -> (status, JSON answer)
ControlRoute = Callable[[str, Any], tuple[int, Any]]
CONTROL_PREFIX = "/_embedded/"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EmbeddedAWS"
    # One write per response (headers and body together) and no Nagle delay: with keep-alive, a reply
    # split over two small writes waits for the client's delayed ACK (40 ms).
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def handle_expect_100(self) -> bool:
        # botocore sends S3 uploads with "Expect: 100-continue" and waits for the interim answer: with a
        # buffered writer it must be flushed now, not with the final answer.
        self.send_response_only(100)
        self.end_headers()
        self.wfile.flush()
        return True

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("endpoint: " + format, *args)

    def _serve(self) -> None:
        from botocore.awsrequest import AWSPreparedRequest
        from botocore.compat import HTTPHeaders
        from moto.core.models import botocore_stubber

        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith(CONTROL_PREFIX) and "Authorization" not in self.headers:
            self._control(body)
            return
        target = aws_url(self.path, self.headers)
        if target is None:
            self._reply(400, {"Content-Type": "text/plain"}, b"unsigned request: no SigV4 credential scope")
            return
        url, host = target
        headers = HTTPHeaders()
        for key, value in self.headers.items():
            if key.lower() != "host":
                headers[key] = value
        headers["Host"] = host
        request = AWSPreparedRequest(
            method=self.command, url=url, headers=headers, body=body, stream_output=False
        )
        try:
            answer = botocore_stubber.process_request(request)
        except Exception as exc:  # moto raised outside its own error mapping: a 500, as AWS would
            LOG.exception("endpoint: %s %s failed", self.command, url)
            self._reply(500, {"Content-Type": "text/plain"}, f"{type(exc).__name__}: {exc}".encode())
            return
        if answer is None:
            self._reply(404, {"Content-Type": "text/plain"}, b"no emulated service at " + url.encode())
            return
        status, response_headers, response_body = answer
        if isinstance(response_body, str):
            response_body = response_body.encode("utf-8")
        self._reply(int(status), dict(response_headers or {}), response_body or b"")

    def _control(self, body: bytes) -> None:
        routes: dict[str, ControlRoute] = getattr(self.server, "control_routes", {})
        route = routes.get(self.path.split("?", 1)[0][len(CONTROL_PREFIX) :])
        if route is None:
            answer: tuple[int, Any] = (
                404,
                {"message": f"no control route {self.path}", "routes": sorted(routes)},
            )
        else:
            try:
                payload = json.loads(body) if body.strip() else None
            except ValueError:
                answer = (400, {"message": "the body is not JSON"})
            else:
                try:
                    answer = route(self.command, payload)
                except (ValueError, LookupError, TypeError) as exc:
                    answer = (400, {"message": str(exc)})
        status, content = answer
        self._reply(status, {"Content-Type": "application/json"}, json.dumps(content).encode())

    def _reply(self, status: int, headers: dict[str, Any], body: bytes) -> None:
        self.send_response(status)
        sent = set()
        for key, value in headers.items():
            lowered = key.lower()
            if lowered in ("content-length", "transfer-encoding", "connection", "server", "date"):
                continue
            sent.add(lowered)
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True


class AwsEndpoint:
    """A local HTTP endpoint for the emulated AWS; ``start()`` returns its URL."""

    def __init__(self) -> None:
        self._serving = ServingThread("embedded-aws-endpoint")
        #: ``/_embedded/<name>`` -> handler, for unsigned control requests
        self.control_routes: dict[str, ControlRoute] = {}

    @property
    def url(self) -> str | None:
        return self._serving.url

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        if self._serving.server is None:
            server = _Server((host, port), _Handler)
            server.control_routes = self.control_routes  # type: ignore[attr-defined]
            return self._serving.serve(server)
        return self.url or ""

    def stop(self) -> None:
        self._serving.stop()
