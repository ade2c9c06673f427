"""The export's rows, from the records of one business day (pure: oms.data.exports reads and writes).

Each order row carries the criteria of the KPIs (docs/kpis.md), so a KPI is also a query over `orders`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from oms.money import round_money
from oms.privacy.masking import mask_postal_code, pseudonym

SHIPPED_PHASE = {"SHIPPED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERY_EXCEPTION", "DELIVERED"}
ZERO = Decimal("0")


@dataclass(frozen=True)
class OrderDay:
    """What the export knows of one order."""

    order: Any
    """OrderRecord"""
    shipments: list[Any]
    """ShipmentRecord"""
    invoice: Any | None
    """InvoiceRecord"""
    invoice_document: Mapping[str, Any] | None
    """The invoice's JSON document (oms.domain.invoice.InvoiceDocument's fields)."""
    history: Sequence[Any] = ()
    """The order's status changes (oms.domain StatusChange: status, at), from its audit trail."""


def _naive(at: datetime | None) -> datetime | None:
    """Timestamps are UTC; Parquet/Athena `timestamp` carries no zone."""
    return at.replace(tzinfo=None) if at is not None and at.tzinfo is not None else at


def _first_at(history: Iterable[Any], status: str) -> datetime | None:
    return next((h.at for h in history if h.status == status), None)


def quantize(amount: Decimal) -> Decimal:
    """Export amounts have two decimals (the tables' decimal(18,2)); JPY amounts are whole anyway."""
    return round_money(amount, "USD")


def line_net(line: Any, prices_include_tax: bool) -> Decimal:
    gross = Decimal(line.unit_price) * int(line.quantity) - Decimal(line.discount)
    return quantize(gross - Decimal(line.tax) if prices_include_tax else gross)


def units_shipped(order: Any, shipments: list[Any]) -> int:
    """Units of the allocation's warehouses that have shipped (an order ships once per warehouse)."""
    shipped_from = {s.warehouse_id for s in shipments}
    return sum(int(a.quantity) for a in order.allocation or [] if a.warehouse_id in shipped_from)


def invoice_accurate(order: Any, invoice: Any | None, document: Mapping[str, Any] | None) -> bool:
    if invoice is None or document is None:
        return False
    ordered: Counter[str] = Counter()
    for line in order.lines:
        ordered[line.sku] += int(line.quantity)
    invoiced: Counter[str] = Counter()
    for line in document.get("lines", []):
        invoiced[str(line["sku"])] += int(line["quantity"])
    return (
        ordered == invoiced
        and Decimal(invoice.grand_total) == Decimal(order.grand_total)
        and Decimal(str(document.get("grand_total"))) == Decimal(order.grand_total)
    )


def customer_key(order: Any, key: bytes) -> str:
    """The analyst tables' stand-in for the customer: a keyed hash of the e-mail (of the customer id when the
    channel gave none). An erased customer's fields are pseudonyms already: they are kept as they are."""
    email = order.customer.email
    if email and email.startswith("pii:"):
        return str(email)
    return pseudonym(email or order.customer.customer_id, key)


def contact_row(day: OrderDay, key: bytes) -> dict[str, Any]:
    """The `order_contacts` row (personal/: the full values, for the people allowed to see them)."""
    order = day.order
    address = order.shipping_address
    return {
        "order_id": order.order_id,
        "customer_id": order.customer.customer_id,
        "customer_key": customer_key(order, key),
        "customer_name": order.customer.name,
        "customer_email": order.customer.email,
        "ship_to_name": address.name,
        "ship_to_line1": address.line1,
        "ship_to_line2": address.line2,
        "ship_to_city": address.city,
        "ship_to_postal_code": address.postal_code,
        "ship_to_region": address.region,
        "ship_to_country": address.country,
    }


