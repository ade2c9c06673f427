"""A customer's credit: its limit, its exposure, its credit hold.

Exposure is what the customer owes (open receivables) plus what it has ordered and not been invoiced for
(open orders, orders pending approval). It is changed only inside the transactions that change those
amounts, by `ExposureChange` items: an order accepted or routed to approval adds its total, conditional on
the exposure leaving room under the limit read (so fifty concurrent orders cannot take it past the limit);
a rejection or cancellation takes it away again.

The interface receivables (issue 12, cash) use: `exposure_update(ExposureChange(customer, delta))` inside
their own transaction (an invoice moves an amount from open orders to receivables: no change; a payment
or credit applied, a write-off or a reversal moves it by the invoice's change in outstanding, for the orders
`counted_orders` names), and `credit_of` to read the figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from oms.data.models import CustomerRecord, OrderRecord
from oms.money import ZERO


@dataclass(frozen=True)
class CustomerCredit:
    customer_id: str
    tier: str
    credit_limit: Decimal | None
    exposure: Decimal
    on_hold: bool
    known: bool
    """False for a channel customer without an account (no limit, no exposure kept)."""


@dataclass(frozen=True)
class ExposureChange:
    customer_id: str
    delta: Decimal
    within: Decimal | None = None
    """Add only if the exposure afterwards stays at or below this (the limit read); None: unconditional
    (a release, or credit control's own override)."""


def credit_of(customer_id: str) -> CustomerCredit:
    try:
        record = CustomerRecord.get(customer_id, consistent_read=True)
    except DoesNotExist:
        return CustomerCredit(customer_id, "DEFAULT", None, ZERO, False, known=False)
    return CustomerCredit(
        customer_id,
        str(record.tier),
        Decimal(record.credit_limit) if record.credit_limit is not None else None,
        Decimal(record.exposure or 0),
        bool(record.credit_hold),
        known=True,
    )


def counted_orders(order_ids: Iterable[str]) -> dict[str, str]:
    """Of `order_ids`, those whose total counts in their customer's exposure (order id -> customer id)."""
    wanted = sorted(set(order_ids))
    if not wanted:
        return {}
    counted: dict[str, str] = {}
    for order_id in wanted:  # a payment settles one invoice or a few: key lookups, no batch needed
        try:
            record = OrderRecord.get(
                order_id, consistent_read=True, attributes_to_get=["order_id", "customer", "credit_exposure"]
            )
        except DoesNotExist:
            continue
        if record.credit_exposure is not None:
            counted[record.order_id] = record.customer.customer_id
    return counted


def exposure_update(change: ExposureChange) -> tuple[list[Action], Condition]:
    """The update (for a transaction) that moves the customer's exposure by `delta`."""
    actions: list[Action] = [CustomerRecord.exposure.add(change.delta)]  # ADD: from 0 if absent
    condition: Condition = CustomerRecord.customer_id.exists()
    if change.within is not None:
        room = change.within - change.delta
        # exposure <= limit - delta (or no exposure yet and the order alone fits)
        fits = CustomerRecord.exposure <= room
        if room >= 0:
            fits = fits | CustomerRecord.exposure.does_not_exist()
        condition = condition & fits & (CustomerRecord.credit_limit == change.within)
        condition = condition & (
            CustomerRecord.credit_hold.does_not_exist() | (CustomerRecord.credit_hold == False)  # noqa: E712
        )
    return actions, condition


def set_credit(customer_id: str, *, limit: Decimal | None, hold: bool | None = None) -> None:
    """Credit control sets a customer's limit and hold."""
    actions: list[Action] = [
        CustomerRecord.credit_limit.set(limit) if limit is not None else CustomerRecord.credit_limit.remove()
    ]
    if hold is not None:
        actions.append(CustomerRecord.credit_hold.set(hold))
    CustomerRecord(customer_id).update(actions=actions, condition=CustomerRecord.customer_id.exists())
