"""Step Functions waits on the local clock: task timeouts, heartbeats, ``.waitForTaskToken`` and Wait states.

moto's ASL interpreter measures every wait in real time: a task's ``TimeoutSeconds`` is a
``threading.Event().wait(seconds)`` around the task, a ``.waitForTaskToken`` callback and its
``HeartbeatSeconds`` are ``Event.wait(seconds)`` calls on the callback endpoint, and a Wait state waits on
the execution's ``program_state_event`` and checks ``time.time()``. A four-hour approval SLA would take four
hours. :class:`StepFunctionsClock` replaces those events with :class:`ClockEvent`, whose timeouts run on
the local :class:`~._scheduler.SchedulerClock` (real time plus an offset): ``aws.scheduler.advance(delta)``
moves the schedules *and* every waiting execution, and a wait whose deadline has passed wakes at once.
Wait states (``Seconds``, ``SecondsPath``, ``Timestamp``, ``TimestampPath``), the execution history's
timestamps and ``$$.State.EnteredTime`` follow the same clock.

It also tells :meth:`~._core.EmbeddedAws.wait_idle` which RUNNING executions are *parked*: waiting for a
task token, a heartbeat or a Wait state whose deadline lies ahead. A Standard approval workflow waits for a
person for hours; nothing is in progress for it locally, so the stack is idle while it waits.

Patched (and restored on uninstall): ``Event`` in ``asl/eval/callback/callback.py``, ``threading.Event`` in
``asl/component/state/exec/execute_state.py`` and ``asl/eval/environment.py``,
``datetime`` in ``state.py``, ``event_manager.py`` and the Wait state's ``timestamp.py``,
``WaitFunction._wait_interval`` (moto 5.2.5; the test of this module fails
loudly if moto moves them).
"""

from __future__ import annotations

import datetime as _datetime
import importlib
import threading
import types
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ._scheduler import SchedulerClock

_PATCHED_MODULES = {
    "callback": "moto.stepfunctions.parser.asl.eval.callback.callback",
    "execute_state": "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
    "environment": "moto.stepfunctions.parser.asl.eval.environment",
    "wait_function": "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function",
    "timestamp": "moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp",
    "state": "moto.stepfunctions.parser.asl.component.state.state",
    "event_manager": "moto.stepfunctions.parser.asl.eval.event.event_manager",
}


class ClockEvent:
    """``threading.Event`` whose ``wait(timeout)`` counts the timeout on a :class:`SchedulerClock`.

    As with ``threading.Event``, ``wait`` returns True when the event is set, or was set while waiting (a
    ``set(); clear()`` pulse wakes the waiters), False when the timeout passed.
    """

    def __init__(self, clock: SchedulerClock) -> None:
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._flag = False
        self._pulses = 0
        #: deadlines (clock time, None: no timeout) of the threads waiting now
        self._waiting: dict[int, datetime | None] = {}

    # threading.Event's API -------------------------------------------------------------------
    def is_set(self) -> bool:
        return self._flag

    isSet = is_set  # threading.Event's old name

    def set(self) -> None:
        with self._cond:
            self._flag = True
            self._pulses += 1
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else self._clock.now() + timedelta(seconds=max(0.0, timeout))
        me = threading.get_ident()
        with self._cond:
            if self._flag:
                return True
            pulses = self._pulses
            self._waiting[me] = deadline
            _register(self._clock, self)
            try:
                while True:
                    if self._flag or self._pulses != pulses:
                        return True
                    if deadline is None:
                        self._cond.wait()
                        continue
                    remaining = (deadline - self._clock.now()).total_seconds()
                    if remaining <= 0:
                        return False
                    # Real time counts too (the clock is real time plus an offset); advance() wakes us early.
                    self._cond.wait(remaining)
            finally:
                self._waiting.pop(me, None)

    # the local clock's view ------------------------------------------------------------------
    def nudge(self) -> None:
        """The clock moved: waiters look at their deadlines again."""
        with self._cond:
            self._cond.notify_all()

    def parked(self) -> bool:
        """Someone waits on this event for something that has not happened and is not due yet."""
        with self._cond:
            if self._flag or not self._waiting:
                return False
            now = self._clock.now()
            return any(deadline is None or deadline > now for deadline in self._waiting.values())


_waiters: weakref.WeakKeyDictionary[SchedulerClock, weakref.WeakSet[ClockEvent]] = weakref.WeakKeyDictionary()
_waiters_lock = threading.Lock()


