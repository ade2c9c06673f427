"""The audit trail: every change of an order and of its approvals, and every refused human action, as
entries of the order's hash-chained history (decision 0025).

Order and approval changes reach it through the tables' DynamoDB streams (`record_changes`), so nothing
that changes an order item escapes it, not even a write made outside the OMS: such a change has no
`last_change` of its own and is recorded as made by someone unknown. Each OMS change carries `last_change`
(who, when, why, the request) and counts itself in `change_no`; the chain remembers the last change it
recorded, so a stream record delivered twice is recorded once. Refusals, which change nothing, are written
directly (`record_refusal`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms.data import audit as store
from oms.data.models import AuditRecord, OrderRecord
from oms.data.orders import get_order
from oms.domain.audit import AuditEntry, AuditEntryView, AuditTrailView, next_entry
from oms.domain.order import StatusChange
from oms.domain.status import BillingStatus, OrderStatus
from oms.governance.audit import verify_chain
from oms.observability import logger

UNKNOWN_ACTOR = "unknown (not recorded by the OMS)"
ORDER_BOOKKEEPING = frozenset(
    {"updated_at", "last_change", "change_no", "outbox", "outbox_token", "outbox_pending", "outbox_since"}
)
"""Attributes a change of which alone is not a change of the order (timestamps, the transactional outbox)."""
APPROVAL_HIDDEN = frozenset({"updated_at", "last_change", "change_no", "task_token", "open_group"})
"""Never in the audit trail: the task token is a secret that lets its holder decide the approval."""


@dataclass(frozen=True)
class ChangeRecord:
    """One stream record of the orders or approvals table, its images as plain values."""

    table: str
    """"orders" or "approvals"."""
    event_id: str
    event_name: str
    sequence: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    approximate_at: datetime


def _diff(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, ignored: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    before = dict(old or {})
    after = dict(new or {})
    names = (set(before) | set(after)) - ignored
    changed = sorted(n for n in names if before.get(n) != after.get(n))
    return {n: before[n] for n in changed if n in before}, {n: after[n] for n in changed if n in after}


def _change_no(image: Mapping[str, Any] | None) -> int:
    return int((image or {}).get("change_no") or 0)


def _order_action(event_name: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    if event_name == "INSERT":
        return "ORDER_RECEIVED"
    if event_name == "REMOVE":
        return "ORDER_DELETED"
    if "revision" in after and "status" in after:
        return "ORDER_AMENDED"  # new content, validated again
    if "status" in after:
        return "STATUS_CHANGED"
    if "billing_status" in after:
        return "BILLING_STATUS_CHANGED"
    return "ORDER_UPDATED"


def _order_entry(
    record: ChangeRecord, head: AuditEntry | None, head_record: AuditRecord | None, now: datetime
) -> tuple[AuditEntry, int | None] | None:
    image = record.new if record.new is not None else record.old
    assert image is not None
    subject = f"order:{image['order_id']}"
    new_no, old_no = _change_no(record.new), _change_no(record.old)
    recorded_by_oms = record.new is not None and new_no > old_no
    applied = int(head_record.applied_change or 0) if head_record is not None else 0
    before, after = _diff(record.old, record.new, ORDER_BOOKKEEPING)
    if recorded_by_oms:
        if new_no <= applied:
            return None  # delivered again: recorded already
    else:
        if not before and not after:
            return None  # bookkeeping only (the outbox published, a timestamp)
        if head is not None and head.source == f"orders:{record.event_id}":
            return None
    change = (record.new or {}).get("last_change") if recorded_by_oms else None
    at = datetime.fromisoformat(change["at"]) if change else record.approximate_at
    entry = next_entry(
        head,
        subject=subject,
        at=at,
        actor=str(change["by"]) if change else UNKNOWN_ACTOR,
        action=_order_action(record.event_name, before, after)
        if recorded_by_oms or record.event_name == "REMOVE"
        else "ORDER_CHANGED_OUTSIDE_THE_OMS",
        source=f"orders:{record.event_id}",
        reason=(change or {}).get("reason"),
        request_id=(change or {}).get("request_id"),
        before=before or None,
        after=after or None,
        written_at=now,
    )
    return entry, new_no if recorded_by_oms else None


def _approval_entry(record: ChangeRecord, head: AuditEntry | None, now: datetime) -> AuditEntry | None:
    image = record.new if record.new is not None else record.old
    assert image is not None
    change = (record.new or {}).get("last_change") or {}
    before, after = _diff(record.old, record.new, APPROVAL_HIDDEN)
    if not before and not after and not change:
        return None
    action = "APPROVAL_" + str(change.get("status") or ("DELETED" if record.new is None else "CHANGED"))
    at = datetime.fromisoformat(change["at"]) if change.get("at") else record.approximate_at
    after.setdefault("approval_id", image.get("approval_id"))
    return next_entry(
        head,
        subject=f"order:{image['order_id']}",
        at=at,
        actor=str(change.get("by") or UNKNOWN_ACTOR),
        action=action,
        source=f"approvals:{record.event_id}",
        reason=change.get("reason"),
        request_id=change.get("request_id"),
        before=before or None,
        after=after,
        written_at=now,
    )


def _already_recorded(subject: str, source: str) -> bool:
    return any(stored.entry.source == source for stored in store.chain(subject))


def record_change(record: ChangeRecord, *, now: datetime) -> AuditEntry | None:
    """Append the entry of one stream record to its order's chain (at most once)."""
    image = record.new if record.new is not None else record.old
    if image is None or "order_id" not in image:
        return None
    if record.table == "orders":
        return store.append(
            f"order:{image['order_id']}",
            lambda head, last: _order_entry(record, head, last, now),
            written_at=now,
        )
    subject = f"order:{image['order_id']}"
    source = f"approvals:{record.event_id}"
    if _already_recorded(subject, source):  # approvals change rarely: the whole chain is read to be sure
        return None

    def make(head: AuditEntry | None, last: AuditRecord | None) -> tuple[AuditEntry, int | None] | None:
        entry = _approval_entry(record, head, now)
        return None if entry is None else (entry, None)

    return store.append(subject, make, written_at=now)


