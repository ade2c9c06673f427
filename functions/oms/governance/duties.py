"""Segregation of duties, enforced on the server.

A person's duties come from the JWT the API's authorizer verified: its scopes (``scope``, space-separated,
as Cognito and OAuth servers issue them) and its groups (``cognito:groups``, or ``groups``), mapped to duties
by the governance policy. Each check returns the rule it breaks; the API answers 403 with that rule's name,
and the refused attempt is written to the audit trail.

Rules (their names are what a refusal says):

* ``approval-duty`` — only a person holding the approval duty decides approvals;
* ``approver-group`` — only a member of the group the level (or its escalation) is assigned to decides it;
* ``no-self-approval`` — the person who entered the order, or last amended it, cannot approve it;
* ``one-approval-per-person`` — a person approves an order once: not twice at one level, not at two levels;
* ``conflicting-duties`` — a person whose token combines duties the policy keeps apart (order entry and
  approval, ...) cannot use either of them to approve.

The conflict report lists the people whose groups (and scopes) combine duties that should be separate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from oms.governance.rules import DutyPolicy


@dataclass(frozen=True)
class Identity:
    """Who calls, as the verified JWT says."""

    subject: str
    """`user:<sub>`, as recorded on orders (`entered_by`) and in the audit trail."""
    scopes: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @classmethod
    def from_claims(cls, subject: str, claims: Mapping[str, Any]) -> Identity:
        scopes = claims.get("scope") or claims.get("scp") or ""
        scope_set = set(scopes.split()) if isinstance(scopes, str) else {str(s) for s in scopes}
        groups = claims.get("cognito:groups") or claims.get("groups") or []
        if isinstance(groups, str):
            # API Gateway HTTP API flattens an array claim to "[a b]" (or passes a JSON string).
            groups = groups.strip("[]").replace(",", " ").split()
        return cls(subject, frozenset(scope_set), frozenset(str(g) for g in groups))

    def duties(self, policy: DutyPolicy) -> dict[str, set[str]]:
        """duty -> the scopes and groups that give it."""
        held: dict[str, set[str]] = {}
        for scope in self.scopes:
            for duty in policy.scopes.get(scope, []):
                held.setdefault(duty, set()).add(f"scope {scope}")
        for group in self.groups:
            for duty in policy.groups.get(group, []):
                held.setdefault(duty, set()).add(f"group {group}")
        return held


@dataclass(frozen=True)
class DutyRefusal:
    rule: str
    reason: str


@dataclass(frozen=True)
class ApprovalSubject:
    """What the approval checks need to know about the approval being decided."""

    group: str
    entered_by: str
    amended_by: str | None
    approved_by: Sequence[str] = field(default_factory=tuple)
    """Everyone who already approved this order's current revision, at any level."""


def conflicts(identity: Identity, policy: DutyPolicy) -> list[tuple[str, str]]:
    held = identity.duties(policy)
    return [(a, b) for a, b in policy.incompatible if a in held and b in held]


def approval_refusal(
    identity: Identity, subject: ApprovalSubject, policy: DutyPolicy, *, approving: bool
) -> DutyRefusal | None:
    """The first segregation-of-duties rule that keeps `identity` from deciding (None: it may).

    `approving`: True for an approval, False for a rejection (the person who entered an order may reject it,
    i.e. withdraw it, if they hold the approval duty in its group; they may never approve it)."""
    duties = identity.duties(policy)
    if "approval" not in duties:
        return DutyRefusal("approval-duty", f"{identity.subject} does not hold the approval duty")
    clash = [pair for pair in conflicts(identity, policy) if "approval" in pair]
    if clash:
        other = next(d for d in clash[0] if d != "approval")
        return DutyRefusal(
            "conflicting-duties",
            f"{identity.subject} holds approval together with {other} "
            f"({', '.join(sorted(duties[other]))}); these duties are kept apart",
        )
    if subject.group not in identity.groups:
        return DutyRefusal(
            "approver-group",
            f"this approval is assigned to group {subject.group}; {identity.subject} is not in it",
        )
    if approving and identity.subject == subject.entered_by:
        return DutyRefusal("no-self-approval", f"{identity.subject} entered this order and cannot approve it")
    if approving and identity.subject == subject.amended_by:
        return DutyRefusal(
            "no-self-approval", f"{identity.subject} last amended this order and cannot approve it"
        )
    if approving and identity.subject in subject.approved_by:
        return DutyRefusal(
            "one-approval-per-person", f"{identity.subject} already approved this order; another person must"
        )
    return None


@dataclass(frozen=True)
class DutyConflict:
    subject: str
    duties: tuple[str, str]
    through: tuple[str, ...]
    """The scopes and groups that give the two duties."""


def conflict_report(identities: Iterable[Identity], policy: DutyPolicy) -> list[DutyConflict]:
    """People whose groups and scopes combine duties that should be separate, one line per pair of duties."""
    report: list[DutyConflict] = []
    for identity in sorted(identities, key=lambda i: i.subject):
        held = identity.duties(policy)
        for a, b in conflicts(identity, policy):
            report.append(DutyConflict(identity.subject, (a, b), tuple(sorted(held[a] | held[b]))))
    return report
