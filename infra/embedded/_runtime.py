"""In-process Lambda runtime: runs a function's configured Handler inside this Python process.

moto executes Lambda code only inside Docker. Its single entry point is the private method
``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)``;
:class:`LambdaRuntime` replaces it (see ``tests/integration/test_embedded_runtime.py`` for the test
that fails loudly if moto moves or changes it).
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from . import _env, _faults

LOG = logging.getLogger("infra.embedded.lambda")

#: What a function reads to follow the local clock (real time plus this many seconds).
CLOCK_OFFSET_VARIABLE = "EMBEDDED_CLOCK_OFFSET_SECONDS"

#: The moto private method this runtime replaces, and the signature it is built against (moto 5.2.5).
MOTO_INVOKE_ATTRIBUTE = "_invoke_lambda"
MOTO_INVOKE_PARAMETERS = ("self", "event")


class LambdaContext:
    """The subset of the Lambda Python runtime's context object that handlers and Powertools use."""

    def __init__(
        self,
        function_name: str,
        function_version: str,
        invoked_function_arn: str,
        memory_limit_in_mb: int,
        timeout_s: float,
        aws_request_id: str,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"embedded/[{function_version}]{aws_request_id}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    #: invocations that ran longer than the function's Timeout (not enforced in process)
    over_timeout: int = 0
    duration_s: float = 0.0
    max_duration_s: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "invocations": self.invocations,
            "errors": self.errors,
            "over_timeout": self.over_timeout,
            "duration_s": self.duration_s,
            "max_duration_s": self.max_duration_s,
        }


@dataclass
class _Registration:
    code_dir: Path
    logical_id: str | None = None


