"""Approval over real HTTP on the embedded AWS, with the real statemachine/approval.asl.json (Standard)
waiting on task tokens and the local clock: a corporate order over the threshold waits; the user who
entered it cannot approve it (403, rule named); nobody acting within the SLA escalates it; the second level
approves and the order allocates and ships. A second order is rejected (no stock taken, none released
twice); a third, amended after its first approval, waits again from the start."""

from __future__ import annotations

import json
from collections.abc import Iterator
from copy import deepcopy
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from aws_lambda_powertools.utilities import parameters
from cfnlint.decode import cfn_yaml

from bench.meter import Meter, Metering
from demo.simulators import WarehouseSimulator
from infra import DeployedStack
from oms.data.models import CustomerRecord, InventoryMovementRecord
from tests.support.world import (
    bind,
    get_order,
    load_event,
    post_webhook,
    seed_catalog,
    seed_warehouses,
    set_stock,
    shopify_order,
    shopify_webhook,
    stock_of,
)

SKUS = {"ELC-PSU-65W": "39.95", "ELC-HDMI-2M": "14.50", "ELC-KVM-4P": "129.00"}
POLICY = {
    "rules": [
        {
            "name": "large-corporate-order",
            "when": {"min_total": "2500.00", "customer_tiers": ["CORPORATE"]},
            "levels": [
                {
                    "name": "sales-manager",
                    "group": "sales-managers",
                    "sla": "4h",
                    "escalation": {"to": ["sales-directors"]},
                },
                {"name": "finance", "group": "finance-approvers", "sla": "8h"},
            ],
            "on_breach": "REJECT",
        }
    ]
}


@pytest.fixture(scope="module")
def metered(embedded_aws: DeployedStack) -> Iterator[Meter]:
    """Every AWS call the functions make during this module's flows, by function (the embedded AWS does
    not enforce IAM: the last test holds each new function's policy to these calls)."""
    metering = Metering(embedded_aws.embedded)
    metering.install()
    metering.meter = Meter(account_id=embedded_aws.embedded.account_id)
    try:
        yield metering.meter
    finally:
        metering.meter = None
        metering.uninstall()


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack, metered: Meter) -> DeployedStack:
    bind(embedded_aws)
    seed_catalog(SKUS)
    seed_warehouses({"WH-NJ": 1})
    for sku in SKUS:
        set_stock(sku, "WH-NJ", 2000)
    for customer_id in ("erp-ACCT-10442", "shopify-7400000000003"):
        CustomerRecord(customer_id, name=customer_id, tier="CORPORATE", payment_terms_days=30).save()
    # The approval rules are data: this test's policy (a 2,500 threshold; the template ships 25,000).
    boto3.client("ssm").put_parameter(
        Name=embedded_aws.resources["GovernancePolicyParameter"],
        Value=json.dumps(POLICY),
        Type="String",
        Overwrite=True,
    )
    # The functions run in this process: forget a policy an earlier module's stack (same parameter name)
    # left in Powertools' 5-minute cache.
    parameters.clear_caches()
    return embedded_aws


def _token(world: DeployedStack, user: str, *groups: str, scopes: tuple[str, ...] = ()) -> str:
    return world.mint_token(
        user, list(scopes or ("oms/approvals.write",)), extra_claims={"cognito:groups": list(groups)}
    )


