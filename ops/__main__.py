"""`python -m ops`: the operator's chores on a deployed OMS stack (AWS credentials from the environment)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Column, Table

from oms.data.backorders import backorder_queues
from oms.data.orders import get_order
from oms.domain.status import HoldReason
from oms.governance.audit_trail import order_history
from oms.logic.holds import failed_orders, orders_on_hold, release_hold, retry_failed_order
from oms.logic.replay import replay_archive
from ops.stack import resources_of

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
audit = typer.Typer(
    add_completion=False, help="The audit trail: verify it, sign a digest now.", no_args_is_help=True
)
app.add_typer(audit, name="audit")
console = Console()
STACK = typer.Option("oms", "--stack", help="CloudFormation stack name of the OMS.")


@app.command()
def holds(
    stack: str = STACK, reason: HoldReason | None = typer.Option(None, help="Only this hold reason.")
) -> None:
    """List the orders on hold, oldest first, with their reason."""
    resources_of(stack)
    table = Table("order", "channel", "external id", "received", "reason", "detail")
    for order in orders_on_hold(reason):
        detail = (order.last_change.reason if order.last_change else "") or ""
        table.add_row(
            order.order_id,
            order.channel,
            order.external_id,
            order.received_at,
            order.hold_reason or "",
            detail,
        )
    console.print(table)


@app.command()
def backorders(
    stack: str = STACK, sku: str | None = typer.Option(None, help="Only the queue of this SKU.")
) -> None:
    """List the orders waiting for stock, per SKU, oldest first (the order they will be served in)."""
    resources_of(stack)
    now = datetime.now(UTC)
    table = Table(
        "sku", "place", Column("order", no_wrap=True, min_width=28), "units", "waiting since", "hours"
    )
    table.add_column("escalated")
    for entry_sku, entries in backorder_queues(sku):
        for place, entry in enumerate(entries, start=1):
            hours = (now - entry.queued_at).total_seconds() / 3600
            escalated = entry.escalated_at.isoformat(timespec="minutes") if entry.escalated_at else ""
            table.add_row(
                entry_sku,
                str(place),
                entry.order_id,
                str(int(entry.quantity)),
                entry.queued_at.isoformat(timespec="seconds"),
                f"{hours:.1f}",
                escalated,
            )
    console.print(table)


@app.command()
def release(
    order_id: str,
    by: str = typer.Option(..., help="Who releases it, as user:<id> (recorded on the order)."),
    note: str = typer.Option(..., help="Why the order may go on as it is."),
    stack: str = STACK,
) -> None:
    """Release a held order: accept it as it is and send it on to allocation."""
    resources = resources_of(stack)
    record = release_hold(
        order_id, by=by, note=note, workflow_arn=resources.targets.workflow_arn, now=datetime.now(UTC)
    )
    console.print(f"{record.order_id}: {record.status} (released by {by})")


@app.command()
def failed(stack: str = STACK) -> None:
    """List the FAILED orders, oldest first, with the step that failed, the code and the reason."""
    resources_of(stack)
    table = Table("order", "channel", "external id", "step", "code", "reason")
    for order in failed_orders():
        table.add_row(
            order.order_id,
            order.channel,
            order.external_id,
            order.failed_step or "",
            order.failure_code or "",
            order.failure_reason or "",
        )
    console.print(table)


@app.command()
def show(order_id: str, stack: str = STACK) -> None:
    """An order as operations sees it: status, failure with the step's full error, history."""
    resources_of(stack)
    order = get_order(order_id)
    console.print(f"{order.order_id}  {order.channel} {order.external_id}  revision {order.revision}")
    console.print(f"status {order.status}  billing {order.billing_status}  hold {order.hold_reason or '-'}")
    if order.failure_code:
        console.print(f"failed at {order.failed_step}: {order.failure_code}: {order.failure_reason}")
        console.print(f"full error (operations only):\n{order.failure_detail}")
    if order.shipment_exception:
        console.print(f"shipment exception: {order.shipment_exception}")
    if order.outbox:
        console.print(f"events not yet published: {len(order.outbox)} (the sweeper publishes them)")
    table = Table("at", "status", "from", "by", "reason")
    for entry in order_history(order_id, order):
        table.add_row(entry.at.isoformat(), entry.status, entry.previous or "", entry.by, entry.reason or "")
    console.print(table)


