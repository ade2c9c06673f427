"""The cost model: metered usage x a dated price table → dollars, by service. Pure arithmetic, no I/O
except loading the price table; every amount is a Decimal."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PRICES = ROOT / "data" / "prices" / "aws-us-east-1-2026-11.json"

MB_PER_GB = Decimal(1024)
#: The services in the order every report lists them.
SERVICES = (
    "stepfunctions",
    "lambda",
    "dynamodb",
    "sqs",
    "s3",
    "eventbridge",
    "apigateway",
    "cloudwatch_logs",
    "xray",
    "secretsmanager",
)


@dataclass(frozen=True)
class PriceTable:
    region: str
    as_of: str
    currency: str
    prices: dict[str, dict[str, Any]]
    path: str = ""

    def price(self, service: str, key: str) -> Decimal:
        return Decimal(str(self.prices[service][key]))

    def number(self, service: str, key: str) -> int:
        return int(self.prices[service][key])

    def sources(self) -> dict[str, str]:
        return {service: str(entry.get("source", "")) for service, entry in self.prices.items()}


def load_prices(path: Path = DEFAULT_PRICES) -> PriceTable:
    raw = json.loads(Path(path).read_text())
    return PriceTable(
        region=raw["region"],
        as_of=raw["as_of"],
        currency=raw["currency"],
        prices=raw["prices"],
        path=str(path),
    )


# ---------------------------------------------------------------------------------------- billing units
def chunks(size_bytes: int, chunk_bytes: int) -> int:
    """Requests billed for one payload: each started chunk counts (an empty payload is one request)."""
    return max(1, math.ceil(size_bytes / chunk_bytes))


def dynamodb_write_units(size_bytes: int, *, transactional: bool = False, unit_bytes: int = 1024) -> int:
    """Write request units of writing one item of ``size_bytes`` (the larger of before and after)."""
    units = max(1, math.ceil(size_bytes / unit_bytes))
    return units * (2 if transactional else 1)


def dynamodb_read_units(
    size_bytes: int, *, consistent: bool = False, transactional: bool = False, unit_bytes: int = 4096
) -> Decimal:
    """Read request units of reading ``size_bytes`` (one item, or a Query's/Scan's whole result):
    1 per started 4 KB strongly consistent, half that eventually consistent, double in a transaction."""
    units = Decimal(max(1, math.ceil(size_bytes / unit_bytes)))
    if transactional:
        return units * 2
    return units if consistent else units / 2


def lambda_billed_ms(duration_s: float, rounding_ms: int = 1) -> int:
    """Lambda bills the handler's duration rounded up to the next ``rounding_ms``."""
    ms = max(duration_s * 1000.0, 0.0)
    return max(rounding_ms, math.ceil(ms / rounding_ms - 1e-9) * rounding_ms)


def lambda_gb_seconds(invocations: Iterable[tuple[float, int]], rounding_ms: int = 1) -> Decimal:
    """Σ billed duration x configured memory over ``(duration_s, memory_mb)`` pairs."""
    total = Decimal(0)
    for duration_s, memory_mb in invocations:
        total += Decimal(lambda_billed_ms(duration_s, rounding_ms)) / 1000 * Decimal(memory_mb) / MB_PER_GB
    return total


def express_gb_seconds(
    durations_s: Iterable[float], *, memory_mb: int = 64, step_mb: int = 64, rounding_ms: int = 100
) -> Decimal:
    """Express workflows: each execution's duration rounded up to 100 ms, memory rounded up to 64 MB."""
    memory = Decimal(max(step_mb, math.ceil(memory_mb / step_mb) * step_mb)) / MB_PER_GB
    total = Decimal(0)
    for duration_s in durations_s:
        billed_ms = max(
            rounding_ms, math.ceil(max(duration_s, 0.0) * 1000 / rounding_ms - 1e-9) * rounding_ms
        )
        total += Decimal(billed_ms) / 1000 * memory
    return total


# ---------------------------------------------------------------------------------------- usage → cost
@dataclass
class Usage:
    """Billable usage of a run (totals, not per order)."""

    sfn_standard_transitions: int = 0
    sfn_express_requests: int = 0
    sfn_express_gb_seconds: Decimal = Decimal(0)
    lambda_requests: int = 0
    lambda_gb_seconds: Decimal = Decimal(0)
    dynamodb_write_units: Decimal = Decimal(0)
    dynamodb_read_units: Decimal = Decimal(0)
    sqs_requests: int = 0
    s3_put_requests: int = 0
    s3_get_requests: int = 0
    eventbridge_events: int = 0
    http_api_requests: int = 0
    log_bytes: int = 0
    xray_traces: int = 0
    secretsmanager_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}

    def per(self, count: int) -> dict[str, float]:
        """Each figure divided by `count` (per order, per run of a flow)."""
        return {k: float(v) / count for k, v in asdict(self).items()}


@dataclass
class CostBreakdown:
    by_service: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.by_service.values(), Decimal(0))

    def per(self, orders: int, per_orders: int = 1000) -> CostBreakdown:
        if orders <= 0:
            raise ValueError("orders must be positive")
        factor = Decimal(per_orders) / Decimal(orders)
        return CostBreakdown({k: v * factor for k, v in self.by_service.items()})


def cost(usage: Usage, prices: PriceTable) -> CostBreakdown:
    p = prices.price
    gb = Decimal(1024**3)
    by_service = {
        "stepfunctions": usage.sfn_standard_transitions * p("stepfunctions", "standard_per_transition")
        + usage.sfn_express_requests * p("stepfunctions", "express_per_request")
        + usage.sfn_express_gb_seconds * p("stepfunctions", "express_per_gb_second"),
        "lambda": usage.lambda_requests * p("lambda", "per_request")
        + usage.lambda_gb_seconds * p("lambda", "arm64_per_gb_second"),
        "dynamodb": usage.dynamodb_write_units * p("dynamodb", "per_write_request_unit")
        + usage.dynamodb_read_units * p("dynamodb", "per_read_request_unit"),
        "sqs": usage.sqs_requests * p("sqs", "per_request"),
        "s3": usage.s3_put_requests * p("s3", "per_put_request")
        + usage.s3_get_requests * p("s3", "per_get_request"),
        "eventbridge": usage.eventbridge_events * p("eventbridge", "per_custom_event"),
        "apigateway": usage.http_api_requests * p("apigateway", "http_api_per_request"),
        "cloudwatch_logs": Decimal(usage.log_bytes) / gb * p("cloudwatch_logs", "per_gb_ingested"),
        "xray": usage.xray_traces * p("xray", "per_trace_recorded"),
        "secretsmanager": usage.secretsmanager_calls * p("secretsmanager", "per_api_call"),
    }
    return CostBreakdown({k: Decimal(v) for k, v in by_service.items()})


def dollars(value: Decimal, places: int = 6) -> str:
    """A dollar amount for reports, rounded up at ``places`` decimals (never understate a cost)."""
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_CEILING))


def as_floats(values: Mapping[str, Decimal]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()}
