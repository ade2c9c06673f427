"""The whole benchmark: throughput against the floor, metered cost, cold start, latency, memory."""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import statistics
import time
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import costs
from bench.coldstart import measure_cold_starts
from bench.floor import plan_from, run_floor
from bench.flows import ORDER_TO_INVOICE_TARGET_PER_1000, FlowSizes, run_flows
from bench.meter import Meter, Metering, unmetered
from bench.system import DayRun, executions, run_day, signed_webhooks, start_stack
from bench.template_info import TemplateInfo, read_template
from bench.tracing import TracingSettings, billed_traces
from infra import DeployedStack, EmbeddedAws

ROOT = Path(__file__).resolve().parent.parent
COST_TARGET_PER_1000 = Decimal("0.05")
COLD_START_TARGET_RATIO = 1.5
#: Lambda's platform lines per invocation (START, END, REPORT with X-Ray ids), bytes.
PLATFORM_LOG_BYTES = 300
SYSTEM_ORIGINS = ("lambda", "esm", "stepfunctions")
Report = Callable[[str, int, int], None]


@dataclass
class Options:
    orders: int = 1000
    scaling: tuple[int, ...] = (100, 1000)
    seed: int = 42
    concurrency: int = 8
    duplicate_share: float = 0.02
    latency_samples: int = 200
    cold_repeats: int = 5
    memory_orders: int = 3
    flows: FlowSizes | None = field(default_factory=FlowSizes)
    """Runs of each business flow for the cost per flow (bench/flows.py); None: not measured."""
    template: Path = ROOT / "template.yaml"
    prices: Path = costs.DEFAULT_PRICES
    out: Path = ROOT / "out" / "bench"


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    memory_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    from importlib.metadata import version

    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(memory_gb, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "moto": version("moto"),
        "boto3": version("boto3"),
        "aws_lambda_powertools": version("aws-lambda-powertools"),
    }


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _logical_ids(stack: DeployedStack) -> dict[str, str]:
    return {physical: logical for logical, physical in stack.resources.items()}


