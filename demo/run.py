"""A business day of the reference distributor, replayed over real HTTP against the embedded AWS."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import httpx
from pypdf import PdfReader

from demo import reference_data as ref
from demo.approvals import run_corporate_approvals
from demo.business_day import ShopifyDelivery, generate_shopify_orders, sign_delivery
from demo.fake_channels import FakeShopify, check_fulfillments, connect_channels
from demo.seed import DEMO_SHOPIFY_SECRET, seed_reference_data
from demo.simulators import CarrierSimulator, WarehouseSimulator
from infra import EmbeddedAws, FaultPlan
from oms.channels.signatures import shopify_signature
from oms.data.models import BackorderRecord, InvoiceRecord, OrderRecord
from oms.data.snapshot import read_snapshot
from oms.domain.events import TrackingStatus
from oms.domain.order import order_id_for
from oms.domain.status import OrderStatus
from oms.governance.cash_invariants import check_cash_ledger
from oms.governance.invariants import InvariantReport, InvariantResult, Refusal, check_invariants

SETTLED = {"ON_HOLD", "BACKORDERED", "FULFILLMENT_REQUESTED", "FAILED", "CANCELLED"}
"""Where an order stands once the workflow decided about it (the settled arrival waits for one of these)."""

Report = Callable[[str, int, int], None]
"""progress callback: (phase, done, total)"""


@dataclass
class DaySummary:
    orders_sent: int
    deliveries_sent: int
    http_statuses: dict[str, int]
    orders_received: int
    orders_by_status: dict[str, int]
    holds_by_reason: dict[str, int]
    failures: dict[str, int]
    invoices_issued: int
    total_invoiced: dict[str, str]
    shipments: int
    unaccounted: list[str]
    elapsed_seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    invoice_pdfs_checked: int = 0
    purchase_orders_received: int = 0
    end_states: dict[str, str] = field(default_factory=dict)
    """order id -> where it ended ("DELIVERED/INVOICED", "ON_HOLD/PRICE_MISMATCH", ...)."""
    invariants: list[str] = field(default_factory=list)
    invariants_held: bool = True
    phantom_units: int = 0
    refused_requests: int = 0
    faults_injected: dict[str, int] = field(default_factory=dict)
    approvals: dict[str, Any] = field(default_factory=dict)
    """The corporate orders that needed approval (demo.approvals): escalated, approved, rejected, cost."""
    shopify_writeback: dict[str, Any] = field(default_factory=dict)
    finance_exports: dict[str, Any] = field(default_factory=dict)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    """Issue 13: the reconciliation of the day, run after it (found, changes, open per kind)."""
    """Issue 13: the day's finance export (rows per table, the KPIs, the local copy's folder)."""
    """What the fake Shopify store was told: every shipment exactly one fulfillment with its tracking."""

    @property
    def accounted(self) -> bool:
        return not self.unaccounted and self.orders_received == self.orders_sent


def _send(client: httpx.Client, url: str, headers: dict[str, str], body: bytes) -> int:
    for attempt in range(5):  # a channel retries 5xx and timeouts, as Shopify does
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.TransportError:
            time.sleep(0.2 * (attempt + 1))
            continue
        if response.status_code < 500:
            return response.status_code
        time.sleep(0.2 * (attempt + 1))
    return 599


def _post_until_answered(client: httpx.Client, url: str, **kwargs: Any) -> httpx.Response:
    """A client that retries 5xx and dropped connections, as the purchasing system or a channel would."""
    response: httpx.Response | None = None
    for attempt in range(8):
        try:
            response = client.post(url, **kwargs)
        except httpx.TransportError:
            time.sleep(0.2 * (attempt + 1))
            continue
        if response.status_code < 500:
            return response
        time.sleep(0.2 * (attempt + 1))
    if response is None:
        raise RuntimeError(f"{url}: no answer")
    return response


def _receive_purchase_orders(stack: Any, base_url: str, seed: int, share: float = 0.7) -> int:
    """Receive stock for a seeded share of the backordered SKUs: as many units as their queues wait for."""
    waiting: Counter[str] = Counter()
    for entry in BackorderRecord.scan(consistent_read=True):
        waiting[entry.sku] += int(entry.quantity)
    rng = random.Random(seed)
    arriving = [sku for sku in sorted(waiting) if rng.random() < share]
    token = stack.mint_token("purchasing-bot", ["oms/inventory.write"])
    with httpx.Client(
        base_url=base_url, timeout=60.0, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for sku in arriving:
            body = {
                "warehouse_id": "WH-NJ",
                "quantity": waiting[sku],
                "reference": f"PO-{seed}-{sku}",
                "note": "purchase order for backorders",
            }
            response = _post_until_answered(client, f"/inventory/{sku}/receipts", json=body)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"receipt of {sku} refused: {response.status_code} {response.text}")
    return len(arriving)


def run_business_day(
    *,
    orders: int,
    seed: int,
    out: Path,
    concurrency: int = 8,
    duplicate_share: float = 0.02,
    template: str = "template.yaml",
    report: Report | None = None,
    faults: FaultPlan | None = None,
    settled_arrival: bool = False,
    workers: bool = False,
    export_finance: bool = False,
    reconcile: bool = False,
    corporate_approvals: bool = False,
    function_env: dict[str, str] | None = None,
) -> DaySummary:
    """The business day on a fresh embedded AWS. `faults`: what to inject (None: the
    ``OMS_EMBEDDED_FAULTS`` switch, usually off). `settled_arrival`: each order is sent once the previous
    one's allocation was decided, so which order gets scarce stock depends on the seed alone (what lets
    `make chaos` compare every order's end state with a fault-free run); otherwise the channel sends
    `concurrency` webhooks at a time, as on a busy day. `corporate_approvals`: three corporate orders entered
    through the ERP API wait for approval (one escalated, one rejected; demo.approvals). `function_env`:
    variables forced on every function (e.g. a log level)."""
    report = report or (lambda phase, done, total: None)
    out.mkdir(parents=True, exist_ok=True)
    phases: dict[str, float] = {}
    started = time.perf_counter()
    # Failed event-source messages come back after 1 s instead of the queue's VisibilityTimeout (minutes).
    # The shop is a fake Shopify (Plus plan: 20 API requests a second) the OMS tells what shipped.
    with (
        EmbeddedAws(
            retry_delay=1.0,
            workers=workers,
            esm_concurrency=2 if workers else 1,
            faults=faults,
            # An attempt at a channel notification that an injected crash ended is taken over after 10 s
            # (on AWS: 3 x the notifier's 60 s Timeout, the time after which an attempt can only be dead).
            function_env=({"NOTIFICATION_IN_FLIGHT_GRACE_SECONDS": "10"} if faults else {})
            | (function_env or {}),
        ) as aws,
        FakeShopify(capacity=400, leak_per_second=20) as shop,
    ):
        t0 = time.perf_counter()
        stack = aws.deploy(template)
        base_url = stack.serve_http_api()
        seed_reference_data(stack)
        connect_channels(stack, shopify=shop.credentials())
        phases["deploy_and_seed"] = time.perf_counter() - t0

        deliveries = generate_shopify_orders(orders, seed, datetime(2026, 11, 2, 13, 0, tzinfo=UTC))
        for delivery in deliveries:
            shop.add_order(delivery.payload)
        signed = [sign_delivery(d, DEMO_SHOPIFY_SECRET) for d in deliveries]
        # Channels deliver at least once: replay a share of the webhooks a second time.
        step = max(1, round(1 / duplicate_share)) if duplicate_share > 0 else 0
        replays = signed[::step] if step else []
        batch = signed + replays
        statuses: Counter[int] = Counter()
        t0 = time.perf_counter()
        url = f"{base_url}/webhooks/shopify"
        refused = _send_refused_requests(stack, base_url, deliveries[0] if deliveries else None, seed)
        if settled_arrival:
            with httpx.Client(timeout=30.0) as client:
                for done, (headers, body) in enumerate(batch, start=1):
                    answer = _send(client, url, headers, body)
                    statuses[answer] += 1
                    if answer == 202 and done <= len(signed):
                        _wait_until_decided(json.loads(body)["id"])
                    report("webhooks", done, len(batch))
        else:
            with (
                httpx.Client(timeout=30.0, limits=httpx.Limits(max_connections=concurrency)) as client,
                ThreadPoolExecutor(max_workers=concurrency) as pool,
            ):
                futures = [pool.submit(_send, client, url, headers, body) for headers, body in batch]
                for done, future in enumerate(futures, start=1):
                    statuses[future.result()] += 1
                    report("webhooks", done, len(batch))
        aws.wait_idle(timeout=600)
        phases["intake_and_workflow"] = time.perf_counter() - t0

        approvals = None
        if corporate_approvals:
            t0 = time.perf_counter()
            approvals = run_corporate_approvals(aws, stack, base_url)
            report("corporate approvals", approvals.entered, approvals.entered)
            phases["corporate_approvals"] = time.perf_counter() - t0

        # Mid-day, purchase orders arrive for most of what was backordered: the receipts go through the
        # inventory API and the waiting orders are served oldest first, on to the warehouse like the rest.
        t0 = time.perf_counter()
        receipts = _receive_purchase_orders(stack, base_url, seed)
        report("purchase orders received", receipts, receipts)
        aws.wait_idle(timeout=600)
        phases["receipts_and_backorders"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        warehouse = WarehouseSimulator(
            queue_url=stack.outputs["FulfillmentRequestsQueueUrl"],
            event_bus=stack.outputs["EventBusName"],
            seed=seed,
        )
        shipped = warehouse.ship_pending()
        report("shipments", shipped, shipped)
        aws.wait_idle(timeout=600)
        carrier = CarrierSimulator(event_bus=stack.outputs["EventBusName"])
        for status, hours in ((TrackingStatus.IN_TRANSIT, 6), (TrackingStatus.DELIVERED, 30)):
            scanned = carrier.scan(warehouse.shipments, status, hours_after_shipping=hours)
            report(f"carrier {status.value.lower()}", scanned, scanned)
            aws.wait_idle(timeout=600)
        phases["fulfillment_and_delivery"] = time.perf_counter() - t0
        writeback = _check_shopify(shop, warehouse.shipments)

        # The scheduler's sweep at the end of the day: publishes what a crashed step left owing.
        _sweep(stack)
        aws.wait_idle(timeout=600)

        t0 = time.perf_counter()
        checked = _check(stack, refused)
        phases["invariant_check"] = time.perf_counter() - t0
        injected = aws.faults.report() if aws.faults is not None else {}
        reconciled: dict[str, Any] = {}
        if reconcile:
            t0 = time.perf_counter()
            reconciled = _reconcile(stack)
            phases["reconciliation"] = time.perf_counter() - t0
        exported: dict[str, Any] = {}
        if export_finance:
            t0 = time.perf_counter()
            exported = _export_finance(stack, out / "exports")
            phases["finance_export"] = time.perf_counter() - t0

        summary = _summarize(
            # the Shopify orders and the corporate orders entered through the ERP API
            orders_sent=orders + (approvals.entered if approvals is not None else 0),
            deliveries_sent=len(batch),
            statuses=statuses,
            shipments=len(warehouse.shipments),
            bucket=stack.outputs["DocumentsBucketName"],
            out=out,
        )
        summary.phases = phases
        summary.purchase_orders_received = receipts
        summary.invariants = checked.lines()
        summary.invariants_held = checked.held
        summary.phantom_units = checked.phantom_units
        summary.refused_requests = len(refused)
        summary.faults_injected = injected
        summary.approvals = approvals.as_dict() if approvals is not None else {}
        summary.shopify_writeback = asdict(writeback)
        summary.finance_exports = exported
        summary.reconciliation = reconciled
        if not writeback.ok:
            summary.unaccounted += [f"shopify not told of shipment {s}" for s in writeback.missing]
            summary.unaccounted += [f"shopify fulfilled twice: {s}" for s in writeback.duplicated]
            summary.unaccounted += [f"fake shopify refused: {v}" for v in writeback.violations[:10]]
        summary.elapsed_seconds = time.perf_counter() - started
    (out / "summary.json").write_text(json.dumps(asdict(summary), indent=2, sort_keys=True))
    return summary


def _check_shopify(shop: FakeShopify, shipments: list[Any]) -> Any:
    """Each shipment of each Shopify order: exactly one fulfillment with its tracking number on the shop."""
    channel_ids = {o.order_id: (o.channel, o.external_id.split("#", 1)[0]) for o in OrderRecord.scan()}
    shopify = [
        (channel_ids[s.order_id][1], s.shipment_id, s.tracking_number)
        for s in shipments
        if channel_ids.get(s.order_id, ("", ""))[0] == "shopify"
    ]
    return check_fulfillments(shop, shopify, delivered={s.tracking_number for s in shipments})


def _summarize(
    *, orders_sent: int, deliveries_sent: int, statuses: Counter[int], shipments: int, bucket: str, out: Path
) -> DaySummary:
    by_status: Counter[str] = Counter()
    holds: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    unaccounted: list[str] = []
    accounted_for = {
        OrderStatus.DELIVERED.value,
        OrderStatus.ON_HOLD.value,
        OrderStatus.BACKORDERED.value,
        OrderStatus.FAILED.value,
        OrderStatus.REJECTED.value,
    }
    end_states: dict[str, str] = {}
    for order in OrderRecord.scan():
        by_status[order.status] += 1
        end_states[order.order_id] = "/".join(
            part for part in (order.status, order.hold_reason, order.billing_status) if part
        )
        if order.status == OrderStatus.ON_HOLD.value:
            holds[order.hold_reason or "UNKNOWN"] += 1
        if order.status == OrderStatus.FAILED.value:
            failures[(order.failure_reason or "unknown").split(":")[0]] += 1
        if order.status not in accounted_for:
            unaccounted.append(f"{order.order_id}: {order.status}")
        elif order.status == OrderStatus.DELIVERED.value and not order.invoice_number:
            unaccounted.append(f"{order.order_id}: delivered without an invoice")
    totals: dict[str, Decimal] = {}
    invoices = [i for i in InvoiceRecord.scan() if not i.order_id.startswith("SEQUENCE#")]
    for invoice in invoices:
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.grand_total
    checked = _export_invoices(bucket, invoices, out / "invoices")
    return DaySummary(
        orders_sent=orders_sent,
        deliveries_sent=deliveries_sent,
        http_statuses={str(k): v for k, v in sorted(statuses.items())},
        orders_received=sum(by_status.values()),
        orders_by_status=dict(sorted(by_status.items())),
        holds_by_reason=dict(sorted(holds.items())),
        failures=dict(sorted(failures.items())),
        invoices_issued=len(invoices),
        total_invoiced={currency: str(amount) for currency, amount in sorted(totals.items())},
        shipments=shipments,
        unaccounted=unaccounted,
        elapsed_seconds=0.0,
        invoice_pdfs_checked=checked,
        end_states=dict(sorted(end_states.items())),
    )


def pdf_text(body: bytes) -> str:
    """The text of every page of a PDF (run in a pool of processes: parsing is CPU work)."""
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def _export_invoices(bucket: str, invoices: list[Any], target: Path) -> int:
    """Copy every invoice PDF out of S3 into ./out and check that each one opens and names its number."""
    target.mkdir(parents=True, exist_ok=True)
    s3 = boto3.client("s3")
    bodies = [s3.get_object(Bucket=bucket, Key=invoice.pdf_key)["Body"].read() for invoice in invoices]
    # The emulator and its threads stay in this process; the parsing goes to the other cores.
    context = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    with ProcessPoolExecutor(max_workers=max(1, (os.cpu_count() or 1)), mp_context=context) as pool:
        texts = list(pool.map(pdf_text, bodies, chunksize=16))
    for invoice, body, text in zip(invoices, bodies, texts, strict=True):
        if invoice.invoice_number not in text:
            raise RuntimeError(f"{invoice.pdf_key} does not show its invoice number")
        (target / f"{invoice.invoice_number}.pdf").write_bytes(body)
    return len(invoices)


def _wait_until_decided(external_id: object, timeout: float = 120) -> None:
    """Until the workflow decided about the order (allocated and sent, held, backordered or failed)."""
    order_id = order_id_for("shopify", str(external_id))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if OrderRecord.get(order_id, consistent_read=True).status in SETTLED:
                return
        except OrderRecord.DoesNotExist:
            pass
        time.sleep(0.005)
    raise TimeoutError(f"order {order_id} was not decided within {timeout} s")


def _send_refused_requests(
    stack: Any, base_url: str, sample: ShopifyDelivery | None, seed: int
) -> list[Refusal]:
    """What a hostile or broken client sends during the day, each of which must be refused with a 4xx and
    write nothing: a body signed with the wrong secret, a price of 1e30, a receipt of `true` units."""
    refusals: list[Refusal] = []
    if sample is None:
        return refusals
    with httpx.Client(timeout=30.0) as client:
        for what, mutate, secret in (
            ("wrong signature", lambda p: None, "not-the-shop-secret"),
            (
                "price 1e30",
                lambda p: p["line_items"][0].__setitem__("price", "1e30"),
                DEMO_SHOPIFY_SECRET,
            ),
        ):
            payload = json.loads(sign_delivery(sample, DEMO_SHOPIFY_SECRET)[1])
            payload["id"] = 9_000_000_000 + len(refusals) + seed % 1000
            mutate(payload)
            event_id = f"refused-{seed}-{len(refusals)}"
            body = json.dumps(payload).encode()
            delivery = ShopifyDelivery(payload, event_id, f"wh-{event_id}", sample.triggered_at)
            headers, _ = sign_delivery(delivery, secret)
            headers["X-Shopify-Hmac-Sha256"] = shopify_signature(body, secret)
            status = _send(client, f"{base_url}/webhooks/shopify", headers, body)
            if not 400 <= status < 500:
                raise RuntimeError(f"{what}: answered {status}, not a 4xx")
            refusals.append(
                Refusal(
                    what,
                    order_id=order_id_for("shopify", str(payload["id"])),
                    archive_key_part=f"/{event_id}.",
                )
            )
        token = stack.mint_token("purchasing-bot", ["oms/inventory.write"])
        sku = ref.CATALOG[0].sku
        response = _post_until_answered(
            client,
            f"{base_url}/inventory/{sku}/receipts",
            json={"warehouse_id": "WH-NJ", "quantity": True, "reference": f"REFUSED-{seed}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 422:
            raise RuntimeError(f"a receipt of true units answered {response.status_code}: {response.text}")
        refusals.append(
            Refusal("receipt of true units", movement=(f"{sku}#WH-NJ", f"RECEIPT#REFUSED-{seed}"))
        )
    return refusals


def _sweep(stack: Any) -> None:
    lam = boto3.client("lambda")
    for _ in range(5):  # the Scheduler retries a failed invocation
        answer = lam.invoke(
            FunctionName=stack.function_name("StockSweeperFunction"),
            Payload=json.dumps({"time": datetime.now(UTC).isoformat()}).encode(),
        )
        if "FunctionError" not in answer:
            return
    raise RuntimeError("the stock sweeper kept failing")


def dead_letter_queues(stack: Any) -> dict[str, str]:
    return {
        logical: stack.queue_url(logical)
        for logical, kind in stack.resource_types.items()
        if kind == "AWS::SQS::Queue" and logical.endswith("DLQ")
    }


def _check(stack: Any, refused: list[Refusal]) -> InvariantReport:
    snapshot = read_snapshot(
        documents_bucket=stack.resources["DocumentsBucket"],
        raw_payloads_bucket=stack.resources["RawPayloadsBucket"],
        dead_letter_queues=dead_letter_queues(stack),
    )
    opening = {(level.sku, level.warehouse_id): level.on_hand for level in ref.STOCK}
    report = check_invariants(snapshot, opening_stock=opening, refused=refused)
    cash = check_cash_ledger()
    report.results.append(
        InvariantResult(
            "cash_ledger_and_credit_exposure",
            "invoices, payments, accounts and every customer's credit exposure agree with the ledger",
            violations=cash.violations,
            measured={"invoices": cash.invoices, "entries": cash.entries, "exposures": cash.exposures},
        )
    )
    return report


# ------------------------------------------------------------------------------- finance exports (issue 13)
def _export_finance(stack: Any, folder: Path) -> dict[str, Any]:
    """The day's finance export, run by its Lambda as the Scheduler would, then copied to `folder` for
    `python -m ops sql --offline --dir <folder>` (decision 0039)."""
    from ops.exports import download_exports

    days = sorted({datetime.now(UTC).date().isoformat()} | _days_of_orders())
    answer = boto3.client("lambda").invoke(
        FunctionName=stack.function_name("FinanceExportFunction"),
        Payload=json.dumps({"days": days}).encode(),
    )
    body = json.loads(answer["Payload"].read())
    if "FunctionError" in answer:
        raise RuntimeError(f"the finance export failed: {body}")
    files = download_exports(stack.bucket_name("FinanceBucket"), folder)
    # the month's management report, as the monthly schedule writes it (decision 0047)
    month = max(days)[:7]
    answer = boto3.client("lambda").invoke(
        FunctionName=stack.function_name("ManagementReportFunction"),
        Payload=json.dumps({"month": month}).encode(),
    )
    report = json.loads(answer["Payload"].read())
    if "FunctionError" in answer:
        raise RuntimeError(f"the management report failed: {report}")
    target = folder.parent / f"management-report-{month}.pdf"
    boto3.client("s3").download_file(stack.bucket_name("FinanceBucket"), report["key"], str(target))
    return {"days": body["exported"], "files": files, "folder": str(folder), "report": str(target)}


def _days_of_orders() -> set[str]:
    return {order.received_at[:10] for order in OrderRecord.scan(attributes_to_get=["received_at"])}


def _reconcile(stack: Any) -> dict[str, Any]:
    """Run the reconciliation workflow for every day the orders were received on, judged 6 hours later (past
    the invoicing grace); returns each day's summary."""
    from datetime import timedelta

    from ops.finance import FinanceStack, run_reconciliation

    resources = FinanceStack(dict(stack.resources))
    as_of = datetime.now(UTC) + timedelta(hours=6)
    return {day: run_reconciliation(resources, day, as_of=as_of) for day in sorted(_days_of_orders())}