@dataclass
class LambdaRuntime:
    """Registry of local code directories plus the replacement for moto's ``_invoke_lambda``."""

    local_env: dict[str, str] = field(default_factory=dict)
    _functions: dict[str, _Registration] = field(default_factory=dict)
    _handlers: dict[tuple[str, str], Callable[..., Any]] = field(default_factory=dict)
    _stats: dict[str, FunctionStats] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _import_lock: threading.RLock = field(default_factory=threading.RLock)
    #: One lock per function: like a Lambda container, a handler module runs one invocation at a time.
    #: Handlers keep per-invocation state in module globals (Powertools' resolver ``current_event``,
    #: the batch processor's records); running two events through one module at once would mix them.
    _containers: dict[str, threading.Lock] = field(default_factory=dict)
    _in_flight: int = 0
    _original: Any = None
    #: the fault injector (``_faults.FaultInjector``) when a fault plan is active
    faults: Any = None
    #: when set, handlers run in worker processes (one container per function) instead of in process
    workers: Any = None
    #: seconds the local clock is ahead of real time, given to every invocation as
    #: ``EMBEDDED_CLOCK_OFFSET_SECONDS`` (the scheduler's clock: ``scheduler.advance()`` moves it)
    clock_offset: Callable[[], float] | None = None

    # ------------------------------------------------------------------ registry
    def register(self, function_name: str, code_dir: Path, logical_id: str | None = None) -> None:
        self._functions[function_name] = _Registration(code_dir.resolve(), logical_id)

    def logical_id(self, function_name: str) -> str | None:
        reg = self._functions.get(function_name)
        return reg.logical_id if reg else None

    def code_dir(self, function_name: str) -> Path | None:
        reg = self._functions.get(function_name)
        return reg.code_dir if reg else None

    # ------------------------------------------------------------------ patching
    def install(self) -> None:
        from moto.awslambda.models import LambdaFunction

        check_moto_invoke_signature()
        runtime = self
        self._original = LambdaFunction.__dict__[MOTO_INVOKE_ATTRIBUTE]

        def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(fn, event)

        setattr(LambdaFunction, MOTO_INVOKE_ATTRIBUTE, _invoke_lambda)

    def uninstall(self) -> None:
        from moto.awslambda.models import LambdaFunction

        if self._original is not None:
            setattr(LambdaFunction, MOTO_INVOKE_ATTRIBUTE, self._original)
            self._original = None

    # ------------------------------------------------------------------ stats
    @property
    def in_flight(self) -> int:
        return self._in_flight

    def stats(self) -> dict[str, Any]:
        with self._lock:
            functions = {name: s.as_dict() for name, s in self._stats.items()}
            return {
                "functions": functions,
                "invocations": sum(s.invocations for s in self._stats.values()),
                "errors": sum(s.errors for s in self._stats.values()),
                "duration_s": sum(s.duration_s for s in self._stats.values()),
            }

    def reset_stats(self) -> None:
        with self._lock:
            self._stats.clear()

    # ------------------------------------------------------------------ invocation
    def _resolve_handler(self, handler: str, code_dir: Path) -> Callable[..., Any]:
        key = (str(code_dir), handler)
        cached = self._handlers.get(key)
        if cached is not None:
            return cached
        module_path, _, attr = handler.rpartition(".")
        if not module_path or not attr:
            raise ValueError(f"Bad handler {handler!r}: expected 'module.function'")
        module_name = module_path.replace("/", ".")
        with self._import_lock:
            if str(code_dir) not in sys.path:
                sys.path.insert(0, str(code_dir))
            module: ModuleType = importlib.import_module(module_name)
            module_file = getattr(module, "__file__", None)
            if module_file and not Path(module_file).resolve().is_relative_to(code_dir):
                raise ImportError(
                    f"Handler module {module_name!r} was already imported from {module_file}, "
                    f"not from this function's code directory {code_dir}; give handler modules "
                    "distinct names"
                )
            func = getattr(module, attr)
            self._handlers[key] = func
            return func

    def invoke(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        """Run ``fn`` (a moto LambdaFunction) with ``event``; returns (payload, errored, logs)."""
        request_id = str(uuid.uuid4())
        name: str = fn.function_name
        if event is None:
            event = {}
        if isinstance(event, bytes | bytearray):
            event = event.decode("utf-8")
        if isinstance(event, str):
            event = json.loads(event) if event.strip() else {}
        reg = self._functions.get(name)
        start = time.perf_counter()
        errored = False
        timeout = float(fn.timeout or 3)
        with self._lock:
            self._in_flight += 1
            container = self._containers.setdefault(name, threading.Lock())
        try:
            if reg is None:
                raise RuntimeError(
                    f"No local code registered for Lambda function {name!r}: only functions deployed "
                    "from a local CodeUri by EmbeddedAws.deploy can run in process"
                )
            env = self._environment(fn, reg.code_dir)
            memory = int(fn.memory_size or 128)
            if self.workers is not None:
                # Each container process runs one invocation at a time; the pool scales out per function.
                # (Duration includes waiting for a free container here.)
                payload, errored = self.workers.invoke(
                    function_name=name,
                    function_arn=fn.function_arn,
                    code_dir=reg.code_dir,
                    handler=fn.handler,
                    environment=env,
                    event=event,
                    memory=memory,
                    timeout=timeout,
                    request_id=request_id,
                )
                if not errored and self.faults is not None and self.faults.crash_after(name, reg.logical_id):
                    errored = True
                    payload = json.dumps(
                        {
                            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                            "signal: killed (injected after the handler's side effects)",
                            "errorType": _faults.InjectedCrash.error_type,
                            "requestId": request_id,
                            "stackTrace": [],
                        }
                    )
                if errored:
                    LOG.warning("Lambda %s failed: %s", name, _error_summary(payload))
                return payload, errored, ""
            with container, _env.overlay(env):
                # Duration and the context's deadline start once the "container" is free.
                start = time.perf_counter()
                context = LambdaContext(name, "$LATEST", fn.function_arn, memory, timeout, request_id)
                handler = self._resolve_handler(fn.handler, reg.code_dir)
                try:
                    with _faults.running_function(name, reg.logical_id):
                        result = handler(event, context)
                    if self.faults is not None and self.faults.crash_after(name, reg.logical_id):
                        raise _faults.InjectedCrash(
                            f"RequestId: {request_id} Error: Runtime exited with error: signal: killed "
                            "(injected after the handler's side effects)"
                        )
                finally:
                    if env.get("POWERTOOLS_METRICS_DISABLED") == "true":
                        _discard_powertools_metrics()
            try:
                payload = json.dumps(result)
            except (TypeError, ValueError) as exc:
                errored = True
                payload = json.dumps(
                    {
                        "errorMessage": f"Unable to marshal response: {exc}",
                        "errorType": "Runtime.MarshalError",
                        "requestId": request_id,
                        "stackTrace": [],
                    }
                )
            return payload, errored, ""
        except Exception as exc:
            errored = True
            LOG.warning("Lambda %s failed: %s: %s", name, type(exc).__name__, exc, exc_info=True)
            stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
            payload = json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": getattr(exc, "error_type", type(exc).__name__),
                    "requestId": request_id,
                    "stackTrace": stack,
                }
            )
            return payload, True, "".join(stack)
        finally:
            elapsed = time.perf_counter() - start
            if elapsed > timeout:
                LOG.warning(
                    "Lambda %s ran %.1f s, over its %.0f s Timeout (not enforced locally)",
                    name,
                    elapsed,
                    timeout,
                )
            with self._lock:
                self._in_flight -= 1
                stats = self._stats.setdefault(name, FunctionStats())
                stats.invocations += 1
                stats.errors += int(errored)
                stats.over_timeout += int(elapsed > timeout)
                stats.duration_s += elapsed
                stats.max_duration_s = max(stats.max_duration_s, elapsed)

    def _environment(self, fn: Any, code_dir: Path) -> dict[str, str]:
        env: dict[str, str] = {
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size or 128),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "embedded",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "_HANDLER": fn.handler,
            "LAMBDA_TASK_ROOT": str(code_dir),
        }
        env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
        env.update(self.local_env)
        if self.clock_offset is not None:
            env[CLOCK_OFFSET_VARIABLE] = repr(float(self.clock_offset()))
        return env


