"""Issue 12's "done when", end to end over HTTP and S3 on the embedded AWS and its clock: a corporate order
is invoiced; a BAI2 statement with a partial payment and then one with the rest are dropped in S3; the
invoice becomes PAID; a return produces a credit note that is applied to the customer's next invoice; an
overdue invoice gets its dunning letters on the configured days and puts the customer on credit hold at the
last level (and the customer's next order waits). Every event the OMS put on its bus meanwhile is captured
and validated against its schema in docs/events/ (the outbound catalogue, decision 0048)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from pypdf import PdfReader

from infra import DeployedStack
from oms.governance.cash_invariants import check_cash_ledger
from tests.support.bank import Detail
from tests.support.cash import (
    advance_days,
    corporate_customer,
    drop_statement,
    enter_erp_order,
    finance,
    invoice_balance,
    money,
    order_view,
    set_up_cash,
    ship_everything,
    statement,
)
from tests.support.world import bind, seed_catalog, seed_warehouses, set_stock

ACCOUNT = "ACCT-20117"
"""The customer's account number in the ERP; the OMS knows the customer as erp-<account>."""
CUSTOMER = f"erp-{ACCOUNT}"
NAME = "Gulf Coast Community College - Purchasing"
ERP_GRAND_TOTAL = Decimal("299.52")
"""The recorded ERP order's own grand total (tests/events/corpus/erp/e02_wyoming.json)."""
# Dunning as data: the levels this test configures (days after the due date), the last one a credit hold.
LEVELS = [
    {"level": 1, "days_after_due": 3, "title": "Payment reminder"},
    {
        "level": 2,
        "days_after_due": 8,
        "fee": "15.00",
        "annual_interest_percent": "8",
        "title": "Second reminder",
    },
    {
        "level": 3,
        "days_after_due": 12,
        "fee": "25.00",
        "annual_interest_percent": "8",
        "action": "CREDIT_HOLD",
        "title": "Final notice",
    },
]
TERMS_DAYS = 10


@pytest.fixture(scope="module")
def world(embedded_aws: DeployedStack) -> DeployedStack:
    bind(embedded_aws)
    set_up_cash(embedded_aws, {"write_off_tolerance": "1.00", "dunning_levels": LEVELS})
    seed_catalog({"ELC-DOCK-TB4": "249.00", "ELC-MS-WL": "19.50"})
    seed_warehouses({"WH-NJ": 1})
    for sku in ("ELC-DOCK-TB4", "ELC-MS-WL"):
        set_stock(sku, "WH-NJ", 5000)
    corporate_customer(CUSTOMER, NAME, TERMS_DAYS)
    # The sweeper's 15-minute schedule would fire thousands of times over the simulated weeks; it has its
    # own tests and nothing here waits on it.
    for schedule in embedded_aws.embedded.scheduler.schedules.values():
        if "StockSweeper" in schedule.name:
            schedule.enabled = False
    # A listener on the bus for every event the OMS publishes (what an integration would subscribe to)
    queue = boto3.client("sqs").create_queue(QueueName="event-catalogue-capture")["QueueUrl"]
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    bus = embedded_aws.outputs["EventBusName"]
    events = boto3.client("events")
    events.put_rule(
        Name="capture", EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": "oms."}]})
    )
    events.put_targets(Rule="capture", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
    CAPTURE["queue"] = queue
    return embedded_aws


CAPTURE: dict[str, str] = {}


def captured_events() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=CAPTURE["queue"], MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=CAPTURE["queue"], ReceiptHandle=message["ReceiptHandle"])


def _invoiced(world: DeployedStack, order_id: str) -> dict[str, Any]:
    world.embedded.wait_idle(timeout=60)
    view = order_view(world, order_id)
    assert view["status"] == "FULFILLMENT_REQUESTED", (view["hold_reason"], view["history"][-1])
    assert ship_everything(world) >= 1
    order = order_view(world, order_id)
    assert order["billing_status"] == "INVOICED", order
    return order


def _letters(world: DeployedStack) -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=world.outputs["DocumentsBucketName"], Prefix="dunning/")
    return [{"key": o["Key"]} for o in listed.get("Contents", [])]


