"""The fault plan is plain data, and its decisions come from the seed alone."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from infra import FaultInjector, FaultPlan, FaultRule
from infra.embedded._faults import Caller, running_function


def test_a_plan_round_trips_through_json() -> None:
    plan = FaultPlan.chaos(11)
    assert FaultPlan.from_json(plan.to_json()) == plan


@pytest.mark.parametrize(
    ("value", "seed"),
    [("chaos", 0), ("chaos:42", 42), ('{"seed": 3, "rules": [{"kind": "throttle", "rate": 0.5}]}', 3)],
)
def test_the_switch_names_a_plan(value: str, seed: int) -> None:
    plan = FaultPlan.from_env(value)
    assert plan is not None
    assert plan.seed == seed


@pytest.mark.parametrize("value", ["", "off", "0"])
def test_the_switch_off_means_no_faults(value: str) -> None:
    assert FaultPlan.from_env(value) is None


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultRule("meteor", 0.1)


def _decisions(seed: int, calls: int) -> list[bool]:
    injector = FaultInjector(FaultPlan(seed=seed, rules=(FaultRule("crash_after_side_effects", 0.3),)))
    return [injector.crash_after("fn", "Fn") for _ in range(calls)]


def test_the_same_seed_gives_the_same_faults_and_another_seed_others() -> None:
    assert _decisions(5, 200) == _decisions(5, 200)
    assert _decisions(5, 200) != _decisions(6, 200)
    assert 40 < sum(_decisions(5, 200)) < 80  # about the rate


def test_call_faults_respect_service_operation_function_and_origin() -> None:
    injector = FaultInjector(
        FaultPlan(rules=(FaultRule("throttle", 1.0, service="dynamodb", operation="PutItem", function="A"),))
    )
    answers: Counter[str] = Counter()

    def original(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> str:
        answers["passed"] += 1
        return "ok"

    class Request:
        url = "https://dynamodb.us-east-1.amazonaws.com/"

    with running_function("fn-a", "A"):
        faulted = injector.on_call(original, None, "before-send.dynamodb.PutItem", Request(), {})
        other_op = injector.on_call(original, None, "before-send.dynamodb.GetItem", Request(), {})
    with running_function("fn-b", "B"):
        other_fn = injector.on_call(original, None, "before-send.dynamodb.PutItem", Request(), {})
    driver = injector.on_call(original, None, "before-send.dynamodb.PutItem", Request(), {})
    assert faulted.status_code == 400
    assert (other_op, other_fn, driver) == ("ok", "ok", "ok")
    assert injector.report() == {"throttle": 1}
    assert Caller("lambda", "fn-a", "A").logical_id == "A"
