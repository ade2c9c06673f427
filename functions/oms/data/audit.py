"""The audit log table: one chain per subject (`order:<id>`, `user:<id>`), entry n+1 written only if none is
(a conditional write on the sequence number: no fork, no gap), read back in order for verification and
for an order's history; the sparse `by-digest-hour` index lists the chain heads each hour's digest signs."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal

from pynamodb.exceptions import PutError

from oms.data.models import AuditRecord
from oms.domain.audit import AuditEntry, StoredEntry

MAX_APPEND_ATTEMPTS = 64
"""Writers of one chain race for its next number: with n at once the last may lose n - 1 times."""


def entry_of(record: AuditRecord) -> AuditEntry:
    return AuditEntry(
        subject=record.subject,
        seq=int(record.n),
        at=record.at,
        actor=record.actor,
        action=record.action,
        reason=record.reason,
        request_id=record.request_id,
        source=record.source,
        before=record.before,
        after=record.after,
        prev_hash=record.prev_hash,
        written_at=record.written_at,
        hash=record.hash,
    )


def head(subject: str) -> AuditRecord | None:
    """The chain's last entry (strongly consistent)."""
    for record in AuditRecord.query(subject, scan_index_forward=False, limit=1, consistent_read=True):
        return record
    return None


def chain(subject: str) -> list[StoredEntry]:
    """Every entry of the subject, in storage order."""
    return [
        StoredEntry(Decimal(str(record.seq)), entry_of(record))
        for record in AuditRecord.query(subject, consistent_read=True)
    ]


def chain_records(subject: str) -> list[AuditRecord]:
    return list(AuditRecord.query(subject, consistent_read=True))


def hour_key(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H")


def append(
    subject: str,
    make: Callable[[AuditEntry | None, AuditRecord | None], tuple[AuditEntry, int | None] | None],
    *,
    written_at: datetime,
    mark_head: bool = True,
) -> AuditEntry | None:
    """Append the entry `make(head entry, head record)` builds, as entry head+1, conditional on that number
    being free; on a conflict (another writer took it) read the head again and build again. `make` returns
    (entry, applied change) or None when there is nothing to append (already recorded).

    `mark_head`: put the entry in the digest-hour index (the writer's last entry for the subject)."""
    for attempt in range(MAX_APPEND_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, min(0.005 * attempt, 0.1)))
        last = head(subject)
        built = make(entry_of(last) if last is not None else None, last)
        if built is None:
            return None
        entry, applied = built
        carried = applied if applied is not None else (last.applied_change if last is not None else None)
        record = AuditRecord(
            subject,
            entry.seq,
            n=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            reason=entry.reason,
            request_id=entry.request_id,
            source=entry.source,
            before=entry.before,
            after=entry.after,
            prev_hash=entry.prev_hash,
            written_at=entry.written_at,
            hash=entry.hash,
            applied_change=carried,
            digest_hour=hour_key(written_at) if mark_head else None,
            chain_position=f"{subject}#{entry.seq:012d}" if mark_head else None,
        )
        try:
            record.save(condition=AuditRecord.seq.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            continue
        return entry
    raise RuntimeError(f"audit chain {subject} kept moving; {MAX_APPEND_ATTEMPTS} attempts to append failed")


def heads_written_in(hour: str) -> dict[str, tuple[int, str]]:
    """subject -> (seq, hash) of the highest entry marked in `hour` ("YYYY-MM-DDTHH")."""
    heads: dict[str, tuple[int, str]] = {}
    for record in AuditRecord.by_digest_hour.query(hour):
        subject, _, seq_text = str(record.chain_position).rpartition("#")
        seq = int(seq_text)
        if subject not in heads or seq > heads[subject][0]:
            heads[subject] = (seq, str(record.hash))
    return heads


def subjects() -> Iterator[str]:
    """Every subject with a chain (a scan: operations only)."""
    seen: set[str] = set()
    for record in AuditRecord.scan(attributes_to_get=["subject"]):
        if record.subject not in seen:
            seen.add(record.subject)
            yield record.subject