@app.command()
def retry(
    order_id: str,
    by: str = typer.Option(..., help="Who retries it, as user:<id> (recorded on the order)."),
    note: str = typer.Option(..., help="Why it may go again (what was fixed)."),
    stack: str = STACK,
) -> None:
    """Re-drive a FAILED order from the step that failed (validation, or allocation: its stock was
    released when it failed); recorded in its history."""
    resources = resources_of(stack)
    record = retry_failed_order(
        order_id, by=by, note=note, workflow_arn=resources.targets.workflow_arn, now=datetime.now(UTC)
    )
    console.print(f"{record.order_id}: {record.status} (retried by {by})")


@app.command()
def replay(
    channel: str,
    day: str = typer.Option(..., help="UTC day of the archived deliveries, YYYY-MM-DD."),
    stack: str = STACK,
) -> None:
    """Re-process a day of archived webhook bodies; existing orders are not duplicated."""
    resources = resources_of(stack)
    outcomes = replay_archive(
        channel, date.fromisoformat(day), targets=resources.targets, now=lambda: datetime.now(UTC)
    )
    for outcome, count in sorted(outcomes.items()):
        console.print(f"{outcome}: {count}")


@app.command()
def token(
    scopes: list[str] = typer.Option(
        ["oms/orders.read"], "--scopes", help="Scopes of the token (repeat for several)."
    ),
    subject: str = typer.Option("user:local-developer", help="Who the token is for."),
    endpoint: str | None = typer.Option(
        None, help="The local stack's AWS endpoint (default $AWS_ENDPOINT_URL)."
    ),
) -> None:
    """Mint a JWT for the local stack (`make serve`): its identity provider signs it.

    On AWS, tokens come from your identity provider (e.g. Cognito) instead."""
    from infra.embedded.control import call_control

    answer = call_control(endpoint, "token", {"subject": subject, "scopes": scopes})
    typer.echo(answer["token"])


@app.command("send-webhook")
def send_webhook(
    channel: str = typer.Argument(..., help="shopify, woocommerce or webshop"),
    body_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The JSON body to send."),
    stack: str = STACK,
    api_url: str | None = typer.Option(None, help="The stack's API URL (default: its ApiUrl output)."),
) -> None:
    """Sign a body with the stack's secret for the channel, as the channel would, and post it."""
    import boto3
    import httpx

    from ops.webhooks import channel_secrets, signed_request

    cloudformation = boto3.client("cloudformation")
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    secrets = channel_secrets(
        boto3.client("secretsmanager").get_secret_value(SecretId=outputs["WebhookSecretsArn"])["SecretString"]
    )
    if channel not in secrets:
        raise typer.BadParameter(
            f"the stack has no secret for {channel!r} (it has: {', '.join(sorted(secrets))})"
        )
    body = body_file.read_bytes()
    url = f"{(api_url or outputs['ApiUrl']).rstrip('/')}/webhooks/{channel}"
    response = httpx.post(
        url, content=body, headers=signed_request(channel, body, secrets[channel]), timeout=30
    )
    console.print(f"POST {url}: {response.status_code}")
    console.print(response.text)


# ================================================================ reconciliation, DLQs, finance (issue 13)
dlq_app = typer.Typer(no_args_is_help=True, help="The stack's dead-letter queues: depths, messages, redrive.")
exceptions_app = typer.Typer(no_args_is_help=True, help="Reconciliation exceptions: list, assign, close.")
recon_app = typer.Typer(no_args_is_help=True, help="Run the reconciliation of a period now.")
app.add_typer(dlq_app, name="dlq")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(recon_app, name="recon")


@dlq_app.command("list")
def dlq_list(stack: str = STACK) -> None:
    """Every DLQ of the stack with the messages waiting in it."""
    from ops.finance import dlq_depths, finance_stack

    table = Table("dlq", "waiting", "in flight", "redrives to")
    resources = finance_stack(stack)
    from ops.finance import source_queue_of

    for name, visible, in_flight in dlq_depths(resources):
        target = source_queue_of(resources, name)
        table.add_row(name, str(visible), str(in_flight), target.rsplit("/", 1)[-1] if target else "-")
    console.print(table)


