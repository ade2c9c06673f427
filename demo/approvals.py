"""The day's corporate orders that need approval, over real HTTP: a sales rep enters three orders of more
than 25,000 (the template's `large-corporate-order` rule: a sales manager, then finance); the rep's own
approval is refused; one order is approved at once, one waits until its 4-hour SLA passes and escalates to
the sales directors, one is rejected. What each approval's Standard workflow cost is measured from its
execution history (state transitions, billed $0.025 per 1,000)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import boto3
import httpx

from oms.data.models import CustomerRecord, OrderRecord

STANDARD_TRANSITION_USD = Decimal("0.000025")
CUSTOMER = {"id": "ACCT-30001", "name": "Pacific Northwest Medical Group", "email": "ap@pnwmed.example"}
SHIP_TO = {
    "name": "PNWMG Central Receiving",
    "line1": "2200 NW Front Ave",
    "line2": None,
    "city": "Portland",
    "region": "OR",  # no sales tax: the orders carry none
    "postal_code": "97209",
    "country": "US",
}
ORDERS: dict[str, list[tuple[str, int, str]]] = {
    # approved straight away by a sales manager, then finance
    "SO-2026-7001": [
        ("ELC-CAT6-10M", 1000, "9.80"),
        ("ELC-USB-C-2M", 800, "11.49"),
        ("ELC-SURGE-8", 300, "24.99"),
    ],
    # nobody acts within the sales managers' 4 hours: escalated to the sales directors
    "SO-2026-7002": [
        ("ELC-HDMI-1M", 1000, "10.90"),
        ("ELC-DP-2M", 700, "13.75"),
        ("ELC-PB-20K", 150, "34.50"),
    ],
    # rejected by the sales manager
    "SO-2026-7003": [("ELC-KB-WL", 400, "39.00"), ("ELC-MS-WL", 500, "19.50")],
}


@dataclass
class ApprovalsSummary:
    entered: int = 0
    self_approval_refused: int = 0
    escalated: int = 0
    approved: int = 0
    rejected: int = 0
    end_states: dict[str, str] = field(default_factory=dict)
    transitions_per_approved_order: float = 0.0
    transitions_per_rejected_order: float = 0.0
    usd_per_approved_order: str = "0"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _body(number: str, lines: list[tuple[str, int, str]]) -> dict[str, Any]:
    total = sum((Decimal(price) * quantity for _, quantity, price in lines), Decimal(0))
    return {
        "order_id": number,
        "currency": "USD",
        "customer": CUSTOMER,
        "shipping_address": SHIP_TO,
        "lines": [
            {
                "line_id": str(10 * (i + 1)),
                "sku": sku,
                "name": sku,
                "quantity": quantity,
                "unit_price": price,
                "discount": "0.00",
                "tax": "0.00",
            }
            for i, (sku, quantity, price) in enumerate(lines)
        ],
        "shipping_total": "0.00",
        "tax_total": "0.00",
        "grand_total": str(total),
        "placed_at": "2026-11-02T15:00:00Z",
        "customer_reference": f"PO {number}",
    }


class _Api:
    def __init__(self, stack: Any, base_url: str, client: httpx.Client) -> None:
        self.stack, self.base_url, self.client = stack, base_url, client

    def token(self, user: str, *groups: str, scopes: tuple[str, ...] = ("oms/approvals.write",)) -> str:
        return str(self.stack.mint_token(user, list(scopes), extra_claims={"cognito:groups": list(groups)}))

    def enter(self, token: str, body: dict[str, Any]) -> str:
        response = self.client.post(
            f"{self.base_url}/orders",
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        if response.status_code != 202:
            raise RuntimeError(f"entering {body['order_id']}: {response.status_code} {response.text}")
        return str(response.json()["order_id"])

    def approval_of(self, token: str, order_id: str) -> dict[str, Any]:
        response = self.client.get(
            f"{self.base_url}/approvals",
            params={"assigned": "me"},
            headers={"Authorization": f"Bearer {token}"},
        )
        found = [a for a in response.json()["approvals"] if a["order_id"] == order_id]
        if len(found) != 1:
            raise RuntimeError(f"order {order_id}: expected one open approval, found {found}")
        return found[0]

    def decide(self, token: str, approval_id: str, verb: str, reason: str) -> httpx.Response:
        return self.client.post(
            f"{self.base_url}/approvals/{approval_id}/{verb}",
            json={"reason": reason},
            headers={"Authorization": f"Bearer {token}"},
        )


def save_corporate_customer(credit_limit: Decimal = Decimal("250000.00")) -> None:
    """The corporate account the ERP orders are entered for: net 30, a credit limit."""
    CustomerRecord(
        f"erp-{CUSTOMER['id']}",
        name=CUSTOMER["name"],
        email=CUSTOMER["email"],
        tier="CORPORATE",
        payment_terms_days=30,
        credit_limit=credit_limit,
    ).save()


def run_corporate_approvals(aws: Any, stack: Any, base_url: str) -> ApprovalsSummary:
    summary = ApprovalsSummary()
    save_corporate_customer()
    with httpx.Client(timeout=30.0) as client:
        api = _Api(stack, base_url, client)
        rep = api.token("sales-rep-kim", scopes=("oms/orders.write",))
        ids = {number: api.enter(rep, _body(number, lines)) for number, lines in ORDERS.items()}
        summary.entered = len(ids)
        aws.wait_idle(timeout=120)
        manager = api.token("mgr-lee", "sales-managers")
        director = api.token("dir-ng", "sales-directors")
        finance = api.token("fin-ortiz", "finance-approvers")
        approved, escalated, rejected = ids["SO-2026-7001"], ids["SO-2026-7002"], ids["SO-2026-7003"]
        approvals = {
            number: api.approval_of(manager, order_id)["approval_id"] for number, order_id in ids.items()
        }

        # The rep who entered the order tries to approve it (with an approver's group): refused, rule named
        own = api.decide(
            api.token("sales-rep-kim", "sales-managers"), approvals["SO-2026-7001"], "approve", "ok"
        )
        if own.status_code != 403 or own.json()["error"] != "no-self-approval":
            raise RuntimeError(f"self-approval answered {own.status_code} {own.text}")
        summary.self_approval_refused += 1

        for response in (
            api.decide(manager, approvals["SO-2026-7001"], "approve", "framework agreement pricing"),
            api.decide(manager, approvals["SO-2026-7003"], "reject", "no purchase order on file"),
        ):
            if response.status_code != 200:
                raise RuntimeError(f"decision answered {response.status_code} {response.text}")
        aws.wait_idle(timeout=120)

        # Nobody decides SO-2026-7002 within the sales managers' 4 hours: it escalates.
        aws.scheduler.advance(timedelta(hours=4, minutes=1))
        aws.wait_idle(timeout=300)
        if api.approval_of(director, escalated)["group"] != "sales-directors":
            raise RuntimeError("SO-2026-7002 was not escalated to the sales directors")
        summary.escalated += 1
        if api.decide(director, approvals["SO-2026-7002"], "approve", "strategic account").status_code != 200:
            raise RuntimeError("the director's approval was refused")
        aws.wait_idle(timeout=120)
        for number in ("SO-2026-7001", "SO-2026-7002"):
            if (
                api.decide(finance, approvals[number], "approve", "within credit, terms net 30").status_code
                != 200
            ):
                raise RuntimeError(f"finance's approval of {number} was refused")
        aws.wait_idle(timeout=120)

    for number, order_id in ids.items():
        order = OrderRecord.get(order_id, consistent_read=True)
        summary.end_states[number] = order.status
    waiting = ("ON_HOLD", "REJECTED")
    summary.approved = sum(
        1 for o in (approved, escalated) if OrderRecord.get(o, consistent_read=True).status not in waiting
    )
    summary.rejected = 1 if OrderRecord.get(rejected, consistent_read=True).status == "REJECTED" else 0
    transitions = {number: _transitions(stack, approvals[number]) for number in ORDERS}
    summary.transitions_per_approved_order = (transitions["SO-2026-7001"] + transitions["SO-2026-7002"]) / 2
    summary.transitions_per_rejected_order = float(transitions["SO-2026-7003"])
    summary.usd_per_approved_order = str(
        (STANDARD_TRANSITION_USD * Decimal(str(summary.transitions_per_approved_order))).normalize()
    )
    return summary


def _transitions(stack: Any, approval_id: str) -> int:
    """State transitions of the approval's execution (what Standard bills): states entered."""
    sfn = boto3.client("stepfunctions")
    arn = stack.outputs["ApprovalWorkflowArn"].replace(":stateMachine:", ":execution:") + f":{approval_id}"
    events: list[dict[str, Any]] = []
    token = None
    while True:
        page = sfn.get_execution_history(
            executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    return sum(1 for e in events if e["type"].endswith("StateEntered"))
