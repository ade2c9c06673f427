"""Metering: every AWS request made in this process, by who made it, plus Lambda invocations and log bytes.

Everything (driver, HTTP adapter, Lambda handlers, Step Functions interpreter, SQS pollers, moto) runs in
one process, so one patch of ``botocore.client.BaseClient._make_api_call`` sees every client: boto3's,
PynamoDB's own botocore sessions and the clients moto's Step Functions interpreter creates. A call is
attributed to the first of:

* ``lambda``: made inside a Lambda handler (the embedded runtime overlays ``AWS_LAMBDA_FUNCTION_NAME``
  on the calling thread's environment while the handler runs);
* ``esm``: made by an SQS event-source mapping poller (Lambda's own SQS polling, billed as SQS requests);
* ``stepfunctions``: made by the Step Functions interpreter (its Lambda invokes are state transitions);
* ``apigateway``: made by the local HTTP API adapter (its Lambda invokes are HTTP API requests);
* ``driver``: everything else (the channel, the warehouse and carrier simulators, the bench itself).

EventBridge delivers rule matches to SQS inside moto without an API call; those deliveries are counted by
wrapping moto's ``Rule._send_to_sqs_queue`` (origin ``eventbridge``).

DynamoDB capacity is computed from item sizes (moto's ``ConsumedCapacity`` is a constant and is empty for
transactions): the item's size in moto's table before and after each write (the larger one is billed),
the full stored size of every item a read returns (projections do not reduce the charge).
"""

from __future__ import annotations

import io
import logging
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bench.costs import chunks, dynamodb_read_units, dynamodb_write_units

SQS_CHUNK = 64 * 1024
EVENT_CHUNK = 64 * 1024
_TYPED = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}

_local = threading.local()


@contextmanager
def unmetered() -> Iterator[None]:
    """Calls made by this thread inside the block are not metered (the bench's own bookkeeping)."""
    previous = getattr(_local, "off", False)
    _local.off = True
    try:
        yield
    finally:
        _local.off = previous


def _lambda_function() -> str | None:
    # Only a thread inside a handler sees this (the runtime's per-thread environment overlay).
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME")


def classify() -> tuple[str, str]:
    """(origin, function name or '') of the AWS call being made by the current thread."""
    fn = _lambda_function()
    if fn:
        return "lambda", fn
    return invoker(), ""


def invoker() -> str:
    """Who is calling on this thread, ignoring a Lambda handler that may be running on it: esm,
    stepfunctions, apigateway or driver."""
    if threading.current_thread().name.startswith("embedded-esm"):
        return "esm"
    frame = sys._getframe(2)
    depth = 0
    while frame is not None and depth < 80:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("moto.stepfunctions"):
            return "stepfunctions"
        if module == "infra.embedded._http":
            return "apigateway"
        frame = frame.f_back  # type: ignore[assignment]
        depth += 1
    return "driver"


@dataclass
class Invocation:
    function: str
    memory_mb: int
    duration_s: float
    log_bytes: int = 0
    peak_alloc_bytes: int | None = None
    #: who invoked it: esm, stepfunctions, apigateway or driver
    invoked_by: str = ""


