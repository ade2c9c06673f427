"""Lambda handlers in worker processes, one per function, the way Lambda runs each function in a container.

In process, every handler shares the emulator's interpreter and its lock: a business day is one core's
worth of work however many cores the machine has. :class:`WorkerContainers` runs each function's handler
in a process of its own instead. The process is forked from a fork server that has already imported the
libraries every handler needs (boto3, botocore, pydantic, Powertools, PynamoDB), so a container starts in
tens of milliseconds; its environment is exactly the function's (template variables, the Lambda runtime's
variables and the local overrides).

Its AWS calls reach the emulator the way in-process calls do under moto's ``mock_aws``: a ``before-send``
handler (registered in botocore's built-in handlers, so every client and session of the container has it,
PynamoDB's included) takes the signed request botocore is about to send to its real AWS URL and, instead
of opening a connection, passes it over the container's pipe to the invoking thread of this process,
which hands it to moto's request entry point (``BotocoreStubber.process_request``) and sends the answer
back. Everything botocore does on the client side (validation, serialization, signing, retries, parsing)
runs in the container; the emulator sees the same requests as in process.

A container runs one invocation at a time. An invocation that outlives the function's Timeout is ended as
Lambda ends it: the process is stopped and the caller gets ``Sandbox.Timedout``; a process that dies
gets ``Runtime.ExitError``; either way the next invocation starts a fresh container. A container whose
function's environment changed (another deployment) is replaced.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG = logging.getLogger("infra.embedded.workers")

#: imported once by the fork server, so that every container starts with them loaded
PRELOADED_MODULES = (
    "json",
    "decimal",
    "boto3",
    "botocore.session",
    "botocore.client",
    "pydantic",
    "pynamodb.models",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.tracing",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.batch",
    "fpdf",
)

#: variables of this process a container keeps (the rest of its environment is the function's)
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONHASHSEED", "TZ", "VIRTUAL_ENV")

_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")

_context_lock = threading.Lock()
_context: Any = None


def _fork_context() -> Any:
    """The multiprocessing context whose fork server preloads the handlers' libraries (one per process)."""
    global _context
    with _context_lock:
        if _context is None:
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload(list(PRELOADED_MODULES))
            _context = context
        return _context


class _RawBody(io.BytesIO):
    """A response body as botocore reads it from urllib3 (``stream()`` in chunks)."""

    def stream(self, **kwargs: Any) -> Any:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


class _EmulatorChannel:
    """The container's ``before-send`` handler: every request goes to the emulator over the pipe."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def __call__(self, event_name: str, request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        body = request.body
        if hasattr(body, "read"):
            position = body.tell() if hasattr(body, "tell") else None
            body = body.read()
            if position is not None and hasattr(body, "seek"):
                request.body.seek(position)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.connection.send(("aws", request.method, request.url, list(request.headers.items()), body or b""))
        kind, status, headers, answer = self.connection.recv()
        if kind != "aws":
            raise RuntimeError(f"embedded AWS channel out of step: got {kind!r}")
        return AWSResponse(request.url, status, headers, _RawBody(answer))


def _clock_offset() -> float:
    """How far the application's clock (``oms.clock``, following the scheduler's) is ahead of real time."""
    clock = sys.modules.get("oms.clock")
    if clock is None:
        return 0.0
    from datetime import UTC, datetime

    return float((clock.now() - datetime.now(UTC)).total_seconds())


def _follow_offset(offset: float) -> None:
    """In a container: the application's clock runs ``offset`` seconds ahead of real time, as the parent."""
    try:
        import importlib

        clock = importlib.import_module("oms.clock")
    except ImportError:
        return
    from datetime import UTC, datetime, timedelta

    ahead = timedelta(seconds=offset)
    clock.follow((lambda: datetime.now(UTC) + ahead) if offset else None)


