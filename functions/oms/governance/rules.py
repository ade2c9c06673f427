"""Approval rules as data: which orders need whose approval, in which order, how fast, and what happens when
nobody decides in time. Kept in an SSM parameter (`GovernancePolicyParameter`), validated by these models;
pure functions over an order's facts decide. An order that matches no rule needs no approval.

A rule matches when every condition it states holds (ERPNext's Authorization Rule, generalised):
the grand total at or above an amount, the largest line discount at or above a percentage, the margin
below a floor (only where every line's cost is known), the customer's credit exposure after this order at or
above an amount or over its limit, a customer on credit hold, the channel, the customer tier. Each rule
lists ordered levels (OCA's tiers): an approver group, a quorum (N of the group's M), an SLA, and an
escalation: on breach the level moves to the next target group, up to a number of times, then the rule's
`on_breach` decides: REJECT the order, or HOLD it for a person.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from oms.money import ZERO, Money

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
"""Rule, level and group names: lower-case words joined by hyphens (they appear in URLs and 403 answers)."""

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SLA_SECONDS = 30 * 86400
"""A level's SLA is a Step Functions task timeout; a month is far more than any approval should wait."""


def seconds_of(duration: str) -> int:
    """``"4h"``, ``"30m"``, ``"2d"`` in seconds."""
    match = _DURATION.match(duration.strip())
    if match is None:
        raise ValueError(f"duration {duration!r}: a number and s, m, h or d (30m, 4h, 2d)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class OnBreach(StrEnum):
    REJECT = "REJECT"
    """Nobody decided in time, even after escalation: the order is rejected and its stock released."""
    HOLD = "HOLD"
    """Nobody decided in time: the order is put on hold (stock released) for a person to resubmit."""


class Quorum(BaseModel):
    """N approvals out of the group's M approvers."""

    model_config = ConfigDict(frozen=True)

    required: int = Field(default=1, ge=1, le=10)
    of: int = Field(default=1, ge=1, le=100)

    @model_validator(mode="after")
    def _n_of_m(self) -> Quorum:
        if self.required > self.of:
            raise ValueError(
                f"a quorum of {self.required} needs at least {self.required} approvers, not {self.of}"
            )
        return self


class Escalation(BaseModel):
    model_config = ConfigDict(frozen=True)

    to: list[Name] = Field(default_factory=list, max_length=5)
    """Groups the level moves to, in order, each time its SLA passes without a decision."""
    max: int | None = Field(default=None, ge=0, le=5)
    """How many times the level escalates before the rule's `on_breach` applies (default: once per target)."""

    @model_validator(mode="after")
    def _targets_for_each_escalation(self) -> Escalation:
        if self.max is not None and self.max > len(self.to):
            raise ValueError(f"{self.max} escalations need {self.max} target groups, {len(self.to)} given")
        return self

    @property
    def count(self) -> int:
        return len(self.to) if self.max is None else self.max


class Level(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: Name
    group: Name
    quorum: Quorum = Field(default_factory=Quorum)
    sla: str = "4h"
    escalation: Escalation = Field(default_factory=Escalation)

    @field_validator("sla")
    @classmethod
    def _sla(cls, value: str) -> str:
        seconds = seconds_of(value)
        if not 60 <= seconds <= MAX_SLA_SECONDS:
            raise ValueError("an SLA is between a minute and 30 days")
        return value

    @property
    def sla_seconds(self) -> int:
        return seconds_of(self.sla)

    def group_at(self, escalations: int) -> str:
        """The group deciding after `escalations` escalations."""
        return self.group if escalations == 0 else self.escalation.to[escalations - 1]


class Condition(BaseModel):
    """Every condition given must hold for the rule to match (none given: the rule matches every order)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_total: Money | None = None
    """The order's grand total is at or above this (in the order's currency)."""
    min_line_discount_percent: Decimal | None = Field(default=None, ge=0, le=100)
    """The largest discount on one line, as a percentage of that line's gross amount, is at or above this."""
    margin_below_percent: Decimal | None = Field(default=None, ge=-100, le=100)
    """The order's margin (net line revenue less cost, over net line revenue) is below this floor; only
    orders whose every line has a known cost can match."""
    min_exposure_after: Money | None = None
    """The customer's credit exposure including this order is at or above this."""
    over_credit_limit: bool | None = None
    """The customer's exposure including this order would pass its credit limit."""
    on_credit_hold: bool | None = None
    channels: list[str] | None = None
    customer_tiers: list[str] | None = None
    currencies: list[str] | None = None


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: Name
    description: str = ""
    when: Condition = Field(default_factory=Condition)
    levels: list[Level] = Field(min_length=1, max_length=5)
    on_breach: OnBreach = OnBreach.REJECT

    @model_validator(mode="after")
    def _distinct_levels(self) -> Rule:
        names = [level.name for level in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"rule {self.name}: level names repeat")
        return self


Duty = Literal["order_entry", "approval", "invoicing", "payment_authorization", "vendor_coordination"]


class DutyPolicy(BaseModel):
    """Which JWT scopes and groups carry which duty, and which duties one person may not combine."""

    model_config = ConfigDict(frozen=True)

    scopes: dict[str, list[Duty]] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]
            "oms/orders.write": ["order_entry"],
            "oms/approvals.write": ["approval"],
            "oms/invoices.write": ["invoicing"],
            "oms/payments.write": ["payment_authorization"],
            "oms/inventory.write": ["vendor_coordination"],
        }
    )
    groups: dict[str, list[Duty]] = Field(default_factory=dict)
    incompatible: list[tuple[Duty, Duty]] = Field(
        default_factory=lambda: [  # type: ignore[arg-type]
            ("order_entry", "approval"),
            ("order_entry", "payment_authorization"),
            ("approval", "payment_authorization"),
            ("invoicing", "payment_authorization"),
            ("vendor_coordination", "payment_authorization"),
        ]
    )