@dataclass
class Meter:
    """Counters of one metered phase. Thread-safe."""

    account_id: str = "123456789012"
    calls: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    """(origin, function, service, operation) → requests"""
    units: defaultdict[tuple[str, str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    """(origin, function, metric) → amount; metrics: ddb_write_units, ddb_read_units, sqs_requests,
    sqs_empty_receives, eventbridge_events, s3_put_bytes"""
    shapes: defaultdict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    """(service, operation) → [calls, payload bytes, items] of system calls, for the floor replay"""
    invocations: list[Invocation] = field(default_factory=list)
    table_write_units: defaultdict[tuple[str, str], Decimal] = field(
        default_factory=lambda: defaultdict(Decimal)
    )
    """(function, table) → DynamoDB write units: where the writes go."""
    log_bytes: Counter[str] = field(default_factory=Counter)
    driver_queues: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ recording
    def add(self, origin: str, function: str, service: str, operation: str) -> None:
        with self._lock:
            self.calls[(origin, function, service, operation)] += 1

    def add_units(self, origin: str, function: str, metric: str, amount: Decimal | int | float) -> None:
        with self._lock:
            self.units[(origin, function, metric)] += Decimal(str(amount))

    def add_shape(self, service: str, operation: str, payload: int, items: int = 0) -> None:
        with self._lock:
            shape = self.shapes[(service, operation)]
            if not shape:
                shape.extend([0.0, 0.0, 0.0])
            shape[0] += 1
            shape[1] += payload
            shape[2] += items

    def add_table_writes(self, function: str, by_table: dict[str, int]) -> None:
        with self._lock:
            for table, units in by_table.items():
                self.table_write_units[(function, table)] += units

    def add_invocation(self, invocation: Invocation) -> None:
        with self._lock:
            self.invocations.append(invocation)

    def add_log(self, function: str, size: int) -> None:
        with self._lock:
            self.log_bytes[function] += size

    # ------------------------------------------------------------------ queries
    def total_units(self, metric: str, origins: tuple[str, ...] | None = None) -> Decimal:
        return sum(
            (v for (o, _, m), v in self.units.items() if m == metric and (origins is None or o in origins)),
            Decimal(0),
        )

    def count(
        self, service: str, operation: str | None = None, origins: tuple[str, ...] | None = None
    ) -> int:
        return sum(
            n
            for (o, _, s, op), n in self.calls.items()
            if s == service and (operation is None or op == operation) and (origins is None or o in origins)
        )


# ------------------------------------------------------------------------------------------ DynamoDB sizes
def _typed(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPED:
        return value
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer().serialize(value)


class _DynamoSizer:
    """Item sizes as stored in moto (the emulated table is the source of truth)."""

    def __init__(self, account_id: str, region: str) -> None:
        from moto.dynamodb.models import dynamodb_backends

        self.backend = dynamodb_backends[account_id][region]

    def key_of(self, table_name: str, item: dict[str, Any]) -> dict[str, Any] | None:
        try:
            table = self.backend.get_table(table_name)
        except Exception:
            return None
        key = {}
        for attr in (table.hash_key_attr, table.range_key_attr):
            if attr:
                if attr not in item:
                    return None
                key[attr] = _typed(item[attr])
        return key

    def size(self, table_name: str, key: dict[str, Any] | None) -> int:
        if not key:
            return 0
        try:
            item = self.backend.get_item(table_name, {k: _typed(v) for k, v in key.items()})
        except Exception:
            return 0
        return int(item.size()) if item is not None else 0


def _write_targets(operation: str, params: dict[str, Any], sizer: _DynamoSizer) -> list[tuple[str, Any, str]]:
    """(table, key, kind) of every item a write request touches; kind is put/update/delete/check."""
    targets: list[tuple[str, Any, str]] = []
    if operation == "PutItem":
        targets.append((params["TableName"], sizer.key_of(params["TableName"], params["Item"]), "put"))
    elif operation in ("UpdateItem", "DeleteItem"):
        targets.append((params["TableName"], params["Key"], operation[:6].lower()))
    elif operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            (kind, body), *_ = entry.items()
            table = body["TableName"]
            key = sizer.key_of(table, body["Item"]) if kind == "Put" else body.get("Key")
            targets.append((table, key, kind.lower()))
    elif operation == "BatchWriteItem":
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    targets.append((table, sizer.key_of(table, request["PutRequest"]["Item"]), "put"))
                elif "DeleteRequest" in request:
                    targets.append((table, request["DeleteRequest"]["Key"], "delete"))
    return targets


_DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
_DDB_READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


def _ddb_read_units(
    operation: str, params: dict[str, Any], response: dict[str, Any], sizer: _DynamoSizer
) -> tuple[Decimal, int]:
    """(read units, items read)."""
    if operation == "GetItem":
        size = sizer.size(params["TableName"], params["Key"]) if response.get("Item") else 0
        return dynamodb_read_units(size, consistent=bool(params.get("ConsistentRead"))), 1
    if operation in ("Query", "Scan"):
        table = params["TableName"]
        items = response.get("Items", [])
        total = sum(sizer.size(table, sizer.key_of(table, item)) for item in items)
        return dynamodb_read_units(total, consistent=bool(params.get("ConsistentRead"))), len(items)
    if operation == "BatchGetItem":
        units = Decimal(0)
        count = 0
        for table, items in response.get("Responses", {}).items():
            consistent = bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
            for item in items:
                units += dynamodb_read_units(
                    sizer.size(table, sizer.key_of(table, item)), consistent=consistent
                )
                count += 1
        return units, count
    if operation == "TransactGetItems":
        units = Decimal(0)
        for entry in params.get("TransactItems", []):
            body = entry["Get"]
            units += dynamodb_read_units(sizer.size(body["TableName"], body["Key"]), transactional=True)
        return units, len(params.get("TransactItems", []))
    return Decimal(0), 0


def _body_size(body: Any) -> int:
    if isinstance(body, bytes | bytearray):
        return len(body)
    if isinstance(body, str):
        return len(body.encode())
    if hasattr(body, "seek") and hasattr(body, "tell"):
        position = body.tell()
        body.seek(0, 2)
        size = int(body.tell())
        body.seek(position)
        return size
    return 0


# ------------------------------------------------------------------------------------------ the patches
class _LambdaStdout(io.TextIOBase):
    """sys.stdout while metering: what a Lambda handler thread prints (Powertools Logger JSON lines and
    EMF metrics) is counted as that function's CloudWatch Logs bytes and not shown; the rest passes."""

    def __init__(self, target: Any, meter_ref: Callable[[], Meter | None]) -> None:
        self.target = target
        self.meter_ref = meter_ref

    def write(self, text: str) -> int:
        fn = _lambda_function()
        meter = self.meter_ref()
        if fn and meter is not None:
            meter.add_log(fn, len(text.encode("utf-8")))
            return len(text)
        return int(self.target.write(text))

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.target, "isatty", lambda: False)())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.target, "encoding", "utf-8"))

    def fileno(self) -> int:
        return int(self.target.fileno())


