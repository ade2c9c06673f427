"""Cash is applied exactly once under the faults AWS promises, injected into the embedded AWS rather than
assumed away: a statement import that crashes after its side effects and comes back from the queue, a
ledger transaction that took effect although the caller saw a 5xx, and a Stripe webhook whose handler
crashed after recording (Stripe delivers it again). Each time: one ledger entry per payment, the invoice
paid once, the customer's account moved once."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from infra import DeployedStack, EmbeddedAws, FaultPlan, FaultRule
from oms.data.models import BankStatementRecord, CustomerAccountRecord, LedgerEntryRecord
from oms.governance.cash_invariants import check_cash_ledger
from tests.conftest import TEMPLATE, TEST_RETRY_DELAY
from tests.support.bank import Detail
from tests.support.cash import (
    corporate_customer,
    drop_statement,
    enter_erp_order,
    invoice_balance,
    order_view,
    post_stripe,
    set_up_cash,
    ship_everything,
    statement,
    stripe_signed,
)
from tests.support.world import bind, seed_catalog, seed_warehouses, set_stock

ACCOUNT = "ACCT-40001"
CUSTOMER = f"erp-{ACCOUNT}"
TOTAL = Decimal("299.52")
"""The recorded ERP order's own grand total (tests/events/corpus/erp/e02_wyoming.json)."""


@pytest.fixture(scope="module")
def world() -> Iterator[DeployedStack]:
    with EmbeddedAws(retry_delay=TEST_RETRY_DELAY, faults=FaultPlan(seed=12)) as aws:
        stack = aws.deploy(TEMPLATE, stack_name="oms")
        stack.serve_http_api()
        bind(stack)
        set_up_cash(stack)
        seed_catalog({"ELC-DOCK-TB4": "249.00", "ELC-MS-WL": "19.50"})
        seed_warehouses({"WH-NJ": 1})
        for sku in ("ELC-DOCK-TB4", "ELC-MS-WL"):
            set_stock(sku, "WH-NJ", 1000)
        corporate_customer(CUSTOMER, "Big Horn Rural Electric", 30)
        yield stack


@pytest.fixture(scope="module")
def invoices(world: DeployedStack) -> list[str]:
    orders = [enter_erp_order(world, f"SO-FLT-{n}", ACCOUNT, "Big Horn Rural Electric") for n in range(3)]
    world.embedded.wait_idle(timeout=60)
    ship_everything(world)
    return [str(order_view(world, order_id)["invoice_number"]) for order_id in orders]


def _faults(world: DeployedStack, *rules: FaultRule) -> Any:
    injector = world.embedded.faults
    assert injector is not None
    injector.use(FaultPlan(seed=12, rules=rules))
    return injector


@pytest.fixture(autouse=True)
def _no_faults_left(world: DeployedStack) -> Iterator[None]:
    yield
    _faults(world)


def _applied(invoice: str) -> list[Decimal]:
    return [e.amount for e in LedgerEntryRecord.query(invoice, consistent_read=True)]


def _open_receivables() -> Decimal:
    account = CustomerAccountRecord.get(CUSTOMER, "ACCOUNT#USD", consistent_read=True)
    return Decimal(account.open_receivables or 0)


def test_a_statement_import_that_crashes_after_applying_is_finished_once_by_its_retry(
    world: DeployedStack, invoices: list[str]
) -> None:
    # Given the import crashes once after its side effects (the queue redelivers the S3 event)
    injector = _faults(
        world, FaultRule("crash_after_side_effects", 1.0, function="StatementImportFunction", limit=1)
    )
    before = _open_receivables()
    # When the bank's statement paying invoice 1 is dropped
    drop_statement(
        world, "crash.bai", statement([Detail(TOTAL, f"PAY {invoices[0]}", "FLT0001", "")], "F1", _today())
    )
    # Then the crash happened, the retry finished the import, and the invoice was paid by one entry
    assert injector.report()["crash_after_side_effects"] == 1
    assert _applied(invoices[0]) == [TOTAL]
    assert invoice_balance(world, invoices[0])["payment_status"] == "PAID"
    (record,) = [s for s in BankStatementRecord.scan() if s.object_key == "statements/crash.bai"]
    assert record.state == "IMPORTED"
    assert _open_receivables() == before - TOTAL


def test_a_ledger_transaction_that_took_effect_behind_a_5xx_is_not_applied_twice(
    world: DeployedStack, invoices: list[str]
) -> None:
    # Given DynamoDB answers the import's first transaction with a 5xx after it took effect
    injector = _faults(
        world,
        FaultRule(
            "server_error",
            1.0,
            service="dynamodb",
            operation="TransactWriteItems",
            function="StatementImportFunction",
            after_apply=1.0,
            limit=1,
        ),
    )
    before = _open_receivables()
    # When a statement paying invoice 2 is imported
    drop_statement(
        world, "5xx.bai", statement([Detail(TOTAL, f"PAY {invoices[1]}", "FLT0002", "")], "F2", _today())
    )
    # Then the fault was injected, and the invoice is paid once, the account moved once
    assert injector.report()["server_error"] == 1
    assert _applied(invoices[1]) == [TOTAL]
    assert _open_receivables() == before - TOTAL


def test_a_stripe_webhook_that_crashes_after_recording_is_a_duplicate_when_stripe_retries(
    world: DeployedStack, invoices: list[str]
) -> None:
    import time

    # Given the webhook handler crashes once after its side effects
    injector = _faults(
        world, FaultRule("crash_after_side_effects", 1.0, function="PaymentWebhooksFunction", limit=1)
    )
    event = {
        "id": "evt_crash_1",
        "object": "event",
        "created": int(time.time()),
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": "pi_crash_1",
                "object": "payment_intent",
                "amount_received": 29952,
                "currency": "usd",
                "metadata": {"invoice_number": invoices[2], "customer_id": CUSTOMER},
            }
        },
    }
    body, signature = stripe_signed(event)
    # When Stripe delivers it (the answer is an error) and, as it does, delivers it again
    first = post_stripe(world, body, signature)
    again = post_stripe(world, body, signature)
    # Then the first attempt failed after recording, the retry is a duplicate, and the invoice was paid once
    assert injector.report()["crash_after_side_effects"] == 1
    assert first.status_code >= 500
    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "duplicate"
    assert _applied(invoices[2]) == [TOTAL]


def test_after_the_faults_the_stored_ledger_keeps_its_invariants(
    world: DeployedStack, invoices: list[str]
) -> None:
    assert check_cash_ledger().violations == []


def _today() -> Any:
    from oms import clock

    return clock.now().date()
