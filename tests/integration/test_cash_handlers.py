"""The cash handlers on the embedded AWS, with hostile input: Stripe events verified by the `stripe`
library's own signature check against a secret in Secrets Manager (unsigned, wrongly signed, replayed and
too old events refused), BAI2 statements dropped in S3 (not BAI2, duplicate, conflicting, another
currency), finance's API (over-application, a refund above what was paid, grant and execute by one person
or one token), each a clear answer or an exception record, nothing applied twice. Then every AWS call
the cash functions made is held to their own policy in template.yaml."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import cfn_yaml

from bench.meter import Meter, Metering
from infra import DeployedStack
from oms.data.models import (
    BankStatementRecord,
    CashExceptionRecord,
    InvoiceRecord,
    LedgerEntryRecord,
    PaymentRecord,
)
from oms.governance.cash_invariants import check_cash_ledger
from tests.support.bank import Detail
from tests.support.cash import (
    corporate_customer,
    drop_statement,
    enter_erp_order,
    finance,
    invoice_balance,
    money,
    order_view,
    post_stripe,
    set_up_cash,
    ship_everything,
    statement,
    stripe_signed,
)
from tests.support.world import (
    bind,
    post_webhook,
    seed_catalog,
    seed_warehouses,
    set_stock,
    shopify_order,
    shopify_webhook,
)

ACCOUNT = "ACCT-30001"
CUSTOMER = f"erp-{ACCOUNT}"
NAME = "Permian Basin Water Authority"
TOTAL = Decimal("299.52")
"""The recorded ERP order's own grand total (tests/events/corpus/erp/e02_wyoming.json)."""
CASH_FUNCTIONS = (
    "CashApplicationFunction",
    "StatementImportFunction",
    "PaymentWebhooksFunction",
    "CashApiFunction",
    "ReturnsApiFunction",
    "InvoiceFunction",
)


@pytest.fixture(scope="module")
def metering(embedded_aws: DeployedStack) -> Iterator[Meter]:
    """Every AWS call the functions make in this module, counted per function."""
    recorder = Metering(embedded_aws.embedded)
    recorder.install()
    meter = Meter(account_id=embedded_aws.embedded.account_id)
    recorder.meter = meter
    yield meter
    recorder.meter = None


@pytest.fixture(scope="module")
def invoices(embedded_aws: DeployedStack, metering: Meter) -> list[str]:
    """Four invoiced orders of one corporate customer on net-30 terms."""
    world = embedded_aws
    bind(world)
    set_up_cash(world)
    seed_catalog({"ELC-DOCK-TB4": "249.00", "ELC-MS-WL": "19.50"})
    seed_warehouses({"WH-NJ": 1})
    for sku in ("ELC-DOCK-TB4", "ELC-MS-WL"):
        set_stock(sku, "WH-NJ", 5000)
    corporate_customer(CUSTOMER, NAME, 30)
    orders = [enter_erp_order(world, f"SO-INT-{n}", ACCOUNT, NAME) for n in range(1, 5)]
    world.embedded.wait_idle(timeout=60)
    ship_everything(world)
    numbers = [order_view(world, order_id)["invoice_number"] for order_id in orders]
    assert all(numbers), numbers
    return [str(n) for n in numbers]


