"""X-Ray traces as AWS records and bills them, from the template's tracing settings and a metered day.

X-Ray bills each trace recorded ($5.00 per million, https://aws.amazon.com/xray/pricing/); the segments of
every service a sampled request passes through belong to that one trace. Who decides to sample:

* A Step Functions state machine with tracing enabled applies the account's sampling rules to an execution
  that arrives without a sampled trace header (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html);
  the functions it invokes receive its decision in the trace header.
* A Lambda function with ``Tracing: Active`` respects a trace header it receives; without one it samples at a
  fixed rate, "1 request per second and 5 percent of additional requests", which no sampling rule changes
  (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html). The HTTP API passes no header (HTTP APIs
  do not support X-Ray), nor does a queue message whose sender was not traced.
* A function with ``Tracing: PassThrough`` traces only what arrives with ``Sampled=1``: it never starts a
  trace of its own (https://docs.aws.amazon.com/lambda/latest/dg/API_TracingConfig.html).

A bench day of N orders stands for a business day of N orders: requests are taken as arriving at random
(Poisson) over 24 hours, so a per-second reservoir of 1 covers nearly every request of a small distributor.
Assumptions, stated where a newcomer would look for them: Lambda's reservoir is per function; a traced
function's queue messages and events carry their trace into the next function (one trace, not two), so only
requests that reach an Active function without a header start a trace of their own.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

DAY_SECONDS = 86_400
LAMBDA_RESERVOIR_PER_SECOND = 1
LAMBDA_FIXED_RATE = 0.05
# The account's default sampling rule when the stack defines none (also 1 per second and 5 %).
DEFAULT_RULE = (1, 0.05)


@dataclass(frozen=True)
class TracingSettings:
    """What the template says about tracing."""

    function_modes: Mapping[str, str] = field(default_factory=dict)
    """function logical id → Active, PassThrough or Disabled"""
    traced_machines: frozenset[str] = frozenset()
    """logical ids of state machines with tracing enabled"""
    rule_reservoir_per_second: int = DEFAULT_RULE[0]
    rule_fixed_rate: float = DEFAULT_RULE[1]


def read_tracing(template: Mapping[str, Any]) -> TracingSettings:
    """The tracing settings of a SAM template (already loaded)."""
    glob = (template.get("Globals") or {}).get("Function") or {}
    default_mode = str(glob.get("Tracing", "Disabled"))
    modes: dict[str, str] = {}
    machines: set[str] = set()
    reservoir, rate = DEFAULT_RULE
    for logical_id, resource in (template.get("Resources") or {}).items():
        props = resource.get("Properties") or {}
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            modes[logical_id] = str(props.get("Tracing", default_mode))
        elif kind == "AWS::Serverless::StateMachine":
            tracing = props.get("Tracing") or {}
            if tracing.get("Enabled"):
                machines.add(logical_id)
        elif kind == "AWS::XRay::SamplingRule":
            rule = props.get("SamplingRule") or {}
            reservoir = int(rule.get("ReservoirSize", reservoir))
            rate = float(rule.get("FixedRate", rate))
    return TracingSettings(modes, frozenset(machines), reservoir, rate)


def expected_sampled(
    requests: int, reservoir_per_second: int, fixed_rate: float, seconds: int = DAY_SECONDS
) -> float:
    """Expected requests sampled of ``requests`` arriving at random over ``seconds``: each second the first
    ``reservoir_per_second`` requests, then ``fixed_rate`` of the rest."""
    if requests <= 0:
        return 0.0
    per_second = requests / seconds
    # E[min(X, R)] for X ~ Poisson(per_second)
    below = sum(
        k * math.exp(-per_second) * per_second**k / math.factorial(k) for k in range(reservoir_per_second)
    )
    p_below = sum(
        math.exp(-per_second) * per_second**k / math.factorial(k) for k in range(reservoir_per_second)
    )
    from_reservoir = below + reservoir_per_second * (1 - p_below)
    return seconds * (from_reservoir + fixed_rate * (per_second - from_reservoir))


@dataclass(frozen=True)
class TraceEstimate:
    traces: int
    by_source: dict[str, float]


def billed_traces(
    settings: TracingSettings,
    invocations: Iterable[tuple[str, str]],
    executions: Iterable[str],
) -> TraceEstimate:
    """Traces recorded in a day of these ``invocations`` ((function logical id, invoked by)) and state
    machine ``executions`` (logical ids)."""
    by_source: dict[str, float] = {}
    for machine, count in sorted(Counter(executions).items()):
        if machine in settings.traced_machines:
            by_source[machine] = expected_sampled(
                count, settings.rule_reservoir_per_second, settings.rule_fixed_rate
            )
    headerless = Counter(
        function
        for function, invoked_by in invocations
        if settings.function_modes.get(function) == "Active"
        and not (invoked_by == "stepfunctions" and settings.traced_machines)
    )
    for function, count in sorted(headerless.items()):
        by_source[function] = expected_sampled(count, LAMBDA_RESERVOIR_PER_SECOND, LAMBDA_FIXED_RATE)
    total = Decimal(str(sum(by_source.values()))).to_integral_value()
    return TraceEstimate(int(total), {k: round(v, 2) for k, v in by_source.items()})
