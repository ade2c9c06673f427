"""Approval routing and the approval workflow's steps (decision 0027).

After validation, `route_order` asks the approval rules (oms.governance.rules) whether the order needs
approval. If not, it goes on to allocation at no cost (the customer's credit exposure is taken in the same
write when the customer has a limit). If so, one transaction puts the order ON_HOLD (APPROVAL_REQUIRED or
CREDIT_LIMIT), creates its approval bound to a hash of the order's content, and counts the order in the
customer's exposure; then the Standard approval workflow (statemachine/approval.asl.json) is started, named
by the approval id.

The workflow loops over the levels: `next_step` says where the approval stands (await a level, approved,
rejected, expired, void), `open_level` keeps the level's task token on the approval (server side: approvers
only see the opaque approval id) and assigns the level to its group, `breach` escalates a level whose SLA
passed (or expires the approval once escalations run out), `settle` applies the outcome to the order:
approved resumes allocation; rejected ends the order REJECTED (releasing its exposure, and any stock it
held, once); expired rejects or holds as the rule says.

People decide through the API (`decide`): every check (the approval exists and is open, it still matches
the order's content, segregation of duties) refuses with a 4xx naming its rule and writes the attempt to the
audit trail; a decision is recorded conditional on the approval not having moved, and the level's token is
sent once the level's quorum is reached (or at a rejection).
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel
from pynamodb.expressions.update import Action

from oms.aws import client
from oms.data.approvals import (
    ApprovalConflictError,
    OrderWrite,
    approval_change,
    commit,
    get_approval,
    open_for_group,
    update_approval,
)
from oms.data.credit import CustomerCredit, ExposureChange, credit_of
from oms.data.models import ApprovalDecisionAttribute, ApprovalRecord, OrderRecord
from oms.data.orders import amendment_of, append_history, get_order, history_entry, transition_update
from oms.domain.status import HoldReason, OrderStatus
from oms.governance.audit_trail import record_refusal
from oms.governance.duties import ApprovalSubject, Identity, approval_refusal
from oms.governance.rules import (
    GovernancePolicy,
    LineFacts,
    OnBreach,
    OrderFacts,
    RequiredLevel,
    required_approval,
)
from oms.logic.intake import start_lifecycle
from oms.logic.releases import end_claim, plan_release
from oms.money import ZERO
from oms.observability import MetricUnit, logger, metrics

ACTOR = "workflow:approval"
APPROVAL_HOLDS = frozenset({HoldReason.APPROVAL_REQUIRED.value, HoldReason.CREDIT_LIMIT.value})
PENDING, APPROVED, REJECTED, VOID, EXPIRED = "PENDING", "APPROVED", "REJECTED", "VOID", "EXPIRED"
MAX_ROUTING_ATTEMPTS = 25
"""Concurrent orders of one customer race for its credit: each lost race reads again (with a short jittered
pause) and decides again."""


# ------------------------------------------------------------------------------------------- content
def content_hash(record: OrderRecord) -> str:
    """The hash of what an approver approves: customer, ship-to, lines, prices, discounts, totals. Any
    amendment changes it; a copy is another order (its own approval)."""
    content = {
        "order_id": record.order_id,
        "customer": record.customer.customer_id,
        "ship_to": {
            k: getattr(record.shipping_address, k)
            for k in ("name", "line1", "line2", "city", "region", "postal_code", "country")
        },
        "currency": record.currency,
        "lines": [
            [line.sku, int(line.quantity), str(line.unit_price), str(line.discount)] for line in record.lines
        ],
        "totals": [
            str(record.subtotal),
            str(record.discount_total),
            str(record.shipping_total),
            str(record.grand_total),
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def facts_of(
    record: OrderRecord,
    credit: CustomerCredit,
    costs: Mapping[str, Decimal] | None = None,
    *,
    exposure_before: Decimal | None = None,
) -> OrderFacts:
    lines = []
    for line in record.lines:
        gross = Decimal(line.unit_price) * int(line.quantity)
        cost = costs.get(line.sku) if costs else None
        lines.append(
            LineFacts(
                gross=gross,
                discount=Decimal(line.discount),
                net=gross - Decimal(line.discount),
                cost=cost * int(line.quantity) if cost is not None else None,
            )
        )
    return OrderFacts(
        channel=record.channel,
        customer_tier=credit.tier,
        currency=record.currency,
        grand_total=Decimal(record.grand_total),
        lines=lines,
        exposure_before=credit.exposure if exposure_before is None else exposure_before,
        credit_limit=credit.credit_limit,
        on_credit_hold=credit.on_hold,
    )


# ------------------------------------------------------------------------------------------- routing
@dataclass(frozen=True)
class Routing:
    outcome: Literal["VALIDATED", "AWAITING_APPROVAL", "UNCHANGED"]
    detail: str
    approval_id: str | None = None


def _levels_json(levels: tuple[RequiredLevel, ...]) -> list[dict[str, Any]]:
    return [{"rule": r.rule, **r.level.model_dump(mode="json")} for r in levels]


def start_approval_workflow(approval_id: str, approval_workflow_arn: str) -> None:
    sfn = client("stepfunctions")
    try:
        sfn.start_execution(
            stateMachineArn=approval_workflow_arn,
            name=approval_id,
            input=json.dumps({"approval_id": approval_id}),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("approval workflow already started", extra={"approval_id": approval_id})


def route_order(
    order_id: str, *, policy: GovernancePolicy, approval_workflow_arn: str, now: datetime
) -> Routing:
    """After validation: straight on to allocation, or ON_HOLD waiting for approval. Safe to run again."""
    for attempt in range(MAX_ROUTING_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, min(0.02 * attempt, 0.2)))
        record = get_order(order_id)
        if record.status == OrderStatus.ON_HOLD.value and record.hold_reason in APPROVAL_HOLDS:
            # A retried step: the approval exists; make sure its workflow runs.
            assert record.approval_id is not None
            start_approval_workflow(record.approval_id, approval_workflow_arn)
            return Routing(
                "AWAITING_APPROVAL", f"waiting for approval {record.approval_id}", record.approval_id
            )
        # What this order counts in its customer's exposure already (an earlier revision of it, before an
        # amendment): the new content replaces it, it is not added twice.
        prior = Decimal(record.credit_exposure) if record.credit_exposure is not None else ZERO
        if record.status != OrderStatus.VALIDATED.value or (
            record.credit_exposure is not None and int(record.credit_revision or 0) == int(record.revision)
        ):
            return Routing("UNCHANGED", f"already {record.status}")  # a retried step: routed already
        credit = credit_of(record.customer.customer_id)
        facts = facts_of(record, credit, exposure_before=credit.exposure - prior)
        requirement = required_approval(policy, facts)
        total = Decimal(record.grand_total)
        counted = credit.known and credit.credit_limit is not None
        base = (OrderRecord.status == OrderStatus.VALIDATED.value) & (
            OrderRecord.revision == int(record.revision)
        )
        if record.credit_exposure is not None:
            base = base & (OrderRecord.credit_exposure == prior)
        else:
            base = base & OrderRecord.credit_exposure.does_not_exist()
        counts = [
            OrderRecord.credit_exposure.set(total),
            OrderRecord.credit_revision.set(int(record.revision)),
        ]
        try:
            if requirement is None:
                if not counted:
                    return Routing("VALIDATED", "no approval rule matches")
                assert credit.credit_limit is not None
                others = credit.exposure - prior
                note = f"credit: exposure {others} + {total} within the limit {credit.credit_limit}"
                commit(
                    order_id=order_id,
                    order=OrderWrite(
                        [
                            *counts,
                            OrderRecord.updated_at.set(now),
                            *append_history(history_entry(record.status, record.status, now, ACTOR, note)),
                        ],
                        base,
                    ),
                    exposure=ExposureChange(credit.customer_id, total - prior, within=credit.credit_limit),
                )
                return Routing("VALIDATED", note)
            approval_id = "apr_" + secrets.token_hex(12)
            reasons = "; ".join(requirement.reasons)
            actions, _ = transition_update(
                OrderStatus.ON_HOLD,
                ACTOR,
                now,
                f"{requirement.hold_reason}: {reasons}",
                OrderStatus.VALIDATED,
            )
            actions += [
                OrderRecord.hold_reason.set(requirement.hold_reason),
                OrderRecord.approval_id.set(approval_id),
            ]
            exposure = None
            if counted and not requirement.credit:
                # pending approval counts in the exposure, within the limit (or it is a credit case)
                assert credit.credit_limit is not None
                exposure = ExposureChange(credit.customer_id, total - prior, within=credit.credit_limit)
                actions += counts
            elif record.credit_exposure is not None:
                # a credit case: it no longer counts until credit control approves it
                exposure = ExposureChange(credit.customer_id, -prior)
                actions += [OrderRecord.credit_exposure.remove(), OrderRecord.credit_revision.remove()]
            first = requirement.levels[0].level
            approval = ApprovalRecord(
                approval_id,
                order_id=order_id,
                created_at=now.isoformat(),
                status=PENDING,
                content_hash=content_hash(record),
                revision=int(record.revision),
                rules=json.dumps(
                    {
                        "rules": list(requirement.rules),
                        "levels": _levels_json(requirement.levels),
                        "on_breach": requirement.on_breach.value,
                        "reasons": list(requirement.reasons),
                    }
                ),
                hold_reason=requirement.hold_reason,
                level_index=0,
                escalations=0,
                group=first.group,
                entered_by=record.entered_by,
                amended_by=record.amended_by,
                amount=total,
                currency=record.currency,
                decisions=[],
                last_change=history_entry("REQUESTED", None, now, ACTOR, reasons),
                change_no=1,
                updated_at=now,
            )
            commit(
                order_id=order_id, order=OrderWrite(actions, base), new_approval=approval, exposure=exposure
            )
        except ApprovalConflictError:
            continue  # the order or the customer's exposure moved: read again and decide again
        metrics.add_metric(name="ApprovalsRequested", unit=MetricUnit.Count, value=1)
        _void_earlier(order_id, keep=approval_id, now=now)
        start_approval_workflow(approval_id, approval_workflow_arn)
        return Routing("AWAITING_APPROVAL", f"{requirement.hold_reason}: {reasons}", approval_id)
    raise ApprovalConflictError(f"order {order_id}: routing kept conflicting")


def _void_earlier(order_id: str, *, keep: str, now: datetime) -> None:
    """An amendment, replayed or re-validated order: the approvals of its older content are void."""
    from oms.data.approvals import approvals_of_order

    for earlier in approvals_of_order(order_id):
        if earlier.approval_id != keep and earlier.status == PENDING:
            void_approval(earlier, now=now, reason="the order changed: approval starts again")


def void_approval(approval: ApprovalRecord, *, now: datetime, reason: str, wake: bool = True) -> None:
    """Void a pending approval and wake its workflow (which then ends); `wake=False` from the workflow's
    own steps, which go on to read it."""
    token = approval.task_token
    done = update_approval(
        approval.approval_id,
        [
            ApprovalRecord.status.set(VOID),
            ApprovalRecord.open_group.remove(),
            ApprovalRecord.task_token.remove(),
            *approval_change(VOID, by=ACTOR, at=now, reason=reason),
        ],
        ApprovalRecord.status == PENDING,
    )
    if done and token and wake:
        _send(token, {"decision": VOID})


def _waits_for(order: OrderRecord, approval: ApprovalRecord) -> bool:
    """The order still waits for this approval, with the content it was requested for."""
    return (
        order.status == OrderStatus.ON_HOLD.value
        and order.hold_reason in APPROVAL_HOLDS
        and order.approval_id == approval.approval_id
        and content_hash(order) == approval.content_hash
    )


def _why_void(order: OrderRecord) -> str:
    if order.status in (OrderStatus.ON_HOLD.value, OrderStatus.RECEIVED.value, OrderStatus.VALIDATED.value):
        return "the order changed after the approval was requested; its approval starts again"
    return f"the order is {order.status}: there is nothing to approve"


def _send(token: str, output: Mapping[str, Any]) -> bool:
    sfn = client("stepfunctions")
    try:
        sfn.send_task_success(taskToken=token, output=json.dumps(output))
    except (sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken, sfn.exceptions.TaskDoesNotExist):
        return False  # the level timed out meanwhile: the breach step finds the decision
    return True


# ------------------------------------------------------------------------------------- the workflow
class StepOutcome(BaseModel):
    outcome: Literal["AWAIT", "APPROVED", "REJECTED", "EXPIRED", "VOID"]
    level_index: int = 0
    escalations: int = 0
    sla_seconds: int = 0
    group: str | None = None


def _levels(approval: ApprovalRecord) -> list[dict[str, Any]]:
    levels: list[dict[str, Any]] = json.loads(approval.rules)["levels"]
    return levels


def _on_breach(approval: ApprovalRecord) -> OnBreach:
    return OnBreach(json.loads(approval.rules)["on_breach"])


def _level_decisions(approval: ApprovalRecord, level: str) -> list[ApprovalDecisionAttribute]:
    return [d for d in approval.decisions or [] if d.level == level]


def _level_done(approval: ApprovalRecord) -> str | None:
    """APPROVED (quorum reached) or REJECTED for the current level, None while it waits."""
    levels = _levels(approval)
    level = levels[int(approval.level_index)]
    decided = _level_decisions(approval, level["name"])
    if any(d.decision == REJECTED for d in decided):
        return REJECTED
    if sum(1 for d in decided if d.decision == APPROVED) >= int(level["quorum"]["required"]):
        return APPROVED
    return None


def _require(approval_id: str) -> ApprovalRecord:
    approval = get_approval(approval_id)
    if approval is None:
        raise LookupError(f"approval {approval_id} not found")
    return approval


def next_step(approval_id: str, *, now: datetime) -> StepOutcome:
    """Where the approval stands; moves it on a level when the current one is decided."""
    while True:
        approval = _require(approval_id)
        if approval.status != PENDING:
            return StepOutcome(outcome=approval.status)  # type: ignore[arg-type]
        order = get_order(approval.order_id)
        if not _waits_for(order, approval):
            void_approval(approval, now=now, reason=_why_void(order), wake=False)
            continue
        levels = _levels(approval)
        index = int(approval.level_index)
        done = _level_done(approval)
        seen = (ApprovalRecord.status == PENDING) & (ApprovalRecord.change_no == int(approval.change_no))
        if done == REJECTED:
            update_approval(
                approval_id,
                [
                    ApprovalRecord.status.set(REJECTED),
                    *approval_change(
                        REJECTED, by=ACTOR, at=now, reason=f"rejected at {levels[index]['name']}"
                    ),
                ],
                seen,
            )
            continue
        if done == APPROVED:
            last = index + 1 == len(levels)
            actions: list[Action] = [
                ApprovalRecord.open_group.remove(),
                ApprovalRecord.task_token.remove(),
                ApprovalRecord.due_at.remove(),
            ]
            if last:
                actions += [
                    ApprovalRecord.status.set(APPROVED),
                    *approval_change(APPROVED, by=ACTOR, at=now, reason="every level approved"),
                ]
            else:
                nxt = levels[index + 1]
                actions += [
                    ApprovalRecord.level_index.set(index + 1),
                    ApprovalRecord.escalations.set(0),
                    ApprovalRecord.group.set(nxt["group"]),
                    *approval_change(
                        "LEVEL_APPROVED",
                        by=ACTOR,
                        at=now,
                        reason=f"{levels[index]['name']} approved; next: {nxt['name']} ({nxt['group']})",
                    ),
                ]
            update_approval(approval_id, actions, seen)
            continue
        level = levels[index]
        from oms.governance.rules import seconds_of

        return StepOutcome(
            outcome="AWAIT",
            level_index=index,
            escalations=int(approval.escalations),
            sla_seconds=seconds_of(level["sla"]),
            group=approval.group,
        )


def open_level(
    approval_id: str, *, level_index: int, escalations: int, task_token: str, now: datetime
) -> None:
    """Keep the waiting level's task token and assign the level to its group, due after its SLA."""
    approval = _require(approval_id)
    level = _levels(approval)[level_index]
    from oms.governance.rules import seconds_of

    due = now + timedelta(seconds=seconds_of(level["sla"]))
    opened = update_approval(
        approval_id,
        [
            ApprovalRecord.task_token.set(task_token),
            ApprovalRecord.open_group.set(str(approval.group)),
            ApprovalRecord.due_at.set(due.isoformat()),
            *approval_change(
                "WAITING",
                by=ACTOR,
                at=now,
                reason=f"{level['name']}: waiting for group {approval.group} until {due.isoformat()}",
            ),
        ],
        (ApprovalRecord.status == PENDING)
        & (ApprovalRecord.level_index == level_index)
        & (ApprovalRecord.escalations == escalations),
    )
    if not opened or _level_done(_require(approval_id)) is not None:
        # Voided or decided meanwhile: wake the workflow at once, it reads where the approval stands.
        _send(task_token, {"decision": "CHANGED"})


