"""The system under test: a business day of N orders, webhook to invoice (and on to delivery), over real
HTTP against the embedded AWS.

This mirrors ``demo.run.run_business_day`` phase by phase, built from the same pieces (EmbeddedAws,
seed_reference_data, generate_shopify_orders, sign_delivery, the warehouse and carrier simulators),
because the bench needs what that function does not expose: the running EmbeddedAws between phases (to
meter, to replay the floor in the same emulator, to probe latency and memory) and per-phase timings.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.meter import unmetered
from demo.business_day import generate_shopify_orders, sign_delivery
from demo.seed import DEMO_SHOPIFY_SECRET, seed_reference_data
from demo.simulators import CarrierSimulator, WarehouseSimulator
from infra import DeployedStack, EmbeddedAws
from oms.domain.events import TrackingStatus

Report = Callable[[str, int, int], None]
DAY_START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
WAIT_TIMEOUT = 3600.0


@dataclass
class DayRun:
    orders: int
    deliveries: int
    http_statuses: dict[str, int]
    #: seconds: intake_and_workflow, fulfillment_and_invoice, delivery
    phases: dict[str, float]
    http_latencies_s: list[float] = field(default_factory=list)
    orders_by_status: dict[str, int] = field(default_factory=dict)
    invoices: int = 0
    shipments: int = 0

    @property
    def webhook_to_invoice_s(self) -> float:
        return self.phases["intake_and_workflow"] + self.phases["fulfillment_and_invoice"]

    @property
    def total_s(self) -> float:
        return sum(self.phases.values())


def start_stack(aws: EmbeddedAws, template: str = "template.yaml") -> DeployedStack:
    stack = aws.deploy(template)
    stack.serve_http_api()
    seed_reference_data(stack)
    return stack


def _post(client: httpx.Client, url: str, headers: dict[str, str], body: bytes) -> tuple[int, float]:
    start = time.perf_counter()
    for attempt in range(5):  # a channel retries 5xx and timeouts, as Shopify does
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.TransportError:
            time.sleep(0.2 * (attempt + 1))
            continue
        if response.status_code < 500:
            return response.status_code, time.perf_counter() - start
        time.sleep(0.2 * (attempt + 1))
    return 599, time.perf_counter() - start


def signed_webhooks(orders: int, seed: int, duplicate_share: float) -> list[tuple[dict[str, str], bytes]]:
    deliveries = generate_shopify_orders(orders, seed, DAY_START)
    signed = [sign_delivery(d, DEMO_SHOPIFY_SECRET) for d in deliveries]
    step = max(1, round(1 / duplicate_share)) if duplicate_share > 0 else 0
    return signed + (signed[::step] if step else [])


def run_day(
    aws: EmbeddedAws,
    stack: DeployedStack,
    *,
    orders: int,
    seed: int,
    concurrency: int = 8,
    duplicate_share: float = 0.02,
    report: Report | None = None,
    before_timing: Callable[[], None] | None = None,
) -> DayRun:
    """Run the day; metering (if any) is whatever the caller has switched on around this call."""
    report = report or (lambda phase, done, total: None)
    batch = signed_webhooks(orders, seed, duplicate_share)
    url = f"{stack.api_url}/webhooks/shopify"
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    phases: dict[str, float] = {}
    if before_timing:
        before_timing()

    t0 = time.perf_counter()
    with (
        httpx.Client(timeout=60.0, limits=httpx.Limits(max_connections=concurrency)) as client,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        futures = [pool.submit(_post, client, url, headers, body) for headers, body in batch]
        for done, future in enumerate(futures, start=1):
            status, latency = future.result()
            statuses[status] += 1
            latencies.append(latency)
            report("webhooks", done, len(batch))
    aws.wait_idle(timeout=WAIT_TIMEOUT)
    phases["intake_and_workflow"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    warehouse = WarehouseSimulator(
        queue_url=stack.outputs["FulfillmentRequestsQueueUrl"],
        event_bus=stack.outputs["EventBusName"],
        seed=seed,
    )
    shipped = warehouse.ship_pending()
    aws.wait_idle(timeout=WAIT_TIMEOUT)
    report("shipments and invoices", shipped, shipped)
    phases["fulfillment_and_invoice"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    carrier = CarrierSimulator(event_bus=stack.outputs["EventBusName"])
    for scan, hours in ((TrackingStatus.IN_TRANSIT, 6), (TrackingStatus.DELIVERED, 30)):
        scanned = carrier.scan(warehouse.shipments, scan, hours_after_shipping=hours)
        aws.wait_idle(timeout=WAIT_TIMEOUT)
        report(f"carrier {scan.value.lower()}", scanned, scanned)
    phases["delivery"] = time.perf_counter() - t0

    run = DayRun(
        orders=orders,
        deliveries=len(batch),
        http_statuses={str(k): v for k, v in sorted(statuses.items())},
        phases=phases,
        http_latencies_s=latencies,
        shipments=len(warehouse.shipments),
    )
    with unmetered():
        run.orders_by_status, run.invoices = _outcome()
    return run


def _outcome() -> tuple[dict[str, int], int]:
    from oms.data.models import InvoiceRecord, OrderRecord

    by_status: Counter[str] = Counter(order.status for order in OrderRecord.scan())
    invoices = sum(1 for i in InvoiceRecord.scan() if not i.order_id.startswith("SEQUENCE#"))
    return dict(sorted(by_status.items())), invoices


def executions(aws: EmbeddedAws) -> list[dict[str, Any]]:
    """Every Step Functions execution in the emulator: type, status, duration, states entered."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[aws.account_id][aws.region]
    found: list[dict[str, Any]] = []
    for machine in list(backend.state_machines):
        machine_type = str(
            getattr(getattr(machine, "sm_type", None), "value", getattr(machine, "sm_type", ""))
        )
        execution: Any
        for execution in list(machine.executions):
            start, stop = execution.start_date, execution.stop_date
            try:
                events = execution.to_history_output().get("events", [])
            except Exception:
                events = []
            entered = sum(1 for e in events if str(e.get("type", "")).endswith("StateEntered"))
            status = getattr(execution.exec_status, "value", str(execution.exec_status))
            found.append(
                {
                    "arn": execution.exec_arn,
                    "state_machine": machine.arn,
                    "type": machine_type or "STANDARD",
                    "status": status,
                    "duration_s": (stop - start).total_seconds() if start and stop else 0.0,
                    "transitions": entered,
                }
            )
    return found