def order_rows(
    day: OrderDay, costs: Mapping[str, Decimal | None], ship_within: timedelta, key: bytes
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `orders` row and the `order_lines` rows of one order. `key`: the pseudonyms' (oms.privacy.keys)."""
    order = day.order
    include_tax = bool(order.prices_include_tax)
    customer = order.customer.customer_id
    lines = []
    revenue = ZERO
    cost_total: Decimal | None = ZERO
    for line in order.lines:
        net = line_net(line, include_tax)
        unit_cost = costs.get(line.sku)
        cost = quantize(unit_cost * int(line.quantity)) if unit_cost is not None else None
        revenue += net
        cost_total = cost_total + cost if cost_total is not None and cost is not None else None
        lines.append(
            {
                "order_id": order.order_id,
                "line_id": line.line_id,
                "customer_id": customer,
                "sku": line.sku,
                "quantity": int(line.quantity),
                "currency": order.currency,
                "unit_price": Decimal(line.unit_price),
                "discount": Decimal(line.discount),
                "tax": Decimal(line.tax),
                "net_amount": net,
                "unit_cost": unit_cost,
                "cost": cost,
                "gross_margin": net - cost if cost is not None else None,
            }
        )
    shipped = order.status in SHIPPED_PHASE
    first_shipped = min((s.shipped_at for s in day.shipments), default=None)
    delivered = _first_at(day.history, "DELIVERED")
    ordered_units = sum(int(line.quantity) for line in order.lines)
    shipped_units = units_shipped(order, day.shipments)
    damaged = any(h.status == "DELIVERY_EXCEPTION" for h in day.history) or any(
        s.status == "DELIVERY_EXCEPTION" or any(e.status == "DELIVERY_EXCEPTION" for e in s.events)
        for s in day.shipments
    )
    on_time = shipped and first_shipped is not None and first_shipped - order.placed_at <= ship_within
    complete = shipped and shipped_units == ordered_units and not order.backorder_order_id
    documents = shipped and invoice_accurate(order, day.invoice, day.invoice_document)
    row = {
        "order_id": order.order_id,
        "channel": order.channel,
        "external_id": order.external_id,
        "customer_id": customer,
        "status": order.status,
        "billing_status": order.billing_status,
        "hold_reason": order.hold_reason,
        "currency": order.currency,
        "placed_at": _naive(order.placed_at),
        "received_at": _naive(datetime.fromisoformat(order.received_at)),
        "first_shipped_at": _naive(first_shipped),
        "delivered_at": _naive(delivered),
        "subtotal": Decimal(order.subtotal),
        "discount_total": Decimal(order.discount_total),
        "shipping_total": Decimal(order.shipping_total),
        "tax_total": Decimal(order.tax_total),
        "grand_total": Decimal(order.grand_total),
        "net_revenue": quantize(revenue),
        "cost_of_goods": cost_total,
        "gross_margin": quantize(revenue - cost_total) if cost_total is not None else None,
        "units_ordered": ordered_units,
        "units_shipped": shipped_units,
        "shipped": shipped,
        "on_time": on_time,
        "complete": complete,
        "undamaged": shipped and not damaged,
        "documents_right": documents,
        "perfect": bool(on_time and complete and shipped and not damaged and documents),
        "cycle_time_hours": (delivered - order.placed_at).total_seconds() / 3600 if delivered else None,
        "invoice_number": day.invoice.invoice_number if day.invoice is not None else None,
        "customer_key": customer_key(order, key),
        "ship_to_country": order.shipping_address.country,
        "ship_to_region": order.shipping_address.region,
        "ship_to_postal_area": mask_postal_code(order.shipping_address.postal_code),
    }
    return row, lines


def invoice_rows(day: OrderDay) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    invoice, document, order = day.invoice, day.invoice_document, day.order
    if invoice is None:
        return [], []
    head = {
        "invoice_number": invoice.invoice_number,
        "order_id": invoice.order_id,
        "customer_id": invoice.customer_id,
        "issued_at": _naive(invoice.issued_at),
        "due_date": datetime.fromisoformat(invoice.due_date).date(),
        "currency": invoice.currency,
        "grand_total": Decimal(invoice.grand_total),
        "tax_total": Decimal(invoice.tax_total),
        "order_grand_total": Decimal(order.grand_total),
        "accurate": invoice_accurate(order, invoice, document),
    }
    lines = [
        {
            "invoice_number": invoice.invoice_number,
            "order_id": invoice.order_id,
            "line_no": number,
            "sku": str(line["sku"]),
            "quantity": int(line["quantity"]),
            "unit_price": Decimal(str(line["unit_price"])),
            "discount": Decimal(str(line.get("discount", "0"))),
            "net_amount": Decimal(str(line["net_amount"])),
            "tax_amount": Decimal(str(line["tax_amount"])),
        }
        for number, line in enumerate((document or {}).get("lines", []), start=1)
    ]
    return [head], lines


def shipment_rows(day: OrderDay) -> list[dict[str, Any]]:
    rows = []
    for shipment in day.shipments:
        delivered = next((e.at for e in shipment.events if e.status == "DELIVERED"), None)
        rows.append(
            {
                "order_id": shipment.order_id,
                "shipment_id": shipment.shipment_id,
                "warehouse_id": shipment.warehouse_id,
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "status": shipment.status,
                "shipped_at": _naive(shipment.shipped_at),
                "delivered_at": _naive(delivered),
                "delivery_exception": any(e.status == "DELIVERY_EXCEPTION" for e in shipment.events),
            }
        )
    return rows


def exception_row(record: Any) -> dict[str, Any]:
    return {
        "exception_id": record.exception_id,
        "kind": record.kind,
        "subject": record.subject,
        "state": record.state,
        "owner_group": record.owner_group,
        "assigned_to": record.assigned_to,
        "escalate_to": record.escalate_to,
        "opened_at": _naive(record.opened_at),
        "sla_due_at": _naive(record.sla_due_at),
        "escalated_at": _naive(record.escalated_at),
        "closed_at": _naive(record.closed_at),
        "closed_by": record.closed_by,
        "detail": record.detail,
    }