def _error_summary(payload: str) -> str:
    try:
        error = json.loads(payload)
        return f"{error.get('errorType')}: {error.get('errorMessage')}"
    except (ValueError, AttributeError):
        return payload[:500]


def check_moto_invoke_signature() -> None:
    """Raise if moto's private ``LambdaFunction._invoke_lambda`` moved or changed its signature."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.__dict__.get(MOTO_INVOKE_ATTRIBUTE)
    if original is None or not callable(original):
        raise RuntimeError(
            f"moto.awslambda.models.LambdaFunction.{MOTO_INVOKE_ATTRIBUTE} is gone: the embedded "
            "Lambda runtime must be ported to this moto version"
        )
    params = tuple(inspect.signature(original).parameters)
    if params != MOTO_INVOKE_PARAMETERS and getattr(original, "__module__", "") == "moto.awslambda.models":
        raise RuntimeError(
            f"moto's LambdaFunction.{MOTO_INVOKE_ATTRIBUTE} now takes {params}, the embedded runtime "
            f"was written for {MOTO_INVOKE_PARAMETERS}"
        )


def _discard_powertools_metrics() -> None:
    """With POWERTOOLS_METRICS_DISABLED, Powertools' flush returns without clearing its metric set (shared
    by every Metrics instance); in one long-lived process the set then reaches 100 values and Powertools'
    size-triggered flush prints EMF regardless. Lambda would have sent that output to CloudWatch Logs;
    locally, with emission off, the invocation's metrics are discarded instead."""
    try:
        from aws_lambda_powertools import Metrics
    except ImportError:  # a function without Powertools
        return
    Metrics().clear_metrics()


def local_runtime_env(emit_metrics: bool, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables forced on every function locally (they win over the template)."""
    env = {"POWERTOOLS_TRACE_DISABLED": "true"}
    if not emit_metrics:
        env["POWERTOOLS_METRICS_DISABLED"] = "true"
    if extra:
        env.update(extra)
    return env