def _intent(event_id: str, intent_id: str, cents: int, currency: str, invoice: str) -> dict[str, Any]:
    """A `payment_intent.succeeded` event in Stripe's shape (API version 2024-06-20)."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": "payment_intent.succeeded",
        "livemode": False,
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": cents,
                "amount_received": cents,
                "currency": currency,
                "status": "succeeded",
                "latest_charge": f"ch_{intent_id[3:]}",
                "metadata": {"invoice_number": invoice, "customer_id": CUSTOMER},
            }
        },
    }


def _entries(invoice: str) -> list[LedgerEntryRecord]:
    return list(LedgerEntryRecord.query(invoice, consistent_read=True))


# ------------------------------------------------------------------------------------ channel payments
def test_an_order_paid_at_the_shopify_checkout_is_paid_when_invoiced(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    # Given a Shopify order whose financial_status is paid (nothing outstanding)
    payload = shopify_order(90017, [("ELC-MS-WL", 3, "19.50")], province="CA")
    response = post_webhook(embedded_aws, shopify_webhook(payload))
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]
    embedded_aws.embedded.wait_idle(timeout=60)
    # When it ships and is invoiced
    ship_everything(embedded_aws, seed=11)
    embedded_aws.embedded.wait_idle(timeout=60)
    # Then the checkout's payment is recorded and applied: the invoice is PAID, by the channel
    order = order_view(embedded_aws, order_id)
    assert order["payment_status"] == "PAID", order
    balance = invoice_balance(embedded_aws, order["invoice_number"])
    assert money(balance["total"]) == money(payload["total_price"])
    assert [(e["source_id"], e["by"]) for e in balance["entries"]] == [
        (f"pay_chn_{order_id}", "channel:shopify")
    ]


# ----------------------------------------------------------------------------------------------- Stripe
def test_a_signed_stripe_payment_is_applied_once_and_its_replay_changes_nothing(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    # Given a payment_intent.succeeded for the first invoice, signed with the secret in Secrets Manager
    body, signature = stripe_signed(_intent("evt_1PaidOnce", "pi_1PaidOnce", 29952, "usd", invoices[0]))

    # When Stripe delivers it, and then delivers the same event again
    first = post_stripe(embedded_aws, body, signature)
    again = post_stripe(embedded_aws, body, signature)

    # Then it is recorded once: the invoice is PAID by one ledger entry
    assert first.status_code == 200, first.text
    assert first.json()["outcome"].startswith("payment pay_stripe_pi_1PaidOnce")
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    balance = invoice_balance(embedded_aws, invoices[0])
    assert balance["payment_status"] == "PAID"
    assert [money(e.amount) for e in _entries(invoices[0])] == [TOTAL]


@pytest.mark.parametrize(
    ("how", "code"),
    [
        ("unsigned", "MISSING_SIGNATURE"),
        ("wrong secret", "INVALID_SIGNATURE"),
        ("an hour old", "STALE_SIGNATURE"),
    ],
)
def test_unsigned_forged_or_replayed_stripe_events_are_refused_and_change_nothing(
    embedded_aws: DeployedStack, invoices: list[str], how: str, code: str
) -> None:
    # Given a payment for the second invoice that Stripe did not sign (or signed over an hour ago)
    event = _intent(f"evt_bad_{code}", f"pi_bad_{code}", 29952, "usd", invoices[1])
    if how == "wrong secret":
        body, signature = stripe_signed(event, secret="whsec_not_the_one_in_secrets_manager")
    elif how == "an hour old":
        body, signature = stripe_signed(event, at=int(time.time()) - 3600)
    else:
        body, signature = stripe_signed(event)
    # When it is posted
    response = post_stripe(embedded_aws, body, None if how == "unsigned" else signature)
    # Then it is refused with the reason, and nothing is recorded
    assert response.status_code == 400, response.text
    assert response.json()["error"] == code
    assert PaymentRecord.count(f"pay_stripe_pi_bad_{code}") == 0
    assert _entries(invoices[1]) == []


def test_a_stripe_payment_in_another_currency_is_kept_unapplied_for_a_person(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    # Given a EUR payment quoting a USD invoice
    body, signature = stripe_signed(_intent("evt_eur", "pi_eur_1", 27500, "eur", invoices[1]))
    # When Stripe delivers it
    response = post_stripe(embedded_aws, body, signature)
    # Then it is recorded but applied to nothing, and a CURRENCY_MISMATCH exception says why
    assert response.status_code == 200, response.text
    payment = PaymentRecord.get("pay_stripe_pi_eur_1", consistent_read=True)
    assert (payment.applied, payment.unapplied) == (Decimal("0"), Decimal("275.00"))
    exception = CashExceptionRecord.get("CURRENCY_MISMATCH:pay_stripe_pi_eur_1", consistent_read=True)
    assert exception.state == "OPEN"
    assert invoices[1] in exception.reason
    assert _entries(invoices[1]) == []


def test_a_dispute_opens_an_exception_record(embedded_aws: DeployedStack, invoices: list[str]) -> None:
    dispute = {
        "id": "evt_dispute_1",
        "object": "event",
        "created": int(time.time()),
        "type": "charge.dispute.created",
        "data": {
            "object": {
                "id": "dp_1",
                "object": "dispute",
                "amount": 29952,
                "currency": "usd",
                "charge": "ch_1PaidOnce",
                "payment_intent": "pi_1PaidOnce",
                "reason": "fraudulent",
            }
        },
    }
    body, signature = stripe_signed(dispute)
    response = post_stripe(embedded_aws, body, signature)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "exception recorded"
    exception = CashExceptionRecord.get("charge.dispute.created:dp_1", consistent_read=True)
    assert (exception.kind, exception.subject) == ("DISPUTE", "payment:pay_stripe_pi_1PaidOnce")


# ------------------------------------------------------------------------------------------ statements
def test_a_file_that_is_not_bai2_is_rejected_with_an_exception_record(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    drop_statement(embedded_aws, "export.csv", b"date,amount,reference\n2026-12-01,299.52,INV\n")
    (rejected,) = [s for s in BankStatementRecord.scan() if s.object_key == "statements/export.csv"]
    assert rejected.state == "REJECTED"
    assert "not a BAI2 file" in (rejected.reason or "")
    assert any(e.kind == "STATEMENT_REJECTED" for e in CashExceptionRecord.scan())


def test_a_bai2_file_whose_totals_do_not_add_up_is_rejected(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    raw = statement([Detail(Decimal("10.00"), invoices[2], "BNKBAD", "")], "BAD1", time_day())
    tampered = raw.replace(b"16,195,1000,", b"16,195,9000,")  # a credit altered after the bank totalled it
    drop_statement(embedded_aws, "tampered.bai", tampered)
    (rejected,) = [s for s in BankStatementRecord.scan() if s.object_key == "statements/tampered.bai"]
    assert rejected.state == "REJECTED"
    assert "totals do not add up" in (rejected.reason or "")
    assert _entries(invoices[2]) == []


def time_day() -> Any:
    from oms import clock

    return clock.now().date()


def test_a_statement_dropped_twice_applies_once_and_a_conflicting_copy_is_refused(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    # Given a statement paying invoice 3 in full, dropped twice under two names
    raw = statement([Detail(TOTAL, f"PAYMENT {invoices[2]}", "BNK3001", "")], "DUP1", time_day())
    drop_statement(embedded_aws, "dup-a.bai", raw)
    drop_statement(embedded_aws, "dup-b.bai", raw)
    # Then the invoice is paid by one entry
    assert [money(e.amount) for e in _entries(invoices[2])] == [TOTAL]
    # When a different file claims the same statement id
    other = statement([Detail(Decimal("5.00"), f"PAYMENT {invoices[2]}", "BNK3002", "")], "DUP1", time_day())
    drop_statement(embedded_aws, "dup-c.bai", other)
    # Then it is not imported, and a person is told
    assert [money(e.amount) for e in _entries(invoices[2])] == [TOTAL]
    assert any(e.kind == "STATEMENT_CONFLICT" for e in CashExceptionRecord.scan())


def test_a_credit_in_another_currency_is_unapplied_cash_for_a_person(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    raw = statement(
        [Detail(Decimal("250.00"), f"PAYMENT {invoices[3]}", "BNKEUR1", "")],
        "EUR1",
        time_day(),
        currency="EUR",
    )
    drop_statement(embedded_aws, "eur.bai", raw)
    assert _entries(invoices[3]) == []
    kinds = {
        e.kind for e in CashExceptionRecord.scan() if e.currency == "EUR" and e.amount == Decimal("250.00")
    }
    assert kinds == {"CURRENCY_MISMATCH"}


# ------------------------------------------------------------------------------------------ finance API
def test_finance_cannot_over_apply_a_payment(embedded_aws: DeployedStack, invoices: list[str]) -> None:
    # Given invoice 4 owes 299.52; when a clerk records 400.00 applied to it in full
    body = {
        "reference": "WIRE-OVER-1",
        "amount": "400.00",
        "currency": "USD",
        "received_on": time_day().isoformat(),
        "customer_id": CUSTOMER,
        "applications": [{"invoice_number": invoices[3], "amount": "400.00"}],
    }
    response = finance(embedded_aws, "POST", "/payments", body=body)
    # Then it is refused (409) and nothing is recorded
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "OVER_APPLICATION"
    assert PaymentRecord.count("pay_man_WIRE-OVER-1") == 0
    assert _entries(invoices[3]) == []


def test_a_token_without_the_duty_is_refused_by_the_api(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    response = finance(embedded_aws, "POST", "/payments", scopes=["oms/receivables.read"], body={})
    assert response.status_code == 403


def test_refunds_take_two_people_and_never_exceed_what_was_paid(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    # Given an overpayment: 350.00 recorded for invoice 4 (299.52), 50.48 left as the customer's credit
    body = {
        "reference": "WIRE-OVERPAID-1",
        "amount": "350.00",
        "currency": "USD",
        "received_on": time_day().isoformat(),
        "customer_id": CUSTOMER,
        "remittance": f"payment {invoices[3]}",
    }
    recorded = finance(embedded_aws, "POST", "/payments", body=body)
    assert recorded.status_code == 201, recorded.text
    payment_id = recorded.json()["payment_id"]
    assert money(recorded.json()["unapplied"]) == Decimal("50.48")
    grant = ["oms/refunds.grant"]
    execute = ["oms/refunds.execute"]

    # When a refund above what is left is granted, then it is refused
    too_much = {"refund_id": "RF-1", "payment_id": payment_id, "amount": "60.00", "reason": "overpaid"}
    refused = finance(embedded_aws, "POST", "/refunds", user="controller", scopes=grant, body=too_much)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "REFUND_ABOVE_AVAILABLE"

    # When the overpayment is granted as a refund by the controller
    ok = {"refund_id": "RF-2", "payment_id": payment_id, "amount": "50.48", "reason": "overpaid"}
    granted = finance(embedded_aws, "POST", "/refunds", user="controller", scopes=grant, body=ok)
    assert granted.status_code == 201, granted.text
    run = {"reference": "ACH-778812"}
    # Then the controller cannot execute it, nor can a token holding both duties
    same_person = finance(
        embedded_aws, "POST", "/refunds/RF-2/execution", user="controller", scopes=execute, body=run
    )
    assert same_person.status_code == 403, same_person.text
    assert same_person.json()["reason"].startswith("refund-four-eyes")
    both = finance(
        embedded_aws, "POST", "/refunds/RF-2/execution", user="treasurer", scopes=grant + execute, body=run
    )
    assert both.status_code == 403, both.text
    assert both.json()["reason"].startswith("conflicting-duties")
    # And the treasurer, holding only the execute duty, can
    done = finance(
        embedded_aws, "POST", "/refunds/RF-2/execution", user="treasurer", scopes=execute, body=run
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "EXECUTED"
    assert (done.json()["granted_by"], done.json()["executed_by"]) == ("user:controller", "user:treasurer")
    payment = PaymentRecord.get(payment_id, consistent_read=True)
    assert (payment.refunded, payment.unapplied) == (Decimal("50.48"), Decimal("0.00"))


def test_a_return_for_refund_frees_the_card_payment_which_two_people_refund(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    # Given invoice 1, paid in full by card (the Stripe test above), and its dock coming back for a refund
    (hit,) = InvoiceRecord.by_number.query(invoices[0])
    rma = {
        "rma_id": "RMA-REFUND-1",
        "lines": [{"order_id": hit.order_id, "sku": "ELC-DOCK-TB4", "quantity": 1, "disposition": "SCRAP"}],
        "resolution": "REFUND",
        "reason": "arrived broken",
    }
    desk = ["oms/returns.write", "oms/returns.receive"]
    assert finance(embedded_aws, "POST", "/returns", user="desk", scopes=desk, body=rma).status_code == 201
    # When it is received
    received = finance(embedded_aws, "POST", "/returns/RMA-REFUND-1/receipts", user="dock", scopes=desk)
    assert received.status_code == 200, received.text
    # Then the credit note (the dock's 249.00 + 9.96 tax) replaces that much of the card payment on the
    # invoice, by a reversal and a re-application (the ledger is never edited), and the invoice stays settled
    balance = invoice_balance(embedded_aws, invoices[0])
    assert money(balance["outstanding"]) == 0
    amounts = sorted(money(e["amount"]) for e in balance["entries"])
    assert amounts == sorted([TOTAL, -TOTAL, TOTAL - Decimal("258.96"), Decimal("258.96")])
    payment = PaymentRecord.get("pay_stripe_pi_1PaidOnce", consistent_read=True)
    assert payment.unapplied == Decimal("258.96")
    # And the freed amount is refunded in two steps by two people
    grant = {"refund_id": "RF-RMA-1", "payment_id": payment.payment_id, "amount": "258.96", "reason": "RMA"}
    granted = finance(
        embedded_aws, "POST", "/refunds", user="controller", scopes=["oms/refunds.grant"], body=grant
    )
    assert granted.status_code == 201, granted.text
    done = finance(
        embedded_aws,
        "POST",
        "/refunds/RF-RMA-1/execution",
        user="treasurer",
        scopes=["oms/refunds.execute"],
        body={"reference": "re_3PaidOnce"},
    )
    assert done.status_code == 200, done.text
    assert PaymentRecord.get(payment.payment_id, consistent_read=True).unapplied == 0


def test_after_all_of_it_the_stored_ledger_keeps_its_invariants(
    embedded_aws: DeployedStack, invoices: list[str]
) -> None:
    checked = check_cash_ledger()
    assert checked.violations == []
    assert checked.sources >= 4


# ------------------------------------------------------------------------------------- least privilege
def test_every_aws_call_a_cash_function_made_is_allowed_by_its_own_policy(
    embedded_aws: DeployedStack, invoices: list[str], metering: Meter
) -> None:
    """The embedded AWS does not enforce IAM: every call the metering saw a cash function make must be an
    action its policy in template.yaml names (for a transaction, the item actions it writes are named)."""
    template = cfn_yaml.load(str(Path(__file__).resolve().parents[2] / "template.yaml"))
    allowed: dict[str, set[str]] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            statements = [s for p in resource["Properties"].get("Policies", []) for s in p["Statement"]]
            allowed[name] = {
                a
                for s in statements
                for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
            }
    logical = {physical: logical for logical, physical in embedded_aws.resources.items()}
    prefix = {"dynamodb": "dynamodb", "sqs": "sqs", "events": "events", "s3": "s3", "ssm": "ssm"}
    prefix["secretsmanager"] = "secretsmanager"
    seen: dict[str, set[str]] = {}
    for (origin, function, service, operation), _ in metering.calls.items():
        name = logical.get(function, function)
        if origin != "lambda" or name not in CASH_FUNCTIONS or service not in prefix:
            continue
        if operation == "TransactWriteItems":
            continue  # IAM checks the item actions (PutItem, UpdateItem), each named in the policy
        seen.setdefault(name, set()).add(f"{prefix[service]}:{operation}")
    missing = sorted(
        f"{name}: {action}" for name, actions in seen.items() for action in actions - allowed[name]
    )
    assert missing == []
    assert {"PaymentWebhooksFunction", "StatementImportFunction", "CashApiFunction"} <= set(seen)


def test_the_statement_function_reads_only_the_statements_prefix(embedded_aws: DeployedStack) -> None:
    template = cfn_yaml.load(str(Path(__file__).resolve().parents[2] / "template.yaml"))
    statements = template["Resources"]["StatementImportFunction"]["Properties"]["Policies"][0]["Statement"]
    s3 = [s for s in statements if str(s["Action"]).startswith("s3:")]
    assert s3 == [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${StatementsBucket.Arn}/statements/*"},
        }
    ]
    assert boto3.client("s3").head_bucket(Bucket=embedded_aws.outputs["StatementsBucketName"])