def record_changes(records: Sequence[ChangeRecord], *, now: datetime) -> str | None:
    """Record a batch in stream order. Stops at the first record that fails and returns its sequence number
    (the stream delivers it again, with everything after it: a later change of the same order must not be
    recorded before it)."""
    for record in records:
        try:
            record_change(record, now=now)
        except Exception:
            logger.exception(
                "audit record failed", extra={"event_id": record.event_id, "table": record.table}
            )
            return record.sequence
    return None


def record_refusal(
    order_id: str | None,
    *,
    actor: str,
    action: str,
    rule: str,
    reason: str,
    at: datetime,
    request_id: str | None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry | None:
    """A refused attempt (403, 404, 409) is part of the record: in the order's chain, or the person's when
    no order is known (a forged approval id)."""
    subject = f"order:{order_id}" if order_id else f"user:{actor.removeprefix('user:')}"

    def make(head: AuditEntry | None, last: AuditRecord | None) -> tuple[AuditEntry, int | None]:
        entry = next_entry(
            head,
            subject=subject,
            at=at,
            actor=actor,
            action=action,
            source=f"api:{request_id or 'unknown'}",
            reason=f"{rule}: {reason}",
            request_id=request_id,
            after={"refused": rule, **dict(details or {})},
        )
        return entry, None

    return store.append(subject, make, written_at=at)


# ---------------------------------------------------------------------------------------------- reading
ORDER_ACTIONS = {
    "ORDER_RECEIVED",
    "STATUS_CHANGED",
    "BILLING_STATUS_CHANGED",
    "ORDER_AMENDED",
    "ORDER_UPDATED",
}


def _status_of(value: Any) -> OrderStatus | BillingStatus | None:
    for kind in (OrderStatus, BillingStatus):
        try:
            return kind(value)
        except ValueError:
            continue
    return None


def history_of(entries: Iterable[AuditEntry]) -> list[StatusChange]:
    """The order's history (status changes and notes: who, when, from where to where, why) from its chain."""
    history: list[StatusChange] = []
    status: OrderStatus | BillingStatus | None = None
    for entry in entries:
        if entry.action not in ORDER_ACTIONS:
            continue
        after = json.loads(entry.after) if entry.after else {}
        before = json.loads(entry.before) if entry.before else {}
        at = datetime.fromisoformat(entry.at)
        if "status" in after and (moved := _status_of(after["status"])) is not None:
            history.append(
                StatusChange(
                    status=moved,
                    previous=_status_of(before.get("status")),
                    at=at,
                    by=entry.actor,
                    reason=entry.reason,
                )
            )
            status = moved
        elif "billing_status" in after and (billed := _status_of(after["billing_status"])) is not None:
            history.append(StatusChange(status=billed, at=at, by=entry.actor, reason=entry.reason))
        elif status is not None:
            history.append(
                StatusChange(status=status, previous=status, at=at, by=entry.actor, reason=entry.reason)
            )
    return history


def order_history(order_id: str, record: OrderRecord) -> list[StatusChange]:
    """The order's history from the audit trail, with the order's latest change at the end when the trail has
    not recorded it yet (the stream runs a moment behind the order)."""
    records = sorted(store.chain_records(f"order:{order_id}"), key=lambda r: Decimal(str(r.seq)))
    return history_with_pending(records, record)


def history_with_pending(records: Sequence[AuditRecord], record: OrderRecord) -> list[StatusChange]:
    """`history_of` the chain's records, and the order's latest change if the chain has not recorded it."""
    history = history_of(store.entry_of(r) for r in records)
    recorded = max((int(r.applied_change or 0) for r in records), default=0)
    last = record.last_change
    if last is not None and int(record.change_no or 0) > recorded:
        history.append(
            StatusChange(
                status=_status_of(last.status) or OrderStatus(record.status),
                previous=_status_of(last.previous) if last.previous else None,
                at=last.at,
                by=last.by,
                reason=last.reason,
            )
        )
    return history


def order_chain(order_id: str) -> list[AuditEntry]:
    return [stored.entry for stored in sorted(store.chain(f"order:{order_id}"), key=lambda s: s.position)]


def order_audit(order_id: str) -> AuditTrailView:
    """The order's chain as stored and verified (hashes and links; `ops audit verify` also checks the signed
    digests)."""
    get_order(order_id, consistent=False)  # an unknown order is a 404, not an empty trail
    stored = sorted(store.chain(f"order:{order_id}"), key=lambda s: s.position)
    report = verify_chain(f"order:{order_id}", stored)
    return AuditTrailView(
        order_id=order_id,
        intact=report.intact,
        findings=[str(f) for f in report.findings],
        entries=[AuditEntryView.of(s.entry) for s in stored],
    )


def plain(value: Any) -> Any:
    """Stream image values as JSON-safe values (numbers stay exact as strings of Decimal)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray):
        import base64

        return base64.b64encode(bytes(value)).decode()
    return value
