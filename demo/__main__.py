"""`python -m demo`: replay a business day on the embedded AWS and print what happened."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from demo.run import run_business_day

app = typer.Typer(add_completion=False, help=__doc__)
console = Console()


@app.command()
def main(
    orders: int = typer.Option(1000, min=1, max=100_000, help="Orders (signed Shopify webhooks) in the day."),
    seed: int = typer.Option(42, help="Seed of the synthetic day (same seed, same orders)."),
    out: Path = typer.Option(Path("out"), help="Where the invoice PDFs and summary.json go."),
    concurrency: int = typer.Option(8, min=1, max=64, help="Concurrent HTTP connections from the channel."),
    duplicates: float = typer.Option(0.02, min=0.0, max=1.0, help="Share of webhooks delivered twice."),
    workers: bool = typer.Option(
        False, "--workers", help="Run each Lambda handler in processes of its own (uses every core)."
    ),
    days: int = typer.Option(
        0,
        min=0,
        max=120,
        help="Then replay this many days of cash on the simulated clock (payments, returns, dunning, "
        "aging, DSO, forecast); 0: the business day only.",
    ),
) -> None:
    with Progress(
        TextColumn("{task.description:<22}"),
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

        summary = run_business_day(
            orders=orders,
            seed=seed,
            out=out,
            concurrency=concurrency,
            duplicate_share=duplicates,
            report=report,
            workers=workers,
            export_finance=True,
            corporate_approvals=True,
        )

    table = Table(
        title=f"Business day: {summary.orders_sent} orders, {summary.deliveries_sent} webhook deliveries"
    )
    table.add_column("orders by status")
    table.add_column("count", justify="right")
    for status, count in summary.orders_by_status.items():
        table.add_row(status, str(count))
    for reason, count in summary.holds_by_reason.items():
        table.add_row(f"  held: {reason}", str(count))
    for reason, count in summary.failures.items():
        table.add_row(f"  failed: {reason}", str(count))
    console.print(table)
    console.print(f"HTTP answers: {summary.http_statuses}")
    console.print(f"Purchase orders received for backordered SKUs: {summary.purchase_orders_received}")
    console.print(f"Invoices issued: {summary.invoices_issued}; total invoiced: {summary.total_invoiced}")
    console.print(f"Invoice PDFs checked and written to {out / 'invoices'}: {summary.invoice_pdfs_checked}")
    told = summary.shopify_writeback
    if told:
        console.print(
            f"Shopify told: {told['fulfilled_once']} of {told['shipments']} shipments fulfilled exactly once "
            f"with their tracking number, {told['delivered_events']} delivered events; rate limited "
            f"{told['throttled']} times; requests refused by the fake: {len(told['violations'])}"
        )
    rate = summary.orders_sent / summary.elapsed_seconds if summary.elapsed_seconds else 0.0
    console.print(
        f"Elapsed {summary.elapsed_seconds:.1f} s ({rate:.1f} orders/s); phases: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in summary.phases.items())
    )
    console.print(
        f"Refused requests (each answered 4xx, checked to have written nothing): {summary.refused_requests}"
    )
    _print_finance_exports(summary.finance_exports)
    if summary.approvals:
        a = summary.approvals
        console.print(
            f"Corporate orders needing approval: {a['entered']} entered; the rep's own approval refused "
            f"{a['self_approval_refused']}x (no-self-approval); escalated {a['escalated']} after 4 h; "
            f"approved {a['approved']}, rejected {a['rejected']}; Standard workflow "
            f"{a['transitions_per_approved_order']:.0f} transitions per approved order "
            f"(${a['usd_per_approved_order']})"
        )
    console.print("Invariants:")
    for line in summary.invariants:
        console.print(f"  {line}", markup=False, highlight=False)
    if not summary.invariants_held:
        console.print("[red]An invariant does not hold[/red] (see above)")
        raise typer.Exit(code=1)
    if summary.accounted:
        counts = summary.orders_by_status
        console.print(
            f"[green]Every order accounted for:[/green] received {summary.orders_received} = delivered "
            f"{counts.get('DELIVERED', 0)} + held {counts.get('ON_HOLD', 0)} "
            f"+ backordered {counts.get('BACKORDERED', 0)} + failed {counts.get('FAILED', 0)} "
            f"+ rejected {counts.get('REJECTED', 0)}"
        )
    else:
        console.print(
            f"[red]Orders not accounted for[/red] ({len(summary.unaccounted)}): {summary.unaccounted[:10]}"
        )
        raise typer.Exit(code=1)
    if days:
        _cash_weeks(days, seed, out)


def _cash_weeks(days: int, seed: int, out: Path) -> None:
    from demo.cash_weeks import run_cash_weeks
    from demo.reference_data import CUSTOMERS

    with console.status(f"Replaying {days} days of cash on the simulated clock"):
        weeks = run_cash_weeks(days=days, seed=seed, out=out)
    report = weeks.report
    console.print(
        f"\nCash over {days} simulated days: {weeks.orders} orders, {weeks.invoices} invoices, "
        f"{weeks.transfers} bank transfers in {weeks.statements} BAI2 statements, {weeks.returns} returns"
    )
    aging = Table(title=f"Receivables aging as of {report['as_of']} (days past due)")
    aging.add_column("customer")
    names = {c.customer_id: (c.company or c.name)[:24] for c in CUSTOMERS}
    for label in report["buckets"]:
        aging.add_column(label, justify="right")
    aging.add_column("outstanding", justify="right")
    aging.add_column("credit", justify="right")
    for row in report["aging"]:
        aging.add_row(
            names.get(row["customer_id"], row["customer_id"]),
            *[row["buckets"].get(label, "0.00") for label in report["buckets"]],
            row["outstanding"],
            row["unapplied_credit"],
        )
    for currency, totals in report["totals"].items():
        aging.add_row(
            f"total {currency}",
            *[totals.get(label, "0.00") for label in report["buckets"]],
            report["outstanding"][currency],
            report["unapplied_credit"].get(currency, "0.00"),
        )
    wide = Console(width=max(console.width, 150))
    wide.print(aging)
    for currency, dso in report["dso"].items():
        console.print(
            f"DSO {currency}: standard (30 days) {dso['standard_30d']} days, "
            f"countback {dso['countback']} days (credit sales in the last 30 days {dso['credit_sales_30d']})"
        )
    letters = ", ".join(f"level {k}: {v}" for k, v in sorted(weeks.letters.items())) or "none"
    held = ", ".join(names.get(c, c) for c in weeks.credit_holds) or "nobody"
    console.print(
        f"Dunning letters sent: {letters}; on credit hold: {held} "
        f"({weeks.held_for_credit} new orders waiting)"
    )
    habits = Counter(weeks.behaviours.values())
    console.print(f"How the corporate customers paid: {dict(sorted(habits.items()))}")
    console.print(f"Open cash exceptions: {dict(weeks.exceptions) or 'none'}")
    test = weeks.backtest
    if test:
        table = Table(title=f"Cash forecast made on {test['forecast_made_on']} against what then arrived")
        table.add_column("week of")
        table.add_column("forecast", justify="right")
        table.add_column("actual", justify="right")
        for week in test["weeks"]:
            table.add_row(week["week"], week["forecast"], week["actual"])
        table.add_row("total", test["forecast_total"], test["actual_total"])
        console.print(table)
        console.print(f"Backtest error (sum of weekly absolute errors / actual): {test['error_percent']} %")
    console.print(f"Cash weeks elapsed {weeks.elapsed_seconds:.1f} s; details in {out / 'cash-weeks.json'}")


# ------------------------------------------------------------------------------- finance exports (issue 13)
QUERY_HINT = '"SELECT count(*), sum(gross_margin) FROM orders"'


def _print_finance_exports(exported: dict[str, object]) -> None:
    days = exported.get("days") or []
    for day in days:  # type: ignore[attr-defined]
        rows = ", ".join(f"{table} {count}" for table, count in day["rows"].items())
        kpis = {k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in day["kpis"].items()}
        console.print(
            f"Finance export {day['period']} (Parquet, exports/<table>/dt={day['period']}/): {rows}; "
            f"perfect orders {kpis['perfect_order_rate_all']} (all criteria) / "
            f"{kpis['perfect_order_rate_product']} (product), fill rate {kpis['fill_rate']}, "
            f"gross margin {kpis['gross_margin']}"
        )
    if days:
        console.print(
            f"  local copy in {exported['folder']}: python -m ops sql --offline --dir {exported['folder']} "
            + QUERY_HINT
        )
    if exported.get("report"):
        console.print(
            f"Management report of the month (aging, DSO, cycle time, exceptions): {exported['report']}"
        )


if __name__ == "__main__":
    app()