def breach(approval_id: str, *, level_index: int, escalations: int, now: datetime) -> None:
    """The level's SLA passed: escalate to the next target group, or expire the approval."""
    approval = _require(approval_id)
    if (
        approval.status != PENDING
        or int(approval.level_index) != level_index
        or int(approval.escalations) != escalations
        or _level_done(approval) is not None  # decided, but the token came too late
    ):
        return
    order = get_order(approval.order_id)
    if not _waits_for(order, approval):  # cancelled or amended meanwhile: nothing to escalate
        void_approval(approval, now=now, reason=_why_void(order), wake=False)
        return
    level = _levels(approval)[level_index]
    targets: list[str] = level["escalation"]["to"]
    count = len(targets) if level["escalation"]["max"] is None else int(level["escalation"]["max"])
    seen = (ApprovalRecord.status == PENDING) & (ApprovalRecord.change_no == int(approval.change_no))
    if escalations < count:
        to = targets[escalations]
        breached = update_approval(
            approval_id,
            [
                ApprovalRecord.escalations.set(escalations + 1),
                ApprovalRecord.group.set(to),
                ApprovalRecord.open_group.remove(),
                ApprovalRecord.task_token.remove(),
                *approval_change(
                    "ESCALATED",
                    by=ACTOR,
                    at=now,
                    reason=f"{level['name']}: no decision within {level['sla']} by {approval.group}; "
                    f"escalated to {to}",
                ),
            ],
            seen,
        )
        metrics.add_metric(name="ApprovalsEscalated", unit=MetricUnit.Count, value=1)
        if breached:  # once per breach, however often the timer's step is retried
            metrics.add_metric(name="ApprovalSlaBreaches", unit=MetricUnit.Count, value=1)
        return
    expired = update_approval(
        approval_id,
        [
            ApprovalRecord.status.set(EXPIRED),
            ApprovalRecord.open_group.remove(),
            ApprovalRecord.task_token.remove(),
            *approval_change(
                EXPIRED,
                by=ACTOR,
                at=now,
                reason=f"{level['name']}: no decision within its SLA after {escalations} escalation(s); "
                f"the rule says {_on_breach(approval).value}",
            ),
        ],
        seen,
    )
    if expired:
        metrics.add_metric(name="ApprovalsExpired", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ApprovalSlaBreaches", unit=MetricUnit.Count, value=1)


def settle(approval_id: str, *, workflow_arn: str, event_bus: str, now: datetime) -> str:
    """Apply the approval's outcome to its order (once: every write is conditional on the order still
    waiting for this approval)."""
    approval = _require(approval_id)
    order = get_order(approval.order_id)
    waiting = (
        order.status == OrderStatus.ON_HOLD.value
        and order.hold_reason in APPROVAL_HOLDS
        and order.approval_id == approval_id
        and int(order.revision) == int(approval.revision)
    )
    condition = (
        (OrderRecord.status == OrderStatus.ON_HOLD.value)
        & (OrderRecord.approval_id == approval_id)
        & (OrderRecord.revision == int(approval.revision))
    )
    status = approval.status
    if status == APPROVED:
        if waiting:
            actions, _ = transition_update(
                OrderStatus.VALIDATED, ACTOR, now, f"approved ({approval_id})", OrderStatus.ON_HOLD
            )
            actions.append(OrderRecord.hold_reason.remove())
            exposure = None
            if order.hold_reason == HoldReason.CREDIT_LIMIT.value and order.credit_exposure is None:
                credit = credit_of(order.customer.customer_id)
                if credit.known and credit.credit_limit is not None:
                    # credit control approved the order past the limit: it counts from now on
                    actions += [
                        OrderRecord.credit_exposure.set(Decimal(order.grand_total)),
                        OrderRecord.credit_revision.set(int(order.revision)),
                    ]
                    exposure = ExposureChange(credit.customer_id, Decimal(order.grand_total))
            try:
                commit(order_id=order.order_id, order=OrderWrite(actions, condition), exposure=exposure)
            except ApprovalConflictError:
                return _settled_already(approval_id)
            metrics.add_metric(name="OrdersApproved", unit=MetricUnit.Count, value=1)
        if get_order(order.order_id).status == OrderStatus.VALIDATED.value:
            start_lifecycle(
                order.order_id,
                workflow_arn,
                amendment=amendment_of(order),
                execution_name=f"{order.order_id}-{approval_id}",
                resume_at_allocation=True,
            )
        return APPROVED
    if status == REJECTED or (status == EXPIRED and _on_breach(approval) is OnBreach.REJECT):
        if waiting:
            reason = _last_reason(approval) or "rejected"
            # The release path of cancellations: any stock it holds released and its warehouses told,
            # once (decision 0014), its credit exposure given back, in the transaction that rejects it.
            release = plan_release(order, reason=f"order rejected: {reason}")
            if not end_claim(
                release, OrderStatus.REJECTED, by=ACTOR, at=now, reason=reason, event_bus=event_bus
            ):
                return _settled_already(approval_id)
            metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        return REJECTED
    if status == EXPIRED:  # HOLD: a person resubmits it (`ops release` validates and routes it again)
        if waiting:
            actions = [
                OrderRecord.hold_reason.set(HoldReason.APPROVAL_EXPIRED.value),
                OrderRecord.updated_at.set(now),
                *append_history(
                    history_entry(
                        OrderStatus.ON_HOLD.value,
                        OrderStatus.ON_HOLD.value,
                        now,
                        ACTOR,
                        f"{HoldReason.APPROVAL_EXPIRED.value}: {_last_reason(approval)}",
                    )
                ),
            ]
            try:
                commit(order_id=order.order_id, order=OrderWrite(actions, condition))
            except ApprovalConflictError:
                return _settled_already(approval_id)
        return EXPIRED
    return status


def _settled_already(approval_id: str) -> str:
    approval = _require(approval_id)
    return str(approval.status)


def _last_reason(approval: ApprovalRecord) -> str | None:
    return approval.last_change.reason if approval.last_change is not None else None


# --------------------------------------------------------------------------------------- decisions
class ApprovalRefused(Exception):
    def __init__(self, status: int, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.rule = rule
        self.reason = reason


class ApprovalView(BaseModel):
    approval_id: str
    order_id: str
    status: str
    level: str | None
    group: str | None
    due_at: str | None
    amount: Decimal
    currency: str
    reasons: list[str]
    levels: list[str]
    decisions: list[dict[str, Any]]

    @classmethod
    def of(cls, approval: ApprovalRecord) -> ApprovalView:
        rules = json.loads(approval.rules)
        levels = [level["name"] for level in rules["levels"]]
        return cls(
            approval_id=approval.approval_id,
            order_id=approval.order_id,
            status=approval.status,
            level=levels[int(approval.level_index)] if approval.status == PENDING else None,
            group=approval.group if approval.status == PENDING else None,
            due_at=approval.due_at,
            amount=Decimal(approval.amount),
            currency=approval.currency,
            reasons=rules["reasons"],
            levels=levels,
            decisions=[
                {
                    "level": d.level,
                    "decision": d.decision,
                    "by": d.by,
                    "at": d.at.isoformat(),
                    "reason": d.reason,
                }
                for d in approval.decisions or []
            ],
        )


def assigned_to(identity: Identity) -> list[ApprovalView]:
    """The open approvals waiting for one of the caller's groups, soonest due first."""
    views = [
        ApprovalView.of(a)
        for group in sorted(identity.groups)
        for a in open_for_group(group)
        if a.status == PENDING
    ]
    return sorted(views, key=lambda v: v.due_at or "")


def decide(
    approval_id: str,
    *,
    identity: Identity,
    approve: bool,
    reason: str,
    policy: GovernancePolicy,
    now: datetime,
    request_id: str | None,
) -> ApprovalView:
    """A person approves or rejects the approval's current level. Raises ApprovalRefused (4xx, with the
    rule) for every refusal, each written to the audit trail; nothing else changes."""
    action = "APPROVE" if approve else "REJECT"
    approval = get_approval(approval_id) if approval_id.startswith("apr_") else None

    def refuse(status: int, rule: str, why: str) -> ApprovalRefused:
        record_refusal(
            approval.order_id if approval is not None else None,
            actor=identity.subject,
            action=f"APPROVAL_{action}_REFUSED",
            rule=rule,
            reason=why,
            at=now,
            request_id=request_id,
            details={"approval_id": approval_id[:64]},
        )
        metrics.add_metric(name="ApprovalDecisionsRefused", unit=MetricUnit.Count, value=1)
        return ApprovalRefused(status, rule, why)

    if approval is None:
        raise refuse(404, "approval-exists", f"no approval {approval_id[:64]}")
    if approval.status != PENDING:
        rule = {VOID: "approval-void", EXPIRED: "approval-expired"}.get(approval.status, "approval-decided")
        raise refuse(409, rule, f"approval {approval_id} is {approval.status}; nothing can be decided on it")
    order = get_order(approval.order_id)
    if not _waits_for(order, approval):
        void_approval(approval, now=now, reason=_why_void(order))
        raise refuse(409, "approval-void", f"order {order.order_id}: {_why_void(order)}")
    levels = _levels(approval)
    level = levels[int(approval.level_index)]
    approved_by = tuple(d.by for d in approval.decisions or [] if d.decision == APPROVED)
    subject = ApprovalSubject(
        group=str(approval.group),
        entered_by=order.entered_by,
        amended_by=order.amended_by,
        approved_by=approved_by,
    )
    refusal = approval_refusal(identity, subject, policy.duties, approving=approve)
    if refusal is not None:
        raise refuse(403, refusal.rule, refusal.reason)
    if not approval.task_token or approval.open_group != approval.group:
        raise refuse(409, "approval-not-open", f"{level['name']} is being escalated or opened; try again")
    decision = ApprovalDecisionAttribute(
        level=level["name"],
        decision=APPROVED if approve else REJECTED,
        by=identity.subject,
        at=now,
        reason=reason,
        group=str(approval.group),
    )
    token = approval.task_token
    recorded = update_approval(
        approval_id,
        [
            ApprovalRecord.decisions.set((ApprovalRecord.decisions | []).append([decision])),
            *approval_change(
                "APPROVED_BY_PERSON" if approve else "REJECTED_BY_PERSON",
                by=identity.subject,
                at=now,
                reason=f"{level['name']}: {reason}",
            ),
        ],
        (ApprovalRecord.status == PENDING) & (ApprovalRecord.change_no == int(approval.change_no)),
    )
    if not recorded:
        raise refuse(409, "approval-changed", f"approval {approval_id} changed meanwhile; read it again")
    updated = _require(approval_id)
    if _level_done(updated) is not None:
        _send(token, {"decision": decision.decision})
    metrics.add_metric(name="ApprovalDecisions", unit=MetricUnit.Count, value=1)
    return ApprovalView.of(updated)
