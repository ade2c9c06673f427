"""Audit trail entries and digests, as data (decision 0026): what an entry holds, how it is hashed, how
entries chain, and the digest documents that anchor the chains. No I/O here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

GENESIS = "0" * 64
"""The `prev_hash` of a chain's first entry."""


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not part of an audit entry")


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, ASCII, Decimals as strings (never floats)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_json_default)


class AuditEntry(BaseModel):
    """One entry of a subject's chain."""

    model_config = ConfigDict(frozen=True)

    subject: str
    seq: int = Field(ge=1)
    at: str
    """ISO-8601 UTC, as written."""
    actor: str
    action: str
    reason: str | None = None
    request_id: str | None = None
    source: str
    """What produced it: `orders:<stream event id>`, `approvals:<stream event id>`, `api:<request id>`."""
    before: str | None = None
    """Canonical JSON of the changed attributes as they were (None: created)."""
    after: str | None = None
    """Canonical JSON of the changed attributes as they became (None: deleted)."""
    prev_hash: str
    written_at: str
    """When the entry was written (ISO-8601 UTC): the hour whose digest must vouch for it."""
    hash: str = ""

    def content(self) -> dict[str, Any]:
        return self.model_dump(exclude={"hash"})

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode()).hexdigest()

    def sealed(self) -> AuditEntry:
        return self.model_copy(update={"hash": self.computed_hash()})


def next_entry(
    head: AuditEntry | None,
    *,
    subject: str,
    at: datetime,
    actor: str,
    action: str,
    source: str,
    reason: str | None = None,
    request_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    written_at: datetime | None = None,
) -> AuditEntry:
    """The entry that follows `head` (None: the chain's first), sealed with its hash."""
    return AuditEntry(
        subject=subject,
        seq=1 if head is None else head.seq + 1,
        at=at.isoformat(timespec="microseconds"),
        actor=actor,
        action=action,
        reason=reason,
        request_id=request_id,
        source=source,
        before=None if before is None else canonical_json(dict(before)),
        after=None if after is None else canonical_json(dict(after)),
        prev_hash=GENESIS if head is None else head.hash,
        written_at=(written_at or at).isoformat(timespec="microseconds"),
    ).sealed()


@dataclass(frozen=True)
class StoredEntry:
    """An entry as read back: its storage position (the table's sort key) and its attributes."""

    position: Decimal
    entry: AuditEntry


# ------------------------------------------------------------------------------------------ digests
class DigestChain(BaseModel):
    subject: str
    seq: int
    hash: str


class Digest(BaseModel):
    """One period's digest: the JSON object kept under Object Lock (its signature in the object's
    metadata)."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    period_start: str
    period_end: str
    previous_digest_key: str | None
    previous_digest_sha256: str | None
    chains: list[DigestChain]

    def body(self) -> bytes:
        return canonical_json(self.model_dump()).encode()

    def sha256(self) -> bytes:
        return hashlib.sha256(self.body()).digest()


# ------------------------------------------------------------------------------------------ API views
class AuditEntryView(BaseModel):
    """An entry as `GET /orders/{id}/audit` shows it (its `before`/`after` as objects)."""

    seq: int
    at: datetime
    actor: str
    action: str
    reason: str | None = None
    request_id: str | None = None
    source: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    prev_hash: str
    written_at: datetime
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryView:
        return cls(
            seq=entry.seq,
            at=datetime.fromisoformat(entry.at),
            actor=entry.actor,
            action=entry.action,
            reason=entry.reason,
            request_id=entry.request_id,
            source=entry.source,
            before=json.loads(entry.before) if entry.before else None,
            after=json.loads(entry.after) if entry.after else None,
            prev_hash=entry.prev_hash,
            written_at=datetime.fromisoformat(entry.written_at),
            hash=entry.hash,
        )


class AuditTrailView(BaseModel):
    """An order's audit trail: every change and human action, hash-chained, and what verification found."""

    order_id: str
    intact: bool = Field(description="Every entry matches its hash and follows the one before it")
    findings: list[str] = Field(default_factory=list, description="Tampered entries, named")
    entries: list[AuditEntryView]
