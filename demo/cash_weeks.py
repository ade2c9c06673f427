"""Weeks of cash on the embedded AWS's simulated clock (`python -m demo --days N`, `make demo DAYS=28`).

Every simulated day: the channel sends a few orders (retail customers pay by card at checkout; corporate
customers, on net-14 terms for the demo, are invoiced), the warehouse ships what was asked, the bank's BAI2
statement of the day is dropped into the statements bucket with the transfers that arrived, now and then
goods come back (a return, a credit note), and the clock moves a day: the daily dunning and aging runs fire
on the local EventBridge Scheduler. Corporate customers pay as people do: most a few days late, some part
first and the rest later, one pays an invoice twice, one never pays (and ends on credit hold).

At the end it prints the aging table (with the not-yet-due bucket, summing to the outstanding), DSO,
the letters sent, and the cash forecast made partway through against what then arrived (its backtest
error). Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import httpx

from demo.business_day import generate_shopify_orders, sign_delivery
from demo.fake_channels import FakeShopify, connect_channels
from demo.reference_data import CUSTOMERS
from demo.seed import DEMO_SHOPIFY_SECRET, seed_reference_data
from demo.simulators import WarehouseSimulator
from infra import EmbeddedAws

TERMS_DAYS = 14
DEMO_POLICY: dict[str, Any] = {
    "write_off_tolerance": "1.00",
    "aging_buckets": [7, 14, 30, 60],
    "dunning_levels": [
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
            "title": "Final notice: account on credit hold",
        },
    ],
}
"""Shorter than the template's (7/21/45 days after due, aging 30/60/90/120), so that four weeks show every
level."""


@dataclass(frozen=True)
class Payer:
    customer_id: str
    name: str
    behaviour: str  # PROMPT | LATE | PARTIAL | TWICE | NEVER
    mean_days_late: int


@dataclass
class Transfer:
    on: date
    amount: Decimal
    text: str
    reference: str


@dataclass
class CashWeeks:
    days: int
    orders: int = 0
    invoices: int = 0
    transfers: int = 0
    statements: int = 0
    returns: int = 0
    letters: Counter[int] = field(default_factory=Counter)
    credit_holds: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    backtest: dict[str, Any] = field(default_factory=dict)
    exceptions: Counter[str] = field(default_factory=Counter)
    held_for_credit: int = 0
    """New orders of customers on credit hold, waiting (ON_HOLD, CREDIT_HOLD)."""
    behaviours: dict[str, str] = field(default_factory=dict)
    elapsed_seconds: float = 0.0


BEHAVIOURS = ["NEVER", "TWICE", "PARTIAL", "PARTIAL", "LATE", "LATE", "LATE", "LATE", "LATE", "LATE"]
"""In the order corporate customers are first invoiced: the first never pays, the second pays one invoice
twice, two pay part first and the rest later, six are late by their own habit, the rest prompt."""


def _payer(rng: random.Random, customer_id: str, name: str, index: int) -> Payer:
    behaviour = BEHAVIOURS[index] if index < len(BEHAVIOURS) else "PROMPT"
    late = rng.randint(0, 3) if behaviour == "PROMPT" else rng.randint(2, 12)
    return Payer(customer_id, name, behaviour, late)


def _bai2(transfers: list[Transfer], *, file_id: str, on: date) -> bytes:
    """The bank's statement of the day (BAI2: headers, one 16 record per credit, trailers with totals)."""
    day = on.strftime("%y%m%d")
    records = ["03,4410029931,USD,010,100000000,,/"]
    total = 100000000
    for t in transfers:
        cents = int(t.amount * 100)
        total += cents
        records.append(f"16,195,{cents},Z,{t.reference},,{t.text}/")
    records.append(f"49,{total},{len(records) + 1}/")
    group = ["02,NORTHWIND,121000248,1," + day + ",0600,USD,2/", *records]
    group.append(f"98,{total},1,{len(group) + 1}/")
    lines = [f"01,121000248,NORTHWIND,{day},0600,{file_id},,,2/", *group]
    lines.append(f"99,{total},1,{len(lines) + 1}/")
    return ("\n".join(lines) + "\n").encode("ascii")