def container_main(connection: Any, code_dir: str, handler: str, environment: dict[str, str]) -> None:
    """A container's process: set the function's environment, import its handler, run invocations."""
    import importlib

    from botocore.handlers import BUILTIN_HANDLERS

    BUILTIN_HANDLERS.append(("before-send", _EmulatorChannel(connection)))
    os.environ.clear()
    os.environ.update(environment)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    from infra.embedded._runtime import LambdaContext, _discard_powertools_metrics

    if environment.get("POWERTOOLS_METRICS_DISABLED") == "true":
        import warnings

        # Powertools warns on every flush when metrics are disabled and none were added.
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

    module_path, _, attr = handler.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_path.replace("/", ".")), attr)
        init_error = None
    except Exception as exc:  # Lambda reports an init error on every invocation of the container
        function = None
        init_error = _error_payload(exc, "Runtime.ImportModuleError", "")
    while True:
        try:
            _, request = connection.recv()
        except (EOFError, OSError):
            return
        if init_error is not None:
            connection.send(("result", {"errored": True, "payload": init_error}))
            continue
        _follow_offset(float(request.get("clock_offset", 0.0)))
        context = LambdaContext(
            request["function_name"],
            "$LATEST",
            request["function_arn"],
            request["memory"],
            request["timeout"],
            request["request_id"],
        )
        try:
            result = function(request["event"], context)  # type: ignore[misc]
            try:
                reply = {"errored": False, "payload": json.dumps(result)}
            except (TypeError, ValueError) as exc:
                reply = {
                    "errored": True,
                    "payload": json.dumps(
                        {
                            "errorMessage": f"Unable to marshal response: {exc}",
                            "errorType": "Runtime.MarshalError",
                            "requestId": request["request_id"],
                            "stackTrace": [],
                        }
                    ),
                }
        except Exception as exc:
            reply = {"errored": True, "payload": _error_payload(exc, None, request["request_id"])}
        finally:
            if os.environ.get("POWERTOOLS_METRICS_DISABLED") == "true":
                _discard_powertools_metrics()
        connection.send(("result", reply))


def _error_payload(exc: BaseException, error_type: str | None, request_id: str) -> str:
    stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": error_type or type(exc).__name__,
            "requestId": request_id,
            "stackTrace": stack,
        }
    )


def emulator_request(
    method: str, url: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, Any, bytes]:
    """Answer a container's AWS request through moto's entry point, as an in-process call is answered."""
    from botocore.awsrequest import AWSPreparedRequest
    from botocore.compat import HTTPHeaders
    from moto.core.models import botocore_stubber

    prepared_headers = HTTPHeaders()
    for key, value in headers:
        prepared_headers[key] = value
    request = AWSPreparedRequest(
        method=method, url=url, headers=prepared_headers, body=body, stream_output=False
    )
    answer = botocore_stubber.process_request(request)
    if answer is None:
        return 404, {}, b"no emulated service at " + url.encode()
    status, answer_headers, answer_body = answer
    if isinstance(answer_body, str):
        answer_body = answer_body.encode("utf-8")
    return int(status), dict(answer_headers or {}), answer_body or b""


@dataclass
class _Container:
    process: Any
    connection: Any
    environment: dict[str, str]
    code_dir: str
    handler: str

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


