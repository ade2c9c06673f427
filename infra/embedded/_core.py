"""EmbeddedAws: the project's SAM template deployed into moto, in process, and made to run."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from . import _env
from ._auth import LocalIdentityProvider, issuing_configs
from ._ddb import DynamoDbSerializer
from ._deploy import StateMachineCfnPatch, prepare, secret_creator
from ._endpoint import AwsEndpoint
from ._esm import SqsPollers
from ._faults import FaultInjector, FaultPlan
from ._fixes import MotoFixes
from ._http import HttpApiServer, Route, routes_from_template
from ._lock_and_sign import SigningAndRetentionFixes
from ._runtime import LambdaRuntime, local_runtime_env
from ._sam import SamError, load_template, package, translate
from ._scheduler import LocalScheduler
from ._sfn_clock import StepFunctionsClock, parked
from ._speedups import MotoSpeedups
from ._streams import DynamoDbStreams
from ._workers import WorkerContainers

LOG = logging.getLogger("infra.embedded")

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
#: Set to "1"/"true" to let Powertools Metrics print its EMF JSON locally (off by default: noise).
METRICS_ENV_KNOB = "OMS_EMBEDDED_METRICS"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` as a timedelta."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"duration {text!r}: expected a number and s, m, h or d (15m, 2h, 1d)")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: float(match.group(1))})


def _apply_bucket_notifications(template: dict[str, Any], resources: dict[str, str], region: str) -> None:
    """moto's CloudFormation creates a bucket without its NotificationConfiguration: a bucket that sends
    its events to EventBridge (``EventBridgeConfiguration``) is given it through the S3 API, as AWS would."""
    import boto3

    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::S3::Bucket" or logical_id not in resources:
            continue
        notification = (resource.get("Properties") or {}).get("NotificationConfiguration") or {}
        bridge = notification.get("EventBridgeConfiguration") or {}
        if str(bridge.get("EventBridgeEnabled", "")).lower() == "true":
            boto3.client("s3", region_name=region).put_bucket_notification_configuration(
                Bucket=resources[logical_id], NotificationConfiguration={"EventBridgeConfiguration": {}}
            )


def _follow_clock(source: Any) -> None:
    """Hand the scheduler's clock to the application's time source (``oms.clock``, decision 0031), so that
    handlers run in process act on the simulated day. An application without one is left alone."""
    import importlib.util

    if importlib.util.find_spec("oms") is None or importlib.util.find_spec("oms.clock") is None:
        return
    import importlib

    importlib.import_module("oms.clock").follow(source)


_active_lock = threading.Lock()
_active: list[EmbeddedAws] = []


@dataclass
class DeployedStack:
    """A stack deployed by :meth:`EmbeddedAws.deploy`."""

    stack_name: str
    outputs: dict[str, str]
    #: logical id → physical id: queue URL for queues, table name, bucket name, function name,
    #: state machine ARN, event bus name, secret ARN, parameter name, rule name, role name…
    resources: dict[str, str]
    #: logical id → CloudFormation type (after SAM translation)
    resource_types: dict[str, str]
    routes: list[Route] = field(default_factory=list)
    #: logical ids that were not created because nothing local needs them (HTTP API, schedules…)
    skipped: dict[str, str] = field(default_factory=dict)
    api_url: str | None = None
    _aws: EmbeddedAws | None = field(default=None, repr=False)
    _http: HttpApiServer | None = field(default=None, repr=False)

    @property
    def embedded(self) -> EmbeddedAws:
        """The running EmbeddedAws this stack lives in (``wait_idle()``, ``stats()``)."""
        if self._aws is None:
            raise RuntimeError("stack is not attached to a running EmbeddedAws")
        return self._aws

    def _physical(self, logical_id: str, expected_type: str) -> str:
        if logical_id not in self.resources:
            raise KeyError(f"No resource {logical_id!r} in stack {self.stack_name}")
        actual = self.resource_types.get(logical_id)
        if actual != expected_type:
            raise KeyError(f"{logical_id} is a {actual}, not a {expected_type}")
        return self.resources[logical_id]

    def function_name(self, logical_id: str) -> str:
        return self._physical(logical_id, "AWS::Lambda::Function")

    def queue_url(self, logical_id: str) -> str:
        return self._physical(logical_id, "AWS::SQS::Queue")

    def state_machine_arn(self, logical_id: str) -> str:
        return self._physical(logical_id, "AWS::StepFunctions::StateMachine")

    def table_name(self, logical_id: str) -> str:
        return self._physical(logical_id, "AWS::DynamoDB::Table")

    def bucket_name(self, logical_id: str) -> str:
        return self._physical(logical_id, "AWS::S3::Bucket")

    def serve_http_api(self, port: int = 0) -> str:
        """Serve the template's HttpApi routes on 127.0.0.1; returns the base URL."""
        if self._aws is None:
            raise RuntimeError("stack is not attached to a running EmbeddedAws")
        if self._http is None:
            self._http = HttpApiServer(
                self.routes,
                self._aws.region,
                self._aws.account_id,
                identity_provider=self._aws.identity_provider,
            )
            self._aws._servers.append(self._http)
        self.api_url = self._http.start(port)
        # Outputs built from the (not emulated) HTTP API id now point at the local server.
        pattern = re.compile(
            r"https://embedded-skipped-([A-Za-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com"
        )
        changed: dict[str, str] = {}
        for key, value in list(self.outputs.items()):
            match = pattern.match(value)
            if match and self.skipped.get(match.group(1)) == "AWS::ApiGatewayV2::Api":
                changed[key] = self.outputs[key] = self.api_url + value[match.end() :]
        self._aws._set_stack_outputs(self.stack_name, changed)
        return self.api_url

    def mint_token(
        self,
        subject: str,
        scopes: Sequence[str] = (),
        *,
        audience: str | None = None,
        issuer: str | None = None,
        expires_in: int = 3600,
        extra_claims: dict[str, Any] | None = None,
        authorizer: str | None = None,
    ) -> str:
        """A token the JWT authorizers of this stack accept (``identity_provider.mint_token``), issued
        for ``authorizer``'s issuer and first audience (default: the API's DefaultAuthorizer)."""
        configs = {r.auth.jwt.name: r.auth.jwt for r in self.routes if r.auth and r.auth.jwt}
        if authorizer is not None and authorizer not in configs:
            raise KeyError(f"no JWT authorizer {authorizer!r} on a route of {self.stack_name}")
        provider = self.embedded.identity_provider
        if authorizer is not None:
            config = configs[authorizer]
        else:
            config = provider.default_authorizer(issuing_configs(r.auth for r in self.routes))
        return provider.mint_token(
            subject,
            scopes,
            audience=config.audience[0] if audience is None and config.audience else audience,
            issuer=config.issuer if issuer is None else issuer,
            expires_in=expires_in,
            extra_claims=extra_claims,
        )


