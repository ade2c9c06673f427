"""One reconciliation run, step by step as the workflow (statemachine/reconciliation.asl.json) runs it:

1. ``plan``: the period's orders (received on the day, through the status index) plus every order with an
   open exception of an earlier period, then the cash subjects (the day's payments and credit notes, every
   source with open credit, the subjects of open cash exceptions), cut into segments written to S3 with a
   manifest;
2. ``check_ledgers``: the ledger-scope checks (stock against its ledger, the DLQs), once;
3. ``check_segment``: per manifest item (the workflow's Map; a Distributed Map on AWS), the order-scope
   checks over the segment's orders, or the cash-scope checks over its cash subjects; what changed is
   committed and counted in a result object;
4. ``finish``: escalate what is past its SLA, sum the segments' results, count what is open.

Every step is idempotent: it judges the state it reads and commits only differences, so a retried step or a
rerun of the period changes nothing that is already right.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oms.data import reconciliation as store
from oms.domain.reconciliation import RunContext
from oms.reconciliation.checks import (
    REGISTRY,
    cash_subjects_judged,
    exception_id,
    kinds_of,
    run_cash_checks,
    run_ledger_checks,
    run_order_checks,
)
from oms.reconciliation.filing import changes_for, past_sla


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    period: str
    as_of: datetime
    bucket: str
    run_prefix: str
    manifest_key: str
    segments: int
    orders: int
    cash_subjects: int = 0


def run_prefix(period: str, run_id: str) -> str:
    return f"{store.WORK_PREFIX}/{period}/{run_id}"


def plan(*, run_id: str, period: str, as_of: datetime, bucket: str, segment_size: int) -> RunPlan:
    order_scope = {k.kind for k in kinds_of("order")}
    ids = dict.fromkeys(store.orders_received_on(period))
    for record in store.open_exceptions():
        if record.kind in order_scope and record.order_id:
            ids.setdefault(record.order_id, None)
    cash_scope = {k.kind: k for k in kinds_of("cash")}
    subjects = dict.fromkeys(store.cash_subjects_of(period))
    for subject in store.subjects_of_open(cash_scope):
        subjects.setdefault(subject, None)
    prefix = run_prefix(period, run_id)
    manifest = store.write_segments(bucket, prefix, ids, segment_size, subjects)
    return RunPlan(
        run_id,
        period,
        as_of,
        bucket,
        prefix,
        f"{prefix}/manifest.json",
        len(manifest),
        len(ids),
        len(subjects),
    )


@dataclass
class StepResult:
    judged: int = 0
    scope: str = "order"
    found: Counter[str] = field(default_factory=Counter)
    """Findings per kind (open or still open)."""
    changes: Counter[str] = field(default_factory=Counter)
    """OPEN / REOPEN / CLOSE / raced."""

    def as_dict(self) -> dict[str, object]:
        return {
            "judged": self.judged,
            "scope": self.scope,
            "found": dict(self.found),
            "changes": dict(self.changes),
        }


def check_segment(segment_key: str, *, bucket: str, context: RunContext, result_key: str) -> StepResult:
    segment = store.read_json(bucket, segment_key)
    if "subjects" in segment:
        return check_cash_segment(
            list(segment["subjects"]), context=context, bucket=bucket, result_key=result_key
        )
    order_ids = list(segment["order_ids"])
    facts = store.order_facts(order_ids)
    findings = [f for one in facts for f in run_order_checks(one, context)]
    judged = {
        exception_id(kind.kind, f"order:{one.order.order_id}") for one in facts for kind in kinds_of("order")
    }
    existing = store.exceptions_by_id(judged)
    changes = changes_for(findings, existing, judged, context)
    result = StepResult(judged=len(facts), found=Counter(f.kind for f in findings))
    result.changes = store.apply_changes(changes, period=context.period, now=context.as_of)
    store.write_json(bucket, result_key, result.as_dict())
    return result


def check_cash_segment(
    subjects: list[str], *, context: RunContext, bucket: str, result_key: str
) -> StepResult:
    facts = store.cash_facts(subjects)
    findings = [f for one in facts for f in run_cash_checks(one, context)]
    judged = {i for one in facts for i in cash_subjects_judged(one)}
    # a subject that no longer exists (a payment deleted by hand) is judged cleared for its own kinds
    judged |= {exception_id(k.kind, s) for s in subjects for k in kinds_of("cash")}
    existing = store.exceptions_by_id(judged)
    changes = changes_for(findings, existing, judged, context)
    result = StepResult(judged=len(facts), scope="cash", found=Counter(f.kind for f in findings))
    result.changes = store.apply_changes(changes, period=context.period, now=context.as_of)
    store.write_json(bucket, result_key, result.as_dict())
    return result


def check_ledgers(dead_letter_queues: dict[str, str], *, context: RunContext) -> StepResult:
    facts = store.ledger_facts(dead_letter_queues, now=context.as_of)
    findings = run_ledger_checks(facts, context)
    ledger_kinds = {k.kind for k in kinds_of("ledger")}
    judged = {exception_id("STOCK_LEDGER_DRIFT", f"stock:{i.sku}#{i.warehouse_id}") for i in facts.stock}
    judged |= {r.exception_id for r in store.open_exceptions() if r.kind in ledger_kinds}
    judged |= {f.exception_id for f in findings}
    existing = store.exceptions_by_id(judged)
    changes = changes_for(findings, existing, judged, context)
    result = StepResult(judged=len(facts.stock) + len(facts.dead_letters))
    result.found = Counter(f.kind for f in findings)
    result.changes = store.apply_changes(changes, period=context.period, now=context.as_of)
    return result


@dataclass(frozen=True)
class RunSummary:
    period: str
    orders_judged: int
    cash_judged: int
    found: dict[str, int]
    changes: dict[str, int]
    open_by_kind: dict[str, int]
    past_sla: int
    escalated: list[str]


def finish(*, bucket: str, prefix: str, context: RunContext, ledgers: dict[str, Any]) -> RunSummary:
    found: Counter[str] = Counter(dict(ledgers.get("found") or {}))
    changes: Counter[str] = Counter(dict(ledgers.get("changes") or {}))
    judged: Counter[str] = Counter()
    for result in store.read_segment_results(bucket, prefix):
        judged[str(result.get("scope", "order"))] += int(result["judged"])
        found.update(result["found"])
        changes.update(result["changes"])
    open_records = list(store.open_exceptions())
    escalated = [
        r.exception_id for r in past_sla(open_records, context.as_of) if store.escalate(r, now=context.as_of)
    ]
    open_by_kind = Counter(r.kind for r in open_records)
    overdue = sum(1 for r in open_records if r.sla_due_at <= context.as_of)
    return RunSummary(
        period=context.period,
        orders_judged=judged["order"],
        cash_judged=judged["cash"],
        found={k: found.get(k, 0) for k in sorted(REGISTRY)},
        changes=dict(sorted(changes.items())),
        open_by_kind={k: open_by_kind.get(k, 0) for k in sorted(REGISTRY)},
        past_sla=overdue,
        escalated=sorted(escalated),
    )


def context_for(
    period: str, as_of: datetime, invoice_grace_minutes: int, unapplied_cash_days: int = 5
) -> RunContext:
    return RunContext(
        period=period,
        as_of=as_of,
        invoice_grace=timedelta(minutes=invoice_grace_minutes),
        unapplied_after=timedelta(days=unapplied_cash_days),
    )