CREDIT_RULE = "credit-limit"


def _default_credit_control() -> Rule:
    return Rule(
        name=CREDIT_RULE,
        description="The order would take the customer past its credit limit, or the customer is on hold",
        levels=[Level(name="credit-control", group="credit-control", sla="8h")],
        on_breach=OnBreach.HOLD,
    )


class GovernancePolicy(BaseModel):
    """The SSM parameter's JSON."""

    model_config = ConfigDict(frozen=True)

    rules: list[Rule] = Field(default_factory=list, max_length=50)
    credit_control: Rule = Field(default_factory=_default_credit_control)
    """Always applies (whatever `rules` say) to an order that would pass its customer's credit limit, or of a
    customer on credit hold: the order waits with hold reason CREDIT_LIMIT for this rule's levels."""
    duties: DutyPolicy = Field(default_factory=DutyPolicy)

    @model_validator(mode="after")
    def _distinct_rules(self) -> GovernancePolicy:
        names = [rule.name for rule in self.rules] + [self.credit_control.name]
        if len(set(names)) != len(names):
            raise ValueError("rule names repeat (the credit-control rule's name too)")
        return self

    def rule(self, name: str) -> Rule:
        return next(rule for rule in self.rules if rule.name == name)


# ---------------------------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class LineFacts:
    gross: Decimal
    discount: Decimal
    net: Decimal
    cost: Decimal | None
    """Unit cost times quantity where the catalog knows the cost."""


@dataclass(frozen=True)
class OrderFacts:
    """What the rules look at, taken from an order after validation and from its customer's credit."""

    channel: str
    customer_tier: str
    currency: str
    grand_total: Decimal
    lines: Sequence[LineFacts]
    exposure_before: Decimal = ZERO
    credit_limit: Decimal | None = None
    on_credit_hold: bool = False

    @property
    def largest_line_discount_percent(self) -> Decimal:
        percents = [line.discount * 100 / line.gross for line in self.lines if line.gross > 0]
        return max(percents, default=ZERO)

    @property
    def margin_percent(self) -> Decimal | None:
        """(net revenue - cost) / net revenue x 100 over the lines; None where a cost is unknown."""
        if any(line.cost is None for line in self.lines):
            return None
        revenue = sum((line.net for line in self.lines), ZERO)
        if revenue <= 0:
            return None
        cost = sum((line.cost for line in self.lines if line.cost is not None), ZERO)
        return (revenue - cost) * 100 / revenue

    @property
    def exposure_after(self) -> Decimal:
        return self.exposure_before + self.grand_total

    @property
    def over_credit_limit(self) -> bool:
        return self.credit_limit is not None and self.exposure_after > self.credit_limit


