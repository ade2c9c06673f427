"""Approval rules as data: which orders need whose approval, validated from the policy JSON; and the
segregation-of-duties checks, each refusal naming its rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from oms.governance.duties import ApprovalSubject, Identity, approval_refusal, conflict_report
from oms.governance.rules import (
    CREDIT_RULE,
    GovernancePolicy,
    LineFacts,
    OnBreach,
    OrderFacts,
    required_approval,
)

POLICY = GovernancePolicy.model_validate(
    {
        "rules": [
            {
                "name": "large-corporate-order",
                "when": {"min_total": "25000.00", "customer_tiers": ["CORPORATE"]},
                "levels": [
                    {
                        "name": "sales-manager",
                        "group": "sales-managers",
                        "sla": "4h",
                        "escalation": {"to": ["sales-directors"], "max": 1},
                    },
                    {"name": "finance", "group": "finance-controllers", "quorum": {"required": 2, "of": 3}},
                ],
                "on_breach": "REJECT",
            },
            {
                "name": "deep-discount",
                "when": {"min_line_discount_percent": "20"},
                "levels": [{"name": "discount", "group": "sales-managers", "sla": "2h"}],
                "on_breach": "HOLD",
            },
            {
                "name": "thin-margin",
                "when": {"margin_below_percent": "8"},
                "levels": [{"name": "margin", "group": "finance-controllers"}],
            },
        ],
        "duties": {
            "groups": {
                "sales-managers": ["approval"],
                "clerks": ["order_entry"],
                "treasury": ["payment_authorization"],
            }
        },
    }
)


def facts(
    total: str = "1000.00",
    *,
    tier: str = "CORPORATE",
    discount: str = "0",
    cost: str | None = None,
    exposure: str = "0",
    limit: str | None = None,
    hold: bool = False,
) -> OrderFacts:
    gross = Decimal(total) + Decimal(discount)
    line = LineFacts(gross, Decimal(discount), Decimal(total), None if cost is None else Decimal(cost))
    return OrderFacts(
        channel="erp",
        customer_tier=tier,
        currency="USD",
        grand_total=Decimal(total),
        lines=[line],
        exposure_before=Decimal(exposure),
        credit_limit=None if limit is None else Decimal(limit),
        on_credit_hold=hold,
    )


def test_an_order_that_matches_no_rule_needs_no_approval() -> None:
    assert required_approval(POLICY, facts("24999.99")) is None
    assert required_approval(POLICY, facts("40000.00", tier="RETAIL")) is None


def test_a_large_corporate_order_needs_both_levels_in_order() -> None:
    requirement = required_approval(POLICY, facts("40000.00"))
    assert requirement is not None
    assert requirement.rules == ("large-corporate-order",)
    assert [(r.level.name, r.level.group, r.level.quorum.required) for r in requirement.levels] == [
        ("sales-manager", "sales-managers", 1),
        ("finance", "finance-controllers", 2),
    ]
    assert requirement.levels[0].level.sla_seconds == 4 * 3600
    assert requirement.levels[0].level.group_at(1) == "sales-directors"
    assert requirement.on_breach is OnBreach.REJECT
    assert requirement.hold_reason == "APPROVAL_REQUIRED"
    assert requirement.reasons == ("large-corporate-order: total 40000.00 USD >= 25000.00",)


def test_a_group_asked_by_two_rules_decides_once_at_the_shorter_sla() -> None:
    # 40,000 at a 35 % discount: both rules ask sales-managers; they decide once, within 2 h
    requirement = required_approval(POLICY, facts("40000.00", discount="21538.46"))
    assert requirement is not None
    assert requirement.rules == ("large-corporate-order", "deep-discount")
    groups = [r.level.group for r in requirement.levels]
    assert groups == ["sales-managers", "finance-controllers"]
    assert requirement.levels[0].level.sla == "2h"
    assert requirement.on_breach is OnBreach.REJECT  # the strictest of the matched rules


def test_margin_counts_only_where_every_cost_is_known() -> None:
    assert required_approval(POLICY, facts(cost=None)) is None
    thin = required_approval(POLICY, facts("1000.00", cost="950.00"))
    assert thin is not None
    assert thin.rules == ("thin-margin",)
    assert required_approval(POLICY, facts("1000.00", cost="900.00")) is None  # 10 % margin


def test_credit_control_comes_first_over_the_limit_or_on_hold() -> None:
    within = required_approval(POLICY, facts("1000.00", exposure="8000.00", limit="10000.00"))
    assert within is None
    over = required_approval(POLICY, facts("40000.00", exposure="8000.00", limit="10000.00"))
    assert over is not None
    assert over.rules[0] == CREDIT_RULE
    assert over.credit
    assert over.hold_reason == "CREDIT_LIMIT"
    assert [r.level.group for r in over.levels] == ["credit-control", "sales-managers", "finance-controllers"]
    assert over.reasons[0] == "credit-limit: exposure 48000.00 USD over the credit limit 10000.00"
    held = required_approval(POLICY, facts("10.00", hold=True))
    assert held is not None
    assert held.rules == (CREDIT_RULE,)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"levels": []}, "at least 1"),
        ({"levels": [{"name": "a", "group": "g", "quorum": {"required": 3, "of": 2}}]}, "quorum of 3"),
        ({"levels": [{"name": "a", "group": "g", "sla": "10s"}]}, "between a minute"),
        ({"levels": [{"name": "a", "group": "g", "sla": "soon"}]}, "duration"),
        ({"levels": [{"name": "a", "group": "g", "escalation": {"to": [], "max": 1}}]}, "target groups"),
        ({"when": {"min_total": 1.5}}, "float"),
        ({"when": {"unknown": 1}}, "Extra inputs"),
        ({"name": "Not A Name"}, "pattern"),
    ],
)
def test_a_bad_policy_is_refused_with_the_reason(patch: dict[str, object], message: str) -> None:
    rule = {"name": "r", "levels": [{"name": "a", "group": "g"}], **patch}
    with pytest.raises(ValidationError, match=message):
        GovernancePolicy.model_validate({"rules": [rule]})


# --------------------------------------------------------------------------------- segregation of duties
MANAGER = Identity("user:maria", frozenset({"oms/approvals.write"}), frozenset({"sales-managers"}))
SUBJECT = ApprovalSubject(group="sales-managers", entered_by="user:clerk", amended_by=None)


def test_a_manager_in_the_group_may_approve() -> None:
    assert approval_refusal(MANAGER, SUBJECT, POLICY.duties, approving=True) is None


@pytest.mark.parametrize(
    ("identity", "subject", "rule"),
    [
        (Identity("user:maria", frozenset(), frozenset({"clerks"})), SUBJECT, "approval-duty"),
        (
            Identity("user:maria", frozenset({"oms/approvals.write"}), frozenset({"finance-controllers"})),
            SUBJECT,
            "approver-group",
        ),
        (
            MANAGER,
            ApprovalSubject("sales-managers", entered_by="user:maria", amended_by=None),
            "no-self-approval",
        ),
        (
            MANAGER,
            ApprovalSubject("sales-managers", entered_by="x", amended_by="user:maria"),
            "no-self-approval",
        ),
        (
            MANAGER,
            ApprovalSubject("sales-managers", entered_by="x", amended_by=None, approved_by=("user:maria",)),
            "one-approval-per-person",
        ),
        (
            Identity(
                "user:maria",
                frozenset({"oms/approvals.write", "oms/orders.write"}),
                frozenset({"sales-managers"}),
            ),
            SUBJECT,
            "conflicting-duties",
        ),
    ],
)
def test_each_refusal_names_its_rule(identity: Identity, subject: ApprovalSubject, rule: str) -> None:
    refusal = approval_refusal(identity, subject, POLICY.duties, approving=True)
    assert refusal is not None
    assert refusal.rule == rule
    assert identity.subject in refusal.reason


def test_the_person_who_entered_an_order_may_reject_it_but_not_approve_it() -> None:
    own = ApprovalSubject("sales-managers", entered_by="user:maria", amended_by=None)
    assert approval_refusal(MANAGER, own, POLICY.duties, approving=False) is None


def test_claims_as_api_gateway_passes_them() -> None:
    claims = {
        "sub": "maria",
        "scope": "oms/orders.read oms/approvals.write",
        "cognito:groups": "[sales-managers finance]",
    }
    identity = Identity.from_claims("user:maria", claims)
    assert identity.scopes == {"oms/orders.read", "oms/approvals.write"}
    assert identity.groups == {"sales-managers", "finance"}
    assert Identity.from_claims("user:x", {"groups": ["a", "b"]}).groups == {"a", "b"}


def test_the_conflict_report_lists_people_whose_groups_combine_separate_duties() -> None:
    people = [
        Identity("user:zoe", frozenset(), frozenset({"clerks", "sales-managers"})),
        Identity("user:bob", frozenset({"oms/payments.write"}), frozenset({"sales-managers"})),
        Identity("user:ann", frozenset(), frozenset({"clerks"})),
    ]
    report = conflict_report(people, POLICY.duties)
    assert [(c.subject, c.duties) for c in report] == [
        ("user:bob", ("approval", "payment_authorization")),
        ("user:zoe", ("order_entry", "approval")),
    ]
    assert report[1].through == ("group clerks", "group sales-managers")
