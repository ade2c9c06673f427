"""EventBridge Scheduler schedules of the template, run locally on a clock a developer can advance.

moto neither creates ``AWS::Scheduler::Schedule`` through CloudFormation nor runs schedules. The deploy
keeps each schedule's properties (:mod:`._deploy`); :class:`LocalScheduler` resolves their targets and
fires them as the Scheduler would:

* expressions ``rate(N minute|minutes|hour|hours|day|days)`` (first run one period after creation, as the
  Scheduler does for a schedule without a start date), ``cron(minutes hours day-of-month month
  day-of-week year)`` with numbers, ``*``, ``?``, ranges, lists, steps and month/day names (``L``, ``W``
  and ``#`` are refused at deploy), and ``at(yyyy-mm-ddThh:mm:ss)``; in ``ScheduleExpressionTimezone``
  (default UTC);
* targets: a Lambda function (invoked with the target's ``Input``, context attributes such as
  ``<aws.scheduler.scheduled-time>`` filled in), an SQS queue (the input as the message body) or a
  Step Functions state machine (an execution named after the schedule and the planned time);
* ``RetryPolicy.MaximumRetryAttempts`` retries of a failed invocation, then the input to the
  ``DeadLetterConfig`` queue with the Scheduler's error attributes; a disabled schedule never fires.

Time is :class:`SchedulerClock`: real time plus an offset. ``advance(delta)`` moves it forward and fires,
in order, every occurrence that falls due (a day of a 15-minute schedule fires 96 times); ``tick()``
fires what real time has made due (``make serve`` calls it every second).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ._sam import SamError

LOG = logging.getLogger("infra.embedded.scheduler")

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, start=1)}
#: AWS cron day-of-week: 1 = Sunday ... 7 = Saturday
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}


class SchedulerClock:
    """Real UTC time plus an offset that only grows."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += delta
            moved = datetime.now(UTC) + self._offset
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
        return moved

    @property
    def offset(self) -> timedelta:
        """How far the clock is ahead of real time."""
        with self._lock:
            return self._offset

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each advance (what waits on this clock looks at its deadline again)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)


def _cron_field(text: str, low: int, high: int, names: dict[str, int]) -> set[int] | None:
    """The values a cron field allows (None for ``*`` and ``?``: anything)."""
    if text in ("*", "?"):
        return None
    allowed: set[int] = set()
    try:
        for part in text.split(","):
            base, _, step_text = part.partition("/")
            step = int(step_text) if step_text else 1
            if base in ("*", ""):
                start, end = low, high
            elif "-" in base:
                first, last = base.split("-", 1)
                start, end = _cron_value(first, names), _cron_value(last, names)
            else:
                start = _cron_value(base, names)
                end = high if step_text else start
            allowed.update(range(start, end + 1, step))
    except ValueError as exc:
        raise SamError(
            f"cron field {text!r} is not understood locally (L, W and # are not emulated)"
        ) from exc
    if not allowed or min(allowed) < low or max(allowed) > high:
        raise SamError(f"cron field {text!r} is outside {low}-{high}")
    return allowed


def _cron_value(text: str, names: dict[str, int]) -> int:
    upper = text.upper()
    return names[upper] if upper in names else int(text)


@dataclass(frozen=True)
class ScheduleExpression:
    text: str
    timezone: str = "UTC"

    def occurrences_after(self, start: datetime, created: datetime) -> Any:
        """Planned times strictly after ``start``, in order (an iterator; ``at`` yields at most one)."""
        rate = _RATE.match(self.text)
        if rate:
            amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
            period = timedelta(**{f"{unit}s": amount})
            elapsed = max(0, int((start - created) / period))
            moment = created + period * elapsed
            while True:
                if moment > start:
                    yield moment
                moment += period
        at = _AT.match(self.text)
        if at:
            moment = datetime.fromisoformat(at.group(1)).replace(tzinfo=ZoneInfo(self.timezone))
            if moment.astimezone(UTC) > start:
                yield moment.astimezone(UTC)
            return
        cron = _CRON.match(self.text)
        if not cron:
            raise SamError(f"schedule expression {self.text!r} is not rate(), cron() or at()")
        fields = cron.group(1).split()
        if len(fields) != 6:
            raise SamError(f"cron expression {self.text!r} needs six fields")
        minutes = _cron_field(fields[0], 0, 59, {})
        hours = _cron_field(fields[1], 0, 23, {})
        days = _cron_field(fields[2], 1, 31, {})
        months = _cron_field(fields[3], 1, 12, _MONTHS)
        weekdays = _cron_field(fields[4], 1, 7, _DAYS)
        years = _cron_field(fields[5], 1970, 2199, {})
        zone = ZoneInfo(self.timezone)
        moment = start.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = moment + timedelta(days=366 * 5)
        while moment < limit:
            aws_weekday = (moment.isoweekday() % 7) + 1  # Sunday = 1
            if (
                (years is None or moment.year in years)
                and (months is None or moment.month in months)
                and (days is None or moment.day in days)
                and (weekdays is None or aws_weekday in weekdays)
                and (hours is None or moment.hour in hours)
                and (minutes is None or moment.minute in minutes)
            ):
                yield moment.astimezone(UTC)
            moment += timedelta(minutes=1)

    def validate(self) -> None:
        """Raise SamError now for an expression the local scheduler cannot run."""
        now = datetime(2026, 1, 1, tzinfo=UTC)
        iterator = self.occurrences_after(now, now)
        if not _AT.match(self.text):
            next(iterator, None)


