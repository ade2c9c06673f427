"""Fault injection: the failures AWS promises, on demand, seeded and reproducible.

One :class:`FaultPlan` (plain data: JSON in, JSON out, so it can be handed to another process) says what
to inject; :class:`FaultInjector` applies it while the embedded AWS runs. Where each kind is injected:

* **AWS calls** (``throttle``, ``server_error``, ``connection_reset``, ``latency``, ``pause``): on the
  emulator's side of the boundary, around moto's ``BotocoreStubber.__call__`` (the ``before-send`` hook
  that hands every botocore request to moto). So the injection sees every call, whether a handler makes it
  through boto3 or PynamoDB or the Step Functions interpreter makes it for a task, and the caller's own
  retry configuration (botocore's, PynamoDB's, the ASL's) is what has to cope. A throttle is refused
  before it takes effect; a 5xx or a reset is injected before or, with ``after_apply`` probability, after
  the request took effect (the response is lost: DynamoDB documents that a 500 "may or may not have
  succeeded").
* **Handler crash after its side effects** (``crash_after_side_effects``): in the in-process Lambda
  runtime, after the handler returned and before its result is handed back: the invocation fails with
  ``Runtime.ExitError`` as if the process had died, so Step Functions retries the task and SQS redelivers
  the batch, with every side effect already made.
* **Deliveries** (``duplicate_delivery``, ``out_of_order``, ``delayed_delivery``): in the SQS event-source
  pollers (a processed message is left undeleted and comes back; a batch is shuffled; a message is held
  back and delivered later) and in EventBridge's delivery to SQS (an event sent twice, or later).

Decisions are not drawn from a shared random stream (threads would consume it in a different order on
every run): each is a hash of (seed, rule, caller, service, operation, n-th such call), so a run with the
same seed and the same calls per caller injects the same faults. Filters: service, operation, function
(logical id or name), origin (``lambda`` = inside a handler, ``stepfunctions`` = the state machine's own
calls, ``esm``, ``apigateway``, ``driver`` = the code driving the test or demo) and resource (queue or
rule name, for deliveries).

Clients' retry back-off sleeps (botocore's, so PynamoDB's too, and the ASL Retry intervals) are scaled by
``retry_time_scale`` while a plan is active, as the SQS pollers' ``retry_delay`` shortens visibility
timeouts: the number of attempts and the policy stay those of the code, only the wall-clock waits shrink.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

LOG = logging.getLogger("infra.embedded.faults")

#: Environment variable that switches a whole run on: a JSON plan, a path to one, or ``chaos[:seed]``.
FAULTS_ENV_KNOB = "OMS_EMBEDDED_FAULTS"

CALL_KINDS = ("throttle", "server_error", "connection_reset", "latency", "pause")
INVOCATION_KINDS = ("crash_after_side_effects",)
DELIVERY_KINDS = ("duplicate_delivery", "out_of_order", "delayed_delivery")
KINDS = CALL_KINDS + INVOCATION_KINDS + DELIVERY_KINDS

#: The callers whose AWS calls the default rules fault: code inside a Lambda handler and the state machine.
SYSTEM_ORIGINS = ("lambda", "stepfunctions")

_SERVICE_ALIASES = {
    "events": "eventbridge",
    "stepfunctions": "sfn",
    "states": "sfn",
    "secretsmanager": "secrets-manager",
}

# botocore service id (hyphenized) -> wire protocol, for the services the OMS calls.
_PROTOCOLS = {
    "dynamodb": "json",
    "sqs": "json",
    "eventbridge": "json",
    "sfn": "json",
    "ssm": "json",
    "secrets-manager": "json",
    "cloudwatch-logs": "json",
    "lambda": "rest-json",
    "s3": "rest-xml",
    "cloudformation": "query",
    "sts": "query",
    "sns": "query",
}


def _normal_service(name: str | None) -> str | None:
    if name is None:
        return None
    lowered = name.lower()
    return _SERVICE_ALIASES.get(lowered, lowered)


# ------------------------------------------------------------------------------------------------ plan
@dataclass(frozen=True)
class FaultRule:
    """One kind of fault at a rate, optionally narrowed to a service, operation, function or resource."""

    kind: str
    rate: float = 1.0
    service: str | None = None
    """botocore service id (``dynamodb``, ``sqs``, ``s3``, ``events``/``eventbridge``, ``sfn``...)."""
    operation: str | None = None
    """API operation (``UpdateItem``, ``TransactWriteItems``, ``PutEvents``...)."""
    function: str | None = None
    """Lambda function, by logical id (``AllocateFunction``) or physical name: the caller for AWS calls,
    the crashing function, the consumer of an SQS queue for deliveries."""
    origins: tuple[str, ...] = SYSTEM_ORIGINS
    """For AWS calls: which callers (``lambda``, ``stepfunctions``, ``esm``, ``apigateway``, ``driver``)."""
    resource: str | None = None
    """For deliveries: a substring of the queue name (SQS) or rule name (EventBridge)."""
    after_apply: float = 0.0
    """server_error / connection_reset: probability that the request took effect before the fault."""
    delay_s: float = 0.0
    """latency: seconds added to the call; delayed_delivery: the longest hold-back (uniform up to it)."""
    gate: str | None = None
    """pause: the call waits until ``FaultInjector.open_gate(gate)`` (or ``delay_s``, 30 s by default)."""
    limit: int | None = None
    """At most this many injections of this rule (None: no limit)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")
        if not 0.0 <= self.rate <= 1.0 or not 0.0 <= self.after_apply <= 1.0:
            raise ValueError("rate and after_apply are probabilities (0..1)")
        object.__setattr__(self, "service", _normal_service(self.service))
        object.__setattr__(self, "origins", tuple(self.origins))