def _plan_payments(
    rng: random.Random, payer: Payer, number: str, total: Decimal, due: date
) -> list[Transfer]:
    late = max(-2, int(rng.gauss(payer.mean_days_late, 2)))
    quoted = f"{payer.name.upper()} {number}" if rng.random() < 0.85 else f"{payer.name.upper()} PAYMENT"
    ref = f"FW{abs(hash((number, late))) % 10**8:08d}"
    if payer.behaviour == "NEVER":
        return []
    if payer.behaviour == "PARTIAL":
        first = (total * Decimal("0.6")).quantize(Decimal("0.01"))
        return [
            Transfer(due + timedelta(days=late), first, f"{payer.name.upper()} {number} PART", ref + "A"),
            Transfer(
                due + timedelta(days=late + 9),
                total - first,
                f"{payer.name.upper()} {number} REST",
                ref + "B",
            ),
        ]
    transfers = [Transfer(due + timedelta(days=late), total, quoted, ref)]
    if payer.behaviour == "TWICE":
        transfers.append(
            Transfer(due + timedelta(days=late + 1), total, f"{payer.name.upper()} {number}", ref + "D")
        )
    return transfers


def run_cash_weeks(
    *, days: int, seed: int, out: Path, orders_per_day: int = 8, terms_days: int = TERMS_DAYS
) -> CashWeeks:
    from aws_lambda_powertools.utilities import parameters

    from oms.data.models import CustomerAccountRecord, CustomerRecord, InvoiceRecord, OrderRecord

    started = time.perf_counter()
    summary = CashWeeks(days=days)
    rng = random.Random(f"{seed}:cash")
    payer_rng = random.Random(f"{seed}:payers")
    corporate_customers = {c.customer_id: c.name for c in CUSTOMERS if c.tier.value == "CORPORATE"}
    payers: dict[str, Payer] = {}
    out.mkdir(parents=True, exist_ok=True)
    with EmbeddedAws(retry_delay=1.0) as aws, FakeShopify(capacity=400, leak_per_second=20) as shop:
        stack = aws.deploy("template.yaml")
        base_url = stack.serve_http_api()
        seed_reference_data(stack)
        connect_channels(stack, shopify=shop.credentials())
        boto3.client("ssm").put_parameter(
            Name=stack.outputs["CashPolicyParameterName"], Value=json.dumps(DEMO_POLICY), Overwrite=True
        )
        parameters.clear_caches()
        for customer_id in corporate_customers:
            CustomerRecord(customer_id).update(actions=[CustomerRecord.payment_terms_days.set(terms_days)])
        # The 15-minute stock sweep would fire ~100 times a simulated day; nothing here needs it.
        for schedule in aws.scheduler.schedules.values():
            if "StockSweeper" in schedule.name:
                schedule.enabled = False
        warehouse = WarehouseSimulator(
            queue_url=stack.outputs["FulfillmentRequestsQueueUrl"],
            event_bus=stack.outputs["EventBusName"],
            seed=seed,
        )
        planned: list[Transfer] = []
        seen: set[str] = set()
        checkpoint = max(1, days // 2)
        forecast_made: dict[str, Any] | None = None
        open_then: list[str] = []
        token = stack.mint_token("demo-finance", ["oms/receivables.read"])
        returns_token = stack.mint_token("demo-returns", ["oms/returns.write", "oms/returns.receive"])
        returnable: list[tuple[str, str]] = []
        with httpx.Client(timeout=60.0) as client:
            for day_index in range(days):
                today = aws.scheduler.clock.now().date()
                start = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)
                deliveries = generate_shopify_orders(
                    orders_per_day, seed * 1000 + day_index, start, problem_share=0
                )
                for delivery in deliveries:
                    shop.add_order(delivery.payload)
                    headers, body = sign_delivery(delivery, DEMO_SHOPIFY_SECRET)
                    client.post(f"{base_url}/webhooks/shopify", content=body, headers=headers)
                summary.orders += len(deliveries)
                aws.wait_idle(timeout=300)
                warehouse.ship_pending(aws.scheduler.clock.now())
                aws.wait_idle(timeout=300)
                for invoice in InvoiceRecord.scan():
                    if invoice.order_id.startswith("SEQUENCE#") or invoice.invoice_number in seen:
                        continue
                    seen.add(invoice.invoice_number)
                    summary.invoices += 1
                    if invoice.customer_id in corporate_customers and invoice.customer_id not in payers:
                        payers[invoice.customer_id] = _payer(
                            payer_rng,
                            invoice.customer_id,
                            corporate_customers[invoice.customer_id],
                            len(payers),
                        )
                    corporate = payers.get(invoice.customer_id)
                    if corporate is not None:
                        due = date.fromisoformat(invoice.due_date)
                        planned += _plan_payments(
                            rng, corporate, invoice.invoice_number, invoice.grand_total, due
                        )
                        returnable.append((invoice.order_id, invoice.customer_id))
                arrived = [t for t in planned if t.on <= today]
                planned = [t for t in planned if t.on > today]
                if arrived:
                    raw = _bai2(arrived, file_id=f"D{day_index:03d}", on=today)
                    boto3.client("s3").put_object(
                        Bucket=stack.outputs["StatementsBucketName"], Key=f"statements/{today}.bai", Body=raw
                    )
                    summary.statements += 1
                    summary.transfers += len(arrived)
                    aws.wait_idle(timeout=300)
                if day_index % 6 == 5 and returnable:
                    summary.returns += _one_return(
                        client, base_url, returns_token, rng, returnable, day_index
                    )
                    aws.wait_idle(timeout=300)
                if day_index == checkpoint:
                    forecast_made = client.get(
                        f"{base_url}/receivables/report", headers={"Authorization": f"Bearer {token}"}
                    ).json()
                    open_then = [r.invoice_number for r in InvoiceRecord.open_by_due.query("OPEN")]
                aws.scheduler.advance(timedelta(days=1))
                aws.wait_idle(timeout=300)
            summary.report = client.get(
                f"{base_url}/receivables/report", headers={"Authorization": f"Bearer {token}"}
            ).json()
            exceptions = client.get(
                f"{base_url}/cash/exceptions", headers={"Authorization": f"Bearer {token}"}
            )
            summary.exceptions = Counter(e["kind"] for e in exceptions.json())
        for letter in CustomerAccountRecord.scan(CustomerAccountRecord.entry.startswith("LETTER#")):
            summary.letters[int(letter.level or 0)] += 1
        summary.credit_holds = sorted(c.customer_id for c in CustomerRecord.scan() if c.credit_hold)
        summary.held_for_credit = sum(1 for o in OrderRecord.scan() if o.hold_reason == "CREDIT_HOLD")
        summary.behaviours = {p.customer_id: p.behaviour for p in payers.values()}
        if forecast_made is not None:
            summary.backtest = _backtest(
                forecast_made, open_then, checkpoint_day=date.fromisoformat(forecast_made["as_of"])
            )
    summary.elapsed_seconds = time.perf_counter() - started
    (out / "cash-weeks.json").write_text(
        json.dumps({**summary.__dict__, "letters": dict(summary.letters)}, indent=2, default=str)
    )
    return summary


