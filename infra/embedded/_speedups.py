"""Speed-ups of moto internals that cost CPU without changing what the emulated services do.

Everything here is a like-for-like replacement (same inputs, same results, same side effects on
moto's models); each one is restored on ``uninstall()`` and covered by
``tests/integration/test_embedded_speedups.py``. ADR 0002 lists them with the reason each is safe.
"""

from __future__ import annotations

import time
from typing import Any

_MISSING = object()


def _fast_clock(original: Any, scale: float) -> Any:
    """``moto.core.utils.unix_time``/``unix_time_millis`` without building two datetimes per call.

    moto computes "now" as ``datetime.now(UTC)`` minus the epoch, i.e. ``time.time()`` rounded to the
    microsecond, at ~6 µs a call; SQS calls it twice per message per scan of a queue. Called with an
    explicit datetime, the original runs.
    """

    def clock(dt: Any = None) -> float:
        if dt is not None:
            return float(original(dt))
        return time.time() * scale

    clock.__wrapped__ = original  # type: ignore[attr-defined]
    return clock


class MotoSpeedups:
    def __init__(self, *, verify_serializer: bool = False) -> None:
        from ._serialize import FastJsonResponses

        self._saved: list[tuple[Any, str, Any]] = []
        #: DynamoDB responses serialized by exact member names (see ``_serialize``)
        self.json_responses = FastJsonResponses(verify=verify_serializer)

    def _set(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    def install(self) -> None:
        self._sqs()
        self._stepfunctions_clients()
        self._stepfunctions_parse_trees()
        self._dynamodb_transactions()
        self._jsonpath_parsers()
        self.json_responses.install()

    def uninstall(self) -> None:
        self.json_responses.uninstall()
        while self._saved:
            owner, name, value = self._saved.pop()
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)

    # ------------------------------------------------------------------ SQS
    def _sqs(self) -> None:
        import moto.sqs.models as sqs_models
        from moto.core import utils

        # Message.visible/.delayed, Queue.messages and ReceiveMessage read the clock through these
        # module globals of moto.sqs.models.
        self._set(sqs_models, "unix_time", _fast_clock(utils.unix_time, 1.0))
        self._set(sqs_models, "unix_time_millis", _fast_clock(utils.unix_time_millis, 1000.0))

        def is_message_valid_based_on_retention_period(backend: Any, queue_name: str, message: Any) -> bool:
            # moto reads MessageRetentionPeriod through get_queue_attributes, which builds the whole
            # attribute dict three times (each counting visible, delayed and in-flight messages over
            # the whole queue) for every message received: quadratic in the queue depth. The
            # attribute is the queue's ``message_retention_period`` (an int), read directly here.
            queue = backend.get_queue(queue_name)
            retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
            return bool(retain_until > sqs_models.unix_time())

        self._set(
            sqs_models.SQSBackend,
            "is_message_valid_based_on_retention_period",
            is_message_valid_based_on_retention_period,
        )

    # ------------------------------------------------------------------ Step Functions
    def _stepfunctions_clients(self) -> None:
        """One boto3 client per (region, service) for Step Functions' service integrations.

        ``boto_client_for`` builds a new client (tens of ms: loading the service model, resolving
        the endpoint, registering handlers) for every Task state. Its arguments besides region and
        service are constants (fixed fake keys, no retries, fixed timeouts; ``state_credentials``
        is ignored by moto 5.2.5), so a cached client is the same client. botocore clients are
        thread-safe, and no caller changes a client (no event handlers registered on it). The cache
        is also keyed on whether moto intercepts boto calls, the only other input.
        """
        import threading

        from moto.core.models import botocore_stubber
        from moto.stepfunctions.parser.asl.utils import boto_client

        original = boto_client.boto_client_for
        clients: dict[tuple[str, str, bool], Any] = {}
        lock = threading.Lock()

        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            key = (region, service, bool(botocore_stubber.enabled))
            client = clients.get(key)
            if client is None:
                with lock:
                    client = clients.get(key)
                    if client is None:
                        client = original(region=region, service=service, state_credentials=state_credentials)
                        clients[key] = client
            return client

        boto_client_for.__wrapped__ = original  # type: ignore[attr-defined]
        # The integrations imported the function by name: replace it in each of their modules, all
        # imported before anything is replaced (a module imported later would bind the replacement,
        # which stop() could not restore).
        holders = _modules_importing(original)
        assert boto_client in holders
        for module in holders:
            self._set(module, "boto_client_for", boto_client_for)

    def _stepfunctions_parse_trees(self) -> None:
        """Lex and parse each state machine definition once, build its program per execution.

        moto's ``ExecutionWorker._get_evaluation_entrypoint`` runs ``AmazonStateLanguageParser.parse``
        for every execution: ANTLR lexing and parsing (~90 % of the cost), then the ``Preprocessor``
        turning the parse tree into evaluation components. The parse tree is a pure function of the
        definition text and nothing writes to it afterwards (the Preprocessor only reads it), so it
        is cached per definition string; the Preprocessor still runs per execution, so every
        execution gets its own, fresh components exactly as before. A definition with syntax
        errors is not cached and raises as before.

        The Preprocessor keeps its query-language scope stack in a class attribute shared by all
        instances; preprocessing runs under a lock so concurrent executions cannot interleave it.
        """
        import threading

        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        trees: dict[str, Any] = {}
        lock = threading.Lock()

        def _get_evaluation_entrypoint(worker: Any) -> Any:
            definition: str = worker._evaluation_details.state_machine_details.definition
            tree = trees.get(definition)
            with lock:
                if tree is None:
                    program, tree = AmazonStateLanguageParser.parse(definition)
                    if len(trees) >= MAX_CACHED_DEFINITIONS:
                        trees.clear()
                    trees[definition] = tree
                    return program
                return Preprocessor().visit(tree)

        self._set(ExecutionWorker, "_get_evaluation_entrypoint", _get_evaluation_entrypoint)

    # ------------------------------------------------------------------ DynamoDB
    def _dynamodb_transactions(self) -> None:
        """TransactWriteItems backs up only the partitions it writes, not whole tables.

        moto's ``transact_write_items`` deep-copies every table a transaction names, once per item
        naming it, so it can restore the copy if the transaction is cancelled: a cost proportional
        to the table size on every transaction (quadratic over a run). A transaction can only
        change the items at its own keys, so this wrapper deep-copies those partitions (the item, or
        the hash key's range-key items) before running moto's own implementation with the table
        copy turned into the table itself, and puts the partitions back if it raises. Tables with a
        stream (whose records a rollback would also have to undo) and requests it cannot read keys
        from take moto's original path. One difference, towards AWS: moto left the writes of the
        items before a ``TransactWriteSingleOpException`` in place; AWS writes nothing, and neither
        does this.
        """
        import copy
        import threading

        import moto.dynamodb.models as ddb_models
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table

        original = ddb_models.DynamoDBBackend.__dict__["transact_write_items"]
        local = threading.local()

        class _Copy:
            """``copy`` for moto.dynamodb.models: inside a wrapped transaction a Table "copy" is the table."""

            def __getattr__(self, name: str) -> Any:
                return getattr(copy, name)

            @staticmethod
            def deepcopy(value: Any, memo: Any = None) -> Any:
                if getattr(local, "active", False) and isinstance(value, Table):
                    return value
                return copy.deepcopy(value, memo)

        def snapshot(backend: Any, items: list[dict[str, Any]]) -> list[tuple[Any, Any, bool, Any]] | None:
            seen: set[tuple[int, Any]] = set()
            saved: list[tuple[Any, Any, bool, Any]] = []
            try:
                for item in items:
                    op_type, op = next(iter(item.items()))
                    table = backend.tables.get(op.get("TableName"))
                    if table is None:
                        continue  # moto reports it; nothing to back up
                    if table.stream_shard is not None:
                        return None
                    attrs = op["Item"] if op_type == "Put" else op["Key"]
                    hash_key = DynamoType(attrs[table.hash_key_attr])
                    if (id(table), hash_key) in seen:
                        continue
                    seen.add((id(table), hash_key))
                    present = hash_key in table.items
                    saved.append(
                        (table, hash_key, present, copy.deepcopy(table.items[hash_key]) if present else None)
                    )
            except Exception:
                return None
            return saved

        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            saved = snapshot(backend, transact_items) if isinstance(transact_items, list) else None
            if saved is None or len(transact_items) > 100:
                return original(backend, transact_items)
            local.active = True
            try:
                return original(backend, transact_items)
            except BaseException:
                for table, hash_key, present, partition in saved:
                    if present:
                        table.items[hash_key] = partition
                    else:
                        table.items.pop(hash_key, None)
                raise
            finally:
                local.active = False

        self._set(ddb_models, "copy", _Copy())
        self._set(ddb_models.DynamoDBBackend, "transact_write_items", transact_write_items)

    # ------------------------------------------------------------------ JSONPath
    def _jsonpath_parsers(self) -> None:
        """Parse each JSONPath expression once for moto's Step Functions and EventBridge.

        ``jsonpath_ng.ext.parse`` builds a new PLY parser (its tables included) for every call, and
        moto calls it for every ``$.path`` a state evaluates and every InputTransformer path of every
        event delivered. The parsed expression is an immutable tree (its nodes only set attributes
        in ``__init__``; ``find`` reads them), so the same expression string yields an equal,
        shareable object: it is cached per string (bounded). Parse errors are not cached.
        ``jsonpath_ng.ext.parse`` is replaced on the package (moto.events imports it at call time)
        and in the moto modules that imported it by name.
        """
        import functools

        import jsonpath_ng
        import jsonpath_ng.ext
        import moto.stepfunctions.parser.asl.component.common.path.result_path as result_path
        import moto.stepfunctions.parser.asl.utils.json_path as json_path

        def cached(original: Any) -> Any:
            @functools.lru_cache(maxsize=MAX_CACHED_JSONPATHS)
            def parse_cached(path: str) -> Any:
                return original(path)

            @functools.wraps(original)
            def parse(path: str, *args: Any, **kwargs: Any) -> Any:
                if args or kwargs or not isinstance(path, str):
                    return original(path, *args, **kwargs)
                return parse_cached(path)

            return parse

        ext_parse = cached(jsonpath_ng.ext.parse)
        self._set(jsonpath_ng.ext, "parse", ext_parse)
        self._set(json_path, "parse", ext_parse)
        self._set(result_path, "parse", cached(jsonpath_ng.parse))


