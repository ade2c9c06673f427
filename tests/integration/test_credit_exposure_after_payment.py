"""Credit control and cash together on the embedded AWS: what a customer owes on its invoices is part of its
credit exposure (decision 0028), so a payment applied to an invoice gives the room back in the same
transaction, and a customer who pays can order again within its limit, while one who does not waits for
credit control. Exercised through the real API: orders entered over HTTP, shipped by the warehouse
simulator, invoiced by the invoice function, paid through finance's API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from infra import DeployedStack
from oms.data.models import CustomerRecord
from tests.support.cash import (
    enter_erp_order,
    finance,
    money,
    order_view,
    set_up_cash,
    ship_everything,
)
from tests.support.world import bind, seed_catalog, seed_warehouses, set_stock

ACCOUNT = "ACCT-EXPO-1"
CUSTOMER = f"erp-{ACCOUNT}"
NAME = "Exposure Test Supply Co"
ORDER_TOTAL = Decimal("299.52")
"""The recorded ERP order's own grand total (tests/events/corpus/erp/e02_wyoming.json)."""
LIMIT = Decimal("500.00")
"""Room for one such order, not two (2 x 299.52 = 599.04)."""
ENTERED: dict[str, str] = {}
"""The OMS order ids of the orders the tests enter, by role."""


def _today() -> date:
    from oms import clock

    return clock.now().date()


def _exposure() -> Decimal:
    return Decimal(CustomerRecord.get(CUSTOMER, consistent_read=True).exposure or 0)


@pytest.fixture(scope="module")
def stack(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    set_up_cash(embedded_aws)
    seed_catalog({"ELC-DOCK-TB4": "249.00", "ELC-MS-WL": "19.50"})
    seed_warehouses({"WH-NJ": 1})
    for sku in ("ELC-DOCK-TB4", "ELC-MS-WL"):
        set_stock(sku, "WH-NJ", 500)
    CustomerRecord(CUSTOMER, name=NAME, tier="CORPORATE", payment_terms_days=30, credit_limit=LIMIT).save()
    return embedded_aws


def test_a_paid_invoice_gives_its_room_back_and_the_next_order_goes_through(stack: DeployedStack) -> None:
    # Given a customer with a 500.00 limit whose first order of 299.52 was accepted, shipped and invoiced
    first = ENTERED["first"] = enter_erp_order(stack, "SO-EXPO-1", ACCOUNT, NAME)
    stack.embedded.wait_idle(timeout=60)
    ship_everything(stack)
    invoice_number = order_view(stack, first)["invoice_number"]
    assert invoice_number, order_view(stack, first)
    # invoicing moves the amount from open orders to receivables: the exposure is unchanged
    assert _exposure() == ORDER_TOTAL

    # When a second order arrives before any payment, it does not fit (299.52 + 299.52 > 500.00)
    second = enter_erp_order(stack, "SO-EXPO-2", ACCOUNT, NAME)
    stack.embedded.wait_idle(timeout=60)
    # Then it waits for credit control and does not count
    held = order_view(stack, second)
    assert held["status"] == "ON_HOLD", held
    assert held["hold_reason"] == "CREDIT_LIMIT", held
    assert _exposure() == ORDER_TOTAL

    # When finance records the customer's wire paying the first invoice in full
    paid = finance(
        stack,
        "POST",
        "/payments",
        body={
            "reference": "WIRE-EXPO-1",
            "amount": str(ORDER_TOTAL),
            "currency": "USD",
            "received_on": _today().isoformat(),
            "customer_id": CUSTOMER,
            "applications": [{"invoice_number": invoice_number, "amount": str(ORDER_TOTAL)}],
        },
    )
    assert paid.status_code == 201, paid.text
    assert money(paid.json()["applied"]) == ORDER_TOTAL
    # Then the exposure is back to nothing, in the same commit as the application
    assert _exposure() == Decimal("0.00")

    # And a third order fits again and goes on to allocation without waiting for credit control
    third = enter_erp_order(stack, "SO-EXPO-3", ACCOUNT, NAME)
    stack.embedded.wait_idle(timeout=60)
    accepted = order_view(stack, third)
    assert accepted["status"] != "ON_HOLD", accepted
    assert _exposure() == ORDER_TOTAL


def test_a_reversed_application_takes_the_room_again(stack: DeployedStack) -> None:
    # Given the first invoice paid in full by the wire (the test above) and the third order counted
    exposure_before = _exposure()
    invoice_number = order_view(stack, ENTERED["first"])["invoice_number"]
    balance = finance(stack, "GET", f"/invoices/{invoice_number}")
    assert balance.status_code == 200, balance.text
    (entry,) = [e for e in balance.json()["entries"] if e["source_id"] == "pay_man_WIRE-EXPO-1"]
    # When finance reverses the application (the wire belonged to another account)
    reversed_ = finance(
        stack,
        "POST",
        f"/invoices/{invoice_number}/reversals",
        body={"entry_id": entry["entry_id"], "reason": "wire belonged to another account"},
    )
    assert reversed_.status_code == 201, reversed_.text
    assert money(reversed_.json()["outstanding"]) == ORDER_TOTAL
    # Then the invoice is owed again and counts in the exposure again
    assert _exposure() == exposure_before + ORDER_TOTAL