@dataclass(frozen=True)
class FaultPlan:
    """What to inject in a run: a seed and rules. Plain data (``to_json``/``from_json``)."""

    seed: int = 0
    rules: tuple[FaultRule, ...] = ()
    retry_time_scale: float = 0.05
    """Factor applied to clients' retry back-off sleeps and ASL Retry intervals while the plan is active."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))

    @classmethod
    def chaos(
        cls,
        seed: int = 0,
        *,
        error_rate: float = 0.10,
        crash_rate: float = 0.05,
        duplicate_rate: float = 0.05,
        reorder_rate: float = 0.5,
        delay_rate: float = 0.02,
        max_delay_s: float = 2.0,
        after_apply: float = 0.5,
    ) -> FaultPlan:
        """A business day's worth of AWS misbehaviour: ``error_rate`` of every AWS call a handler or the
        state machine makes fails transiently (a third each throttled, 5xx, connection reset; 5xx and
        resets half of the time after the request took effect), ``crash_rate`` of invocations crash after
        their side effects, ``duplicate_rate`` of SQS messages and EventBridge deliveries come twice, half of
        the SQS batches of more than one message arrive shuffled (standard queues promise no order) and
        ``delay_rate`` of deliveries come late."""
        third = error_rate / 3
        return cls(
            seed=seed,
            rules=(
                FaultRule("throttle", third),
                FaultRule("server_error", third, after_apply=after_apply),
                FaultRule("connection_reset", third, after_apply=after_apply),
                FaultRule("crash_after_side_effects", crash_rate),
                FaultRule("duplicate_delivery", duplicate_rate),
                FaultRule("out_of_order", reorder_rate),
                FaultRule("delayed_delivery", delay_rate, delay_s=max_delay_s),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "retry_time_scale": self.retry_time_scale,
            "rules": [{k: v for k, v in asdict(r).items() if v not in (None, ())} for r in self.rules],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        rules = tuple(
            FaultRule(**{**rule, "origins": tuple(rule.get("origins", SYSTEM_ORIGINS))})
            for rule in data.get("rules", [])
        )
        return cls(
            seed=int(data.get("seed", 0)),
            rules=rules,
            retry_time_scale=float(data.get("retry_time_scale", 0.05)),
        )

    @classmethod
    def from_json(cls, text: str) -> FaultPlan:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_env(cls, value: str | None = None) -> FaultPlan | None:
        """The plan the ``OMS_EMBEDDED_FAULTS`` switch names: ``chaos`` or ``chaos:<seed>``, inline JSON,
        or a path to a JSON file. Empty or unset: no faults."""
        value = os.environ.get(FAULTS_ENV_KNOB, "") if value is None else value
        value = value.strip()
        if not value or value.lower() in ("0", "off", "false", "no"):
            return None
        if value.lower().startswith("chaos"):
            _, _, seed = value.partition(":")
            return cls.chaos(int(seed) if seed else 0)
        if value.startswith("{"):
            return cls.from_json(value)
        with open(value, encoding="utf-8") as handle:
            return cls.from_json(handle.read())


# ------------------------------------------------------------------------------------------------ caller
@dataclass(frozen=True)
class Caller:
    origin: str
    function: str = ""
    logical_id: str = ""


#: The Lambda function whose handler runs in this context (set by the embedded runtime per invocation).
CURRENT_FUNCTION: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "embedded_current_function", default=None
)


@contextlib.contextmanager
def running_function(function_name: str, logical_id: str | None) -> Iterator[None]:
    """Mark the current context as running ``function_name``'s handler (the runtime wraps each call)."""
    token = CURRENT_FUNCTION.set(Caller("lambda", function_name, logical_id or ""))
    try:
        yield
    finally:
        CURRENT_FUNCTION.reset(token)


