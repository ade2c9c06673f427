"""Ship what is available now, backorder the rest: split an order into the part that ships and a child
backorder order that waits for stock (its own reservation, shipment and invoice later).

The money split is pure and exact: for every line and every total, parent + child = the original. Per
line, the child's discount and tax are the original's share by quantity, rounded half-up to the cent;
the parent keeps the rest (and all of the shipping). The invoices recompute tax per line from the net
amount, so across the two invoices tax can differ from the original order's by at most one minor unit
per split line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from oms.data.backorders import split_order
from oms.data.models import OrderRecord
from oms.money import ZERO, round_money

SUFFIX = "-bo"


@dataclass(frozen=True)
class LineMoney:
    line_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Split:
    ships_now: tuple[LineMoney, ...]
    backordered: tuple[LineMoney, ...]


def backorder_order_id(order_id: str) -> str:
    """The child's id: derived from the parent's, so a retried split finds the same child."""
    return "ord_" + hashlib.sha256(f"{order_id}#backorder".encode()).hexdigest()[:24]


def split_lines(lines: Sequence[LineMoney], missing: Mapping[str, int], currency: str) -> Split:
    """Move `missing` units per SKU to the child, taking from the SKU's last lines first."""
    left = dict(missing)
    now: list[LineMoney] = []
    later: list[LineMoney] = []
    for line in reversed(lines):
        moving = min(line.quantity, left.get(line.sku, 0))
        if moving == 0:
            now.append(line)
            continue
        left[line.sku] -= moving
        share = Decimal(moving) / Decimal(line.quantity)
        child = LineMoney(
            line_id=line.line_id + SUFFIX,
            sku=line.sku,
            name=line.name,
            quantity=moving,
            unit_price=line.unit_price,
            discount=round_money(line.discount * share, currency),
            tax=round_money(line.tax * share, currency),
        )
        later.append(child)
        if moving < line.quantity:
            now.append(
                replace(
                    line,
                    quantity=line.quantity - moving,
                    discount=line.discount - child.discount,
                    tax=line.tax - child.tax,
                )
            )
    if any(left.values()):
        raise ValueError(f"cannot backorder more than was ordered: {left}")
    return Split(tuple(reversed(now)), tuple(reversed(later)))


def totals_of(lines: Sequence[LineMoney]) -> dict[str, Decimal]:
    subtotal = sum((line.unit_price * line.quantity for line in lines), ZERO)
    discount = sum((line.discount for line in lines), ZERO)
    tax = sum((line.tax for line in lines), ZERO)
    return {
        "subtotal": subtotal,
        "discount_total": discount,
        "shipping_total": ZERO,
        "tax_total": tax,
        "grand_total": subtotal - discount + tax,
    }


def split_off_backorder(
    record: OrderRecord, missing: Mapping[str, int], *, escalate_after: timedelta, by: str, now: datetime
) -> bool:
    """Split a VALIDATED order: it keeps what ships now, a new BACKORDERED order takes `missing`.

    Returns False when the order was split or moved meanwhile (the caller reads it again).
    """
    lines = [
        LineMoney(
            line_id=line.line_id,
            sku=line.sku,
            name=line.name,
            quantity=int(line.quantity),
            unit_price=line.unit_price,
            discount=line.discount,
            tax=line.tax,
        )
        for line in record.lines
    ]
    split = split_lines(lines, missing, record.currency)
    child_totals = totals_of(split.backordered)
    return split_order(
        record,
        child_id=backorder_order_id(record.order_id),
        ships_now=[_as_dict(line) for line in split.ships_now],
        backordered=[_as_dict(line) for line in split.backordered],
        child_totals=child_totals,
        missing=dict(missing),
        escalate_after=escalate_after,
        by=by,
        at=now,
    )


def _as_dict(line: LineMoney) -> dict[str, object]:
    return {
        "line_id": line.line_id,
        "sku": line.sku,
        "name": line.name,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "discount": line.discount,
        "tax": line.tax,
    }