#: distinct JSONPath expressions kept parsed (per parser)
MAX_CACHED_JSONPATHS = 4096

#: distinct state machine definitions whose parse trees are kept
MAX_CACHED_DEFINITIONS = 64


def _modules_importing(func: Any) -> list[Any]:
    """Loaded ``moto.stepfunctions`` modules holding ``func`` as the global ``boto_client_for``,
    after importing every module of moto 5.2.5 known to do so (they load lazily)."""
    import importlib
    import sys

    base = "moto.stepfunctions.parser.asl.component.state.exec."
    for name in STEPFUNCTIONS_CLIENT_MODULES:
        importlib.import_module(base + name)
    return [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("moto.stepfunctions.") and getattr(module, "boto_client_for", None) is func
    ]


#: modules of moto 5.2.5 that do ``from ...boto_client import boto_client_for`` (relative to
#: ``moto.stepfunctions.parser.asl.component.state.exec``)
STEPFUNCTIONS_CLIENT_MODULES = (
    "state_map.result_writer.resource_eval.resource_eval_s3",
    "state_map.item_reader.eval.resource_eval_s3",
    "state_task.lambda_eval_utils",
    "state_task.service.state_task_service_unsupported",
    "state_task.service.state_task_service_glue",
    "state_task.service.state_task_service_events",
    "state_task.service.state_task_service_ecs",
    "state_task.service.state_task_service_sqs",
    "state_task.service.state_task_service_sfn",
    "state_task.service.state_task_service_dynamodb",
    "state_task.service.state_task_service_batch",
    "state_task.service.state_task_service_sns",
    "state_task.service.state_task_service_aws_sdk",
)
