"""The audit chain's verification names exactly the entry that was tampered with: edited (with or without a
recomputed hash), deleted (with or without renumbering the rest), reordered, inserted, or a whole tail
rewritten under a signed digest."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.audit import GENESIS, AuditEntry, StoredEntry, next_entry
from oms.governance.audit import Checkpoint, verify_chain

SUBJECT = "order:ord_0123456789abcdef01234567"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    head: AuditEntry | None = None
    for i in range(n):
        head = next_entry(
            head,
            subject=SUBJECT,
            at=START + timedelta(minutes=i),
            actor="workflow:validate" if i % 2 else "user:ann",
            action="STATUS_CHANGED",
            source=f"orders:event-{i}",
            reason=f"step {i}",
            before={"status": f"S{i}"},
            after={"status": f"S{i + 1}", "total": Decimal("10.50")},
        )
        entries.append(head)
    return entries


def stored(entries: list[AuditEntry]) -> list[StoredEntry]:
    return [StoredEntry(Decimal(e.seq), e) for e in entries]


def findings(
    items: list[StoredEntry], checkpoints: tuple[Checkpoint, ...] = ()
) -> set[tuple[str, int | None]]:
    return {(f.kind, f.seq) for f in verify_chain(SUBJECT, items, checkpoints).findings}


def edit(entries: list[AuditEntry], k: int, *, rehash: bool) -> list[StoredEntry]:
    changed = entries[k - 1].model_copy(update={"reason": "nothing to see here", "actor": "user:mallory"})
    if rehash:
        changed = changed.sealed()
    return stored([changed if e.seq == k else e for e in entries])


def delete(entries: list[AuditEntry], k: int, *, renumber: bool) -> list[StoredEntry]:
    kept = [e for e in entries if e.seq != k]
    if not renumber:
        return stored(kept)
    return [StoredEntry(Decimal(i), e) for i, e in enumerate(kept, start=1)]


def swap(entries: list[AuditEntry], k: int) -> list[StoredEntry]:
    items = stored(entries)
    a, b = items[k - 1], items[k]
    items[k - 1], items[k] = StoredEntry(a.position, b.entry), StoredEntry(b.position, a.entry)
    return items


def forged_after(entries: list[AuditEntry], k: int) -> AuditEntry:
    """A well-formed entry claiming to be entry k, chained to entry k-1 (as a forger would make it)."""
    previous = entries[k - 2] if k > 1 else None
    return next_entry(
        previous,
        subject=SUBJECT,
        at=START + timedelta(minutes=k - 1, seconds=30),
        actor="user:mallory",
        action="APPROVAL_VOTED",
        source="api:forged",
        reason="approved",
    )


def insert(entries: list[AuditEntry], k: int) -> list[StoredEntry]:
    """The forgery at position k, the genuine entries from k on pushed one place along."""
    items = [StoredEntry(Decimal(e.seq if e.seq < k else e.seq + 1), e) for e in entries]
    return sorted([*items, StoredEntry(Decimal(k), forged_after(entries, k))], key=lambda s: s.position)


def test_an_untouched_chain_verifies() -> None:
    entries = chain(8)
    assert findings(stored(entries)) == set()
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(min_value=3, max_value=14))
def test_any_single_tampering_names_exactly_the_tampered_entry(data: st.DataObject, n: int) -> None:
    entries = chain(n)
    k = data.draw(st.integers(min_value=1, max_value=n - 1), label="k")  # a middle entry (not the head)
    kinds: dict[str, tuple[Callable[[], list[StoredEntry]], set[tuple[str, int | None]]]] = {
        "edited": (lambda: edit(entries, k, rehash=False), {("ALTERED", k)}),
        "edited and rehashed": (lambda: edit(entries, k, rehash=True), {("REWRITTEN", k)}),
        "deleted": (lambda: delete(entries, k, renumber=False), {("MISSING", k)}),
        "deleted and renumbered": (lambda: delete(entries, k, renumber=True), {("MISSING", k)}),
        "reordered": (lambda: swap(entries, k), {("REORDERED", k), ("REORDERED", k + 1)}),
        "inserted": (lambda: insert(entries, k + 1), {("INSERTED", k + 1)}),
    }
    kind = data.draw(st.sampled_from(sorted(kinds)), label="tampering")
    make, expected = kinds[kind]
    assert findings(make()) == expected, kind


def test_tampering_at_the_head_is_caught_by_the_signed_digest() -> None:
    entries = chain(6)
    head = entries[-1]
    key = "digests/2026/12/01/09.json"
    signed = (Checkpoint(seq=6, hash=head.hash, digest=key, hour="2026-12-01T09"),)
    hours = {"2026-12-01T09": key}

    def found(items: list[StoredEntry]) -> set[tuple[str, int | None]]:
        return {(f.kind, f.seq) for f in verify_chain(SUBJECT, items, signed, hours).findings}

    # edited and rehashed, or deleted: the chain alone cannot tell, the digest can
    assert findings(edit(entries, 6, rehash=True)) == set()
    assert found(edit(entries, 6, rehash=True)) == {("DIGEST_MISMATCH", 6)}
    assert found(delete(entries, 6, renumber=False)) == {("MISSING", 6)}
    # an entry appended with a valid hash, claiming to be written in the hour the digest closed at entry 6
    forged = forged_after([*entries, head], 7)
    assert forged.written_at.startswith("2026-12-01T09")
    assert found(stored([*entries, forged])) == {("INSERTED", 7)}
    # while an entry written after the digested hour is simply not vouched for yet
    later = next_entry(
        head, subject=SUBJECT, at=START + timedelta(hours=2), actor="x", action="A", source="s"
    )
    assert found(stored([*entries, later])) == set()


def test_a_whole_tail_rewritten_with_new_hashes_differs_from_the_digest() -> None:
    entries = chain(6)
    signed = (
        Checkpoint(seq=3, hash=entries[2].hash, digest="d1", hour="2026-12-01T08"),
        Checkpoint(seq=6, hash=entries[5].hash, digest="d2", hour="2026-12-01T09"),
    )
    # Given entries 4-6 rewritten and re-chained consistently (a forger who recomputes every hash)
    rewritten = entries[:3]
    for e in entries[3:]:
        rewritten.append(
            next_entry(
                rewritten[-1],
                subject=SUBJECT,
                at=START,
                actor="user:mallory",
                action=e.action,
                source=e.source,
            )
        )
    assert findings(stored(rewritten)) == set()
    result = verify_chain(SUBJECT, stored(rewritten), signed).findings
    assert [(f.kind, f.seq) for f in result] == [("DIGEST_MISMATCH", 6)]
    assert "entries 4-6" in result[0].detail


def test_an_entry_wedged_between_two_positions_is_an_insertion() -> None:
    entries = chain(5)
    wedge = StoredEntry(Decimal("3.5"), forged_after(entries, 4))
    assert findings([*stored(entries), wedge]) == {("INSERTED", 4)}


@pytest.mark.parametrize("field", ["prev_hash", "at", "subject", "after"])
def test_changing_any_hashed_field_is_seen(field: str) -> None:
    entries = chain(4)
    value = {
        "prev_hash": "f" * 64,
        "at": "2027-01-01T00:00:00+00:00",
        "subject": "order:other",
        "after": '{"status":"X"}',
    }[field]
    changed = entries[1].model_copy(update={field: value})
    items = stored([changed if e.seq == 2 else e for e in entries])
    assert ("ALTERED", 2) in findings(items)