class EmbeddedAws:
    """moto, in process, with the fill-ins that make a SAM application actually run.

    Usage::

        with EmbeddedAws() as aws:
            stack = aws.deploy("template.yaml")
            url = stack.serve_http_api()
            ...
            aws.wait_idle()

    Only one instance may be started at a time (moto's mock is process-wide).
    Step Functions: always pass ``name`` to StartExecution; moto names unnamed executions "None".
    """

    def __init__(
        self,
        region: str = "us-east-1",
        *,
        retry_delay: float | None = None,
        emit_metrics: bool | None = None,
        function_env: dict[str, str] | None = None,
        esm_concurrency: int = 1,
        verify_speedups: bool = False,
        faults: FaultPlan | None = None,
        workers: bool = False,
    ) -> None:
        """
        :param retry_delay: seconds after which a message that failed in an SQS event-source mapping
            becomes visible again; ``None`` keeps the queue's VisibilityTimeout (as on AWS).
        :param emit_metrics: let Powertools Metrics print EMF to stdout; default from the
            ``OMS_EMBEDDED_METRICS`` environment variable, else off.
        :param function_env: variables forced on every function (win over the template's).
        :param esm_concurrency: batches processed at once per SQS event-source mapping (AWS scales
            this out on its own; 1 keeps local runs simple and ordered).
        :param workers: run each function's handler in a worker process of its own (one container per
            function, its AWS calls through the local endpoint) instead of in this process: the
            business day then uses every core. Tests that patch handler code in process keep the default.
        :param verify_speedups: run moto's own serializer beside the fast one on every response and
            record differences in ``speedups.json_responses.mismatches`` (tests; doubles the cost).
        :param faults: the faults to inject (``_faults.FaultPlan``); default from the
            ``OMS_EMBEDDED_FAULTS`` environment variable (``chaos``, ``chaos:<seed>``, JSON or a path),
            else none.
        """
        self.region = region
        self.retry_delay = retry_delay
        if emit_metrics is None:
            emit_metrics = os.environ.get(METRICS_ENV_KNOB, "").lower() in ("1", "true", "yes")
        self.emit_metrics = emit_metrics
        self.function_env = dict(function_env or {})
        from moto.core import DEFAULT_ACCOUNT_ID

        self.account_id: str = DEFAULT_ACCOUNT_ID
        #: the issuer of the tokens that the templates' JWT authorizers accept (``mint_token()``)
        self.identity_provider = LocalIdentityProvider()
        self.runtime = LambdaRuntime(local_env=local_runtime_env(emit_metrics, self.function_env))
        self._pollers = SqsPollers(self.account_id, region, retry_delay, esm_concurrency)
        #: DynamoDB Streams → Lambda mappings (moto's inline delivery replaced)
        self._streams = DynamoDbStreams(self.account_id, region, retry_delay)
        self._ddb = DynamoDbSerializer()
        self._sfn_patch = StateMachineCfnPatch()
        self._fixes = MotoFixes()
        self._lock_and_sign = SigningAndRetentionFixes()
        self._speedups = MotoSpeedups(verify_serializer=verify_speedups)
        plan = faults if faults is not None else FaultPlan.from_env()
        self._faults = FaultInjector(plan) if plan is not None else None
        if self._faults is not None:
            self._faults.logical_id_of = self.runtime.logical_id
            self.runtime.faults = self._faults
            self._pollers.faults = self._faults
        self.use_workers = workers
        #: the template's EventBridge Scheduler schedules, on a clock that ``scheduler.advance()`` moves
        self.scheduler = LocalScheduler(region, self.account_id)
        #: Step Functions timeouts, heartbeats, task-token waits and Wait states on the scheduler's clock
        self._sfn_clock = StepFunctionsClock(self.scheduler.clock)
        # ... and the functions' own clock (oms.runtime.now) follows it too
        self.runtime.clock_offset = lambda: self.scheduler.clock.offset.total_seconds()
        #: the emulated AWS for other processes (``serve_endpoint()``), with its control routes
        self.endpoint = AwsEndpoint()
        self.endpoint.control_routes.update(clock=self._control_clock, token=self._control_token)
        self._workers: WorkerContainers | None = None
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._servers: list[HttpApiServer] = []
        self.stacks: dict[str, DeployedStack] = {}
        self._started = False
        self._saved_warning_filters: list[Any] = []
        self._env_installed = False

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> EmbeddedAws:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._started:
            return
        with _active_lock:
            if _active:
                raise RuntimeError("another EmbeddedAws is running in this process; stop it first")
            _active.append(self)
        try:
            self._start()
        except BaseException:
            self._started = True
            self.stop()
            raise
        self._started = True

    def _start(self) -> None:
        from moto import mock_aws

        env = dict(FAKE_CREDENTIALS, AWS_DEFAULT_REGION=self.region, AWS_REGION=self.region)
        for key, value in env.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        _env.install()
        self._env_installed = True
        self._mock = mock_aws(
            config={
                "stepfunctions": {"execute_state_machine": True},
                "lambda": {"use_docker": True},
            }
        )
        self._mock.start()
        if not self.emit_metrics:
            # Powertools warns on every flush when metrics are disabled and none were added. The filter list
            # is restored as it was on stop(): adding a filter that exists moves it, so removing "ours" could
            # remove the caller's (pytest's) copy.
            self._saved_warning_filters = list(warnings.filters)
            warnings.filterwarnings(
                "ignore", message="No application metrics to publish", category=UserWarning
            )
        self.runtime.install()
        self._pollers.install()
        self._ddb.install()
        self._sfn_patch.install()
        self._sfn_clock.install()
        self._fixes.install()
        self._lock_and_sign.install()
        self._speedups.install()
        self._streams.install()  # wraps the speed-ups' transaction wrapper
        if self._faults is not None:
            self._faults.install()
        if self.use_workers:
            self._workers = WorkerContainers()
            self.runtime.workers = self._workers
        self._pollers.start()
        _follow_clock(self.scheduler.clock.now)
        self._streams.start()

    def stop(self) -> None:
        if not self._started:
            return
        for server in self._servers:
            server.stop()
        self._servers.clear()
        self.scheduler.stop()
        _follow_clock(None)
        self._pollers.stop()
        self._streams.stop()
        if self._faults is not None:
            self._faults.uninstall()
        if self._workers is not None:
            self._workers.stop()
            self._workers = None
            self.runtime.workers = None
        self.endpoint.stop()
        self._streams.uninstall()
        self._speedups.uninstall()
        self._lock_and_sign.uninstall()
        self._fixes.uninstall()
        self._sfn_clock.uninstall()
        self._sfn_patch.uninstall()
        self._ddb.uninstall()
        self._pollers.uninstall()
        self.runtime.uninstall()
        if self._saved_warning_filters:
            cast(list[Any], warnings.filters)[:] = self._saved_warning_filters
        self._saved_warning_filters = []
        try:
            if self._mock is not None:
                self._mock.stop()
                self._mock = None
        finally:
            if self._env_installed:
                _env.uninstall()
                self._env_installed = False
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env.clear()
            self._started = False
            with _active_lock:
                if self in _active:
                    _active.remove(self)

    # ------------------------------------------------------------------ deploy
    def deploy(
        self,
        template_path: str | os.PathLike[str] = "template.yaml",
        stack_name: str = "oms",
        parameters: dict[str, str] | None = None,
    ) -> DeployedStack:
        """SAM-translate ``template_path`` offline and create it as a CloudFormation stack in moto."""
        import boto3

        if not self._started:
            raise RuntimeError("call start() first")
        path = Path(template_path).resolve()
        sam_template = load_template(path)
        s3 = boto3.client("s3", region_name=self.region)
        bucket = f"embedded-deploy-{self.account_id}-{self.region}"
        try:
            s3.head_bucket(Bucket=bucket)
        except Exception:
            if self.region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region})
        packaged = package(sam_template, path.parent, s3, bucket)
        params = self._parameter_values(sam_template, parameters or {})
        cfn = translate(packaged.template, params)
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": "",
            **params,
        }
        secrets = boto3.client("secretsmanager", region_name=self.region)
        prepared = prepare(cfn, stack_name, pseudo, secret_creator(secrets, stack_name))

        cf = boto3.client("cloudformation", region_name=self.region)
        import json

        cf.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(prepared.template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        described = cf.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = described["StackStatus"]
        if status != "CREATE_COMPLETE":
            raise SamError(f"stack {stack_name} ended in {status}: {described.get('StackStatusReason')}")
        resources: dict[str, str] = {}
        types: dict[str, str] = {}
        paginator = cf.get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=stack_name):
            for summary in page["StackResourceSummaries"]:
                resources[summary["LogicalResourceId"]] = summary.get("PhysicalResourceId", "")
                types[summary["LogicalResourceId"]] = summary["ResourceType"]
        for logical_id, arn in prepared.api_created.items():
            resources[logical_id] = arn
            types[logical_id] = prepared.api_created_types[logical_id]
        outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in described.get("Outputs", [])}
        _apply_bucket_notifications(prepared.template, resources, self.region)

        for logical_id, code_dir in packaged.code_dirs.items():
            if logical_id in resources:
                self.runtime.register(resources[logical_id], code_dir, logical_id)
        routes = [
            replace(r, function_name=resources.get(r.logical_id, ""))
            for r in routes_from_template(sam_template, pseudo)
        ]
        self.identity_provider.register(issuing_configs(r.auth for r in routes), scope=stack_name)
        stack = DeployedStack(
            stack_name=stack_name,
            outputs=outputs,
            resources=resources,
            resource_types=types,
            routes=routes,
            skipped=dict(prepared.stripped),
            _aws=self,
        )
        self.stacks[stack_name] = stack
        self.scheduler.add_from_template(stack_name, prepared.schedules, resources, types)
        self._pollers.sync()
        self._streams.sync()
        LOG.info("embedded AWS: deployed %s (%d resources)", stack_name, len(resources))
        return stack

    @staticmethod
    def _parameter_values(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            if name in given:
                values[name] = given[name]
            elif isinstance(spec, dict) and "Default" in spec:
                default = spec["Default"]
                values[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        for name, value in given.items():
            values.setdefault(name, value)
        return values

    def serve_endpoint(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve the emulated AWS on a local HTTP endpoint (``aws --endpoint-url``, ``AWS_ENDPOINT_URL``,
        boto3's ``endpoint_url``); returns its URL."""
        if not self._started:
            raise RuntimeError("call start() first")
        return self.endpoint.start(port, host)

    def _set_stack_outputs(self, stack_name: str, values: dict[str, str]) -> None:
        """Make DescribeStacks show these output values (the local HTTP API's URL), so that tools that find
        the stack through CloudFormation (``python -m ops``, ``aws cloudformation``) reach what runs."""
        from moto.cloudformation.models import cloudformation_backends

        backend = cloudformation_backends[self.account_id][self.region]
        for stack in backend.stacks.values():
            if stack.name == stack_name:
                for key, value in values.items():
                    output = stack.output_map[key]
                    if output is not None:
                        output.value = value

    def _control_clock(self, method: str, body: Any) -> tuple[int, Any]:
        """``GET /_embedded/clock``: the scheduler's time and schedules; ``POST {"advance": "15m"}``: move it
        forward (``s``/``m``/``h``/``d``) and fire what falls due."""
        if method == "POST":
            if not isinstance(body, dict) or "advance" not in body:
                raise ValueError('POST {"advance": "<number><s|m|h|d>"}')
            fired = self.scheduler.advance(parse_duration(str(body["advance"])))
            return 200, {
                "now": self.scheduler.clock.now().isoformat(),
                "fired": [{"schedule": n, "planned": t.isoformat(), "ok": ok} for n, t, ok in fired],
            }
        now = self.scheduler.clock.now()
        schedules = []
        for schedule in self.scheduler.schedules.values():
            upcoming = next(
                schedule.expression.occurrences_after(schedule.last_planned or now, schedule.created), None
            )
            schedules.append(
                {
                    "schedule": schedule.name,
                    "expression": schedule.expression.text,
                    "enabled": schedule.enabled,
                    "target": schedule.target_arn,
                    "next": upcoming.isoformat() if upcoming and schedule.enabled else None,
                    "runs": len(schedule.fired),
                }
            )
        return 200, {"now": now.isoformat(), "schedules": schedules}

    def _control_token(self, method: str, body: Any) -> tuple[int, Any]:
        """``POST /_embedded/token {"subject": ..., "scopes": [...]}``: a token the stacks' JWT authorizers
        accept (the local identity provider's)."""
        if method != "POST" or not isinstance(body, dict):
            raise ValueError(
                'POST {"subject": "user:<id>", "scopes": ["oms/orders.read"], "expires_in": 3600}'
            )
        scopes = body.get("scopes") or []
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ValueError("scopes must be a list of strings")
        token = self.identity_provider.mint_token(
            str(body.get("subject") or "user:local-developer"),
            scopes,
            expires_in=int(body.get("expires_in", 3600)),
        )
        return 200, {"token": token, "scopes": scopes}

    # ------------------------------------------------------------------ observation
    @property
    def faults(self) -> FaultInjector | None:
        """The fault injector of this run (``report()``, ``open_gate()``, ``enabled``), if a plan is on."""
        return self._faults

    @property
    def speedups(self) -> MotoSpeedups:
        """The like-for-like replacements of moto internals installed while running."""
        return self._speedups

    def stats(self) -> dict[str, Any]:
        """In-process Lambda invocations: ``{"functions": {name: {"invocations", "errors",
        "duration_s", "max_duration_s"}}, "invocations": N, "errors": E, "duration_s": T}``."""
        return self.runtime.stats()

    def reset_stats(self) -> None:
        self.runtime.reset_stats()

    def _busy_reasons(self) -> list[str]:
        from moto.sqs.models import sqs_backends
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        reasons: list[str] = []
        if self._pollers.busy:
            reasons.append("an event-source mapping batch is being processed")
        reasons += self._streams.pending()
        if self._faults is not None and self._faults.pending_deliveries:
            reasons.append(f"{self._faults.pending_deliveries} delivery(ies) held back by fault injection")
        sqs = sqs_backends[self.account_id][self.region]
        for name in self._pollers.source_queue_names():
            queue = sqs.queues.get(name)
            if queue is not None and queue._messages:
                reasons.append(f"queue {name} holds {len(queue._messages)} message(s)")
        sfn = stepfunctions_parser_backends[self.account_id][self.region]
        for machine in list(sfn.state_machines):
            for execution in list(machine.executions):
                status = getattr(execution, "exec_status", None)
                running = status is None or getattr(status, "value", status) == "RUNNING"
                # An execution that only waits for a person (task token) or a time ahead is idle.
                if running and not parked(execution):
                    reasons.append(f"execution {execution.execution_arn} is running")
        return reasons

    def wait_idle(self, timeout: float = 60) -> None:
        """Block until no SQS message is visible or in flight on a queue with an event-source mapping,
        no mapping batch is running and no Step Functions execution is RUNNING, except those that only wait
        for a task token or a time that lies ahead on the clock (``scheduler.advance()`` moves it)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        reasons: list[str] = []
        while True:
            reasons = self._busy_reasons()
            quiet = quiet + 1 if not reasons else 0
            if quiet >= 2:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"embedded AWS not idle after {timeout} s: " + "; ".join(reasons[:10]))
            time.sleep(0.05)

    @staticmethod
    def execution_name() -> str:
        """A unique StartExecution name, for callers without a natural one."""
        return uuid.uuid4().hex
