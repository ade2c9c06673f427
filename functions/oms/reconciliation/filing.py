"""What a run's findings change in the exception records: open what is new, reopen what came back, close
what cleared, leave alone what is still there (so a rerun of the same period changes nothing), escalate what
is past its SLA. Pure: states what must change; oms.data.reconciliation commits it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from oms.domain.reconciliation import ExceptionChange, Finding, RunContext
from oms.reconciliation.checks import REGISTRY


def changes_for(
    findings: Iterable[Finding],
    existing: Mapping[str, Any],
    judged: Iterable[str],
    context: RunContext,
) -> list[ExceptionChange]:
    """`existing`: exception id -> its record (only those of `judged`); `judged`: every exception id this part
    of the run was able to judge (what it did not find among them has cleared)."""
    found = {f.exception_id: f for f in findings}
    changes: list[ExceptionChange] = []
    for exception_id, finding in sorted(found.items()):
        record = existing.get(exception_id)
        kind = REGISTRY[finding.kind]
        due = context.as_of + kind.sla
        if record is None:
            changes.append(
                ExceptionChange(
                    "OPEN",
                    exception_id,
                    finding,
                    f"found by the run of {context.period}: {finding.detail}",
                    kind.owner_group,
                    kind.escalate_to,
                    due,
                )
            )
        elif record.state == "CLOSED":
            changes.append(
                ExceptionChange(
                    "REOPEN",
                    exception_id,
                    finding,
                    f"found again by the run of {context.period}: {finding.detail}",
                    kind.owner_group,
                    kind.escalate_to,
                    due,
                )
            )
    for exception_id in sorted(set(judged) - set(found)):
        record = existing.get(exception_id)
        if record is not None and record.state == "OPEN":
            changes.append(
                ExceptionChange(
                    "CLOSE", exception_id, None, f"cleared: the run of {context.period} no longer finds it"
                )
            )
    return changes


def past_sla(records: Iterable[Any], now: datetime) -> list[Any]:
    """Open exceptions whose SLA has run out and that were not escalated yet."""
    return [r for r in records if r.state == "OPEN" and r.sla_due_at <= now and r.escalated_at is None]
