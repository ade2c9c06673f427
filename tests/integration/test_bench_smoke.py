"""`python -m bench` end to end with a tiny N: it completes and every figure is present and sane.

No timing thresholds: the numbers depend on the machine; only their presence, signs and internal
consistency are checked.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench.flows import FlowSizes, Mix
from bench.run import Options, run_bench


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    options = Options(
        orders=5,
        scaling=(3, 5),
        latency_samples=5,
        cold_repeats=1,
        memory_orders=1,
        flows=FlowSizes(shopify_orders=2, erp_orders=2, approval_orders=1, returns=1),
        out=out,
    )
    run_bench(options)
    return json.loads((out / "results.json").read_text())


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_results_describe_the_machine(results: dict[str, Any]) -> None:
    machine = results["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["python"].startswith("3.")
    assert machine["moto"]


def test_every_order_reaches_an_end_state_and_throughput_has_a_finite_ratio(results: dict[str, Any]) -> None:
    t = results["throughput"]
    assert sum(t["orders_by_status"].values()) == 5
    assert set(t["orders_by_status"]) <= {"DELIVERED", "ON_HOLD", "BACKORDERED", "FAILED"}
    assert t["invoices"] == t["orders_by_status"].get("DELIVERED", 0)
    for key in ("system_s", "system_orders_per_s", "floor_s", "floor_orders_per_s", "ratio_system_to_floor"):
        assert _positive(t[key]), key
    assert t["floor_plan"]["calls"] > 0
    assert [p["orders"] for p in t["scaling"]["points"]] == [3, 5]
    assert all(_positive(p["seconds"]) for p in t["scaling"]["points"])


def test_cost_breakdown_is_positive_and_sums_to_the_total(results: dict[str, Any]) -> None:
    c = results["cost"]
    per_service = c["per_1000_orders_usd"]
    assert math.isclose(sum(per_service.values()), c["per_1000_orders_total_usd"], rel_tol=1e-9)
    for service in ("stepfunctions", "lambda", "dynamodb", "sqs", "s3", "apigateway", "cloudwatch_logs"):
        assert per_service[service] > 0, service
    usage = c["usage_total"]
    assert usage["lambda_requests"] > 0
    assert usage["sfn_express_requests"] + usage["sfn_standard_transitions"] > 0
    assert float(usage["dynamodb_write_units"]) > 0
    assert isinstance(c["target_met"], bool)


def test_cold_starts_have_ratios_for_every_handler(results: dict[str, Any]) -> None:
    cold = results["cold_start"]
    assert _positive(cold["floor"]["import_ms_median"])
    assert "OrderIntakeFunction" in cold["handlers"]
    for handler in cold["handlers"].values():
        assert _positive(handler["import_ms_median"])
        assert _positive(handler["ratio_to_floor"])
        assert _positive(handler["peak_rss_mb_median"])


def test_latency_percentiles_are_ordered(results: dict[str, Any]) -> None:
    latency = results["latency"]
    intake = latency["intake_in_process"]
    assert intake["samples"] == 5
    assert intake["statuses"] == {"202": 5}
    assert 0 < intake["handler_ms_p50"] <= intake["handler_ms_p99"]
    assert 0 < latency["http_ack_under_load_ms_p50"] <= latency["http_ack_under_load_ms_p99"]


def test_memory_is_reported_for_the_run_and_the_handlers(results: dict[str, Any]) -> None:
    memory = results["memory"]
    assert _positive(memory["bench_process_peak_rss_mb"])
    assert _positive(memory["handler_import_peak_rss_mb"]["OrderIntakeFunction"])
    assert memory["handler_invocation_peak_alloc_mb"]["OrderIntakeFunction"] > 0


def test_results_file_is_plain_json(results: dict[str, Any], tmp_path: Path) -> None:
    assert results["schema"] == "oms-bench/1"
    (tmp_path / "copy.json").write_text(json.dumps(results))


def test_every_aws_call_a_function_made_is_allowed_by_its_own_policy(results: dict[str, Any]) -> None:
    """The embedded AWS does not enforce IAM: this checks, for every call the metering saw a function make,
    that the function's policy in template.yaml names the action (transactions are checked per item kind
    by reading; here only their own action is not an IAM action)."""
    from cfnlint.decode import cfn_yaml

    template = cfn_yaml.load(str(Path(__file__).resolve().parents[2] / "template.yaml"))
    allowed: dict[str, set[str]] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        statements = [s for policy in resource["Properties"].get("Policies", []) for s in policy["Statement"]]
        allowed[name] = {
            a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
    iam_prefix = {
        "dynamodb": "dynamodb",
        "sqs": "sqs",
        "events": "events",
        "stepfunctions": "states",
        "s3": "s3",
        "ssm": "ssm",
        "secretsmanager": "secretsmanager",
        "kms": "kms",
    }
    missing = []
    for operation, callers in results["cost"]["requests"].items():
        service, name = operation.split(".", 1)
        if service not in iam_prefix or name == "TransactWriteItems":
            continue
        for caller in callers:
            function = caller.removeprefix("lambda:")
            if caller.startswith("lambda:") and f"{iam_prefix[service]}:{name}" not in allowed[function]:
                missing.append(f"{function}: {iam_prefix[service]}:{name}")
    assert missing == []
    assert len(results["cost"]["requests"]) > 5  # the metering saw the calls at all


def test_every_flow_is_metered_and_the_day_mix_adds_up(results: dict[str, Any]) -> None:
    # Given the cost per flow of the smoke run
    f = results["cost"]["per_flow"]
    flows = f["flows"]
    # Then every business flow ran and cost something, within its own services
    assert set(flows) == {
        "shopify_order",
        "erp_order",
        "approval_order",
        "bank_payment",
        "return_credit_note",
        "reconciliation_run",
        "finance_export_run",
    }
    for name, flow in flows.items():
        assert _positive(flow["per_1000_usd"]), name
        assert math.isclose(sum(flow["per_1000_by_service_usd"].values()), flow["per_1000_usd"], rel_tol=1e-9)
    # an approval runs the Standard workflow (billed per transition); a bank payment runs none
    assert flows["approval_order"]["usage_per_run"]["sfn_standard_transitions"] > 0
    assert flows["bank_payment"]["usage_per_run"]["sfn_standard_transitions"] == 0
    assert flows["return_credit_note"]["usage_per_run"]["s3_put_requests"] >= 2  # credit note PDF + JSON
    # And the day's mix is the flows' costs times the reference day's runs (1,000 orders: 700 web, 250
    # corporate on account, 50 needing approval, 300 bank payments, 30 returns, one reconciliation and export)
    mix = f["mix"]
    assert mix["runs_per_day"] == {
        "shopify_order": 700.0,
        "erp_order": 250.0,
        "approval_order": 50.0,
        "bank_payment": 300.0,
        "return_credit_note": 30.0,
        "reconciliation_run": 1.0,
        "finance_export_run": 1.0,
    }
    assert Mix().orders == mix["orders"] == 1000
    assert math.isclose(sum(mix["by_flow_usd_per_day"].values()), mix["usd_per_day"], rel_tol=1e-9)
    # web orders in the mix are billed at the main day's figure (the order-to-invoice target's basis)
    assert math.isclose(
        mix["by_flow_usd_per_day"]["shopify_order"],
        results["cost"]["per_1000_orders_total_usd"] * 0.7,
        rel_tol=1e-9,
    )
    assert f["order_to_invoice_per_1000_usd"] == results["cost"]["per_1000_orders_total_usd"]
    assert isinstance(f["all_in_target_met"], bool)