def current_caller() -> Caller:
    """Who makes the AWS call on this thread: a handler, the state machine, a poller, the HTTP adapter,
    or the driver (tests, the demo, the simulators)."""
    running = CURRENT_FUNCTION.get()
    if running is not None:
        return running
    if threading.current_thread().name.startswith("embedded-esm"):
        return Caller("esm")
    frame: Any = sys._getframe(2)
    depth = 0
    while frame is not None and depth < 120:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("moto.stepfunctions"):
            return Caller("stepfunctions")
        if module == "infra.embedded._http":
            return Caller("apigateway")
        frame = frame.f_back
        depth += 1
    return Caller("driver")


class InjectedCrash(Exception):
    """The handler's process died after its side effects (what the runtime reports for it)."""

    error_type = "Runtime.ExitError"


# ------------------------------------------------------------------------------------------------ injector
@dataclass
class Injection:
    kind: str
    caller: str
    target: str
    at: float
    after_apply: bool = False


@dataclass
class FaultInjector:
    plan: FaultPlan
    injected: Counter[str] = field(default_factory=Counter)
    log: list[Injection] = field(default_factory=list)
    _counters: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    _rule_hits: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _gates: dict[str, threading.Event] = field(default_factory=dict)
    _paused: Counter[str] = field(default_factory=Counter)
    _pending: int = 0
    _delayed: set[str] = field(default_factory=set)
    _saved: list[tuple[Any, str, Any]] = field(default_factory=list)
    _installed: bool = False
    enabled: bool = True
    logical_id_of: Any = None

    def use(self, plan: FaultPlan) -> None:
        """Switch to another plan for the rest of the run (counts and decisions start afresh)."""
        with self._lock:
            self.plan = plan
            self._counters.clear()
            self._rule_hits.clear()
            self.injected.clear()
            self.log.clear()

    # ------------------------------------------------------------------ decisions
    def _draw(self, *key: Any) -> float:
        """A number in [0, 1) for the n-th occurrence of ``key``, from the seed alone."""
        with self._lock:
            self._counters[key] += 1
            n = self._counters[key]
        digest = hashlib.sha256(repr((self.plan.seed, n, *key)).encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def _fires(self, index: int, rule: FaultRule, *key: Any) -> bool:
        if not self.enabled or rule.rate <= 0:
            return False
        if self._draw(index, *key) >= rule.rate:
            return False
        with self._lock:
            if rule.limit is not None and self._rule_hits[index] >= rule.limit:
                return False
            self._rule_hits[index] += 1
        return True

    def _record(self, kind: str, caller: str, target: str, *, after_apply: bool = False) -> None:
        with self._lock:
            self.injected[kind] += 1
            if len(self.log) < 100_000:
                self.log.append(Injection(kind, caller, target, time.time(), after_apply))

    @staticmethod
    def _function_matches(rule: FaultRule, caller: Caller) -> bool:
        return rule.function is None or rule.function in (caller.function, caller.logical_id)

    def rules_of(self, kinds: tuple[str, ...]) -> list[tuple[int, FaultRule]]:
        return [(i, r) for i, r in enumerate(self.plan.rules) if r.kind in kinds]

    def report(self) -> dict[str, int]:
        """Injections so far, per kind (every kind of the plan listed, zero included)."""
        with self._lock:
            kinds = {rule.kind for rule in self.plan.rules}
            return {
                kind: self.injected.get(kind, 0) for kind in KINDS if kind in kinds or self.injected[kind]
            }

    def reset_counts(self) -> None:
        with self._lock:
            self.injected.clear()
            self.log.clear()

    # ------------------------------------------------------------------ gates (pause)
    def open_gate(self, name: str) -> None:
        with self._lock:
            gate = self._gates.setdefault(name, threading.Event())
        gate.set()

    def paused(self, name: str) -> int:
        """How many calls have waited (or are waiting) at gate ``name``."""
        with self._lock:
            return self._paused[name]

    def wait_paused(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.paused(name) == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no call reached gate {name!r} within {timeout} s")
            time.sleep(0.01)

    @property
    def pending_deliveries(self) -> int:
        """Deliveries held back (delayed) and not delivered yet: the system is not idle while any is."""
        return self._pending

    # ------------------------------------------------------------------ AWS calls
    def on_call(self, original: Any, stubber: Any, event_name: str, request: Any, kwargs: Any) -> Any:
        if not self.enabled:
            return original(stubber, event_name, request, **kwargs)
        parts = event_name.split(".")
        service = parts[1] if len(parts) > 1 else ""
        operation = parts[2] if len(parts) > 2 else ""
        caller = current_caller()
        who = caller.logical_id or caller.function or caller.origin
        target = f"{service}.{operation}"
        for index, rule in self.rules_of(CALL_KINDS):
            if caller.origin not in rule.origins or not self._function_matches(rule, caller):
                continue
            if rule.service not in (None, service) or rule.operation not in (None, operation):
                continue
            if not self._fires(index, rule, who, service, operation):
                continue
            if rule.kind == "latency":
                self._record("latency", who, target)
                time.sleep(rule.delay_s)
                continue
            if rule.kind == "pause":
                self._pause(rule)
                continue
            protocol = _PROTOCOLS.get(service)
            if protocol is None:
                continue  # a service whose error shape is not known here: not faulted
            kind = rule.kind
            if kind == "connection_reset" and caller.origin == "stepfunctions":
                # The state machine reports a lost response as a service error of the integration.
                kind = "server_error"
            after = rule.after_apply > 0 and self._draw("after", index, who, target) < rule.after_apply
            if after:
                original(stubber, event_name, request, **kwargs)  # took effect; the answer is lost
            self._record(kind, who, target, after_apply=after)
            LOG.debug("fault %s on %s by %s (after apply: %s)", kind, target, who, after)
            if kind == "connection_reset":
                from botocore.exceptions import ConnectionClosedError

                raise ConnectionClosedError(endpoint_url=getattr(request, "url", ""))
            return _error_response(request, service, protocol, kind)
        return original(stubber, event_name, request, **kwargs)

    def _pause(self, rule: FaultRule) -> None:
        name = rule.gate or "default"
        with self._lock:
            gate = self._gates.setdefault(name, threading.Event())
            self._paused[name] += 1
            self.injected["pause"] += 1
        gate.wait(rule.delay_s or 30.0)

    # ------------------------------------------------------------------ invocations
    def crash_after(self, function_name: str, logical_id: str | None) -> bool:
        """Whether this invocation of the function dies after its side effects (decided per call)."""
        caller = Caller("lambda", function_name, logical_id or "")
        who = logical_id or function_name
        for index, rule in self.rules_of(INVOCATION_KINDS):
            if self._function_matches(rule, caller) and self._fires(index, rule, who, "invoke"):
                self._record("crash_after_side_effects", who, "invoke")
                return True
        return False

    # ------------------------------------------------------------------ deliveries
    def _delivery_rules(
        self, kind: str, resource: str, consumer: Caller | None
    ) -> list[tuple[int, FaultRule]]:
        found = []
        for index, rule in self.rules_of((kind,)):
            if rule.resource is not None and rule.resource not in resource:
                continue
            if rule.function is not None and (consumer is None or not self._function_matches(rule, consumer)):
                continue
            found.append((index, rule))
        return found

    def delivery_fires(
        self, kind: str, resource: str, message_key: str, consumer: Caller | None = None
    ) -> float:
        """0 when ``kind`` does not happen to this message now; else the rule's ``delay_s`` (or 1e-9)."""
        for index, rule in self._delivery_rules(kind, resource, consumer):
            if self._fires(index, rule, resource, message_key):
                self._record(kind, consumer.logical_id if consumer else "eventbridge", resource)
                if kind == "delayed_delivery":
                    return max(rule.delay_s, 0.05) * self._draw("delay", index, resource, message_key)
                return 1e-9
        return 0.0

    # ------------------------------------------------------------------ SQS event-source mappings
    def consumer(self, function_arn: str) -> Caller:
        name = function_arn.rsplit(":", 1)[-1]
        logical = self.logical_id_of(name) if self.logical_id_of else None
        return Caller("lambda", name, logical or "")

    def shape_batch(
        self, queue_name: str, function_arn: str, messages: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], float]]]:
        """(the batch to deliver now, [(message, delay)] held back for later). A shuffled batch is the
        out-of-order delivery standard queues allow."""
        consumer = self.consumer(function_arn)
        now: list[dict[str, Any]] = []
        later: list[tuple[dict[str, Any], float]] = []
        for message in messages:
            delay = 0.0
            if message["MessageId"] not in self._delayed:  # held back once: a late message, not a lost one
                delay = self.delivery_fires("delayed_delivery", queue_name, message["MessageId"], consumer)
            if delay > 0:
                with self._lock:
                    self._delayed.add(message["MessageId"])
                later.append((message, delay))
            else:
                now.append(message)
        if len(now) > 1 and self.delivery_fires("out_of_order", queue_name, now[0]["MessageId"], consumer):
            now.sort(key=lambda m: hashlib.sha256(f"{self.plan.seed}{m['MessageId']}".encode()).digest())
        return now, later

    def redelivered(self, queue_name: str, function_arn: str, message: dict[str, Any]) -> bool:
        """Whether a processed message is delivered again (its delete is lost, as SQS allows)."""
        consumer = self.consumer(function_arn)
        key = f"{message['MessageId']}#{message.get('Attributes', {}).get('ApproximateReceiveCount', '')}"
        return self.delivery_fires("duplicate_delivery", queue_name, key, consumer) > 0

    def hold(self) -> None:
        with self._lock:
            self._pending += 1

    def release(self) -> None:
        with self._lock:
            self._pending -= 1

    # ------------------------------------------------------------------ install
    def _set(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    def install(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber
        from moto.events.models import Rule

        if self._installed:
            return
        injector = self
        original_call = BotocoreStubber.__dict__["__call__"]

        def __call__(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            if not stubber.enabled:
                return original_call(stubber, event_name, request, **kwargs)
            return injector.on_call(original_call, stubber, event_name, request, kwargs)

        self._set(BotocoreStubber, "__call__", __call__)

        original_send = Rule.__dict__["_send_to_sqs_queue"]

        def _send_to_sqs_queue(
            rule: Any, resource_id: str, event: dict[str, Any], group_id: Any = None
        ) -> None:
            injector.deliver_event(original_send, rule, resource_id, event, group_id)

        self._set(Rule, "_send_to_sqs_queue", _send_to_sqs_queue)
        self._scale_retry_sleeps()
        self._installed = True

    def _scale_retry_sleeps(self) -> None:
        import botocore.endpoint
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        scaled = _ScaledSleep(self.plan.retry_time_scale)
        self._set(botocore.endpoint, "time", scaled)
        self._set(retrier_decl, "time", scaled)

    def uninstall(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        self._installed = False
        for gate in list(self._gates.values()):
            gate.set()

    # ------------------------------------------------------------------ EventBridge -> SQS
    def deliver_event(
        self, original: Any, rule: Any, resource_id: str, event: dict[str, Any], group_id: Any
    ) -> None:
        name = getattr(rule, "name", "")
        key = str(event.get("id", ""))
        # moto mutates the event (its time); give each delivery its own copy.
        delay = self.delivery_fires("delayed_delivery", name, key)
        twice = self.delivery_fires("duplicate_delivery", name, key) > 0
        copies = 2 if twice else 1
        for _ in range(copies):
            if delay > 0:
                self._later(delay, original, rule, resource_id, json.loads(json.dumps(event)), group_id)
            else:
                original(rule, resource_id, json.loads(json.dumps(event)), group_id)

    def _later(self, delay: float, fn: Any, *args: Any) -> None:
        self.hold()

        def run() -> None:
            try:
                fn(*args)
            except Exception:
                LOG.exception("delayed delivery failed")
            finally:
                self.release()

        timer = threading.Timer(delay, run)
        timer.daemon = True
        timer.start()


_MISSING = object()


class _ScaledSleep:
    """The ``time`` module as seen by a retry loop: ``sleep`` shortened by ``scale``, the rest as it is."""

    def __init__(self, scale: float) -> None:
        self._scale = max(scale, 0.0)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0) * self._scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _error_response(request: Any, service: str, protocol: str, kind: str) -> Any:
    """An AWS error answer as the service would send it (so botocore parses and classifies it)."""
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    throttled = kind == "throttle"
    if protocol == "rest-xml":  # S3
        status, code = (503, "SlowDown") if throttled else (500, "InternalError")
        body = f"<Error><Code>{code}</Code><Message>injected {kind}</Message></Error>"
        headers = {"Content-Type": "application/xml"}
    elif protocol == "query":
        status, code = (400, "Throttling") if throttled else (500, "InternalFailure")
        body = (
            f"<ErrorResponse><Error><Type>{'Sender' if throttled else 'Receiver'}</Type><Code>{code}</Code>"
            f"<Message>injected {kind}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
        )
        headers = {"Content-Type": "text/xml"}
    elif protocol == "rest-json":  # Lambda
        status, code = (429, "TooManyRequestsException") if throttled else (500, "ServiceException")
        body = json.dumps({"message": f"injected {kind}", "Type": "Service"})
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    else:
        if throttled:
            status = 400
            code = (
                "ProvisionedThroughputExceededException" if service == "dynamodb" else "ThrottlingException"
            )
        else:
            status, code = 500, "InternalServerError" if service == "dynamodb" else "InternalFailure"
        body = json.dumps({"__type": f"com.amazonaws.injected#{code}", "message": f"injected {kind}"})
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    headers["x-amzn-RequestId"] = "injected-fault"
    return AWSResponse(getattr(request, "url", ""), status, headers, MockRawResponse(body))


def with_rules(plan: FaultPlan, *rules: FaultRule) -> FaultPlan:
    """A copy of ``plan`` with ``rules`` added."""
    return replace(plan, rules=(*plan.rules, *rules))


def check_moto_fault_points() -> None:
    """Raise if the moto internals the injector wraps moved (moto upgrade: port the injector)."""
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.events.models import Rule
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    if "__call__" not in BotocoreStubber.__dict__ or "_send_to_sqs_queue" not in Rule.__dict__:
        raise RuntimeError("moto's BotocoreStubber.__call__ or Rule._send_to_sqs_queue moved")
    if not hasattr(retrier_decl, "time"):
        raise RuntimeError("moto's ASL retrier no longer sleeps through its module's `time`")
