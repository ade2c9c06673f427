"""In-process Lambda runtime: handler, context, environment isolation, errors, stats."""

from __future__ import annotations

import inspect
import json
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from infra import DeployedStack, EmbeddedAws
from infra.embedded import check_moto_invoke_signature
from infra.embedded._runtime import MOTO_INVOKE_ATTRIBUTE, MOTO_INVOKE_PARAMETERS


def test_moto_private_invoke_entry_point_is_unchanged() -> None:
    """LOUD: the runtime replaces moto's private LambdaFunction._invoke_lambda(self, event).
    If this fails after a moto upgrade, port infra/embedded/_runtime.py before anything else."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.__dict__.get(MOTO_INVOKE_ATTRIBUTE)
    assert original is not None, "moto.awslambda.models.LambdaFunction._invoke_lambda is gone"
    if original.__module__ == "moto.awslambda.models":  # not currently patched by a running EmbeddedAws
        assert tuple(inspect.signature(original).parameters) == MOTO_INVOKE_PARAMETERS
    check_moto_invoke_signature()
    import moto

    assert moto.__version__ == "5.2.5", "the embedded AWS is pinned to moto 5.2.5: re-verify every fill-in"


def _invoke(name: str, payload: dict[str, object]) -> tuple[dict[str, object], str | None]:
    resp = boto3.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    return json.loads(resp["Payload"].read()), resp.get("FunctionError")


def test_handler_runs_in_process_with_context_and_env(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    _, stack = embedded_probe
    name = stack.function_name("SlowEnvFunction")
    result, error = _invoke(name, {"sleep": 0, "hello": "world"})
    assert error is None
    assert result["event"] == {"sleep": 0, "hello": "world"}
    assert result["before"] == ["slow", name, None]
    assert result["trace_disabled"] == "true"
    assert result["metrics_disabled"] == "true"
    assert str(result["arn"]).endswith(f":function:{name}")
    assert result["request_id"]


def test_each_function_sees_its_own_environment_concurrently(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    _, stack = embedded_probe
    slow, twin = stack.function_name("SlowEnvFunction"), stack.function_name("SlowEnvTwinFunction")
    expected = {slow: ["slow", slow, None], twin: ["twin", twin, "twin-only"]}
    calls = [slow, twin] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: (n, _invoke(n, {"sleep": 0.05})), calls))
    for name, (result, error) in results:
        assert error is None
        assert result["before"] == expected[name]
        assert result["after"] == expected[name]


def test_overlay_does_not_leak_into_the_test_process(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    import os

    _, stack = embedded_probe
    _invoke(stack.function_name("SlowEnvTwinFunction"), {"sleep": 0})
    assert "TAG" not in os.environ
    assert os.getenv("ROLE") is None
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"


def test_handler_exception_becomes_lambda_error_payload(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    _, stack = embedded_probe
    result, error = _invoke(stack.function_name("AddFunction"), {"fail": True})
    assert error is not None
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "cannot add"
    assert isinstance(result["stackTrace"], list)
    assert result["stackTrace"]


def test_stats_count_invocations_and_durations(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    aws, stack = embedded_probe
    aws.reset_stats()
    name = stack.function_name("AddFunction")
    _invoke(name, {"id": "x", "a": 1, "b": 2})
    _invoke(name, {"fail": True})
    stats = aws.stats()
    assert stats["functions"][name]["invocations"] == 2
    assert stats["functions"][name]["errors"] == 1
    assert stats["functions"][name]["duration_s"] > 0
    assert stats["invocations"] == 2


def test_only_one_embedded_aws_at_a_time(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> None:
    with pytest.raises(RuntimeError, match="another EmbeddedAws"):
        EmbeddedAws().start()


def test_one_invocation_at_a_time_per_function_like_a_container(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    """Handlers keep per-invocation state in module globals (Powertools resolvers, batch processors):
    a function runs one event at a time; different functions still run concurrently."""
    import time

    aws, stack = embedded_probe
    name = stack.function_name("SlowEnvFunction")
    aws.reset_stats()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: _invoke(name, {"sleep": 0.1}), range(4)))
    assert time.perf_counter() - started >= 0.4
    stats = aws.stats()["functions"][name]
    assert stats["invocations"] == 4
    assert stats["max_duration_s"] < 0.3  # waiting for the "container" is not counted as run time


def test_disabled_metrics_are_discarded_after_each_invocation_so_nothing_piles_up() -> None:
    # Given Powertools metrics added during an invocation while emission is disabled locally
    from aws_lambda_powertools import Metrics

    from infra.embedded._runtime import _discard_powertools_metrics

    metrics = Metrics(namespace="Probe")
    metrics.add_metric(name="Things", unit="Count", value=1)
    assert metrics.metric_set
    # When the runtime finishes the invocation
    _discard_powertools_metrics()
    # Then the shared metric set is empty (it would otherwise print EMF at 100 values)
    assert not Metrics(namespace="Other").metric_set