def test_a_corporate_invoice_paid_by_two_bank_statements_a_return_credited_and_dunning_to_credit_hold(
    world: DeployedStack,
) -> None:
    clock = world.embedded.scheduler.clock
    # Given a corporate customer on net-10 terms whose ERP order is shipped and invoiced
    first = enter_erp_order(world, "SO-CASH-0001", ACCOUNT, NAME)
    order = _invoiced(world, first)
    number = order["invoice_number"]
    balance = invoice_balance(world, number)
    assert money(balance["total"]) == ERP_GRAND_TOTAL
    assert money(balance["outstanding"]) == ERP_GRAND_TOTAL
    assert balance["payment_status"] == "UNPAID"
    assert order["payment_status"] == "UNPAID"

    # When the bank's statement shows a partial transfer quoting the invoice number
    today = clock.now().date()
    partial = Decimal("120.00")
    drop_statement(
        world,
        "2026-day1.bai",
        statement([Detail(partial, f"{NAME[:20]} {number}", "BNK0001", "PO 2026-1187")], "D1", today),
    )

    # Then the invoice is PARTIALLY_PAID with the rest outstanding, and the ledger says by whom and when
    balance = invoice_balance(world, number)
    assert balance["payment_status"] == "PARTIALLY_PAID"
    assert money(balance["outstanding"]) == ERP_GRAND_TOTAL - partial
    assert [(money(e["amount"]), e["by"]) for e in balance["entries"]] == [
        (partial, "service:bank-statements")
    ]

    # When the same statement is dropped again (a duplicate), then nothing is applied twice
    drop_statement(
        world,
        "2026-day1-again.bai",
        statement([Detail(partial, f"{NAME[:20]} {number}", "BNK0001", "PO 2026-1187")], "D1", today),
    )
    assert money(invoice_balance(world, number)["outstanding"]) == ERP_GRAND_TOTAL - partial

    # When the next day's statement carries the rest
    advance_days(world, 1)
    rest = ERP_GRAND_TOTAL - partial
    drop_statement(
        world,
        "2026-day2.bai",
        statement([Detail(rest, f"REMAINDER {number}", "BNK0002", "")], "D2", clock.now().date()),
    )

    # Then the invoice is PAID, and so is the order's payment dimension
    balance = invoice_balance(world, number)
    assert balance["payment_status"] == "PAID"
    assert money(balance["outstanding"]) == 0
    assert order_view(world, first)["payment_status"] == "PAID"

    # When the dock of that order comes back and is received into the warehouse
    returns_token = ["oms/returns.write", "oms/returns.receive"]
    rma = {
        "rma_id": "RMA-CASH-1",
        "lines": [{"order_id": first, "sku": "ELC-DOCK-TB4", "quantity": 1, "disposition": "RESTOCK"}],
        "reason": "dead on arrival",
    }
    created = finance(world, "POST", "/returns", scopes=returns_token, user="returns-desk", body=rma)
    assert created.status_code == 201, created.text
    received = finance(world, "POST", "/returns/RMA-CASH-1/receipts", scopes=returns_token, user="dock-2")
    assert received.status_code == 200, received.text
    credited = received.json()
    assert credited["state"] == "CREDITED"
    # The credit is what the invoice charged for the dock, from the ERP's own figures: 249.00 + 9.96 tax
    expected_credit = Decimal("258.96")
    assert money(credited["amount"]) == expected_credit
    note_id = credited["credit_note_id"]
    assert note_id

    # Then the first invoice is paid already, so the credit waits on the customer's account
    account = finance(world, "GET", f"/customers/{CUSTOMER}/account").json()
    assert [money(a["unapplied_credit"]) for a in account["accounts"]] == [expected_credit]

    # When the customer's next order is invoiced
    second = enter_erp_order(world, "SO-CASH-0002", ACCOUNT, NAME)
    next_invoice = _invoiced(world, second)["invoice_number"]
    world.embedded.wait_idle(timeout=60)

    # Then the credit note is applied to it
    balance = invoice_balance(world, next_invoice)
    assert [e["source_id"] for e in balance["entries"]] == [note_id]
    assert money(balance["outstanding"]) == ERP_GRAND_TOTAL - expected_credit
    assert balance["payment_status"] == "PARTIALLY_PAID"
    account = finance(world, "GET", f"/customers/{CUSTOMER}/account").json()
    assert [money(a["unapplied_credit"]) for a in account["accounts"]] == [0]
    assert [money(a["open_receivables"]) for a in account["accounts"]] == [ERP_GRAND_TOTAL - expected_credit]

    # When nothing more is paid and the days pass (daily dunning runs on the embedded scheduler)
    due = balance["due_on"]
    issued = clock.now().date()
    assert due == (issued + timedelta(days=TERMS_DAYS)).isoformat()
    advance_days(world, TERMS_DAYS + 12 + 1)  # the run of the last day fires at 06:00 UTC

    # Then a letter was issued for each level on its configured day after the due date, as PDFs in S3
    keys = sorted(item["key"] for item in _letters(world))
    assert len(keys) == 3, keys
    due_day = issued + timedelta(days=TERMS_DAYS)
    for level in LEVELS:
        day = due_day + timedelta(days=int(level["days_after_due"]))  # type: ignore[call-overload]
        assert any(f"{day.isoformat()}-L{level['level']}-USD.pdf" in key for key in keys), (day, keys)
    last = boto3.client("s3").get_object(Bucket=world.outputs["DocumentsBucketName"], Key=keys[-1])
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(last["Body"].read())).pages)
    assert next_invoice in text
    assert "Final notice" in text

    # And the invoice is OVERDUE, the customer on credit hold, so their next order waits
    assert invoice_balance(world, next_invoice)["payment_status"] == "OVERDUE"
    account = finance(world, "GET", f"/customers/{CUSTOMER}/account").json()
    assert account["credit_hold"] is True
    third = enter_erp_order(world, "SO-CASH-0003", ACCOUNT, NAME)
    world.embedded.wait_idle(timeout=60)
    held = order_view(world, third)
    assert held["status"] == "ON_HOLD"
    assert held["hold_reason"] == "CREDIT_HOLD"

    # And the receivables report ages what is owed 13 days past due in the 1-30 bucket, its buckets summing
    # to the outstanding, and DSO is reported
    report = finance(world, "GET", "/receivables/report").json()
    (row,) = [r for r in report["aging"] if r["customer_id"] == CUSTOMER]
    owed = ERP_GRAND_TOTAL - expected_credit
    assert money(row["outstanding"]) == owed
    assert sum(money(v) for v in row["buckets"].values()) == owed
    assert money(row["buckets"]["1-30"]) == owed
    assert report["dso"]["USD"]["countback"] is not None
    assert json.loads(json.dumps(report)) == report

    # And what is stored keeps the ledger's invariants (balances = their entries, accounts = their invoices)
    checked = check_cash_ledger()
    assert checked.violations == []
    assert checked.entries == 3  # the two bank payments and the credit note

    # And an operator cannot release the held order past the customer's credit hold (segregation of duties)
    from datetime import UTC, datetime

    from oms.domain.errors import InvalidTransitionError
    from oms.logic.holds import release_hold

    workflow = world.outputs["OrderWorkflowArn"]
    with pytest.raises(InvalidTransitionError, match="credit hold"):
        release_hold(
            third, by="user:ops-olga", note="customer called", workflow_arn=workflow, now=datetime.now(UTC)
        )
    assert order_view(world, third)["hold_reason"] == "CREDIT_HOLD"

    # When credit control releases the account, then the operator's release validates and routes it again
    released = finance(
        world,
        "PUT",
        f"/customers/{CUSTOMER}/credit-hold",
        user="credit-carl",
        scopes=["oms/credit.write", "oms/receivables.read"],
        body={"on_hold": False, "reason": "payment plan agreed"},
    )
    assert released.status_code == 200, released.text
    release_hold(
        third, by="user:ops-olga", note="account released", workflow_arn=workflow, now=datetime.now(UTC)
    )
    world.embedded.wait_idle(timeout=60)
    resubmitted = order_view(world, third)
    assert resubmitted["status"] not in ("ON_HOLD", "RECEIVED"), resubmitted
    assert any("resubmitted after CREDIT_HOLD" in (h.get("reason") or "") for h in resubmitted["history"])