# ----------------------------------------------------------------------------------------- usage
def usage_of(
    meter: Meter,
    execs: list[dict[str, Any]],
    machine_types: dict[str, str],
    quiet_ms: dict[str, float] | None = None,
    tracing: TracingSettings | None = None,
    logical: dict[str, str] | None = None,
) -> tuple[costs.Usage, dict[str, Any]]:
    """Billable usage of a metered run, and the raw figures behind it.

    ``quiet_ms`` (function → median handler milliseconds, measured one handler at a time) is the billing
    basis of duration when given: in the throughput run 8 channel connections, the workflow threads and
    the pollers share one interpreter, so a handler's wall time there is mostly waiting for the GIL and
    for its "container", which no Lambda bills. An Express execution is then billed as the quiet durations
    of the tasks it ran (the executions' own local wall time, which includes that queueing, is reported
    beside it). X-Ray traces are estimated from ``tracing`` (the template's settings) as AWS records them
    (bench/tracing.py); ``logical`` maps physical names and ARNs to the template's logical ids."""
    logical = logical or {}
    invocations = meter.invocations
    express = [e for e in execs if machine_types.get(e["state_machine"], e["type"]) == "EXPRESS"]
    standard = [e for e in execs if machine_types.get(e["state_machine"], e["type"]) != "EXPRESS"]
    measured_lambda = costs.lambda_gb_seconds((i.duration_s, i.memory_mb) for i in invocations)
    measured_express = costs.express_gb_seconds(e["duration_s"] for e in express)
    lambda_gb_s, express_gb_s = measured_lambda, measured_express
    express_task_ms = None
    if quiet_ms:
        lambda_gb_s = costs.lambda_gb_seconds(
            (quiet_ms.get(i.function, i.duration_s * 1000) / 1000, i.memory_mb) for i in invocations
        )
        sfn_task_ms = sum(
            quiet_ms.get(i.function, i.duration_s * 1000)
            for i in invocations
            if i.invoked_by == "stepfunctions"
        )
        if express:
            express_task_ms = sfn_task_ms / len(express)
            express_gb_s = costs.express_gb_seconds([express_task_ms / 1000] * len(express))
    http_requests = meter.count("lambda", "Invoke", ("apigateway",))
    log_bytes = sum(meter.log_bytes.values()) + PLATFORM_LOG_BYTES * len(invocations)
    traces = billed_traces(
        tracing or TracingSettings(),
        ((logical.get(i.function, i.function), i.invoked_by) for i in invocations),
        (logical.get(e["state_machine"], e["state_machine"]) for e in execs),
    )
    usage = costs.Usage(
        sfn_standard_transitions=sum(e["transitions"] for e in standard),
        sfn_express_requests=len(express),
        sfn_express_gb_seconds=express_gb_s,
        lambda_requests=len(invocations),
        lambda_gb_seconds=lambda_gb_s,
        dynamodb_write_units=meter.total_units("ddb_write_units", SYSTEM_ORIGINS),
        dynamodb_read_units=meter.total_units("ddb_read_units", SYSTEM_ORIGINS),
        # Queue owners pay for every request on their queues: the system's, Lambda's pollers', EventBridge's
        # deliveries and the warehouse connector's receives and deletes on the fulfillment-request queue.
        sqs_requests=int(meter.total_units("sqs_requests", (*SYSTEM_ORIGINS, "eventbridge", "driver"))),
        s3_put_requests=meter.count("s3", "PutObject", SYSTEM_ORIGINS),
        s3_get_requests=meter.count("s3", "GetObject", SYSTEM_ORIGINS),
        eventbridge_events=int(meter.total_units("eventbridge_events", SYSTEM_ORIGINS)),
        http_api_requests=http_requests,
        log_bytes=log_bytes,
        xray_traces=traces.traces,
        secretsmanager_calls=meter.count("secretsmanager", None, SYSTEM_ORIGINS),
    )
    raw = {
        "xray_traces_by_source": traces.by_source,
        "executions": {
            "express": len(express),
            "standard": len(standard),
            "transitions": sum(e["transitions"] for e in execs),
            "express_duration_s_p50": _percentile([e["duration_s"] for e in express], 50),
            "express_duration_s_max": max((e["duration_s"] for e in express), default=0.0),
            "by_status": dict(Counter(e["status"] for e in execs)),
            "express_billed_task_ms_per_execution": express_task_ms,
        },
        "duration_basis": "quiet (one handler at a time)"
        if quiet_ms
        else "as measured in the throughput run",
        "lambda_gb_seconds_as_measured_under_load": str(measured_lambda),
        "express_gb_seconds_as_measured_under_load": str(measured_express),
        "sqs_empty_receives_by_pollers": int(meter.total_units("sqs_empty_receives", ("esm",))),
        "counterparty_eventbridge_events": int(meter.total_units("eventbridge_events", ("driver",))),
        "log_bytes_from_handlers": sum(meter.log_bytes.values()),
        "log_bytes_platform_estimate": PLATFORM_LOG_BYTES * len(invocations),
    }
    return usage, raw


def write_units_by_table(meter: Meter, logical: dict[str, str], orders: int) -> dict[str, float]:
    """DynamoDB write units per order, by table (logical id), largest first: where the writes go."""
    totals: dict[str, float] = {}
    for (_function, table), units in meter.table_write_units.items():
        name = logical.get(table, table)
        totals[name] = totals.get(name, 0.0) + float(units)
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    return {table: round(units / orders, 2) for table, units in ranked}


def requests_by_service(meter: Meter, logical: dict[str, str]) -> dict[str, Any]:
    table: dict[str, dict[str, int]] = {}
    for (origin, function, service, operation), n in sorted(meter.calls.items()):
        who = f"lambda:{logical.get(function, function)}" if origin == "lambda" else origin
        table.setdefault(f"{service}.{operation}", {})[who] = (
            table.get(f"{service}.{operation}", {}).get(who, 0) + n
        )
    return table


def lambda_summary(meter: Meter, logical: dict[str, str]) -> dict[str, Any]:
    by_fn: dict[str, list[Any]] = {}
    for inv in meter.invocations:
        by_fn.setdefault(logical.get(inv.function, inv.function), []).append(inv)
    out: dict[str, Any] = {}
    for name, invs in sorted(by_fn.items()):
        durations = [i.duration_s for i in invs]
        out[name] = {
            "invocations": len(invs),
            "memory_mb": invs[0].memory_mb,
            "billed_ms_total": sum(costs.lambda_billed_ms(d) for d in durations),
            "duration_ms_p50": _percentile(durations, 50) * 1000,
            "duration_ms_p99": _percentile(durations, 99) * 1000,
            "gb_seconds": str(costs.lambda_gb_seconds((i.duration_s, i.memory_mb) for i in invs)),
            "log_bytes": meter.log_bytes.get(invs[0].function, 0) + PLATFORM_LOG_BYTES * len(invs),
        }
    return out