class Metering:
    """Installs the hooks once; ``meter`` is the Meter that receives the counts (None: count nothing)."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws
        self.meter: Meter | None = None
        #: run one handler at a time (a quiet, uncontended measurement)
        self.serialize = False
        #: and record each invocation's tracemalloc peak (tracemalloc must be started)
        self.trace_memory = False
        self._probe_lock = threading.Lock()
        self._saved: list[tuple[Any, str, Any]] = []
        self._sizers: dict[str, _DynamoSizer] = {}
        self._stdout: _LambdaStdout | None = None
        self._original_stdout: Any = None
        self._wrapped: dict[int, Callable[..., Any]] = {}
        self.samples: dict[str, Any] = {}

    # ------------------------------------------------------------------ install
    def install(self) -> None:
        from botocore.client import BaseClient
        from moto.events.models import Rule

        original_call = BaseClient.__dict__["_make_api_call"]
        metering = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            meter = metering.meter
            if meter is None or getattr(_local, "off", False):
                return original_call(client, operation_name, api_params)
            return metering._metered(meter, original_call, client, operation_name, api_params)

        self._set(BaseClient, "_make_api_call", _make_api_call)

        original_send = Rule.__dict__["_send_to_sqs_queue"]

        def _send_to_sqs_queue(
            rule: Any, resource_id: str, event: dict[str, Any], group_id: str | None = None
        ) -> None:
            meter = metering.meter
            if meter is not None:
                import json

                size = len(json.dumps(event, default=str).encode())
                meter.add("eventbridge", "", "sqs", "SendMessage")
                meter.add_units("eventbridge", "", "sqs_requests", chunks(size, SQS_CHUNK))
                meter.add_shape("eventbridge", "SendMessage", size)
            original_send(rule, resource_id, event, group_id)

        self._set(Rule, "_send_to_sqs_queue", _send_to_sqs_queue)

        runtime = self.aws.runtime
        original_resolve = runtime._resolve_handler

        def _resolve_handler(handler: str, code_dir: Any) -> Callable[..., Any]:
            func = original_resolve(handler, code_dir)
            wrapped = metering._wrapped.get(id(func))
            if wrapped is None:
                wrapped = metering._wrap_handler(func)
                metering._wrapped[id(func)] = wrapped
            return wrapped

        runtime._resolve_handler = _resolve_handler
        self._saved.append((runtime, "_resolve_handler", None))

        self._original_stdout = sys.stdout
        self._stdout = _LambdaStdout(sys.stdout, lambda: metering.meter)
        sys.stdout = self._stdout

    def uninstall(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            if value is None:
                owner.__dict__.pop(name, None)
            else:
                setattr(owner, name, value)
        if self._original_stdout is not None:
            sys.stdout = self._original_stdout
            self._original_stdout = None

    def _set(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    # ------------------------------------------------------------------ Lambda invocations
    def _attach_logger(self) -> None:
        """Powertools Logger keeps the stream it found at creation: point it at the counting stdout."""
        module = sys.modules.get("oms.observability")
        if module is None or self._stdout is None:
            return
        inner = getattr(module.logger, "_logger", None)
        for handler in getattr(inner, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream is not self._stdout:
                handler.setStream(self._stdout)

    def _wrap_handler(self, func: Callable[..., Any]) -> Callable[..., Any]:
        metering = self

        def handler(event: Any, context: Any) -> Any:
            metering._attach_logger()
            meter = metering.meter
            name = str(getattr(context, "function_name", "?"))
            if meter is not None and name not in metering.samples:
                import copy

                metering.samples[name] = copy.deepcopy(event)
            by = invoker() if meter is not None else ""
            serialize, trace = metering.serialize, metering.trace_memory
            if serialize:
                metering._probe_lock.acquire()
            if trace:
                tracemalloc.reset_peak()
            start = time.perf_counter()
            try:
                return func(event, context)
            finally:
                elapsed = time.perf_counter() - start
                peak = tracemalloc.get_traced_memory()[1] if trace else None
                if serialize:
                    metering._probe_lock.release()
                if meter is not None:
                    memory = int(getattr(context, "memory_limit_in_mb", 128))
                    meter.add_invocation(Invocation(name, memory, elapsed, 0, peak, by))

        return handler

    # ------------------------------------------------------------------ AWS requests
    def _sizer(self, region: str) -> _DynamoSizer:
        sizer = self._sizers.get(region)
        if sizer is None:
            sizer = self._sizers[region] = _DynamoSizer(self.aws.account_id, region)
        return sizer

    def _metered(
        self, meter: Meter, original: Callable[..., Any], client: Any, operation: str, params: dict[str, Any]
    ) -> Any:
        origin, function = classify()
        service = client.meta.service_model.service_name
        meter.add(origin, function, service, operation)
        system = origin in ("lambda", "esm", "stepfunctions")
        if service == "dynamodb" and (operation in _DDB_WRITES or operation in _DDB_READS):
            return self._dynamodb(meter, original, client, operation, params, origin, function, system)
        response = original(client, operation, params)
        try:
            self._account(meter, service, operation, params, response, origin, function, system)
        except Exception:  # metering must never break the system under test
            logging.getLogger("bench.meter").exception("metering %s.%s failed", service, operation)
        return response

    def _dynamodb(
        self,
        meter: Meter,
        original: Callable[..., Any],
        client: Any,
        operation: str,
        params: dict[str, Any],
        origin: str,
        function: str,
        system: bool,
    ) -> Any:
        from infra.embedded._ddb import _LOCK  # the emulator's DynamoDB lock: sizes and call are atomic

        sizer = self._sizer(client.meta.region_name)
        with _LOCK:
            targets = _write_targets(operation, params, sizer) if operation in _DDB_WRITES else []
            before = [sizer.size(t, k) for t, k, _ in targets]
            try:
                response = original(client, operation, params)
            finally:
                # A failed conditional write still consumes write capacity.
                if targets:
                    tx = operation == "TransactWriteItems"
                    units = 0
                    size_total = 0
                    by_table: dict[str, int] = {}
                    for (table, key, _kind), size_before in zip(targets, before, strict=True):
                        size = max(size_before, sizer.size(table, key))
                        size_total += size
                        item_units = dynamodb_write_units(size, transactional=tx)
                        units += item_units
                        by_table[table] = by_table.get(table, 0) + item_units
                    meter.add_units(origin, function, "ddb_write_units", units)
                    meter.add_table_writes(function, by_table)
                    if system:
                        meter.add_shape("dynamodb", operation, size_total, len(targets))
            if operation in _DDB_READS:
                units_read, items = _ddb_read_units(operation, params, response, sizer)
                meter.add_units(origin, function, "ddb_read_units", units_read)
                if system:
                    meter.add_shape("dynamodb", operation, 0, items)
        return response

    def _account(
        self,
        meter: Meter,
        service: str,
        operation: str,
        params: dict[str, Any],
        response: Any,
        origin: str,
        function: str,
        system: bool,
    ) -> None:
        if service == "sqs":
            payload = 0
            if operation == "SendMessage":
                payload = len(str(params.get("MessageBody", "")).encode())
            elif operation == "SendMessageBatch":
                payload = sum(len(str(e.get("MessageBody", "")).encode()) for e in params.get("Entries", []))
            elif operation == "ReceiveMessage":
                messages = response.get("Messages", [])
                payload = sum(len(str(m.get("Body", "")).encode()) for m in messages)
                if not messages:
                    meter.add_units(origin, function, "sqs_empty_receives", 1)
                    return
            meter.add_units(origin, function, "sqs_requests", chunks(payload, SQS_CHUNK))
            if origin == "driver":
                meter.driver_queues[str(params.get("QueueUrl", "")).rsplit("/", 1)[-1]] += 1
            if system or origin == "driver":
                meter.add_shape("sqs", operation, payload)
        elif service == "events" and operation == "PutEvents":
            entries = params.get("Entries", [])
            events = sum(
                chunks(
                    len(str(e.get("Detail", "")).encode()) + len(str(e.get("DetailType", ""))), EVENT_CHUNK
                )
                for e in entries
            )
            meter.add_units(origin, function, "eventbridge_events", events)
            meter.add_shape(
                "events", "PutEvents", sum(len(str(e.get("Detail", ""))) for e in entries), len(entries)
            )
        elif service == "s3" and operation == "PutObject":
            size = _body_size(params.get("Body", b""))
            meter.add_units(origin, function, "s3_put_bytes", size)
            if system:
                meter.add_shape("s3", "PutObject", size)
        elif system:
            meter.add_shape(service, operation, 0)
