"""X-Ray traces counted as AWS records them (bench/tracing.py), from hand-worked examples."""

from __future__ import annotations

import math

import pytest

from bench.tracing import TracingSettings, billed_traces, expected_sampled, read_tracing

DAY = 86_400


def test_a_reservoir_of_one_per_second_samples_nearly_every_request_of_a_small_day() -> None:
    # Given 1,000 requests spread at random over a day (0.011574 per second), Lambda's fixed rate:
    # each second the first request, then 5 % of the rest.
    # By hand: P(at least one in a second) = 1 - e^-0.011574 = 0.011507, so 994.2 requests a day fall in
    # the reservoir; the other 5.8 are sampled at 5 %: 0.29. In all 994.5.
    assert expected_sampled(1000, 1, 0.05) == pytest.approx(994.5, abs=0.1)


def test_a_rule_without_reservoir_samples_its_fixed_rate() -> None:
    assert expected_sampled(1000, 0, 0.05) == pytest.approx(50.0)
    assert expected_sampled(0, 1, 0.05) == 0.0


def test_a_busy_function_is_sampled_at_about_one_per_second_plus_five_percent() -> None:
    # Given 864,000 requests a day (10 per second): 1 per second in the reservoir (P(X >= 1) = 1 - e^-10,
    # i.e. 0.99995 per second), then 5 % of the remaining 9.00005 per second: 0.45.
    per_second = 1 - math.exp(-10)
    by_hand = DAY * (per_second + 0.05 * (10 - per_second))
    assert expected_sampled(864_000, 1, 0.05) == pytest.approx(by_hand)
    assert by_hand == pytest.approx(DAY * 1.45, rel=1e-4)


def test_only_the_workflow_starts_traces_when_functions_pass_through() -> None:
    # Given the template's design: every function PassThrough, the workflow traced, a 5 % rule, no reservoir
    settings = TracingSettings(
        function_modes={"OrderIntakeFunction": "PassThrough", "TrackFunction": "PassThrough"},
        traced_machines=frozenset({"OrderWorkflow"}),
        rule_reservoir_per_second=0,
        rule_fixed_rate=0.05,
    )
    invocations = [("OrderIntakeFunction", "apigateway")] * 1000 + [("TrackFunction", "esm")] * 3000

    # When 1,000 orders are taken in, each with one workflow execution
    estimate = billed_traces(settings, invocations, ["OrderWorkflow"] * 1000)

    # Then 5 % of the executions are traces, and nothing else
    assert estimate.traces == 50
    assert estimate.by_source == {"OrderWorkflow": 50.0}


def test_active_functions_behind_the_http_api_or_a_queue_each_start_traces() -> None:
    # Given the same day with every function Active (what the template had before decision 0037)
    settings = TracingSettings(
        function_modes={
            "OrderIntakeFunction": "Active",
            "TrackFunction": "Active",
            "AllocateFunction": "Active",
        },
        traced_machines=frozenset({"OrderWorkflow"}),
        rule_reservoir_per_second=0,
        rule_fixed_rate=0.05,
    )
    invocations = (
        [("OrderIntakeFunction", "apigateway")] * 1000
        + [("TrackFunction", "esm")] * 1000
        + [("AllocateFunction", "stepfunctions")] * 1000
    )

    estimate = billed_traces(settings, invocations, ["OrderWorkflow"] * 1000)

    # Then intake and track each start about 994.5 traces (see the first test), the workflow 50, and
    # allocate none of its own: it follows the workflow's decision.
    assert set(estimate.by_source) == {"OrderWorkflow", "OrderIntakeFunction", "TrackFunction"}
    assert estimate.traces == round(50 + 2 * 994.5)


def test_the_settings_are_read_from_the_template() -> None:
    template = {
        "Globals": {"Function": {"Tracing": "PassThrough"}},
        "Resources": {
            "A": {"Type": "AWS::Serverless::Function", "Properties": {}},
            "B": {"Type": "AWS::Serverless::Function", "Properties": {"Tracing": "Active"}},
            "W": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Tracing": {"Enabled": True}}},
            "X": {"Type": "AWS::Serverless::StateMachine", "Properties": {}},
            "R": {
                "Type": "AWS::XRay::SamplingRule",
                "Properties": {"SamplingRule": {"ReservoirSize": 0, "FixedRate": 0.05}},
            },
        },
    }
    settings = read_tracing(template)
    assert dict(settings.function_modes) == {"A": "PassThrough", "B": "Active"}
    assert settings.traced_machines == frozenset({"W"})
    assert (settings.rule_reservoir_per_second, settings.rule_fixed_rate) == (0, 0.05)
