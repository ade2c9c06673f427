"""The audit trail's chain: entries hash-chained per subject (an order, a user), their verification, and the
signed digests that anchor the chains (decision 0026).

An entry is what happened (who, when, what, before and after, why, the request), its place in its
subject's chain (`seq`, from 1), the hash of the entry before it, and its own hash: SHA-256 over the
canonical JSON of everything else. The data layer writes entry n+1 only if no entry n+1 exists (a
conditional write), so two writers cannot fork a chain and no writer leaves a gap.

Verification recomputes every hash and link and names each tampered entry:

* ``ALTERED`` — its content no longer matches its hash (edited in place);
* ``REWRITTEN`` — it matches a recomputed hash, but the next entry (intact) was chained to another one;
* ``MISSING`` — no entry has this number (deleted; the entries after it may have been renumbered);
* ``INSERTED`` — an entry that is not part of the chain (a forgery beside or among the genuine ones, or one
  past the head a signed digest vouched for with a time before that digest);
* ``REORDERED`` — a genuine entry stored at another entry's place;
* ``DIGEST_MISMATCH`` — an entry that differs from what a signed digest recorded (a whole tail rewritten).

Digests: each period (an hour) the digest lists, for each chain that grew, its head (seq and hash), the
previous digest's SHA-256, and is signed with KMS (ECDSA over its SHA-256) and stored under Object Lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from oms.domain.audit import GENESIS, StoredEntry


# ------------------------------------------------------------------------------------------ verification
@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f" entry {self.seq}" if self.seq is not None else ""
        return f"{self.kind} {self.subject}{where}: {self.detail}"


@dataclass(frozen=True)
class Checkpoint:
    """A chain head a signed digest vouches for."""

    seq: int
    hash: str
    digest: str
    """The digest that recorded it (its S3 key)."""
    hour: str
    """The hour the digest covers ("YYYY-MM-DDTHH", UTC): entries written in it up to `seq`."""


@dataclass
class ChainReport:
    subject: str
    entries: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


def verify_chain(
    subject: str,
    stored: Sequence[StoredEntry],
    checkpoints: Sequence[Checkpoint] = (),
    digested: Mapping[str, str] | None = None,
) -> ChainReport:
    """Verify one subject's chain as stored, against the digests' checkpoints of it (oldest first).

    `digested`: every hour a digest was written for ("YYYY-MM-DDTHH" -> its key), whether it names this
    chain or not: an entry written in such an hour must be within what that digest vouches for."""
    report = ChainReport(subject, len(stored))
    add = report.findings.append
    ordered = sorted(stored, key=lambda s: s.position)
    for item in ordered:
        if item.position != int(item.position):
            add(
                Finding(
                    "INSERTED",
                    subject,
                    item.entry.seq,
                    f"stored at position {item.position}, between entries",
                )
            )
    placed = [s for s in ordered if s.position == int(s.position)]
    self_ok = {id(s): s.entry.computed_hash() == s.entry.hash for s in placed}
    signed = {point.seq: point.hash for point in checkpoints}
    claims: dict[int, list[StoredEntry]] = {}
    for item in placed:
        claims.setdefault(item.entry.seq, []).append(item)
    chosen: dict[int, StoredEntry] = {}
    for seq in sorted(claims):
        candidates = claims[seq]
        if len(candidates) > 1:
            # A fork: the genuine entry is the one a digest signed, else the one the next entry is chained to.
            links = {s.entry.prev_hash for s in claims.get(seq + 1, [])}
            keep = next((c for c in candidates if c.entry.hash == signed.get(seq)), None) or next(
                (c for c in candidates if c.entry.hash in links and self_ok[id(c)]),
                max(candidates, key=lambda c: c.position),
            )
            for other in candidates:
                if other is not keep:
                    add(
                        Finding(
                            "INSERTED",
                            subject,
                            seq,
                            f"a second entry {seq} (stored at {int(other.position)}) "
                            "the chain does not link to",
                        )
                    )
            candidates = [keep]
        chosen[seq] = candidates[0]
    top = max(chosen, default=0)
    # Walk back from the head: an entry is vouched for by the next one when that one is trustworthy and was
    # chained to it; a self-consistent entry the next one was not chained to had its hash recomputed.
    trusted: dict[int, bool] = {}
    for seq in range(top, 0, -1):
        current = chosen.get(seq)
        if current is None:
            continue
        item = current
        if not self_ok[id(item)]:
            add(Finding("ALTERED", subject, seq, "its content does not match its hash"))
            trusted[seq] = False
            continue
        following = chosen.get(seq + 1)
        if following is not None and trusted.get(seq + 1) and following.entry.prev_hash != item.entry.hash:
            add(
                Finding(
                    "REWRITTEN",
                    subject,
                    seq,
                    f"it matches a recomputed hash, but entry {seq + 1} was chained to "
                    f"a different entry {seq}",
                )
            )
            trusted[seq] = False
            continue
        trusted[seq] = True
    if 1 in chosen and trusted.get(1) and chosen[1].entry.prev_hash != GENESIS:
        add(Finding("INSERTED", subject, 1, "the chain's first entry does not start from the genesis hash"))
    moved = {seq: int(item.position) - seq for seq, item in chosen.items() if int(item.position) != seq}
    gaps = [seq for seq in range(1, top + 1) if seq not in chosen]
    for seq in gaps:
        later = [s for s in moved if s > seq]
        renumbered = (
            f"; the {len(later)} entries after it were renumbered"
            if later and all(moved[s] == -1 for s in later)
            else ""
        )
        add(Finding("MISSING", subject, seq, f"there is no entry {seq} (deleted){renumbered}"))
    inserted = [f.seq for f in report.findings if f.kind == "INSERTED" and f.seq is not None]
    for seq, shift in sorted(moved.items()):
        if shift == -1 and any(g < seq for g in gaps):
            continue  # renumbered after a deletion (reported as MISSING)
        if shift == 1 and any(i <= seq for i in inserted):
            continue  # pushed along by an insertion (reported as INSERTED)
        add(Finding("REORDERED", subject, seq, f"stored at entry {seq + shift}'s place"))
    _check_digests(report, chosen, checkpoints, digested or {})
    report.findings.sort(key=lambda f: (f.seq or 0, f.kind))
    return report


def _check_digests(
    report: ChainReport,
    chosen: Mapping[int, StoredEntry],
    checkpoints: Sequence[Checkpoint],
    digested: Mapping[str, str],
) -> None:
    """Each signed head must still be there with its hash; an entry written in an hour that has its digest
    must be one that digest vouches for (else it was written later, with a false date: inserted)."""
    subject = report.subject
    flagged = {f.seq for f in report.findings if f.seq is not None}
    previous_ok = 0
    for point in checkpoints:
        item = chosen.get(point.seq)
        if item is None:
            if point.seq not in flagged:
                report.findings.append(
                    Finding("MISSING", subject, point.seq, f"vouched for by digest {point.digest}")
                )
            continue
        if item.entry.hash != point.hash:
            if not any(previous_ok < s <= point.seq for s in flagged):
                report.findings.append(
                    Finding(
                        "DIGEST_MISMATCH",
                        subject,
                        point.seq,
                        f"differs from digest {point.digest}: "
                        f"entries {previous_ok + 1}-{point.seq} were rewritten",
                    )
                )
        else:
            previous_ok = point.seq
    by_hour = {point.hour: point for point in checkpoints}
    for seq, item in sorted(chosen.items()):
        hour = item.entry.written_at[:13]
        if seq in flagged or hour not in digested:
            continue
        signed = by_hour.get(hour)
        if signed is None or signed.seq < seq:
            ends = f"ends this chain at {signed.seq}" if signed else "does not name this chain"
            report.findings.append(
                Finding(
                    "INSERTED", subject, seq, f"written in hour {hour}, whose digest {digested[hour]} {ends}"
                )
            )
