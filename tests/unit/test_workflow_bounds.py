"""The order workflow is EXPRESS (at most 5 minutes). Its retries must not be able to outlast that: the
worst case, every task attempt timing out and every retry waiting its longest, is computed from the ASL and
the template (a bound, not a measurement) and must stay well under the limit and under the execution's own
TimeoutSeconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from oms.domain.failures import TRANSIENT_ERRORS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = cfn_yaml.load(str(ROOT / "template.yaml"))
ASL: dict[str, Any] = json.loads((ROOT / "statemachine" / "order_fulfillment.asl.json").read_text())
EXPRESS_LIMIT_S = 300


def _function_timeout(state: dict[str, Any]) -> float:
    arn = state["Parameters"]["FunctionName"]  # "${ValidateFunctionArn}"
    substitution = TEMPLATE["Resources"]["OrderWorkflow"]["Properties"]["DefinitionSubstitutions"][arn[2:-1]]
    function = TEMPLATE["Resources"][substitution["Fn::GetAtt"][0]]["Properties"]
    return float(function.get("Timeout", TEMPLATE["Globals"]["Function"]["Timeout"]))


def _worst_case(state: dict[str, Any]) -> float:
    """Every attempt runs to its timeout; between attempts the longest wait (full jitter: up to the
    interval), the interval growing by BackoffRate and capped by MaxDelaySeconds."""
    timeout = _function_timeout(state)
    retries = max((r.get("MaxAttempts", 3) for r in state.get("Retry", [])), default=0)
    retrier = max(state.get("Retry", []), key=lambda r: r.get("MaxAttempts", 3), default={})
    waits, interval = 0.0, float(retrier.get("IntervalSeconds", 1))
    for _ in range(retries):
        waits += min(interval, float(retrier.get("MaxDelaySeconds", 1e9)))
        interval *= float(retrier.get("BackoffRate", 2.0))
    return (retries + 1) * timeout + waits


def test_the_worst_case_execution_stays_well_under_the_express_limit() -> None:
    tasks = {name: s for name, s in ASL["States"].items() if s["Type"] == "Task"}
    assert set(tasks) == {"ValidateOrder", "AllocateStock", "RequestFulfillment", "Compensate"}
    worst = sum(_worst_case(state) for state in tasks.values())  # the longest path runs all four
    assert worst <= ASL["TimeoutSeconds"] < EXPRESS_LIMIT_S, worst
    assert worst < 0.75 * EXPRESS_LIMIT_S


def test_every_task_retries_every_transient_error_with_backoff_and_jitter() -> None:
    for name, state in ASL["States"].items():
        if state["Type"] != "Task" or name == "Compensate":
            continue
        retried = {error for retrier in state["Retry"] for error in retrier["ErrorEquals"]}
        assert set(TRANSIENT_ERRORS) - {"ReservationConflictError"} <= retried, name
        for retrier in state["Retry"]:
            assert retrier["JitterStrategy"] == "FULL"
            assert retrier["BackoffRate"] > 1
        assert [c["ErrorEquals"] for c in state["Catch"]] == [["States.ALL"]], name
    assert ASL["States"]["Compensate"]["Retry"][0]["ErrorEquals"] == ["States.ALL"]