@dlq_app.command("peek")
def dlq_peek(
    dlq: str = typer.Argument(..., help="The DLQ's logical id, e.g. InvoiceDLQ."), stack: str = STACK
) -> None:
    """The messages of a DLQ, left where they are, with the order or SKU each names."""
    from oms.data.snapshot import dead_letter_subject, peek_dead_letters
    from ops.finance import finance_stack

    queues = finance_stack(stack).dead_letter_queues()
    if dlq not in queues:
        raise typer.BadParameter(f"{dlq} is not a DLQ of the stack (it has: {', '.join(queues)})")
    table = Table("message", "received", "names", Column("body", overflow="fold"))
    for letter in peek_dead_letters(dlq, queues[dlq]):
        subject = dead_letter_subject(letter)
        names = ", ".join(f"{k} {v}" for k, v in sorted(subject.items())) or "nothing known"
        table.add_row(letter.message_id, str(letter.receive_count), names, letter.body[:300])
    console.print(table)


@dlq_app.command("redrive")
def dlq_redrive(
    dlq: str = typer.Argument(..., help="The DLQ's logical id, e.g. InvoiceDLQ."),
    limit: int = typer.Option(1000, min=1, help="Move at most this many messages."),
    stack: str = STACK,
) -> None:
    """Send a DLQ's messages back to the queue they failed from (after the cause is fixed)."""
    from ops.finance import finance_stack, redrive

    try:
        moved = redrive(finance_stack(stack), dlq, limit=limit)
    except (KeyError, LookupError) as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"{dlq}: {moved} message(s) sent back")


@exceptions_app.command("list")
def exceptions_list(
    stack: str = STACK,
    include_closed: bool = typer.Option(False, "--all", help="Closed exceptions too."),
    kind: str | None = typer.Option(None, help="Only this kind, e.g. SHIPPED_NOT_INVOICED."),
) -> None:
    """Open reconciliation exceptions, the one whose SLA runs out first first."""
    from oms.data.models import ReconciliationExceptionRecord
    from oms.data.reconciliation import open_exceptions
    from ops.finance import finance_stack

    finance_stack(stack)
    records = list(ReconciliationExceptionRecord.scan()) if include_closed else list(open_exceptions())
    records = [r for r in records if not r.exception_id.startswith("BASELINE#")]
    table = Table(
        Column("exception", no_wrap=True),
        "state",
        "owner",
        "assigned",
        "opened",
        "SLA due",
        "escalated",
        Column("detail", overflow="fold"),
    )
    now = datetime.now(UTC)
    for record in sorted(records, key=lambda r: (r.state, r.sla_due_at)):
        if kind and record.kind != kind:
            continue
        due = record.sla_due_at.isoformat(timespec="minutes") + (
            " (past)" if record.sla_due_at <= now else ""
        )
        table.add_row(
            record.exception_id,
            record.state,
            record.owner_group,
            record.assigned_to or "",
            record.opened_at.isoformat(timespec="minutes"),
            due,
            f"to {record.escalate_to}" if record.escalated_at else "",
            record.detail,
        )
    console.print(table)


@exceptions_app.command("assign")
def exceptions_assign(
    exception_id: str,
    to: str = typer.Option(..., help="Who works it, as user:<id>."),
    by: str = typer.Option(..., help="Who assigns it, as user:<id> (recorded)."),
    stack: str = STACK,
) -> None:
    """Give an open exception to a person (recorded in its history)."""
    from pynamodb.exceptions import UpdateError

    from oms.data.reconciliation import assign_exception
    from ops.finance import finance_stack

    finance_stack(stack)
    try:
        assign_exception(exception_id, to=to, by=by, now=datetime.now(UTC))
    except UpdateError as exc:
        console.print(f"[red]{exception_id} is not an open exception[/red]")
        raise typer.Exit(2) from exc
    console.print(f"{exception_id}: assigned to {to}")


@exceptions_app.command("close")
def exceptions_close(
    exception_id: str,
    by: str = typer.Option(..., help="Who closes it, as user:<id> (recorded)."),
    note: str = typer.Option(..., help="What was done about it."),
    stack: str = STACK,
) -> None:
    """Close an open exception by hand (the next run reopens it if the condition still holds)."""
    from pynamodb.exceptions import UpdateError

    from oms.data.reconciliation import close_exception
    from ops.finance import finance_stack

    finance_stack(stack)
    try:
        close_exception(exception_id, by=by, reason=note, now=datetime.now(UTC))
    except UpdateError as exc:
        console.print(f"[red]{exception_id} is not an open exception[/red]")
        raise typer.Exit(2) from exc
    console.print(f"{exception_id}: closed by {by}")