def _register(clock: SchedulerClock, event: ClockEvent) -> None:
    with _waiters_lock:
        _waiters.setdefault(clock, weakref.WeakSet()).add(event)


def nudge_waiters(clock: SchedulerClock) -> None:
    """Wake every ClockEvent waiting on ``clock`` so it checks its deadline (after the clock moved)."""
    with _waiters_lock:
        events = list(_waiters.get(clock, ()))
    for event in events:
        event.nudge()


class _ThreadingProxy(types.ModuleType):
    """``threading`` as a module sees it, with ``Event`` on the local clock."""

    def __init__(self, clock: SchedulerClock) -> None:
        super().__init__("threading")
        self._clock = clock

    def Event(self) -> ClockEvent:  # stands in for threading.Event
        return ClockEvent(self._clock)

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


def _datetime_module(clock: SchedulerClock) -> types.ModuleType:
    """``datetime`` as a module sees it, with ``datetime.now()`` on the local clock."""

    class ClockDatetime(_datetime.datetime):
        @classmethod
        def now(cls, tz: _datetime.tzinfo | None = None) -> _datetime.datetime:  # type: ignore[override]
            moment = clock.now()
            return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)

    proxy = types.ModuleType("datetime")
    for name in dir(_datetime):
        if not name.startswith("__"):
            setattr(proxy, name, getattr(_datetime, name))
    proxy.datetime = ClockDatetime  # type: ignore[attr-defined]
    return proxy


class StepFunctionsClock:
    """Installs the clock-driven waits into moto's Step Functions interpreter."""

    def __init__(self, clock: SchedulerClock) -> None:
        self.clock = clock
        self._saved: list[tuple[Any, str, Any]] = []
        self._listener: Callable[[], None] | None = None

    def _set(self, owner: Any, name: str, value: Any) -> None:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        self._saved.append((owner, name, original))
        setattr(owner, name, value)

    def install(self) -> None:
        modules = {key: importlib.import_module(path) for key, path in _PATCHED_MODULES.items()}
        clock = self.clock
        threading_proxy = _ThreadingProxy(clock)
        for key in ("callback",):
            if getattr(modules[key], "Event", None) is not threading.Event:
                raise RuntimeError(f"{_PATCHED_MODULES[key]} no longer imports Event from threading")
            self._set(modules[key], "Event", threading_proxy.Event)
        for key in ("execute_state", "environment"):
            if getattr(modules[key], "threading", None) is not threading:
                raise RuntimeError(f"{_PATCHED_MODULES[key]} no longer imports threading")
            self._set(modules[key], "threading", threading_proxy)
        clocked_datetime = _datetime_module(clock)
        for key in ("state", "event_manager", "timestamp"):
            if getattr(modules[key], "datetime", None) is not _datetime:
                raise RuntimeError(f"{_PATCHED_MODULES[key]} no longer imports datetime")
            self._set(modules[key], "datetime", clocked_datetime)

        wait_function = modules["wait_function"].WaitFunction

        def _wait_interval(component: Any, env: Any, wait_seconds: int) -> None:
            deadline = clock.now() + timedelta(seconds=max(0, wait_seconds))
            while env.is_running():
                remaining = (deadline - clock.now()).total_seconds()
                if remaining <= 0:
                    return
                env.program_state_event.wait(remaining)

        self._set(wait_function, "_wait_interval", _wait_interval)
        self._listener = lambda: nudge_waiters(clock)
        clock.add_listener(self._listener)

    def uninstall(self) -> None:
        if self._listener is not None:
            self.clock.remove_listener(self._listener)
            self._listener = None
        while self._saved:
            owner, name, value = self._saved.pop()
            setattr(owner, name, value)


def parked(execution: Any) -> bool:
    """A RUNNING execution that only waits: for a task token (or its heartbeat) or a Wait state's time."""
    worker = getattr(execution, "exec_worker", None)
    env = getattr(worker, "env", None)
    if env is None:
        return False
    events: list[Any] = [env.program_state_event]
    pool = getattr(env.callback_pool_manager, "_pool", {})
    for endpoint in list(pool.values()):
        events.append(endpoint._notify_event)
        heartbeat = getattr(endpoint, "_heartbeat_endpoint", None)
        if heartbeat is not None:
            events.append(heartbeat._next_heartbeat_event)
    return any(isinstance(event, ClockEvent) and event.parked() for event in events)
