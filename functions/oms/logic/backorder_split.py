"""Ship what is available now, backorder the rest: split an order into the part that ships and a child
backorder order that waits for stock (its own reservation, shipment and invoice later).

The money split is pure and exact: for every line, every discount allocation, every tax line and every
total, parent + child = the original. Per line, the child's share of each discount allocation and each tax
line is the original's share by quantity, rounded half-up to the cent; the parent keeps the rest (and all
of the shipping and fees). The two invoices are built from these amounts, so together they invoice exactly
what the original order charged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from oms.data.backorders import split_order
from oms.data.models import OrderRecord
from oms.data.pricing import lines_of
from oms.domain.order import OrderLine
from oms.money import ZERO, round_money

SUFFIX = "-bo"

LineMoney = OrderLine
"""A line with its money (kept as a name for the split's callers)."""


@dataclass(frozen=True)
class Split:
    ships_now: tuple[OrderLine, ...]
    backordered: tuple[OrderLine, ...]


def backorder_order_id(order_id: str) -> str:
    """The child's id: derived from the parent's, so a retried split finds the same child."""
    return "ord_" + hashlib.sha256(f"{order_id}#backorder".encode()).hexdigest()[:24]


def _share(line: OrderLine, moving: int, currency: str) -> tuple[OrderLine, OrderLine]:
    """(the child's part of `line` with `moving` units, the parent's rest)."""
    share = Decimal(moving) / Decimal(line.quantity)
    child_discounts = [
        d.model_copy(update={"amount": round_money(d.amount * share, currency)}) for d in line.discounts
    ]
    child_taxes = [
        t.model_copy(update={"amount": round_money(t.amount * share, currency)}) for t in line.taxes
    ]
    child_discount = (
        sum((d.amount for d in child_discounts), ZERO)
        if line.discounts
        else round_money(line.discount * share, currency)
    )
    child_tax = (
        sum((t.amount for t in child_taxes), ZERO) if line.taxes else round_money(line.tax * share, currency)
    )
    child = line.model_copy(
        update={
            "line_id": line.line_id + SUFFIX,
            "quantity": moving,
            "discount": child_discount,
            "discounts": child_discounts,
            "tax": child_tax,
            "taxes": child_taxes,
        }
    )
    rest = line.model_copy(
        update={
            "quantity": line.quantity - moving,
            "discount": line.discount - child_discount,
            "discounts": [
                d.model_copy(update={"amount": d.amount - c.amount})
                for d, c in zip(line.discounts, child_discounts, strict=True)
            ],
            "tax": line.tax - child_tax,
            "taxes": [
                t.model_copy(update={"amount": t.amount - c.amount})
                for t, c in zip(line.taxes, child_taxes, strict=True)
            ],
        }
    )
    return child, rest


def split_lines(lines: Sequence[OrderLine], missing: Mapping[str, int], currency: str) -> Split:
    """Move `missing` units per SKU to the child, taking from the SKU's last lines first."""
    left = dict(missing)
    now: list[OrderLine] = []
    later: list[OrderLine] = []
    for line in reversed(lines):
        moving = min(line.quantity, left.get(line.sku, 0))
        if moving == 0:
            now.append(line)
            continue
        left[line.sku] -= moving
        child, rest = _share(line, moving, currency)
        later.append(child)
        if moving < line.quantity:
            now.append(rest)
    if any(left.values()):
        raise ValueError(f"cannot backorder more than was ordered: {left}")
    return Split(tuple(reversed(now)), tuple(reversed(later)))


def totals_of(lines: Sequence[OrderLine], *, prices_include_tax: bool = False) -> dict[str, Decimal]:
    subtotal = sum((line.unit_price * line.quantity for line in lines), ZERO)
    discount = sum((line.discount for line in lines), ZERO)
    tax = sum((line.tax for line in lines), ZERO)
    return {
        "subtotal": subtotal,
        "discount_total": discount,
        "shipping_total": ZERO,
        "tax_total": tax,
        "grand_total": subtotal - discount + (ZERO if prices_include_tax else tax),
    }


def split_off_backorder(
    record: OrderRecord, missing: Mapping[str, int], *, escalate_after: timedelta, by: str, now: datetime
) -> bool:
    """Split a VALIDATED order: it keeps what ships now, a new BACKORDERED order takes `missing`.

    Returns False when the order was split or moved meanwhile (the caller reads it again).
    """
    lines = lines_of(record)
    split = split_lines(lines, missing, record.currency)
    child_totals = totals_of(split.backordered, prices_include_tax=bool(record.prices_include_tax))
    return split_order(
        record,
        child_id=backorder_order_id(record.order_id),
        ships_now=list(split.ships_now),
        backordered=list(split.backordered),
        child_totals=child_totals,
        missing=dict(missing),
        escalate_after=escalate_after,
        by=by,
        at=now,
    )