# ----------------------------------------------------------------------------------------- latency
def measure_intake_latency(
    aws: EmbeddedAws,
    stack: DeployedStack,
    metering: Metering,
    *,
    samples: int,
    seed: int,
    no_op_workflow: str,
) -> dict[str, Any]:
    """The intake handler, in process, on ``samples`` fresh signed webhooks, one at a time.

    The acknowledgement path is the real one (verify, parse, PutItem, StartExecution); the execution it
    starts is of a Pass-state machine, so that the background workflows of earlier samples do not compete
    for this process's GIL with the measurement.
    """
    import boto3
    from moto.awslambda.models import lambda_backends

    name = stack.function_name("OrderIntakeFunction")
    fn = lambda_backends[aws.account_id][aws.region].get_function(name)
    saved = fn.environment_vars.get("ORDER_WORKFLOW_ARN")
    fn.environment_vars["ORDER_WORKFLOW_ARN"] = no_op_workflow
    server = stack._http  # the adapter's own API Gateway v2 event builder
    route = next(r for r in stack.routes if r.logical_id == "OrderIntakeFunction")
    lam = boto3.client("lambda", region_name=aws.region)
    meter = Meter(account_id=aws.account_id)
    round_trips: list[float] = []
    statuses: Counter[int] = Counter()
    try:
        metering.meter = meter
        for headers, body in signed_webhooks(samples, seed, 0.0):
            event = server.build_event(  # type: ignore[union-attr]
                route,
                {"channel": "shopify"},
                "POST",
                "/webhooks/shopify",
                "",
                list(headers.items()),
                body,
                "127.0.0.1",
            )
            start = time.perf_counter()
            response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
            round_trips.append(time.perf_counter() - start)
            statuses[json.loads(response["Payload"].read()).get("statusCode", 0)] += 1
        aws.wait_idle(timeout=600)
    finally:
        metering.meter = None
        if saved is None:
            fn.environment_vars.pop("ORDER_WORKFLOW_ARN", None)
        else:
            fn.environment_vars["ORDER_WORKFLOW_ARN"] = saved
    handler = [i.duration_s for i in meter.invocations if i.function == name]
    return {
        "samples": len(handler),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "handler_ms_p50": _percentile(handler, 50) * 1000,
        "handler_ms_p99": _percentile(handler, 99) * 1000,
        "handler_ms_max": max(handler, default=0.0) * 1000,
        "invoke_round_trip_ms_p50": _percentile(round_trips, 50) * 1000,
        "invoke_round_trip_ms_p99": _percentile(round_trips, 99) * 1000,
    }


# ----------------------------------------------------------------------------------------- memory
def measure_quiet(
    aws: EmbeddedAws, stack: DeployedStack, metering: Metering, *, orders: int, seed: int, trace: bool
) -> Meter:
    """A few orders, one handler at a time (no GIL or container contention): per-invocation durations,
    and with ``trace`` the tracemalloc peak of each invocation."""
    meter = Meter(account_id=aws.account_id)
    if trace:
        tracemalloc.start()
    metering.serialize, metering.trace_memory = True, trace
    metering.meter = meter
    try:
        run_day(aws, stack, orders=orders, seed=seed, concurrency=1, duplicate_share=0.0)
    finally:
        metering.meter = None
        metering.serialize = metering.trace_memory = False
        if trace:
            tracemalloc.stop()
    return meter


def quiet_medians_ms(meter: Meter) -> dict[str, float]:
    by_fn: dict[str, list[float]] = {}
    for inv in meter.invocations:
        by_fn.setdefault(inv.function, []).append(inv.duration_s * 1000)
    return {fn: statistics.median(values) for fn, values in by_fn.items()}


def peak_alloc_mb(meter: Meter, logical: dict[str, str]) -> dict[str, float]:
    peaks: dict[str, int] = {}
    for inv in meter.invocations:
        name = logical.get(inv.function, inv.function)
        peaks[name] = max(peaks.get(name, 0), inv.peak_alloc_bytes or 0)
    return {name: round(peak / 1024 / 1024, 2) for name, peak in sorted(peaks.items())}