def matches(condition: Condition, facts: OrderFacts) -> bool:
    checks: list[bool] = []
    if condition.min_total is not None:
        checks.append(facts.grand_total >= condition.min_total)
    if condition.min_line_discount_percent is not None:
        checks.append(facts.largest_line_discount_percent >= condition.min_line_discount_percent)
    if condition.margin_below_percent is not None:
        margin = facts.margin_percent
        checks.append(margin is not None and margin < condition.margin_below_percent)
    if condition.min_exposure_after is not None:
        checks.append(facts.exposure_after >= condition.min_exposure_after)
    if condition.over_credit_limit is not None:
        checks.append(facts.over_credit_limit == condition.over_credit_limit)
    if condition.on_credit_hold is not None:
        checks.append(facts.on_credit_hold == condition.on_credit_hold)
    if condition.channels is not None:
        checks.append(facts.channel in condition.channels)
    if condition.customer_tiers is not None:
        checks.append(facts.customer_tier in condition.customer_tiers)
    if condition.currencies is not None:
        checks.append(facts.currency in condition.currencies)
    return all(checks)


@dataclass(frozen=True)
class RequiredLevel:
    """One level an order must pass, with the rule that asks for it."""

    rule: str
    level: Level


@dataclass(frozen=True)
class ApprovalRequirement:
    """The approvals an order needs: the matched rules' levels in order (a group asked by two rules decides
    once, at the strictest quorum and the shortest SLA), and what happens on breach (REJECT if any matched
    rule says so)."""

    rules: tuple[str, ...]
    levels: tuple[RequiredLevel, ...]
    on_breach: OnBreach
    credit: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def hold_reason(self) -> str:
        return "CREDIT_LIMIT" if self.credit else "APPROVAL_REQUIRED"


def _why(rule: Rule, facts: OrderFacts) -> str:
    """A sentence per matched rule, naming the facts that matched."""
    parts: list[str] = []
    when = rule.when
    if when.min_total is not None:
        parts.append(f"total {facts.grand_total} {facts.currency} >= {when.min_total}")
    if when.min_line_discount_percent is not None:
        parts.append(
            f"line discount {facts.largest_line_discount_percent:.1f}% >= {when.min_line_discount_percent}%"
        )
    if when.margin_below_percent is not None and facts.margin_percent is not None:
        parts.append(f"margin {facts.margin_percent:.1f}% < {when.margin_below_percent}%")
    if when.over_credit_limit:
        parts.append(f"exposure {facts.exposure_after} over the credit limit {facts.credit_limit}")
    if when.min_exposure_after is not None:
        parts.append(f"exposure {facts.exposure_after} >= {when.min_exposure_after}")
    if when.on_credit_hold:
        parts.append("customer on credit hold")
    return f"{rule.name}: " + (", ".join(parts) or "matches every order")


def _credit_why(facts: OrderFacts) -> str:
    if facts.on_credit_hold:
        return f"{CREDIT_RULE}: customer on credit hold"
    exposure = f"{facts.exposure_after} {facts.currency}"
    return f"{CREDIT_RULE}: exposure {exposure} over the credit limit {facts.credit_limit}"


def required_approval(policy: GovernancePolicy, facts: OrderFacts) -> ApprovalRequirement | None:
    """The approvals the order needs, or None (no rule matches: no approval, nothing to pay for). Credit
    control comes first: nobody approves a discount on an order the customer cannot be given credit for."""
    credit = facts.over_credit_limit or facts.on_credit_hold
    matched = [policy.credit_control] if credit else []
    matched += [rule for rule in policy.rules if matches(rule.when, facts)]
    if not matched:
        return None
    by_group: dict[str, RequiredLevel] = {}
    order: list[str] = []
    for rule in matched:
        for level in rule.levels:
            kept = by_group.get(level.group)
            if kept is None:
                by_group[level.group] = RequiredLevel(rule.name, level)
                order.append(level.group)
                continue
            strictest = kept.level.model_copy(
                update={
                    "quorum": max(kept.level.quorum, level.quorum, key=lambda q: q.required),
                    "sla": min(kept.level.sla, level.sla, key=seconds_of),
                }
            )
            by_group[level.group] = RequiredLevel(kept.rule, strictest)
    on_breach = OnBreach.REJECT if any(r.on_breach is OnBreach.REJECT for r in matched) else OnBreach.HOLD
    return ApprovalRequirement(
        rules=tuple(rule.name for rule in matched),
        levels=tuple(by_group[group] for group in order),
        on_breach=on_breach,
        credit=credit,
        reasons=tuple(
            _credit_why(facts) if credit and rule is matched[0] else _why(rule, facts) for rule in matched
        ),
    )