@dataclass
class LocalSchedule:
    name: str
    expression: ScheduleExpression
    target_arn: str
    input: str | None
    enabled: bool
    created: datetime
    max_retries: int = 185
    dead_letter_arn: str | None = None
    last_planned: datetime | None = None
    fired: list[tuple[datetime, bool]] = field(default_factory=list)

    @property
    def arn_kind(self) -> str:
        return self.target_arn.split(":")[2] if self.target_arn.startswith("arn:") else ""


def _resolve(value: Any, resources: dict[str, str], types: dict[str, str], region: str, account: str) -> Any:
    """Ref / Fn::GetAtt X.Arn of a deployed resource, as the physical id or ARN."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return resources.get(argument, argument)
        if key == "Fn::GetAtt":
            logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            if attribute != "Arn" or logical not in resources:
                raise SamError(f"schedule target {value}: only Fn::GetAtt <resource>.Arn is emulated")
            return _arn_of(types.get(logical, ""), resources[logical], region, account)
    return value


def _arn_of(resource_type: str, physical: str, region: str, account: str) -> str:
    if physical.startswith("arn:"):
        return physical
    if resource_type == "AWS::Lambda::Function":
        return f"arn:aws:lambda:{region}:{account}:function:{physical}"
    if resource_type == "AWS::SQS::Queue":
        return f"arn:aws:sqs:{region}:{account}:{physical.rsplit('/', 1)[-1]}"
    raise SamError(f"no ARN known locally for {resource_type} {physical}")


class LocalScheduler:
    """Fires the deployed stacks' schedules on :attr:`clock`."""

    def __init__(self, region: str, account_id: str, clock: SchedulerClock | None = None) -> None:
        self.region = region
        self.account_id = account_id
        self.clock = clock or SchedulerClock()
        self.schedules: dict[str, LocalSchedule] = {}
        self._lock = threading.RLock()
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        #: called after each firing: (schedule name, planned time, succeeded)
        self.on_fire: Callable[[str, datetime, bool], None] | None = None

    def add_from_template(
        self,
        stack_name: str,
        schedules: dict[str, dict[str, Any]],
        resources: dict[str, str],
        types: dict[str, str],
    ) -> None:
        created = self.clock.now()
        for logical_id, properties in schedules.items():
            target = properties.get("Target") or {}
            expression = ScheduleExpression(
                str(properties.get("ScheduleExpression", "")),
                str(properties.get("ScheduleExpressionTimezone") or "UTC"),
            )
            expression.validate()
            dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
            retry = target.get("RetryPolicy") or {}
            input_text = target.get("Input")
            schedule = LocalSchedule(
                name=str(properties.get("Name") or f"{stack_name}-{logical_id}"),
                expression=expression,
                target_arn=str(_resolve(target.get("Arn"), resources, types, self.region, self.account_id)),
                input=input_text if isinstance(input_text, str) else None,
                enabled=str(properties.get("State", "ENABLED")).upper() == "ENABLED",
                created=created,
                max_retries=int(retry.get("MaximumRetryAttempts", 185)),
                dead_letter_arn=(
                    str(_resolve(dead_letter, resources, types, self.region, self.account_id))
                    if dead_letter
                    else None
                ),
            )
            with self._lock:
                self.schedules[schedule.name] = schedule

    # ------------------------------------------------------------------ time
    def advance(self, delta: timedelta) -> list[tuple[str, datetime, bool]]:
        """Move the clock forward by ``delta`` and fire every occurrence that fell due, in time order."""
        self.clock.advance(delta)
        return self.tick()

    def tick(self) -> list[tuple[str, datetime, bool]]:
        """Fire every occurrence that is due at the clock's current time."""
        fired: list[tuple[str, datetime, bool]] = []
        with self._lock:
            now = self.clock.now()
            due: list[tuple[datetime, LocalSchedule]] = []
            for schedule in self.schedules.values():
                if not schedule.enabled:
                    continue
                after = schedule.last_planned or schedule.created
                for planned in schedule.expression.occurrences_after(after, schedule.created):
                    if planned > now:
                        break
                    due.append((planned, schedule))
            for planned, schedule in sorted(due, key=lambda pair: (pair[0], pair[1].name)):
                ok = self._fire(schedule, planned)
                schedule.last_planned = planned
                schedule.fired.append((planned, ok))
                fired.append((schedule.name, planned, ok))
                if self.on_fire is not None:
                    self.on_fire(schedule.name, planned, ok)
        return fired

    def start_ticking(self, interval: float = 1.0) -> None:
        """Fire due occurrences as real time passes, from a background thread."""
        if self._ticker is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.tick()
                except Exception:  # keep ticking; the failure is logged
                    LOG.exception("local scheduler tick failed")

        self._ticker = threading.Thread(target=loop, name="embedded-scheduler", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None

    # ------------------------------------------------------------------ delivery
    def _input_for(self, schedule: LocalSchedule, planned: datetime, attempt: int, execution_id: str) -> str:
        text = schedule.input if schedule.input is not None else "{}"
        arn = f"arn:aws:scheduler:{self.region}:{self.account_id}:schedule/default/{schedule.name}"
        for name, value in {
            "scheduled-time": planned.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "execution-id": execution_id,
            "schedule-arn": arn,
            "attempt-number": str(attempt),
        }.items():
            text = text.replace(f"<aws.scheduler.{name}>", value)
        return text

    def _fire(self, schedule: LocalSchedule, planned: datetime) -> bool:
        import boto3

        execution_id = str(uuid.uuid4())
        error = ("", "")
        for attempt in range(1, schedule.max_retries + 2):
            payload = self._input_for(schedule, planned, attempt, execution_id)
            try:
                kind = schedule.arn_kind
                if kind == "lambda":
                    answer = boto3.client("lambda", region_name=self.region).invoke(
                        FunctionName=schedule.target_arn, Payload=payload.encode()
                    )
                    if not answer.get("FunctionError"):
                        return True
                    body = json.loads(answer["Payload"].read() or b"{}")
                    error = (str(body.get("errorType", "Lambda.Unknown")), str(body.get("errorMessage", "")))
                elif kind == "sqs":
                    name = schedule.target_arn.rsplit(":", 1)[-1]
                    sqs = boto3.client("sqs", region_name=self.region)
                    sqs.send_message(
                        QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], MessageBody=payload
                    )
                    return True
                elif kind == "states":
                    boto3.client("stepfunctions", region_name=self.region).start_execution(
                        stateMachineArn=schedule.target_arn,
                        name=f"{schedule.name[:40]}-{planned:%Y%m%dT%H%M%S}"[:80],
                        input=payload,
                    )
                    return True
                else:
                    error = ("UnsupportedTarget", f"target {schedule.target_arn} is not emulated locally")
                    break
            except Exception as exc:  # the target call itself failed: retried like the Scheduler does
                error = (type(exc).__name__, str(exc))
        LOG.warning("schedule %s at %s failed: %s %s", schedule.name, planned, *error)
        self._dead_letter(schedule, planned, payload, error, execution_id)
        return False

    def _dead_letter(
        self,
        schedule: LocalSchedule,
        planned: datetime,
        payload: str,
        error: tuple[str, str],
        execution_id: str,
    ) -> None:
        if not schedule.dead_letter_arn:
            return
        import boto3

        sqs = boto3.client("sqs", region_name=self.region)
        url = sqs.get_queue_url(QueueName=schedule.dead_letter_arn.rsplit(":", 1)[-1])["QueueUrl"]
        schedule_arn = f"arn:aws:scheduler:{self.region}:{self.account_id}:schedule/default/{schedule.name}"
        attributes = {
            "ERROR_CODE": error[0],
            "ERROR_MESSAGE": error[1][:1000] or error[0],
            "EXECUTION_ID": execution_id,
            "SCHEDULE_ARN": schedule_arn,
            "TARGET_ARN": schedule.target_arn,
            "SCHEDULED_TIME": planned.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        sqs.send_message(
            QueueUrl=url,
            MessageBody=payload,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
