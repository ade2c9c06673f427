"""`python -m demo`: replay a business day on the embedded AWS and print what happened."""

from __future__ import annotations

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


if __name__ == "__main__":
    app()