@recon_app.command("run")
def recon_run(
    day: str = typer.Option(..., "--date", help="The UTC business day to reconcile, YYYY-MM-DD."),
    as_of: datetime | None = typer.Option(None, help="Judge by this UTC time instead of now (ISO-8601)."),
    stack: str = STACK,
) -> None:
    """Run the reconciliation workflow for a day now and print what it found and changed."""
    from ops.finance import finance_stack, run_reconciliation

    date.fromisoformat(day)
    clock = as_of.replace(tzinfo=UTC) if as_of is not None and as_of.tzinfo is None else as_of
    summary = run_reconciliation(finance_stack(stack), day, as_of=clock)
    console.print(
        f"reconciliation of {day} ({summary['execution']}): {summary['orders_judged']} orders judged, "
        f"{summary.get('cash_judged', 0)} payments, credit notes and invoices judged"
    )
    table = Table("kind", "found", "open")
    for kind, count in summary["found"].items():
        table.add_row(kind, str(count), str(summary["open_by_kind"].get(kind, 0)))
    console.print(table)
    changes = ", ".join(f"{k} {v}" for k, v in summary["changes"].items()) or "none"
    console.print(
        f"changes: {changes}; past SLA: {summary['past_sla']}; escalated: {len(summary['escalated'])}"
    )


report_app = typer.Typer(no_args_is_help=True, help="Reports over the finance exports.")
app.add_typer(report_app, name="report")
EXPORTS_DIR = typer.Option(
    Path("out/exports"),
    "--dir",
    help="Local copy of the stack's exports (refreshed from its finance bucket).",
)
OFFLINE = typer.Option(False, "--offline", help="Use the local copy as it is; ask no AWS endpoint.")


def _exports_folder(stack: str, folder: Path, offline: bool) -> Path:
    if not offline:
        from ops.exports import download_exports
        from ops.finance import finance_stack

        download_exports(finance_stack(stack).finance_bucket, folder)
    return folder


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL (Athena's, as in docs/queries/), or @file.sql."),
    stack: str = STACK,
    folder: Path = EXPORTS_DIR,
    offline: bool = OFFLINE,
) -> None:
    """Run SQL locally with duckdb over the finance exports (the Glue tables' names; `dt` partitions)."""
    from ops.exports import run_sql

    text = Path(query[1:]).read_text() if query.startswith("@") else query
    columns, rows = run_sql(_exports_folder(stack, folder, offline), text)
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)


@report_app.command("kpi")
def report_kpi(
    since: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    until: str | None = typer.Option(None, "--to", help="Last day, YYYY-MM-DD."),
    stack: str = STACK,
    folder: Path = EXPORTS_DIR,
    offline: bool = OFFLINE,
) -> None:
    """The daily KPIs (docs/kpis.md) from the exports' kpi_daily table."""
    from ops.exports import KPI_QUERY, run_sql

    first = date.fromisoformat(since).isoformat() if since else "0000-01-01"
    last = date.fromisoformat(until).isoformat() if until else "9999-12-31"
    columns, rows = run_sql(_exports_folder(stack, folder, offline), KPI_QUERY, [first, last])
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)


@report_app.command("monthly")
def report_monthly(
    month: str = typer.Option(..., "--month", help="The month to report, YYYY-MM."),
    out: Path | None = typer.Option(None, "--out", help="Also download the PDF to this file."),
    stack: str = STACK,
) -> None:
    """Write a month's management report now (as the monthly schedule does): a PDF in the finance bucket."""
    import json
    import re

    import boto3

    from ops.finance import finance_stack

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        console.print(f"[red]{month!r} is not a month (YYYY-MM)[/red]")
        raise typer.Exit(2)
    resources = finance_stack(stack)
    answer = boto3.client("lambda").invoke(
        FunctionName=resources.physical["ManagementReportFunction"],
        Payload=json.dumps({"month": month}).encode(),
    )
    body = json.loads(answer["Payload"].read())
    if "FunctionError" in answer:
        console.print(f"[red]the report failed: {body}[/red]")
        raise typer.Exit(1)
    console.print(f"{month}: s3://{resources.finance_bucket}/{body['key']} ({body['bytes']:,} bytes)")
    table = Table("figure", "value")
    for label, value in body["summary"].items():
        table.add_row(label, value)
    console.print(table)
    if out is not None:
        boto3.client("s3").download_file(resources.finance_bucket, body["key"], str(out))
        console.print(f"written to {out}")


