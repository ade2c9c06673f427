"""The KPIs of a day's orders, from the export's order rows (docs/kpis.md gives each formula and source).

Rates are over the orders where the criterion can be judged: shipping criteria over shipped orders, cycle time
over delivered ones, fill rate over the units of orders released to fulfilment (allocated, waiting for the
warehouse, backordered or shipped: an order held for its price or cancelled is not a fill problem).
A rate with nothing to judge is None (not 0, not 1). Percentiles are nearest-rank."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

FILLABLE = {
    "ALLOCATED",
    "FULFILLMENT_REQUESTED",
    "BACKORDERED",
    "SHIPPED",
    "IN_TRANSIT",
    "OUT_FOR_DELIVERY",
    "DELIVERY_EXCEPTION",
    "DELIVERED",
}


def nearest_rank(values: Sequence[float], percentile: float) -> float | None:
    """The smallest value with at least `percentile` % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[rank - 1]


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def daily_kpis(orders: Sequence[dict[str, Any]]) -> dict[str, Any]:
    shipped = [o for o in orders if o["shipped"]]
    cycle = [o["cycle_time_hours"] for o in orders if o["cycle_time_hours"] is not None]
    rates = {
        name: _rate(sum(1 for o in shipped if o[criterion]), len(shipped))
        for name, criterion in (
            ("on_time_shipment_rate", "on_time"),
            ("complete_rate", "complete"),
            ("undamaged_rate", "undamaged"),
            ("documents_right_rate", "documents_right"),
        )
    }
    product = None
    if all(rate is not None for rate in rates.values()):
        product = math.prod(rate for rate in rates.values() if rate is not None)
    served = [o for o in orders if o["status"] in FILLABLE]
    invoiced = [o for o in orders if o["invoice_number"]]
    costed = [o for o in orders if o["cost_of_goods"] is not None]
    revenue = sum((o["net_revenue"] for o in costed), Decimal("0"))
    cost = sum((o["cost_of_goods"] for o in costed), Decimal("0"))
    return {
        "orders": len(orders),
        "orders_shipped": len(shipped),
        "orders_delivered": len(cycle),
        "cycle_time_p50_hours": nearest_rank(cycle, 50),
        "cycle_time_p90_hours": nearest_rank(cycle, 90),
        **rates,
        "perfect_order_rate_product": product,
        "perfect_order_rate_all": _rate(sum(1 for o in shipped if o["perfect"]), len(shipped)),
        "invoice_accuracy": _rate(sum(1 for o in invoiced if o["documents_right"]), len(invoiced)),
        "fill_rate": _rate(sum(o["units_shipped"] for o in served), sum(o["units_ordered"] for o in served)),
        "net_revenue": revenue,
        "cost_of_goods": cost,
        "gross_margin": revenue - cost,
        "gross_margin_pct": float((revenue - cost) / revenue) if revenue else None,
    }
