"""Hourly digests of the audit trail, signed and locked (decision 0026), and the verification of everything:
every chain against its hashes and links, every digest against its signature, its predecessor and the chains
it vouches for. CloudTrail's model: a digest per hour naming what changed, chained to the previous digest,
signed; kept where nobody can delete or rewrite it (S3 Object Lock, COMPLIANCE mode)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from oms.data import audit as store
from oms.data import digests as vault
from oms.data.models import OrderRecord
from oms.domain.audit import Digest, DigestChain
from oms.governance.audit import ChainReport, Checkpoint, Finding, verify_chain
from oms.observability import logger

SETTLE = timedelta(minutes=5)
"""An hour is digested this long after it ends (stream records written at its last second land first)."""
MAX_HOURS_PER_RUN = 72


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class DigestRun:
    written: list[str]
    chains: int


def digest_hour(
    hour: datetime, *, bucket: str, key_id: str, previous_key: str | None
) -> tuple[str, bool, int]:
    """Write the digest of `hour` (once). Returns (key, written now, chains in it)."""
    key = vault.digest_key(hour)
    if vault.exists(bucket, key):
        return key, False, 0
    heads = store.heads_written_in(store.hour_key(hour))
    previous_sha = None
    if previous_key is not None:
        previous_sha = hashlib.sha256(vault.read(bucket, previous_key).body).hexdigest()
    digest = Digest(
        period_start=hour.isoformat(),
        period_end=(hour + timedelta(hours=1)).isoformat(),
        previous_digest_key=previous_key,
        previous_digest_sha256=previous_sha,
        chains=[DigestChain(subject=s, seq=seq, hash=h) for s, (seq, h) in sorted(heads.items())],
    )
    signature = vault.sign(key_id, digest.sha256())
    written = vault.put(bucket, key, digest.body(), signature, key_id)
    return key, written, len(digest.chains)


def run_digests(*, now: datetime, bucket: str, key_id: str) -> DigestRun:
    """Digest every full hour since the last digest (a missed run is caught up), oldest first."""
    last_full = _hour(now - SETTLE) - timedelta(hours=1)
    previous = vault.latest_key(bucket, before=vault.digest_key(last_full + timedelta(hours=1)))
    if previous is None:
        start = last_full  # the first digest of a stack
    else:
        start = datetime.strptime(previous, f"{vault.PREFIX}%Y/%m/%d/%H.json").replace(
            tzinfo=UTC
        ) + timedelta(hours=1)
    start = max(start, last_full - timedelta(hours=MAX_HOURS_PER_RUN - 1))
    written: list[str] = []
    chains = 0
    hour = start
    while hour <= last_full:
        key, new, count = digest_hour(hour, bucket=bucket, key_id=key_id, previous_key=previous)
        if new:
            written.append(key)
            chains += count
        previous = key
        hour += timedelta(hours=1)
    return DigestRun(written, chains)


# ------------------------------------------------------------------------------------------ verification
@dataclass
class Verification:
    chains: list[ChainReport] = field(default_factory=list)
    digest_findings: list[Finding] = field(default_factory=list)
    lagging: list[str] = field(default_factory=list)
    """Orders whose latest changes the trail has not recorded (the stream behind, or records lost)."""
    digests: int = 0
    hours: dict[str, str] = field(default_factory=dict)
    """Every digested hour ("YYYY-MM-DDTHH") and its digest's key."""

    @property
    def findings(self) -> list[Finding]:
        return [*self.digest_findings, *(f for report in self.chains for f in report.findings)]

    @property
    def intact(self) -> bool:
        return not self.findings


def _checkpoints(bucket: str, verification: Verification) -> dict[str, list[Checkpoint]]:
    """Every digest, checked: signed by the key it names, written once, chained to its predecessor."""
    points: dict[str, list[Checkpoint]] = {}
    previous_key: str | None = None
    previous_body: bytes | None = None
    add = verification.digest_findings.append
    for key in vault.keys(bucket):
        stored = vault.read(bucket, key)
        verification.digests += 1
        if stored.versions > 1:
            add(Finding("DIGEST_OVERWRITTEN", key, None, f"{stored.versions} versions; the first is checked"))
        try:
            digest = Digest.model_validate(json.loads(stored.body))
        except (ValueError, ValidationError):
            add(Finding("DIGEST_UNREADABLE", key, None, "not a digest document"))
            continue
        if not stored.signature or not vault.verify(stored.key_id, digest.sha256(), stored.signature):
            add(
                Finding(
                    "DIGEST_SIGNATURE", key, None, "the signature does not verify with the audit signing key"
                )
            )
        if previous_key is not None and (
            digest.previous_digest_key != previous_key
            or digest.previous_digest_sha256 != hashlib.sha256(previous_body or b"").hexdigest()
        ):
            add(Finding("DIGEST_CHAIN", key, None, f"does not follow {previous_key}"))
        hour = digest.period_start[:13]
        verification.hours[hour] = key
        for chain in digest.chains:
            points.setdefault(chain.subject, []).append(Checkpoint(chain.seq, chain.hash, key, hour))
        previous_key, previous_body = key, stored.body
    return points


def verify_all(*, bucket: str | None, subjects: Iterable[str] | None = None) -> Verification:
    """Verify the chains (all, or `subjects`) against the digests in `bucket` (None: the chains alone)."""
    verification = Verification()
    points = _checkpoints(bucket, verification) if bucket else {}
    for subject in sorted(subjects if subjects is not None else store.subjects()):
        stored = store.chain(subject)
        verification.chains.append(verify_chain(subject, stored, points.get(subject, []), verification.hours))
    for subject in sorted(set(points) - {r.subject for r in verification.chains}):
        if subjects is None:
            verification.digest_findings.append(
                Finding("MISSING", subject, None, "a digest vouches for this chain; it is gone")
            )
    return verification


def lagging_orders(order_ids: Iterable[str]) -> list[str]:
    """Orders whose `change_no` the audit trail has not reached: changes not (yet) recorded."""
    lagging = []
    for order_id in order_ids:
        try:
            order = OrderRecord.get(order_id, attributes_to_get=["order_id", "change_no"])
        except OrderRecord.DoesNotExist:
            continue
        last = store.head(f"order:{order_id}")
        recorded = int(last.applied_change or 0) if last is not None else 0
        if int(order.change_no or 0) > recorded:
            lagging.append(
                f"{order_id}: {int(order.change_no or 0) - recorded} change(s) not in the audit trail"
            )
    if lagging:
        logger.warning("audit trail behind the orders", extra={"orders": len(lagging)})
    return lagging
