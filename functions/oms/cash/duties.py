"""Segregation of duties in cash, enforced on the server (decision 0035).

The duties a person holds come from the JWT the API's authorizer verified: its scopes (and groups), as in
the governance issue's `oms.governance.duties` (same `Identity.from_claims`, same refusal shape: a rule name
and a reason, answered as 403). API Gateway already refuses a route to a token without the route's scope;
these rules are what a scope cannot say:

* ``conflicting-duties`` — a token that holds two duties kept apart (granting and executing refunds;
  recording payments and executing refunds) cannot use either to execute a refund;
* ``refund-four-eyes`` — the person who granted a refund cannot execute it, whatever their token holds.

This module is the one place cash asks; who calls is governance's `Identity` (oms.governance.duties).
"""

from __future__ import annotations

from oms.cash.ledger import CashError
from oms.governance.duties import Identity

__all__ = ["DutyRefusedError", "Identity", "refund_execution_refusal"]

RECORD_PAYMENTS = "oms/payments.record"
GRANT_REFUNDS = "oms/refunds.grant"
EXECUTE_REFUNDS = "oms/refunds.execute"
CREDIT_CONTROL = "oms/credit.write"
READ_RECEIVABLES = "oms/receivables.read"
AUTHORIZE_RETURNS = "oms/returns.write"
RECEIVE_RETURNS = "oms/returns.receive"

KEPT_APART: tuple[tuple[str, str], ...] = (
    (GRANT_REFUNDS, EXECUTE_REFUNDS),
    (RECORD_PAYMENTS, EXECUTE_REFUNDS),
)
"""Pairs of duties one token must not combine to move money out."""


class DutyRefusedError(CashError):
    """A segregation-of-duties rule forbids this person this action (403); `rule` names it."""

    code = "DUTY_REFUSED"

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"{rule}: {reason}")
        self.rule = rule


def refund_execution_refusal(identity: Identity, *, granted_by: str) -> DutyRefusedError | None:
    """Why `identity` may not execute a refund granted by `granted_by` (None: it may)."""
    for first, second in KEPT_APART:
        if EXECUTE_REFUNDS in (first, second) and {first, second} <= identity.scopes:
            other = first if second == EXECUTE_REFUNDS else second
            return DutyRefusedError(
                "conflicting-duties",
                f"{identity.subject}'s token holds {other} and {EXECUTE_REFUNDS}; "
                "these duties are kept apart",
            )
    if identity.subject == granted_by:
        return DutyRefusedError(
            "refund-four-eyes", f"{identity.subject} granted this refund and cannot also execute it"
        )
    return None