# ----------------------------------------------------------------------------------------- the run
def _machine_types(aws: EmbeddedAws, stack: DeployedStack, info: TemplateInfo) -> dict[str, str]:
    return {
        stack.resources[logical]: kind
        for logical, kind in info.state_machine_types.items()
        if logical in stack.resources
    }


def _metered_day(options: Options, orders: int, report: Report, *, main: bool) -> dict[str, Any]:
    info = read_template(options.template)
    result: dict[str, Any] = {}
    with EmbeddedAws(retry_delay=1.0, emit_metrics=True) as aws:
        stack = start_stack(aws, str(options.template))
        metering = Metering(aws)
        metering.install()
        try:
            meter = Meter(account_id=aws.account_id)

            def switch_on() -> None:
                metering.meter = meter

            day = run_day(
                aws,
                stack,
                orders=orders,
                seed=options.seed,
                concurrency=options.concurrency,
                duplicate_share=options.duplicate_share,
                report=report,
                before_timing=switch_on,
            )
            metering.meter = None
            result["day"] = day
            if not main:
                return result
            with unmetered():
                execs = executions(aws)
            result["rss_after_day_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            logical = _logical_ids(stack)
            types = _machine_types(aws, stack, info)
            result.update(meter=meter, logical=logical)
            transitions = round(sum(e["transitions"] for e in execs) / len(execs)) if execs else 1

            plan = plan_from(meter, orders, transitions)
            floor_meter = Meter(account_id=aws.account_id)
            metering.meter = floor_meter  # same metering overhead as the system run
            try:
                floor_s, no_op = run_floor(aws, stack, plan, concurrency=options.concurrency, report=report)
            finally:
                metering.meter = None
            result.update(plan=plan, floor_s=floor_s)

            report("intake latency", 0, options.latency_samples)
            result["latency"] = measure_intake_latency(
                aws,
                stack,
                metering,
                samples=options.latency_samples,
                seed=options.seed + 1,
                no_op_workflow=no_op,
            )
            report("intake latency", options.latency_samples, options.latency_samples)
            report("quiet and memory probes", 0, 2)
            quiet = measure_quiet(
                aws, stack, metering, orders=options.memory_orders, seed=options.seed + 2, trace=False
            )
            report("quiet and memory probes", 1, 2)
            traced = measure_quiet(
                aws, stack, metering, orders=options.memory_orders, seed=options.seed + 3, trace=True
            )
            report("quiet and memory probes", 2, 2)
            quiet_ms = quiet_medians_ms(quiet)
            result["quiet_ms"] = {logical.get(k, k): v for k, v in sorted(quiet_ms.items())}
            result["invocation_peak_alloc_mb"] = peak_alloc_mb(traced, logical)
            usage, raw = usage_of(meter, execs, types, quiet_ms, info.tracing, logical)
            result.update(usage=usage, raw=raw)
        finally:
            metering.uninstall()
    return result


def run_bench(options: Options, report: Report | None = None) -> dict[str, Any]:
    report = report or (lambda phase, done, total: None)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    prices = costs.load_prices(options.prices)
    info = read_template(options.template)

    main = _metered_day(options, options.orders, report, main=True)
    day: DayRun = main["day"]
    meter: Meter = main["meter"]
    usage: costs.Usage = main["usage"]
    logical: dict[str, str] = main["logical"]

    scaling: dict[int, float] = {options.orders: day.webhook_to_invoice_s}
    for n in sorted(set(options.scaling) - {options.orders}):
        extra = _metered_day(options, n, report, main=False)
        scaling[n] = extra["day"].webhook_to_invoice_s

    report("cold starts", 0, 1)
    cold = measure_cold_starts(ROOT, info, repeats=options.cold_repeats)
    report("cold starts", 1, 1)

    breakdown = costs.cost(usage, prices)
    per_1000 = breakdown.per(options.orders)

    flows: dict[str, Any] | None = None
    if options.flows is not None:
        flows = run_flows(
            template=str(options.template),
            info=info,
            prices=prices,
            quiet_by_logical=main["quiet_ms"],
            usage_of=usage_of,
            sizes=options.flows,
            report=report,
            web_order_per_1000=per_1000.total,
        )
        flows["target_order_to_invoice_per_1000_usd"] = float(ORDER_TO_INVOICE_TARGET_PER_1000)
        flows["target_all_in_per_1000_orders_usd"] = float(COST_TARGET_PER_1000)
        flows["order_to_invoice_target_met"] = (
            Decimal(str(flows["order_to_invoice_per_1000_usd"])) <= ORDER_TO_INVOICE_TARGET_PER_1000
        )
        flows["all_in_target_met"] = (
            Decimal(str(flows["mix"]["all_in_per_1000_orders_usd"])) <= COST_TARGET_PER_1000
        )
    system_s = day.webhook_to_invoice_s
    floor_s = float(main["floor_s"])
    points = sorted(scaling.items())
    per_order_ms = {str(n): s / n * 1000 for n, s in points}
    growth = (
        (points[-1][1] / points[0][1]) / (points[-1][0] / points[0][0])
        if len(points) > 1 and points[0][1]
        else None
    )
    intake_name = stack_name_for(logical, "OrderIntakeFunction")
    under_load = [i.duration_s for i in meter.invocations if i.function == intake_name]
    handler_rss = {k: v["peak_rss_mb_median"] for k, v in cold["handlers"].items()}
    invocation_alloc = main["invocation_peak_alloc_mb"]

    results: dict[str, Any] = {
        "schema": "oms-bench/1",
        "started_at": started.isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "machine": machine(),
        "options": {
            "orders": options.orders,
            "scaling": list(options.scaling),
            "seed": options.seed,
            "concurrency": options.concurrency,
            "duplicate_share": options.duplicate_share,
            "latency_samples": options.latency_samples,
            "cold_repeats": options.cold_repeats,
            "price_table": str(Path(prices.path).relative_to(ROOT))
            if prices.path.startswith(str(ROOT))
            else prices.path,
        },
        "throughput": {
            "orders": options.orders,
            "webhook_deliveries": day.deliveries,
            "http_statuses": day.http_statuses,
            "orders_by_status": day.orders_by_status,
            "invoices": day.invoices,
            "phases_s": day.phases,
            "system_s": system_s,
            "system_orders_per_s": options.orders / system_s,
            "floor_s": floor_s,
            "floor_orders_per_s": options.orders / floor_s,
            "ratio_system_to_floor": system_s / floor_s,
            "floor_plan": main["plan"].as_dict(),
            "scaling": {
                "points": [{"orders": n, "seconds": s, "ms_per_order": s / n * 1000} for n, s in points],
                "ms_per_order": per_order_ms,
                "growth_exponent_ratio": growth,
            },
        },
        "cost": {
            "price_table": {"as_of": prices.as_of, "region": prices.region, "sources": prices.sources()},
            "per_1000_orders_usd": {k: float(v) for k, v in per_1000.by_service.items()},
            "per_1000_orders_total_usd": float(per_1000.total),
            "target_per_1000_orders_usd": float(COST_TARGET_PER_1000),
            "target_met": per_1000.total <= COST_TARGET_PER_1000,
            "usage_total": usage.as_dict(),
            "usage_per_order": usage.per(options.orders),
            "details": main["raw"],
            "lambda": lambda_summary(meter, logical),
            "lambda_quiet_duration_ms_median": main["quiet_ms"],
            "requests": requests_by_service(meter, logical),
            "dynamodb_write_units_per_order_by_table": write_units_by_table(meter, logical, options.orders),
            "per_flow": flows,
        },
        "cold_start": {
            **cold,
            "target_ratio": COLD_START_TARGET_RATIO,
            "target_met": cold["max_ratio"] <= COLD_START_TARGET_RATIO,
        },
        "latency": {
            "intake_in_process": main["latency"],
            "intake_under_load_ms_p50": _percentile(under_load, 50) * 1000,
            "intake_under_load_ms_p99": _percentile(under_load, 99) * 1000,
            "http_ack_under_load_ms_p50": _percentile(day.http_latencies_s, 50) * 1000,
            "http_ack_under_load_ms_p99": _percentile(day.http_latencies_s, 99) * 1000,
        },
        "memory": {
            "bench_process_peak_rss_mb": main["rss_after_day_mb"],
            "handler_import_peak_rss_mb": handler_rss,
            "handler_invocation_peak_alloc_mb": invocation_alloc,
            "handler_estimated_peak_mb": {
                k: round(handler_rss.get(k, 0.0) + invocation_alloc.get(k, 0.0), 1) for k in handler_rss
            },
            "configured_memory_mb": {k: f.memory_mb for k, f in info.functions.items()},
        },
    }
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True, default=str))
    return results


def stack_name_for(logical: dict[str, str], logical_id: str) -> str:
    return next((physical for physical, lid in logical.items() if lid == logical_id), logical_id)