@dataclass
class WorkerContainers:
    """Container processes per function, started on demand, at most ``per_function`` of them busy at once
    (Lambda scales a function out to one execution environment per concurrent invocation)."""

    per_function: int = 2
    _idle: dict[str, list[_Container]] = field(default_factory=dict)
    _busy: dict[str, int] = field(default_factory=dict)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    started: int = 0

    def container_environment(self, function_name: str, environment: dict[str, str]) -> dict[str, str]:
        inherited = {key: os.environ[key] for key in _INHERITED if key in os.environ}
        inherited["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
        # The emulator's fake credentials (Lambda gives a function its role's session credentials).
        credentials = {key: os.environ[key] for key in _CREDENTIALS if key in os.environ}
        return {**inherited, **credentials, **environment}

    def _acquire(
        self, function_name: str, code_dir: Path, handler: str, environment: dict[str, str]
    ) -> _Container:
        """An idle container of the function with this code and environment, or a new one."""
        stale: list[_Container] = []
        with self._lock:
            while self._busy.get(function_name, 0) >= self.per_function:
                self._lock.wait()
            self._busy[function_name] = self._busy.get(function_name, 0) + 1
            idle = self._idle.setdefault(function_name, [])
            chosen = None
            while idle:
                candidate = idle.pop()
                if (
                    candidate.alive()
                    and candidate.environment == environment
                    and candidate.code_dir == str(code_dir)
                    and candidate.handler == handler
                ):
                    chosen = candidate
                    break
                stale.append(candidate)
        for container in stale:
            container.stop()
        if chosen is not None:
            return chosen
        try:
            context = _fork_context()
            parent, child = context.Pipe()
            process = context.Process(
                target=container_main,
                args=(child, str(code_dir), handler, environment),
                name=f"lambda-{function_name}",
                daemon=True,
            )
            process.start()
            child.close()
        except BaseException:
            self._release(function_name, None)
            raise
        with self._lock:
            self.started += 1
        return _Container(process, parent, environment, str(code_dir), handler)

    def _release(self, function_name: str, container: _Container | None) -> None:
        with self._lock:
            self._busy[function_name] -= 1
            if container is not None:
                self._idle.setdefault(function_name, []).append(container)
            self._lock.notify_all()

    def invoke(
        self,
        *,
        function_name: str,
        function_arn: str,
        code_dir: Path,
        handler: str,
        environment: dict[str, str],
        event: Any,
        memory: int,
        timeout: float,
        request_id: str,
    ) -> tuple[str, bool]:
        """Run one invocation in an idle container of the function."""
        container = self._acquire(
            function_name, code_dir, handler, self.container_environment(function_name, environment)
        )
        try:
            payload, errored, reusable = self._run(
                container, function_name, event, memory, timeout, request_id, function_arn
            )
        except BaseException:
            container.stop()
            self._release(function_name, None)
            raise
        if reusable:
            self._release(function_name, container)
        else:
            container.stop()
            self._release(function_name, None)
        return payload, errored

    def _run(
        self,
        container: _Container,
        function_name: str,
        event: Any,
        memory: int,
        timeout: float,
        request_id: str,
        function_arn: str,
    ) -> tuple[str, bool, bool]:
        """(payload, errored, the container can take another invocation)."""
        request = {
            "event": event,
            "function_name": function_name,
            "function_arn": function_arn,
            "memory": memory,
            "timeout": timeout,
            "request_id": request_id,
            "clock_offset": _clock_offset(),
        }
        started = time.monotonic()
        deadline = started + timeout
        connection = container.connection
        try:
            connection.send(("invoke", request))
            while True:
                if not connection.poll(max(0.0, deadline - time.monotonic())):
                    LOG.warning("Lambda %s timed out after %.0f s: container stopped", function_name, timeout)
                    return (
                        self._failure(
                            "Sandbox.Timedout",
                            f"{request_id} Task timed out after {time.monotonic() - started:.2f} seconds",
                            request_id,
                        ),
                        True,
                        False,
                    )
                message = connection.recv()
                if message[0] == "result":
                    reply = message[1]
                    break
                _, method, url, headers, body = message
                status, answer_headers, answer = emulator_request(method, url, headers, body)
                connection.send(("aws", status, answer_headers, answer))
        except (EOFError, OSError, BrokenPipeError):
            container.process.join(timeout=1)
            code = container.process.exitcode
            return (
                self._failure(
                    "Runtime.ExitError",
                    f"RequestId: {request_id} Error: Runtime exited with {code}",
                    request_id,
                ),
                True,
                False,
            )
        return str(reply["payload"]), bool(reply["errored"]), True

    @staticmethod
    def _failure(error_type: str, message: str, request_id: str) -> str:
        return json.dumps({"errorMessage": message, "errorType": error_type, "requestId": request_id})

    def stop(self) -> None:
        with self._lock:
            containers = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for container in containers:
            container.stop()
