"""Speed-ups of moto internals that cost CPU without changing what the emulated services do.

Everything here is a like-for-like replacement (same inputs, same results, same side effects on
moto's models); each one is restored on ``uninstall()`` and covered by
``tests/integration/test_embedded_speedups.py``. ADR 0002 lists them with the reason each is safe.
"""

from __future__ import annotations

import time
from typing import Any

_ABSENT = object()


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
        #: UpdateExpression text -> its parse tree, shared by every caller (see _dynamodb_update_expressions)
        self.update_expression_trees: dict[str, Any] = {}
        #: DynamoDB responses serialized by exact member names (see ``_serialize``)
        self.json_responses = FastJsonResponses(verify=verify_serializer)

    def _set(self, owner: Any, name: str, value: Any) -> None:
        """Replace ``owner.name`` (restored on uninstall). The target must exist in ``owner.__dict__``:
        a moto upgrade that moved it fails the start-up loudly instead of silently doing nothing."""
        if name not in getattr(owner, "__dict__", {}):
            raise RuntimeError(
                f"moto internal {getattr(owner, '__name__', owner)}.{name} is gone: the embedded AWS "
                "speed-up that replaces it must be ported to this moto version"
            )
        self._saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def _add(self, owner: Any, name: str, value: Any) -> None:
        """Give ``owner`` an attribute it does not define itself (removed on uninstall); if a moto upgrade
        defined it, start-up fails so that the speed-up is re-examined."""
        existing = getattr(owner, "__dict__", {}).get(name, _ABSENT)
        if existing is not _ABSENT and not getattr(existing, "embedded_speedup", False):
            raise RuntimeError(
                f"moto now defines {getattr(owner, '__name__', owner)}.{name} itself: re-examine the "
                "embedded AWS speed-up that adds it"
            )
        value.embedded_speedup = True
        self._saved.append((owner, name, existing))
        setattr(owner, name, value)

    def install(self) -> None:
        self._sqs()
        self._stepfunctions_clients()
        self._stepfunctions_parse_trees()
        self._dynamodb_transactions()
        self._dynamodb_partition_queries()
        self._dynamodb_update_expressions()
        self._dynamodb_item_sizes()
        self._dynamodb_regular_json()
        self._dynamodb_value_copies()
        self._backend_urls()
        self._request_routing()
        self._action_methods()
        self._user_agents()
        self._jsonpath_parsers()
        self.json_responses.install()

    def uninstall(self) -> None:
        self.json_responses.uninstall()
        while self._saved:
            owner, name, value = self._saved.pop()
            if value is _ABSENT:
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
        """TransactWriteItems backs up only the items it writes, not whole tables.

        moto's ``transact_write_items`` deep-copies every table a transaction names, once per item
        naming it, so it can restore the copy if the transaction is cancelled: a cost proportional
        to the table size on every transaction (quadratic over a run). A transaction can only
        change the items at its own keys, so this wrapper deep-copies those items (by hash key, and
        range key where the table has one: a partition of 1,900 backorders is not copied to change
        one of them) before running moto's own implementation with the table copy turned into the
        table itself, and puts the items back (or removes the ones it created) if it raises. (The stream
        records of a transaction are held back until it commits, see :mod:`._streams`, so tables with a
        stream take this path too.) Requests it cannot read keys from take moto's original path. One
        difference, towards AWS: moto left the writes of the
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

        def snapshot(backend: Any, items: list[dict[str, Any]]) -> list[Any] | None:
            """For each item key the transaction names: (table, hash key, range key or None, whether the
            partition existed, whether the item existed, a deep copy of the item)."""
            seen: set[tuple[int, Any, Any]] = set()
            saved: list[Any] = []
            try:
                for item in items:
                    op_type, op = next(iter(item.items()))
                    table = backend.tables.get(op.get("TableName"))
                    if table is None:
                        continue  # moto reports it; nothing to back up
                    attrs = op["Item"] if op_type == "Put" else op["Key"]
                    hash_key = DynamoType(attrs[table.hash_key_attr])
                    range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
                    if (id(table), hash_key, range_key) in seen:
                        continue
                    seen.add((id(table), hash_key, range_key))
                    partition = table.items.get(hash_key)
                    if range_key is None:
                        old = partition
                    else:
                        old = partition.get(range_key) if partition is not None else None
                    copied = copy.deepcopy(old) if old is not None else None
                    saved.append((table, hash_key, range_key, partition is not None, old is not None, copied))
            except Exception:
                return None
            return saved

        def restore(saved: list[Any]) -> None:
            for table, hash_key, range_key, had_partition, had_item, copied in reversed(saved):
                if range_key is None:
                    if had_item:
                        table.items[hash_key] = copied
                    else:
                        table.items.pop(hash_key, None)
                    continue
                partition = table.items.get(hash_key)
                if had_item:
                    if partition is None:
                        partition = table.items[hash_key] = {}
                    partition[range_key] = copied
                elif partition is not None:
                    partition.pop(range_key, None)
                    if not partition and not had_partition:
                        table.items.pop(hash_key, None)

        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            saved = snapshot(backend, transact_items) if isinstance(transact_items, list) else None
            if saved is None or len(transact_items) > 100:
                return original(backend, transact_items)
            local.active = True
            try:
                return original(backend, transact_items)
            except BaseException:
                restore(saved)
                raise
            finally:
                local.active = False

        self._set(ddb_models, "copy", _Copy())
        self._set(ddb_models.DynamoDBBackend, "transact_write_items", transact_write_items)

    def _dynamodb_partition_queries(self) -> None:
        """A Query of a base table reads only the partition of its hash key.

        ``Table.query`` without an index takes ``[i for i in self.all_items() if i.hash_key == key]``:
        every item of the table, sorted, on every query (45 ms at 5,000 items). The items of one hash
        key are ``table.items[key]`` (moto stores them there, keyed by the same ``DynamoType`` whose
        ``__hash__``/``__eq__`` the comparison uses), and moto sorts the candidates by range key right
        after; so during a base-table query ``all_items`` answers that partition alone, in moto's own
        order. Index queries and scans still see every item.
        """
        import threading
        from decimal import Decimal

        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table

        original_query = Table.__dict__["query"]
        original_all_items = Table.__dict__["all_items"]
        local = threading.local()

        def all_items(table: Any) -> list[Any]:
            partition_of = getattr(local, "partition_of", None)
            if partition_of is None or partition_of[0] is not table:
                return original_all_items(table)
            local.partition_of = None  # one read per query; anything else sees the whole table
            hash_key = partition_of[1]
            partition = table.items.get(hash_key)
            if partition is None:
                return []
            if table.range_key_attr:
                # moto sorts these by range key next (unique within a partition: any input order gives
                # the same list), so they are not sorted here as well.
                return list(partition.values())
            return [partition]

        def query(table: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
            index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
            if index_name or hash_key is None:
                return original_query(table, hash_key, *args, **kwargs)
            local.partition_of = (table, hash_key)
            try:
                return original_query(table, hash_key, *args, **kwargs)
            finally:
                local.partition_of = None

        self._set(Table, "all_items", all_items)
        self._set(Table, "query", query)

        # Sorting, equality and hashing of key values go through ``cast_value``, which asks is_number(),
        # is_set(), is_list()... in turn and wraps every nested value in a new DynamoType; the same
        # conversion by a direct look at the type (a partition of 1,900 backorders is sorted per query).
        sets = ("SS", "NS", "BS")

        def scalar(kind: str, value: Any) -> Any:
            return Decimal(value) if kind == "N" else value

        def cast(value: Any) -> Any:
            return value.cast_value if type(value) is DynamoType else DynamoType(value).cast_value

        def cast_value(value_type: Any) -> Any:
            kind = value_type.type
            value = value_type.value
            if kind == "N":
                return Decimal(value)
            if kind in sets:
                return {scalar(kind[0], v) for v in value}
            if kind == "L":
                return [cast(v) for v in value]
            if kind == "M":
                return {k: cast(v) for k, v in value.items()}
            if kind == "NULL":
                return None
            return value

        self._set(DynamoType, "cast_value", property(cast_value))

    def _dynamodb_update_expressions(self) -> None:
        """Tokenize and parse each UpdateExpression once; validate with each processor's node map built once.

        ``UpdateExpressionParser.make`` tokenizes and parses the expression text twice per UpdateItem
        (the request handler, then the backend). The tree is a pure function of the text and its
        callers only read it: the request handlers look for placeholders (``find_clauses``), and the
        validator that rewrites placeholders into values starts from its own ``deepcopy`` of it. So
        the parsed tree is shared (a test checks that a corpus of updates leaves every cached tree as
        a fresh parse builds it). The validator's copy is :func:`_clone_tree` (``copy.deepcopy`` of a
        tree costs as much as parsing it again). Syntax errors are not cached and raise as before.

        The validator then runs ten processors over the tree; each asks its ``_processing_map()`` (a
        new dict of its own bound methods) once per node visited, twice. Those maps are literals, so
        each processor instance keeps the first one it builds.
        """
        import threading

        from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]
        from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

        make = UpdateExpressionParser.__dict__["make"].__func__
        trees: dict[str, Any] = {}
        self.update_expression_trees = trees
        lock = threading.Lock()

        def cached_make(cls: Any, expression_str: str) -> Any:
            tree = trees.get(expression_str)
            if tree is None:
                tree = make(cls, expression_str)
                with lock:
                    if len(trees) >= MAX_CACHED_EXPRESSIONS:
                        trees.clear()
                    trees[expression_str] = tree
            return tree

        self._set(UpdateExpressionParser, "make", classmethod(cached_make))

        # moto's validators start with ``deepcopy(expression)``: the same clone serves them.
        def __deepcopy__(node: Any, memo: Any) -> Any:
            return _clone_tree(node)

        self._add(Node, "__deepcopy__", __deepcopy__)

        from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # type: ignore[attr-defined]

        def processing_map(traverser: Any) -> Any:
            cached = traverser.__dict__.get("_embedded_map")
            if cached is None:
                cached = traverser.__dict__["_embedded_map"] = traverser._processing_map()
            return cached

        def nodes_to_be_processed(traverser: Any) -> tuple[Any, ...]:
            cached = traverser.__dict__.get("_embedded_types")
            if cached is None:
                cached = traverser.__dict__["_embedded_types"] = tuple(processing_map(traverser).keys())
            return cached  # type: ignore[no-any-return]

        def process(traverser: Any, node: Any) -> Any:
            for class_key, processor in processing_map(traverser).items():
                if isinstance(node, class_key):
                    return processor(node)
            return None

        self._set(DepthFirstTraverser, "nodes_to_be_processed", nodes_to_be_processed)
        self._set(DepthFirstTraverser, "process", process)

    def _dynamodb_regular_json(self) -> None:
        """``DynamoType.to_regular_json`` converts nested values once instead of copying them first.

        moto deep-copies a map or list value (every nested ``DynamoType`` through its ``__deepcopy__``)
        and then converts each nested copy with ``to_regular_json``, which copies again: the work grows
        with the nesting depth (an order's history is a list of maps). Converting is a pure function of
        the value, so converting the originals gives equal results; values that are not ``DynamoType``
        are still deep-copied, the binary rule is unchanged.
        """
        import base64
        import copy

        from moto.dynamodb.models.dynamo_type import DynamoType

        def to_regular_json(value_type: Any) -> dict[str, Any]:
            value = value_type.value
            if isinstance(value, dict):
                value = {
                    key: nested.to_regular_json() if isinstance(nested, DynamoType) else copy.deepcopy(nested)
                    for key, nested in value.items()
                }
            elif isinstance(value, list):
                value = [
                    nested.to_regular_json() if isinstance(nested, DynamoType) else copy.deepcopy(nested)
                    for nested in value
                ]
            else:
                value = copy.deepcopy(value)
            if value_type.is_binary() and isinstance(value, str):
                value = base64.b64decode(value)
            return {value_type.type: value}

        self._set(DynamoType, "to_regular_json", to_regular_json)

    def _dynamodb_item_sizes(self) -> None:
        """``Item.__init__`` checks the 400 KB limit with a running total, not by re-measuring.

        moto builds an item attribute by attribute through ``LimitedSizeDict.__setitem__``, which sums
        the size of every key and value already in the dict before each insert: quadratic in the
        number of attributes, on every read of a stored item into a result. Item's attribute names
        are distinct, so the sum before the n-th insert is the running total of the sizes of the
        inserts before it: the same comparison against the same limit, raising the same
        ``ItemSizeTooLarge``. ``LimitedSizeDict.__setitem__`` itself (update expressions) is unchanged.
        """
        from moto.dynamodb.exceptions import ItemSizeTooLarge
        from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
        from moto.dynamodb.models.utilities import bytesize

        def __init__(item: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
            item.hash_key = hash_key
            item.range_key = range_key
            values = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.__init__(values)
            total = 0
            for key, value in attrs.items():
                typed = DynamoType(value)
                size = bytesize(key) + typed.size()
                if total + size > ITEM_SIZE_LIMIT:
                    raise ItemSizeTooLarge
                dict.__setitem__(values, key, typed)
                total += size
            item.attrs = values

        self._set(Item, "__init__", __init__)

    def _dynamodb_value_copies(self) -> None:
        """Attribute values are copied and measured by direct recursion.

        ``UpdateItem`` deep-copies the stored item twice (the request handler keeps the old values for
        ``ReturnValues``; the backend keeps one for a stream) and re-measures the whole item for the
        400 KB limit after each action. moto's ``DynamoType.__deepcopy__`` goes through
        ``copy.deepcopy`` and its memo for every nested value, and ``DynamoType.size`` wraps every value
        of a map in a new ``DynamoType`` (which re-wraps its children) before measuring it, so both grow
        with the nesting depth (an order's history is a list of maps). The replacements walk the same
        tree once: a copy has the same type and value at every node, shares the immutable scalars as
        moto's does and copies sets into new lists as moto's does; a size is moto's arithmetic (number
        text length, UTF-8 bytes, 1 for booleans and NULL, names of map keys) on the same nodes.
        Attribute value trees are acyclic (moto's own comment), so the memo's sharing never applies.
        """
        from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
        from moto.dynamodb.models.utilities import bytesize

        new = object.__new__
        sets = ("SS", "NS", "BS")

        def clone(value: Any) -> Any:
            copied = new(DynamoType)
            kind = copied.type = value.type
            inner = value.value
            if kind == "L":
                copied.value = [clone(v) for v in inner]
            elif kind == "M":
                copied.value = {k: clone(v) for k, v in inner.items()}
            elif kind in sets:
                copied.value = list(inner)
            else:
                copied.value = inner
            return copied

        def value_deepcopy(value: Any, memo: Any) -> Any:
            return clone(value)

        def item_deepcopy(item: Any, memo: Any) -> Any:
            copied: Any = new(Item)
            copied.hash_key = clone(item.hash_key) if item.hash_key is not None else None
            copied.range_key = clone(item.range_key) if item.range_key is not None else None
            attrs = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.__init__(attrs)
            for key, value in item.attrs.items():
                dict.__setitem__(attrs, key, clone(value))
            copied.attrs = attrs
            return copied

        def scalar_size(kind: str, inner: Any) -> int:
            if kind == "N":
                return len(str(inner))
            if isinstance(inner, bool):
                return 1
            return bytesize(inner)

        def size(value: Any) -> int:
            kind = value.type
            inner = value.value
            if kind == "N":
                return len(str(inner))
            if kind in sets:
                return sum(scalar_size(kind[0], v) for v in inner)
            if kind == "L":
                return sum(size(v) for v in inner)
            if kind == "M":
                return sum(
                    bytesize(k) + size(v if type(v) is DynamoType else DynamoType(v))
                    for k, v in inner.items()
                )
            if isinstance(inner, bool):
                return 1
            return bytesize(inner)

        self._set(DynamoType, "__deepcopy__", value_deepcopy)
        self._set(Item, "__deepcopy__", item_deepcopy)
        self._set(DynamoType, "size", size)

    def _backend_urls(self) -> None:
        """Each backend's URL map is built once per run, not on every request.

        ``BotocoreStubber.process_request`` reads ``backend.urls`` for every request: the map of URL
        patterns to handlers, rebuilt from ``url_bases`` and the service's ``urls`` module, and for S3
        after ``importlib.reload`` of that module (its paths depend on environment settings). The
        settings are read when a run starts and do not change during it, so the map is kept per
        backend instance for as long as the speed-ups are installed.
        """
        import threading

        from moto.core.base_backend import BaseBackend

        original = BaseBackend.__dict__["urls"]
        maps: dict[int, tuple[Any, Any]] = {}
        lock = threading.Lock()

        def urls(backend: Any) -> Any:
            cached = maps.get(id(backend))
            if cached is not None and cached[0] is backend:
                return cached[1]
            built = original.fget(backend)
            with lock:
                maps[id(backend)] = (backend, built)
            return built

        self._set(BaseBackend, "urls", property(urls))

    # ------------------------------------------------------------------ request dispatch
    def _request_routing(self) -> None:
        """Each request URL is routed to its moto handler once per run.

        ``BotocoreStubber.process_request`` finds the handler of every request by trying the URL
        against the URL pattern of every moto service in turn (about 180), then against every URL
        pattern of the matching backend. The answer is a pure function of the URL without its query
        string and of moto's pass-through and allow-list settings, which are fixed when a run starts;
        so it is kept per URL (bounded). Everything after the routing (request normalization, the
        request recorder, the handler call, ``HTTPException`` mapping) is moto's code, unchanged.
        """
        import re
        import threading

        import moto.backend_index as backend_index
        from moto.core.base_backend import BackendDict
        from moto.core.botocore_stubber import BotocoreStubber
        from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
        from moto.core.exceptions import ServiceNotWhitelisted
        from moto.core.request import normalize_request
        from moto.core.utils import get_equivalent_url_in_aws_domain

        passthrough = object()
        not_implemented = object()
        routes: dict[str, Any] = {}
        lock = threading.Lock()

        def resolve(clean_url: str) -> Any:
            if passthrough_url(clean_url):
                return passthrough
            for service, pattern in backend_index.backend_url_patterns:
                if pattern.match(clean_url):
                    if passthrough_service(service):
                        return passthrough
                    if not service_whitelisted(service):
                        raise ServiceNotWhitelisted(service)
                    import moto.backends as backends
                    from moto.core import DEFAULT_ACCOUNT_ID

                    backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
                    if isinstance(backend_dict, BackendDict):
                        if "us-east-1" in backend_dict[DEFAULT_ACCOUNT_ID]:
                            backend = backend_dict[DEFAULT_ACCOUNT_ID]["us-east-1"]
                        else:
                            backend = backend_dict[DEFAULT_ACCOUNT_ID]["aws"]
                    else:
                        backend = backend_dict["global"]
                    for url, method_to_execute in backend.urls.items():
                        if re.compile(url).match(clean_url):
                            return method_to_execute
            if re.compile(r"https?://.+\.amazonaws.com/.*").match(clean_url):
                return not_implemented
            return passthrough

        def process_request(stubber: Any, request: Any) -> Any:
            from moto.core.exceptions import HTTPException
            from moto.moto_api import recorder

            parsed_url, _ = get_equivalent_url_in_aws_domain(request.url)
            clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
            route = routes.get(clean_url)
            if route is None:
                route = resolve(clean_url)
                with lock:
                    if len(routes) >= MAX_CACHED_ROUTES:
                        routes.clear()
                    routes[clean_url] = route
            if route is passthrough:
                return None
            if route is not_implemented:
                return 404, {}, "Not yet implemented"
            normalized_request = normalize_request(request)
            try:
                recorder._record_request(normalized_request)
                status, headers, body = route(
                    normalized_request,
                    normalized_request.raw_url,
                    normalized_request.headers,
                )
            except HTTPException as e:
                status = e.code
                headers = e.get_headers()
                body = e.get_body()
            return status, headers, body

        self._set(BotocoreStubber, "process_request", process_request)

    def _action_methods(self) -> None:
        """The action methods of a response class are listed once per class, not per request.

        ``BaseResponse.call_action`` runs ``inspect.getmembers`` over the response class on every
        request to see whether the action is one of its methods (about 8 % of a bare GetItem). Response
        classes do not gain or lose methods during a run (the embedded AWS replaces some before the
        first request and restores them after the last), so the list is kept per class.
        """
        import threading

        import moto.core.responses as moto_responses

        original = moto_responses.__dict__["method_names_from_class"]
        names: dict[Any, list[str]] = {}
        lock = threading.Lock()

        def method_names_from_class(clazz: Any) -> list[str]:
            listed = names.get(clazz)
            if listed is None:
                listed = original(clazz)
                with lock:
                    names[clazz] = listed
            return listed

        self._set(moto_responses, "method_names_from_class", method_names_from_class)

    # ------------------------------------------------------------------ botocore (client side)
    def _user_agents(self) -> None:
        """botocore builds each client's User-Agent header once per set of request features.

        ``UserAgentString.to_string`` assembles the header from about twenty components, each
        sanitized character by character, twice per request (about 10 % of a bare call). Its inputs
        are the object's own attributes and its client configuration, fixed when the client is
        created, plus the features of the request's context (``botocore.context``); so the string is
        kept per (object, features). A legacy override (``user_agent`` in the config) and a replaced
        ``modify_components`` hook take botocore's path every time.
        """
        import threading

        from botocore import useragent

        original = useragent.UserAgentString.__dict__["to_string"]
        hook = useragent.__dict__["modify_components"]
        strings: dict[tuple[int, frozenset[str]], tuple[Any, str]] = {}
        lock = threading.Lock()

        def to_string(ua: Any) -> str:
            config = ua._client_config
            override = None
            if config:
                override = getattr(config, "_supplied_user_agent", config.user_agent)
            if override is not None or useragent.modify_components is not hook:
                return str(original(ua))
            context = useragent.get_context()
            features = frozenset(
                (ua._client_features or set()) | (set() if context is None else context.features)
            )
            key = (id(ua), features)
            cached = strings.get(key)
            if cached is not None and cached[0] is ua:
                return cached[1]
            built = str(original(ua))
            with lock:
                if len(strings) >= MAX_CACHED_ROUTES:
                    strings.clear()
                strings[key] = (ua, built)
            return built

        self._set(useragent.UserAgentString, "to_string", to_string)

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

#: distinct request URLs kept routed, and User-Agent strings kept built
MAX_CACHED_ROUTES = 4096

#: distinct UpdateExpressions kept parsed
MAX_CACHED_EXPRESSIONS = 4096

#: moto's item size limit (``LimitedSizeDict``: between the documented 400 KB and the 409-410 KB measured)
ITEM_SIZE_LIMIT = 405000

#: distinct state machine definitions whose parse trees are kept
MAX_CACHED_DEFINITIONS = 64


_IMMUTABLE = (str, int, float, bool, type(None))


def _clone_tree(node: Any, parent: Any = None) -> Any:
    """A deep copy of a moto DynamoDB expression tree (``ast_nodes.Node``: ``type``, ``children``,
    ``parent``): every node new, children lists new, ``parent`` pointing into the copy; attribute
    values that are not immutable scalars or nodes go through ``copy.deepcopy``."""
    import copy

    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    if not isinstance(node, Node):
        return node if isinstance(node, _IMMUTABLE) else copy.deepcopy(node)
    clone = node.__class__.__new__(node.__class__)
    attributes = {}
    for name, value in node.__dict__.items():
        if name == "parent":
            attributes[name] = parent
        elif name == "children" and isinstance(value, list):
            attributes[name] = [_clone_tree(child, clone) for child in value]
        elif isinstance(value, Node):
            attributes[name] = _clone_tree(value, clone)
        else:
            attributes[name] = value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
    clone.__dict__.update(attributes)
    return clone


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