def _enter(world: DeployedStack, order_number: str, user: str = "clerk-ann") -> str:
    # The recorded ERP order, shipped free (Texas taxes shipping: the sample's 45.00 carries no tax)
    body = deepcopy(load_event("erp/order.json")) | {
        "order_id": order_number,
        "shipping_total": "0.00",
        "grand_total": "3898.95",
    }
    token = world.mint_token(user, ["oms/orders.write"])
    response = httpx.post(
        f"{world.api_url}/orders",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    order_id: str = response.json()["order_id"]
    return order_id


def _assigned(world: DeployedStack, token: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{world.api_url}/approvals",
        params={"assigned": "me"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    approvals: list[dict[str, Any]] = response.json()["approvals"]
    return approvals


def _approval_of(world: DeployedStack, token: str, order_id: str) -> dict[str, Any]:
    found = [a for a in _assigned(world, token) if a["order_id"] == order_id]
    assert len(found) == 1, found
    return found[0]


def _decide(world: DeployedStack, token: str, approval_id: str, verb: str, reason: str) -> httpx.Response:
    return httpx.post(
        f"{world.api_url}/approvals/{approval_id}/{verb}",
        json={"reason": reason},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _audit(world: DeployedStack, order_id: str) -> dict[str, Any]:
    token = world.mint_token("auditor", ["oms/audit.read"])
    response = httpx.get(
        f"{world.api_url}/orders/{order_id}/audit", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    trail: dict[str, Any] = response.json()
    return trail


def test_a_corporate_order_waits_escalates_is_approved_at_the_second_level_and_ships(
    world: DeployedStack,
) -> None:
    embedded = world.embedded
    manager = _token(world, "mgr-bob", "sales-managers")
    director = _token(world, "dir-cara", "sales-directors")
    finance = _token(world, "fin-dan", "finance-approvers")
    before = stock_of("ELC-KVM-4P", "WH-NJ")

    # Given a corporate order of 3,898.95 entered by clerk Ann
    order_id = _enter(world, "SO-2026-A1")
    embedded.wait_idle(timeout=60)

    # Then it waits for approval: on hold, nothing reserved, assigned to the sales managers
    order = get_order(world, order_id).json()
    assert (order["status"], order["hold_reason"]) == ("ON_HOLD", "APPROVAL_REQUIRED"), order
    assert stock_of("ELC-KVM-4P", "WH-NJ") == before
    approval = _approval_of(world, manager, order_id)
    assert (approval["level"], approval["group"]) == ("sales-manager", "sales-managers")
    assert "task_token" not in json.dumps(approval)

    # When Ann, who entered it, tries to approve it (holding the approver group)
    own = _decide(
        world, _token(world, "clerk-ann", "sales-managers"), approval["approval_id"], "approve", "ok"
    )
    # Then she is refused with the rule named, and nothing changed
    assert own.status_code == 403, own.text
    assert own.json()["error"] == "no-self-approval"
    assert _approval_of(world, manager, order_id)["decisions"] == []

    # When nobody acts within the sales managers' SLA of 4 hours
    embedded.scheduler.advance(timedelta(hours=4, minutes=1))
    embedded.wait_idle(timeout=60)
    # Then it escalates to the sales directors (and leaves the managers' list)
    assert [a for a in _assigned(world, manager) if a["order_id"] == order_id] == []
    escalated = _approval_of(world, director, order_id)
    assert (escalated["level"], escalated["group"]) == ("sales-manager", "sales-directors")

    # When a director approves, then finance (the second level)
    assert (
        _decide(world, director, approval["approval_id"], "approve", "customer in good standing").status_code
        == 200
    )
    embedded.wait_idle(timeout=60)
    assert _approval_of(world, finance, order_id)["level"] == "finance"
    assert get_order(world, order_id).json()["status"] == "ON_HOLD"
    decided = _decide(world, finance, approval["approval_id"], "approve", "terms checked")
    assert decided.status_code == 200, decided.text
    embedded.wait_idle(timeout=60)

    # Then the order allocates and goes to the warehouse, and ships
    order = get_order(world, order_id).json()
    assert order["status"] == "FULFILLMENT_REQUESTED", order
    assert stock_of("ELC-KVM-4P", "WH-NJ") == (before[0], before[1] + 6, before[2] - 6)
    warehouse = WarehouseSimulator(
        queue_url=world.outputs["FulfillmentRequestsQueueUrl"],
        event_bus=world.outputs["EventBusName"],
        seed=11,
    )
    assert warehouse.ship_pending() == 1
    embedded.wait_idle(timeout=60)
    assert get_order(world, order_id).json()["status"] == "SHIPPED"

    # And its audit trail holds every step, who and why, intact
    trail = _audit(world, order_id)
    assert trail["intact"], trail["findings"]
    actions = [(e["action"], e["actor"]) for e in trail["entries"]]
    assert ("APPROVAL_REQUESTED", "workflow:approval") in actions
    assert ("APPROVAL_APPROVE_REFUSED", "user:clerk-ann") in actions
    assert ("APPROVAL_ESCALATED", "workflow:approval") in actions
    assert ("APPROVAL_APPROVED_BY_PERSON", "user:dir-cara") in actions
    assert ("APPROVAL_APPROVED_BY_PERSON", "user:fin-dan") in actions
    assert ("APPROVAL_APPROVED", "workflow:approval") in actions
    assert actions.index(("APPROVAL_APPROVED", "workflow:approval")) < len(actions) - 1


def test_a_rejected_order_ends_rejected_and_bad_decisions_change_nothing(world: DeployedStack) -> None:
    embedded = world.embedded
    manager = _token(world, "mgr-bob", "sales-managers")
    before = {sku: stock_of(sku, "WH-NJ") for sku in SKUS}
    order_id = _enter(world, "SO-2026-A2")
    embedded.wait_idle(timeout=60)
    approval_id = _approval_of(world, manager, order_id)["approval_id"]

    # Bad input: a forged id, no approver group, no approval scope at all, an empty reason
    forged = _decide(world, manager, "apr_" + "0" * 24, "approve", "looks fine")
    assert (forged.status_code, forged.json()["error"]) == (404, "approval-exists")
    outsider = _decide(world, _token(world, "eve", "warehouse"), approval_id, "approve", "why not")
    assert (outsider.status_code, outsider.json()["error"]) == (403, "approver-group")
    no_duty = _decide(
        world,
        _token(world, "eve", "sales-managers", scopes=("oms/orders.write",)),
        approval_id,
        "approve",
        "x",
    )
    assert no_duty.status_code == 403  # refused by the API's JWT authorizer: the route needs approvals.write
    assert _decide(world, manager, approval_id, "approve", "").status_code == 422

    # When the manager rejects it
    rejected = _decide(world, manager, approval_id, "reject", "price not agreed with the customer")
    assert rejected.status_code == 200, rejected.text
    embedded.wait_idle(timeout=60)

    # Then it ends REJECTED, its stock untouched (none was taken before approval, none released twice)
    order = get_order(world, order_id).json()
    assert order["status"] == "REJECTED", order
    assert [h["status"] for h in order["history"]].count("REJECTED") == 1
    assert {sku: stock_of(sku, "WH-NJ") for sku in SKUS} == before
    assert [m for m in InventoryMovementRecord.scan() if order_id in str(m.attribute_values)] == []

    # And deciding again is refused: nothing changes
    again = _decide(world, _token(world, "mgr-zoe", "sales-managers"), approval_id, "approve", "overrule")
    assert (again.status_code, again.json()["error"]) == (409, "approval-decided")
    assert get_order(world, order_id).json()["status"] == "REJECTED"

    # Every attempt refused by the OMS is in the audit log (the forged id in the caller's own chain)
    refused = [e for e in _audit(world, order_id)["entries"] if e["action"].endswith("_REFUSED")]
    assert [(e["actor"], e["after"]["refused"]) for e in refused] == [
        ("user:eve", "approver-group"),
        ("user:mgr-zoe", "approval-decided"),
    ]
    from oms.data.models import AuditRecord

    assert any("approval-exists" in (r.reason or "") for r in AuditRecord.query("user:mgr-bob"))


def test_an_order_amended_after_its_first_approval_waits_again_from_the_start(world: DeployedStack) -> None:
    embedded = world.embedded
    manager = _token(world, "mgr-bob", "sales-managers")
    finance = _token(world, "fin-dan", "finance-approvers")
    # Given a corporate Shopify order over the threshold, approved by a sales manager
    payload = shopify_order(7300001, [("ELC-PSU-65W", 70, "39.95")])
    assert post_webhook(world, shopify_webhook(payload)).status_code == 202
    embedded.wait_idle(timeout=60)
    first = [a for a in _assigned(world, manager) if a["amount"] == payload["total_price"]]
    assert len(first) == 1, first
    order_id = first[0]["order_id"]
    assert _decide(world, manager, first[0]["approval_id"], "approve", "fine").status_code == 200
    embedded.wait_idle(timeout=60)
    assert _approval_of(world, finance, order_id)["level"] == "finance"

    # When the shop amends it (ten more units)
    edited = shopify_order(7300001, [("ELC-PSU-65W", 80, "39.95")])
    assert post_webhook(world, shopify_webhook(edited, topic="orders/updated")).status_code == 202
    embedded.wait_idle(timeout=60)

    # Then the first approval is void, and the new content waits for the sales managers again
    stale = _decide(world, finance, first[0]["approval_id"], "approve", "as approved before")
    assert (stale.status_code, stale.json()["error"]) == (409, "approval-void")
    assert [a for a in _assigned(world, finance) if a["order_id"] == order_id] == []
    again = _approval_of(world, manager, order_id)
    assert again["approval_id"] != first[0]["approval_id"]
    assert (again["level"], again["amount"]) == ("sales-manager", edited["total_price"])
    order = get_order(world, order_id).json()
    assert (order["status"], order["hold_reason"]) == ("ON_HOLD", "APPROVAL_REQUIRED")

    # And an operator cannot release the hold past its approvers
    from datetime import UTC, datetime

    from oms.domain.errors import InvalidTransitionError
    from oms.logic.holds import release_hold

    with pytest.raises(InvalidTransitionError, match="waits for approval"):
        release_hold(
            order_id,
            by="user:ops-olga",
            note="customer called",
            workflow_arn=world.outputs["OrderWorkflowArn"],
            now=datetime.now(UTC),
        )
    assert get_order(world, order_id).json()["status"] == "ON_HOLD"


def test_an_order_nobody_approves_in_time_is_rejected_as_its_rule_says(world: DeployedStack) -> None:
    embedded = world.embedded
    manager = _token(world, "mgr-bob", "sales-managers")
    director = _token(world, "dir-cara", "sales-directors")
    order_id = _enter(world, "SO-2026-A4")
    embedded.wait_idle(timeout=60)
    approval_id = _approval_of(world, manager, order_id)["approval_id"]
    # When neither the managers (4 h) nor, after the escalation, the directors (4 h more) decide
    embedded.scheduler.advance(timedelta(hours=4, minutes=1))
    embedded.wait_idle(timeout=60)
    assert _approval_of(world, director, order_id)["group"] == "sales-directors"
    embedded.scheduler.advance(timedelta(hours=4, minutes=1))
    embedded.wait_idle(timeout=60)
    # Then the approval expired and the order is rejected (the rule's on_breach), said so in its history
    order = get_order(world, order_id).json()
    assert order["status"] == "REJECTED", order
    assert "no decision within its SLA after 1 escalation(s)" in order["history"][-1]["reason"]
    # and a late approval is refused
    late = _decide(world, director, approval_id, "approve", "sorry, was travelling")
    assert (late.status_code, late.json()["error"]) == (409, "approval-expired")


def test_an_order_cancelled_while_it_waits_is_not_escalated_and_cannot_be_approved(
    world: DeployedStack,
) -> None:
    embedded = world.embedded
    manager = _token(world, "mgr-bob", "sales-managers")
    director = _token(world, "dir-cara", "sales-directors")
    payload = shopify_order(7300002, [("ELC-PSU-65W", 75, "39.95")])
    assert post_webhook(world, shopify_webhook(payload)).status_code == 202
    embedded.wait_idle(timeout=60)
    waiting = [a for a in _assigned(world, manager) if a["amount"] == payload["total_price"]]
    assert len(waiting) == 1, waiting
    approval_id, order_id = waiting[0]["approval_id"], waiting[0]["order_id"]
    # When the shop cancels it, and its SLA passes
    payload |= {"cancelled_at": "2026-11-02T15:00:00-05:00", "cancel_reason": "customer"}
    assert post_webhook(world, shopify_webhook(payload, topic="orders/cancelled")).status_code == 202
    embedded.wait_idle(timeout=60)
    assert get_order(world, order_id).json()["status"] == "CANCELLED"
    embedded.scheduler.advance(timedelta(hours=4, minutes=1))
    embedded.wait_idle(timeout=60)
    # Then nobody is asked to decide it any more, and approving it is refused
    assert [a for a in _assigned(world, director) if a["order_id"] == order_id] == []
    late = _decide(world, manager, approval_id, "approve", "ok")
    assert (late.status_code, late.json()["error"]) == (409, "approval-void")
    assert get_order(world, order_id).json()["status"] == "CANCELLED"


IAM_PREFIX = {
    "dynamodb": "dynamodb",
    "stepfunctions": "states",
    "ssm": "ssm",
    "events": "events",
    "sqs": "sqs",
}
NEW_FUNCTIONS = ("ApprovalWorkflowFunction", "ApprovalsApiFunction", "ValidateFunction")


def test_every_call_the_approval_functions_made_is_in_their_own_policy(
    world: DeployedStack, metered: Meter
) -> None:
    template = cfn_yaml.load(str(Path(__file__).resolve().parents[2] / "template.yaml"))
    allowed: dict[str, set[str]] = {}
    for name in NEW_FUNCTIONS:
        statements = [
            s for p in template["Resources"][name]["Properties"]["Policies"] for s in p["Statement"]
        ]
        allowed[name] = {
            a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
    logical = {world.resources[name]: name for name in NEW_FUNCTIONS}
    made = {
        (logical[function], f"{IAM_PREFIX[service]}:{operation}")
        for (origin, function, service, operation) in metered.calls
        if origin == "lambda" and function in logical and service in IAM_PREFIX
    }
    # A transaction is authorised per item (PutItem, UpdateItem...), each of which is in the policy already.
    made = {(f, action) for f, action in made if action != "dynamodb:TransactWriteItems"}
    assert {f for f, _ in made} == set(NEW_FUNCTIONS)  # each was seen at work
    assert sorted(f"{f}: {a}" for f, a in made if a not in allowed[f]) == []
    # and no function was given more than the flows use, beyond what this module's flows cannot reach
    unused = {(f, a) for f in NEW_FUNCTIONS for a in allowed[f]} - made
    assert unused <= {
        ("ValidateFunction", "secretsmanager:GetSecretValue"),  # channels taxed by the external engine
        ("ValidateFunction", "dynamodb:PutItem"),  # the approval, put inside the routing transaction
        ("ApprovalWorkflowFunction", "dynamodb:DeleteItem"),  # rejecting a backordered order
        ("ApprovalWorkflowFunction", "events:PutEvents"),  # rejecting an order that holds stock
        ("ApprovalWorkflowFunction", "states:SendTaskSuccess"),  # a level decided before it opened
        # the functions share one process here, and Powertools' parameter cache with it
        ("ApprovalsApiFunction", "ssm:GetParameter"),
    }, sorted(unused)