def _one_return(
    client: httpx.Client,
    base_url: str,
    token: str,
    rng: random.Random,
    returnable: list[tuple[str, str]],
    day_index: int,
) -> int:
    from oms.data.models import OrderRecord

    order_id, _ = rng.choice(returnable)
    order = OrderRecord.get(order_id)
    line = order.lines[0]
    rma = {
        "rma_id": f"RMA-DEMO-{day_index:03d}",
        "lines": [{"order_id": order_id, "sku": line.sku, "quantity": 1, "disposition": "RESTOCK"}],
        "reason": "customer return: not as ordered",
    }
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post(f"{base_url}/returns", json=rma, headers=headers)
    if created.status_code != 201:
        return 0
    received = client.post(f"{base_url}/returns/{rma['rma_id']}/receipts", headers=headers)
    return 1 if received.status_code == 200 else 0


def _backtest(made: dict[str, Any], open_then: list[str], *, checkpoint_day: date) -> dict[str, Any]:
    """The forecast made on `checkpoint_day` against what was then paid of the invoices open that day (the
    payments the ledger applied to them), week by week over the weeks observed."""
    from oms.cash.receivables import WeekForecast, backtest, week_of
    from oms.data.models import LedgerEntryRecord

    weeks = [
        WeekForecast(date.fromisoformat(w["week"]), Decimal(w["expected"]), int(w["invoices"]))
        for w in made["forecast"]
    ]
    arrived = [
        (entry.at.date(), entry.amount)
        for number in open_then
        for entry in LedgerEntryRecord.query(number)
        if entry.source_kind == "PAYMENT" and entry.at.date() >= checkpoint_day
    ]
    last = max((d for d, _ in arrived), default=checkpoint_day)
    horizon = max(1, (week_of(last) - week_of(checkpoint_day)).days // 7)  # whole weeks observed
    test = backtest(weeks, arrived, as_of=checkpoint_day, weeks=horizon)
    return {
        "forecast_made_on": checkpoint_day.isoformat(),
        "weeks": [{"week": w.isoformat(), "forecast": str(f), "actual": str(a)} for w, f, a in test.weeks],
        "forecast_total": str(test.forecast_total),
        "actual_total": str(test.actual_total),
        "error_percent": None if test.error_percent is None else str(test.error_percent),
    }
