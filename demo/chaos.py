"""`python -m demo.chaos` (`make chaos`): the demo's business day twice with the same seed, once as it is
and once under the faults AWS promises, then every order's end state compared and every invariant checked.

Both runs send each order once the previous one's allocation was decided ("settled arrival"), so which
order gets scarce stock depends on the seed alone and the two runs can be compared order by order. Exit
status 1 if an order ends differently, an invariant does not hold (in either run), a unit is phantom, or a
kind of fault was never injected.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from demo.run import DaySummary, Report, run_business_day
from infra import FaultPlan

app = typer.Typer(add_completion=False, help=__doc__)
console = Console()


@dataclass
class ChaosResult:
    plan: dict[str, object]
    baseline: DaySummary
    chaos: DaySummary
    differences: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    kinds_never_injected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.differences
            and not self.kinds_never_injected
            and self.baseline.invariants_held
            and self.chaos.invariants_held
            and self.chaos.phantom_units == 0
            and self.baseline.accounted
            and self.chaos.accounted
        )


def run_chaos_day(
    *,
    orders: int,
    seed: int,
    out: Path,
    plan: FaultPlan | None = None,
    report: Report | None = None,
) -> ChaosResult:
    plan = plan or FaultPlan.chaos(seed)
    baseline = run_business_day(
        orders=orders,
        seed=seed,
        out=out / "baseline",
        settled_arrival=True,
        faults=FaultPlan(seed=seed),
        report=report,
    )
    chaos = run_business_day(
        orders=orders, seed=seed, out=out / "chaos", settled_arrival=True, faults=plan, report=report
    )
    ids = sorted(set(baseline.end_states) | set(chaos.end_states))
    differences = {
        order_id: (baseline.end_states.get(order_id), chaos.end_states.get(order_id))
        for order_id in ids
        if baseline.end_states.get(order_id) != chaos.end_states.get(order_id)
    }
    kinds = sorted({rule.kind for rule in plan.rules})
    never = [kind for kind in kinds if not chaos.faults_injected.get(kind)]
    result = ChaosResult(plan.to_dict(), baseline, chaos, differences, never)
    (out / "chaos.json").write_text(json.dumps(asdict(result), indent=2, sort_keys=True, default=str))
    return result


@app.command()
def main(
    orders: int = typer.Option(200, min=1, max=100_000, help="Orders in the day."),
    seed: int = typer.Option(42, help="Seed of the day and of the faults."),
    out: Path = typer.Option(Path("out/chaos"), help="Where both runs' documents and chaos.json go."),
    error_rate: float = typer.Option(
        0.10, min=0.0, max=1.0, help="Share of AWS calls that fail transiently."
    ),
    crash_rate: float = typer.Option(
        0.05, min=0.0, max=1.0, help="Share of invocations that crash after their side effects."
    ),
    duplicate_rate: float = typer.Option(0.05, min=0.0, max=1.0, help="Share of deliveries made twice."),
) -> None:
    plan = FaultPlan.chaos(seed, error_rate=error_rate, crash_rate=crash_rate, duplicate_rate=duplicate_rate)
    # Every injected crash is logged with its traceback by the embedded runtime: expected here, not news.
    logging.getLogger("infra.embedded").setLevel(logging.ERROR)
    out.mkdir(parents=True, exist_ok=True)
    with console.status("running the business day twice (fault-free, then under faults)..."):
        result = run_chaos_day(orders=orders, seed=seed, out=out, plan=plan)
    faults = Table(title=f"Faults injected (seed {seed})")
    faults.add_column("kind")
    faults.add_column("count", justify="right")
    for kind, count in result.chaos.faults_injected.items():
        faults.add_row(kind, str(count))
    console.print(faults)
    for name, run in (("fault-free", result.baseline), ("under faults", result.chaos)):
        console.print(
            f"{name}: {run.orders_sent} orders {run.orders_by_status}; invoices {run.invoices_issued}; "
            f"{run.elapsed_seconds:.0f} s"
        )
    console.print("Invariants under faults:")
    for line in result.chaos.invariants:
        console.print(f"  {line}", markup=False, highlight=False)
    console.print(f"Phantom units: {result.chaos.phantom_units}")
    same = len(result.chaos.end_states) - len(result.differences)
    console.print(
        f"Orders in the same end state as the fault-free run: {same} of {len(result.baseline.end_states)}"
    )
    for order_id, (before, after) in list(result.differences.items())[:20]:
        console.print(f"  [red]{order_id}[/red]: fault-free {before}, under faults {after}")
    if result.kinds_never_injected:
        console.print(f"[red]Fault kinds never injected[/red]: {', '.join(result.kinds_never_injected)}")
    if not result.baseline.invariants_held:
        console.print("[red]The fault-free run broke an invariant[/red]:")
        for line in result.baseline.invariants:
            console.print(f"  {line}", markup=False, highlight=False)
    if result.ok:
        console.print("[green]Every order ended as without faults, and every invariant held.[/green]")
    else:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    app()
