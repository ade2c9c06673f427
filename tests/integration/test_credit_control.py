"""Credit control on the embedded AWS: a customer's exposure moves only inside the transactions that accept
or reject its orders, conditional on the limit, so concurrent orders cannot take it past the limit; the
orders that do not fit wait for credit control (CREDIT_LIMIT)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from infra import DeployedStack
from oms.channels.erp import parse_erp_order
from oms.data.models import ApprovalRecord, CustomerRecord, OrderRecord
from oms.data.orders import create_order
from oms.domain.status import OrderStatus
from oms.governance.approvals import route_order
from oms.governance.rules import GovernancePolicy
from tests.support.world import bind

LIMIT = Decimal("10000.00")
ORDER_TOTAL = Decimal("645.00")  # 5 x 129.00, no tax, no shipping
CUSTOMER = "erp-ACCT-CREDIT"


def _order(number: int) -> str:
    body = {
        "order_id": f"SO-CREDIT-{number:03d}",
        "currency": "USD",
        "customer": {"id": "ACCT-CREDIT", "name": "Credit Test Ltd"},
        "shipping_address": {
            "name": "Receiving",
            "line1": "1 Dock St",
            "city": "Newark",
            "region": "NJ",
            "postal_code": "07102",
            "country": "US",
        },
        "lines": [
            {
                "line_id": "10",
                "sku": "ELC-KVM-4P",
                "name": "KVM",
                "quantity": 5,
                "unit_price": "129.00",
                "discount": "0.00",
                "tax": "0.00",
            }
        ],
        "shipping_total": "0.00",
        "tax_total": "0.00",
        "grand_total": str(ORDER_TOTAL),
        "placed_at": "2026-11-02T16:03:00Z",
    }
    order = parse_erp_order(body, entered_by="user:clerk")
    record, _ = create_order(order, datetime.now(UTC))
    record.update(actions=[OrderRecord.status.set(OrderStatus.VALIDATED.value)])
    return record.order_id


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    return embedded_aws


def test_fifty_concurrent_orders_never_take_exposure_past_the_limit(world: DeployedStack) -> None:
    # Given a corporate customer with a 10,000.00 limit and nothing owed, and 50 validated orders of 645.00
    CustomerRecord(CUSTOMER, name="Credit Test Ltd", tier="CORPORATE", credit_limit=LIMIT).save()
    order_ids = [_order(n) for n in range(50)]
    policy = GovernancePolicy()  # credit control only
    start = threading.Barrier(50)

    def route(order_id: str) -> str:
        start.wait()
        return route_order(
            order_id,
            policy=policy,
            approval_workflow_arn=world.outputs["ApprovalWorkflowArn"],
            now=datetime.now(UTC),
        ).outcome

    # When all fifty are routed at once
    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(route, order_ids))

    # Then exactly the 15 that fit (15 x 645.00 = 9,675.00; a 16th would make 10,320.00) go on, the exposure
    # is their sum and within the limit, and the other 35 wait for credit control
    customer = CustomerRecord.get(CUSTOMER, consistent_read=True)
    assert outcomes.count("VALIDATED") == 15
    assert Decimal(customer.exposure) == Decimal("9675.00") <= LIMIT
    orders = [OrderRecord.get(order_id, consistent_read=True) for order_id in order_ids]
    counted = [o for o in orders if o.credit_exposure is not None]
    assert sum((Decimal(o.credit_exposure) for o in counted), Decimal(0)) == Decimal(customer.exposure)
    held = [o for o in orders if o.status == OrderStatus.ON_HOLD.value]
    assert len(held) == 35
    assert {o.hold_reason for o in held} == {"CREDIT_LIMIT"}
    approvals = [ApprovalRecord.get(o.approval_id) for o in held if o.approval_id]
    assert len(approvals) == 35
    assert {a.group for a in approvals} == {"credit-control"}
    assert all("over the credit limit" in a.rules for a in approvals)
    world.embedded.wait_idle(timeout=120)


def test_a_customer_on_credit_hold_waits_for_credit_control_whatever_the_amount(world: DeployedStack) -> None:
    CustomerRecord(
        "erp-ACCT-HOLD", name="Held Ltd", tier="CORPORATE", credit_limit=LIMIT, credit_hold=True
    ).save()
    body_order = _order(900)
    OrderRecord(body_order).update(
        actions=[OrderRecord.customer.customer_id.set("erp-ACCT-HOLD")]  # type: ignore[attr-defined]
    )
    routing = route_order(
        body_order,
        policy=GovernancePolicy(),
        approval_workflow_arn=world.outputs["ApprovalWorkflowArn"],
        now=datetime.now(UTC),
    )
    assert routing.outcome == "AWAITING_APPROVAL"
    assert "credit hold" in routing.detail
    assert CustomerRecord.get("erp-ACCT-HOLD", consistent_read=True).exposure is None
    world.embedded.wait_idle(timeout=60)


def test_an_amended_order_is_routed_again_and_counts_its_new_total_once(world: DeployedStack) -> None:
    # Given a customer whose one order of 645.00 was accepted and counted in its exposure
    CustomerRecord("erp-ACCT-AMEND", name="Amend Ltd", tier="CORPORATE", credit_limit=LIMIT).save()
    order_id = _order(950)
    OrderRecord(order_id).update(
        actions=[OrderRecord.customer.customer_id.set("erp-ACCT-AMEND")]  # type: ignore[attr-defined]
    )
    policy = GovernancePolicy.model_validate(
        {
            "rules": [
                {
                    "name": "over-1000",
                    "when": {"min_total": "1000.00"},
                    "levels": [{"name": "manager", "group": "sales-managers"}],
                }
            ]
        }
    )
    arn = world.outputs["ApprovalWorkflowArn"]
    assert route_order(order_id, policy=policy, approval_workflow_arn=arn, now=datetime.now(UTC)).outcome == (
        "VALIDATED"
    )
    assert CustomerRecord.get("erp-ACCT-AMEND", consistent_read=True).exposure == ORDER_TOTAL
    # When the channel amends it to 1,290.00 (revision 2) and validation passes again
    record = OrderRecord.get(order_id, consistent_read=True)
    record.update(
        actions=[
            OrderRecord.revision.set(2),
            OrderRecord.grand_total.set(Decimal("1290.00")),
            OrderRecord.status.set(OrderStatus.VALIDATED.value),
        ]
    )
    routing = route_order(order_id, policy=policy, approval_workflow_arn=arn, now=datetime.now(UTC))
    # Then the new content needs approval (an earlier count does not let it through), and the exposure holds
    # the new total once: 1,290.00, not 645.00 + 1,290.00
    assert routing.outcome == "AWAITING_APPROVAL"
    assert CustomerRecord.get("erp-ACCT-AMEND", consistent_read=True).exposure == Decimal("1290.00")
    assert OrderRecord.get(order_id, consistent_read=True).credit_revision == 2
    world.embedded.wait_idle(timeout=60)
