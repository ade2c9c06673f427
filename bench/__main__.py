"""`python -m bench`: throughput against the floor, cost per 1,000 orders, cold starts, intake latency and
memory, on the embedded AWS; a table on the terminal and results.json in --out (see docs/performance.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench import costs
from bench.flows import FlowSizes
from bench.run import Options, run_bench

app = typer.Typer(add_completion=False, help=__doc__)
console = Console()


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise typer.BadParameter("a comma-separated list of order counts, e.g. 100,1000") from exc
    if not sizes or min(sizes) < 1:
        raise typer.BadParameter("order counts must be positive")
    return sizes


@app.command()
def main(
    orders: int = typer.Option(
        1000, min=1, max=100_000, help="Orders in the metered run (webhook to invoice)."
    ),
    scaling: str = typer.Option(
        "100,1000", help="Order counts of the time-growth series (e.g. 100,1000,10000)."
    ),
    seed: int = typer.Option(42, help="Seed of the synthetic day."),
    concurrency: int = typer.Option(
        8, min=1, max=64, help="Concurrent webhook connections (and floor workers)."
    ),
    latency_samples: int = typer.Option(
        200, min=1, help="Signed webhooks for the intake latency percentiles."
    ),
    cold_repeats: int = typer.Option(
        5, min=1, help="Fresh interpreters per handler for the cold start median."
    ),
    flows: bool = typer.Option(
        True, help="Also meter each business flow on its own and the reference day's all-in mix."
    ),
    prices: Path = typer.Option(costs.DEFAULT_PRICES, help="Dated price table (JSON)."),
    out: Path = typer.Option(Path("out/bench"), help="Where results.json goes."),
) -> None:
    options = Options(
        orders=orders,
        scaling=_sizes(scaling),
        seed=seed,
        concurrency=concurrency,
        latency_samples=latency_samples,
        cold_repeats=cold_repeats,
        flows=FlowSizes() if flows else None,
        prices=prices,
        out=out,
    )
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        results = run_bench(options, report)
    print_results(results)
    console.print(f"results: {out / 'results.json'}")


def print_results(r: dict[str, Any]) -> None:
    m = r["machine"]
    console.print(
        f"[bold]Machine[/bold]: {m['cpu_count']} x {m['cpu_model']}, {m['memory_gb']} GB, "
        f"Python {m['python']}, "
        f"moto {m['moto']}"
    )
    t = r["throughput"]
    table = Table(title=f"Throughput: {t['orders']} orders, webhook to invoice")
    for column in ("", "seconds", "orders/s"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row(
        "system (HTTP → workflow → shipment → invoice)",
        f"{t['system_s']:.1f}",
        f"{t['system_orders_per_s']:.2f}",
    )
    table.add_row(
        f"floor ({t['floor_plan']['calls_per_order']:.1f} bare AWS calls per order)",
        f"{t['floor_s']:.1f}",
        f"{t['floor_orders_per_s']:.2f}",
    )
    table.add_row("[bold]ratio system / floor[/bold]", f"[bold]{t['ratio_system_to_floor']:.2f}x[/bold]", "")
    for point in t["scaling"]["points"]:
        table.add_row(
            f"  scaling: N = {point['orders']}",
            f"{point['seconds']:.1f}",
            f"{point['ms_per_order']:.0f} ms/order",
        )
    console.print(table)

    c = r["cost"]
    table = Table(title=f"Cost per 1,000 orders (us-east-1 list prices, {c['price_table']['as_of']})")
    table.add_column("service")
    table.add_column("USD", justify="right")
    for service, usd in sorted(c["per_1000_orders_usd"].items(), key=lambda kv: -kv[1]):
        table.add_row(service, f"{usd:.6f}")
    verdict = "[green]met[/green]" if c["target_met"] else "[red]missed[/red]"
    table.add_row(
        "[bold]total[/bold]",
        f"[bold]{c['per_1000_orders_total_usd']:.6f}[/bold]",
    )
    table.caption = f"target ≤ ${c['target_per_1000_orders_usd']:.2f}: {verdict}"
    console.print(table)
    if c.get("per_flow"):
        print_flows(c["per_flow"])

    cs = r["cold_start"]
    table = Table(title=f"Cold start: handler import in a fresh interpreter (median of {cs['repeats']})")
    for column in ("module", "import ms", "x floor", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "module" else "right")
    table.add_row(
        "floor: import boto3 + 1 client",
        f"{cs['floor']['import_ms_median']:.0f}",
        "1.00",
        f"{cs['floor']['peak_rss_mb_median']:.0f}",
    )
    for logical_id, h in cs["handlers"].items():
        ratio = f"{h['ratio_to_floor']:.2f}"
        if h["ratio_to_floor"] > cs["target_ratio"]:
            ratio = f"[red]{ratio}[/red]"
        table.add_row(
            f"{h['module']} ({logical_id})",
            f"{h['import_ms_median']:.0f}",
            ratio,
            f"{h['peak_rss_mb_median']:.0f}",
        )
    met = "[green]met[/green]" if cs["target_met"] else "[red]missed[/red]"
    table.caption = f"target ≤ {cs['target_ratio']}x floor: {met}"
    console.print(table)

    lat = r["latency"]
    ip = lat["intake_in_process"]
    table = Table(title="Webhook acknowledgement latency (ms)")
    for column in ("", "p50", "p99"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row(
        f"intake handler in process ({ip['samples']} webhooks, one at a time)",
        f"{ip['handler_ms_p50']:.1f}",
        f"{ip['handler_ms_p99']:.1f}",
    )
    table.add_row(
        "intake handler during the throughput run",
        f"{lat['intake_under_load_ms_p50']:.1f}",
        f"{lat['intake_under_load_ms_p99']:.1f}",
    )
    table.add_row(
        "HTTP round trip during the throughput run",
        f"{lat['http_ack_under_load_ms_p50']:.1f}",
        f"{lat['http_ack_under_load_ms_p99']:.1f}",
    )
    console.print(table)

    mem = r["memory"]
    table = Table(title=f"Memory (bench process peak RSS {mem['bench_process_peak_rss_mb']:.0f} MB)")
    for column in ("function", "import RSS MB", "invocation alloc MB", "estimate MB", "configured MB"):
        table.add_column(column, justify="left" if column == "function" else "right")
    for name, rss in mem["handler_import_peak_rss_mb"].items():
        table.add_row(
            name,
            f"{rss:.0f}",
            f"{mem['handler_invocation_peak_alloc_mb'].get(name, 0.0):.1f}",
            f"{mem['handler_estimated_peak_mb'].get(name, 0.0):.0f}",
            str(mem["configured_memory_mb"].get(name, "")),
        )
    console.print(table)


def print_flows(f: dict[str, Any]) -> None:
    table = Table(title="Cost per flow, each run on its own (USD per 1,000 runs)")
    for column in ("flow", "runs", "per 1,000", "largest part", "runs a day", "USD a day"):
        table.add_column(column, justify="left" if column in ("flow", "largest part") else "right")
    mix = f["mix"]
    for name, flow in f["flows"].items():
        parts = flow["per_1000_by_service_usd"]
        top = max(parts, key=parts.get) if parts else ""
        table.add_row(
            name,
            str(flow["runs"]),
            f"{flow['per_1000_usd']:.4f}",
            f"{top} {parts.get(top, 0):.4f}" if top else "",
            f"{mix['runs_per_day'].get(name, 0):.0f}",
            f"{mix['by_flow_usd_per_day'].get(name, 0):.4f}",
        )
    to_invoice = "[green]met[/green]" if f["order_to_invoice_target_met"] else "[red]missed[/red]"
    all_in = "[green]met[/green]" if f["all_in_target_met"] else "[red]missed[/red]"
    table.caption = (
        f"order to invoice {f['order_to_invoice_per_1000_usd']:.4f} per 1,000 "
        f"(target ≤ {f['target_order_to_invoice_per_1000_usd']:.2f}: {to_invoice}); all-in day of "
        f"{mix['orders']} orders {mix['all_in_per_1000_orders_usd']:.4f} per 1,000 orders "
        f"(target ≤ {f['target_all_in_per_1000_orders_usd']:.2f}: {all_in})"
    )
    console.print(table)


if __name__ == "__main__":
    app()