def test_every_event_put_on_the_bus_that_day_is_catalogued_and_valid_against_its_schema(
    world: DeployedStack,
) -> None:
    import jsonschema

    # Given everything the day above published (orders, invoices, payments, a return, dunning, snapshots,
    # exports), as a subscriber of the bus received it
    from oms.domain.events import CARRIER_SOURCE, CATALOGUE, WAREHOUSE_SOURCE
    from tools.event_schemas import FOLDER

    # (less what the warehouses and carriers sent the OMS: their events, not its own)
    received = [e for e in captured_events() if e["source"] not in (WAREHOUSE_SOURCE, CARRIER_SOURCE)]
    kinds: dict[str, int] = {}
    for event in received:
        kinds[event["detail-type"]] = kinds.get(event["detail-type"], 0) + 1
    # Then every event is one of the catalogue's, from its source, and valid against its schema
    for event in received:
        name = event["detail-type"]
        assert name in CATALOGUE, name
        assert event["source"] == CATALOGUE[name].source, event
        schema = json.loads((FOLDER / f"{name}.json").read_text())
        jsonschema.validate(event["detail"], schema, format_checker=jsonschema.FormatChecker())
    # And each integration got its facts: document management, revenue recognition, treasury, performance
    for name in (
        "DocumentCreated",
        "InvoiceIssued",
        "CreditNoteIssued",
        "DunningLetterIssued",
        "ExpectedReceiptsForecast",
        "KpiSnapshot",
    ):
        assert kinds.get(name, 0) >= 1, (name, kinds)
    documents = {e["detail"]["document_type"] for e in received if e["detail-type"] == "DocumentCreated"}
    assert documents == {"INVOICE", "CREDIT_NOTE", "DUNNING_LETTER"}
    issued = [e["detail"] for e in received if e["detail-type"] == "InvoiceIssued"]
    for invoice in issued:
        # revenue: net + tax = gross, recognised on the day the goods left (on or before the invoice's day)
        assert Decimal(invoice["net_total"]) + Decimal(invoice["tax_total"]) == Decimal(
            invoice["grand_total"]
        )
        assert invoice["recognition_date"] <= invoice["issued_at"][:10]
    # (the first ERP order's own grand total, as the ERP computed it)
    assert ERP_GRAND_TOTAL in {Decimal(i["grand_total"]) for i in issued}
    forecast = [e["detail"] for e in received if e["detail-type"] == "ExpectedReceiptsForecast"]
    assert all(w["currency"] == "USD" for f in forecast for w in f["weeks"])