export_app = typer.Typer(no_args_is_help=True, help="Run the finance export of some days now.")
app.add_typer(export_app, name="export")


@export_app.command("run")
def export_run(
    days: list[str] = typer.Option(
        ..., "--date", help="A UTC business day, YYYY-MM-DD (repeat for several)."
    ),
    stack: str = STACK,
) -> None:
    """Export (or restate) days now, as the daily schedule does: Parquet in the stack's finance bucket."""
    import json

    import boto3

    from ops.finance import finance_stack

    resources = finance_stack(stack)
    periods = sorted({date.fromisoformat(d).isoformat() for d in days})
    answer = boto3.client("lambda").invoke(
        FunctionName=resources.physical["FinanceExportFunction"],
        Payload=json.dumps({"days": periods}).encode(),
    )
    body = json.loads(answer["Payload"].read())
    if "FunctionError" in answer:
        console.print(f"[red]the export failed: {body}[/red]")
        raise typer.Exit(1)
    for day in body["exported"]:
        rows = ", ".join(f"{table} {count}" for table, count in day["rows"].items())
        console.print(f"{day['period']}: {rows}")


# ========================================================= end of reconciliation, DLQs, finance (issue 13)
@audit.command("verify")
def audit_verify(
    order: list[str] = typer.Option([], "--order", help="Only this order's chain (repeat for several)."),
    stack: str = STACK,
) -> None:
    """Verify the audit trail: every entry against its hash and the one before it, every signed digest
    (signature, written once, chained to the one before), every chain against what the digests vouch for.
    Names each tampered entry; exits 1 if anything is wrong."""
    from oms.governance.digests import lagging_orders, verify_all

    resources = resources_of(stack)
    subjects = [f"order:{o}" for o in order] or None
    result = verify_all(bucket=resources.settings.audit_digests_bucket or None, subjects=subjects)
    lagging = lagging_orders(order) if order else []
    entries = sum(report.entries for report in result.chains)
    for finding in result.findings:
        console.print(f"[red]{finding}[/red]", soft_wrap=True)
    for line in lagging:
        console.print(f"[yellow]behind: {line}[/yellow]", soft_wrap=True)
    status = "intact" if result.intact else f"{len(result.findings)} finding(s)"
    console.print(
        f"{len(result.chains)} chain(s), {entries} entries, {result.digests} signed digest(s): {status}"
    )
    if not result.intact:
        raise typer.Exit(1)


@audit.command("digest")
def audit_digest(stack: str = STACK) -> None:
    """Sign and lock the digests of every full hour not digested yet (what the hourly schedule does)."""
    from oms.governance.digests import run_digests

    resources = resources_of(stack)
    run = run_digests(
        now=datetime.now(UTC),
        bucket=resources.settings.require("audit_digests_bucket"),
        key_id=resources.settings.require("audit_signing_key_id"),
    )
    console.print(f"{len(run.written)} digest(s) written, {run.chains} chain head(s) signed")


@app.command("duty-conflicts")
def duty_conflicts(
    users: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help='JSON: [{"subject": "user:ann", "groups": [...], "scopes": [...]}, ...] (an identity provider '
        "export, e.g. Cognito's users with their groups).",
    ),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        exists=True,
        dir_okay=False,
        help="The governance policy JSON (default: the stack's).",
    ),
    stack: str = STACK,
) -> None:
    """The people whose groups and scopes combine duties the governance policy keeps apart (order entry and
    approval, ...), one line per pair of duties. Exits 1 if there are any."""
    import json

    from oms.governance.duties import Identity, conflict_report
    from oms.governance.rules import GovernancePolicy

    if policy is not None:
        governance = GovernancePolicy.model_validate_json(policy.read_text())
    else:
        import boto3

        parameter = resources_of(stack).settings.require("governance_policy_parameter")
        value = boto3.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
        governance = GovernancePolicy.model_validate_json(value)
    people = [
        Identity(str(u["subject"]), frozenset(u.get("scopes") or []), frozenset(u.get("groups") or []))
        for u in json.loads(users.read_text())
    ]
    report = conflict_report(people, governance.duties)
    table = Table("person", "duties", "through")
    for line in report:
        table.add_row(line.subject, " + ".join(line.duties), ", ".join(line.through))
    console.print(table)
    console.print(f"{len(report)} conflict(s) among {len(people)} people")
    if report:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
