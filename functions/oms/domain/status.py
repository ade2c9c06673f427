"""Order status dimensions and the explicit table of valid transitions (as OFBiz does it).

Two dimensions are kept apart, as ERPNext and Saleor do: the order's lifecycle `OrderStatus`
(where the goods are) and its `BillingStatus` (whether it was invoiced).
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    RECEIVED = "RECEIVED"
    VALIDATED = "VALIDATED"
    BACKORDERED = "BACKORDERED"
    """Validated, waiting in the per-SKU backorder queues for stock (nothing reserved yet)."""
    ALLOCATED = "ALLOCATED"
    FULFILLMENT_REQUESTED = "FULFILLMENT_REQUESTED"
    SHIPPED = "SHIPPED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERY_EXCEPTION = "DELIVERY_EXCEPTION"
    DELIVERED = "DELIVERED"
    ON_HOLD = "ON_HOLD"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    """An approver rejected the order (or nobody approved it in time and its rule rejects): it ends here,
    any stock it held released once."""


class BillingStatus(StrEnum):
    NOT_INVOICED = "NOT_INVOICED"
    INVOICED = "INVOICED"


class HoldReason(StrEnum):
    """Machine-readable reasons an order stops and waits for a person."""

    UNKNOWN_SKU = "UNKNOWN_SKU"
    PRICE_MISMATCH = "PRICE_MISMATCH"
    TAX_MISMATCH = "TAX_MISMATCH"
    TOTAL_MISMATCH = "TOTAL_MISMATCH"
    DISCOUNT_OVER_POLICY = "DISCOUNT_OVER_POLICY"
    DISCOUNT_MISMATCH = "DISCOUNT_MISMATCH"
    """A discount the channel states is not what its line (or shipping) amounts carry."""
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    UNKNOWN_JURISDICTION = "UNKNOWN_JURISDICTION"
    RESERVATION_EXPIRED = "RESERVATION_EXPIRED"
    """The order did not ship within the reservation hold time; its stock was released."""
    CREDIT_HOLD = "CREDIT_HOLD"
    """The customer is on credit hold (the last dunning level, or credit control): new orders wait."""
    APPROVAL_REQUIRED = "APPROVAL_REQUIRED"
    """An approval rule matched: the order waits for its approvers (`GET /approvals?assigned=me`)."""
    CREDIT_LIMIT = "CREDIT_LIMIT"
    """The order would take its customer past the credit limit (or the customer is on credit hold): it waits
    for credit control."""
    APPROVAL_EXPIRED = "APPROVAL_EXPIRED"
    """Nobody approved in time, even after escalation, and the rule holds the order for a person."""


S = OrderStatus

# to-status -> the statuses it may be entered from.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    # Back to RECEIVED: the channel amended the order before allocation; it is validated again. From
    # FAILED: an operator retries an order that failed in validation.
    S.RECEIVED: frozenset({S.VALIDATED, S.ON_HOLD, S.FAILED}),
    # VALIDATED from ON_HOLD: an operator released the hold (accepted the order as it is). From FAILED: an
    # operator retries an order that failed at or after allocation (its stock was released).
    S.VALIDATED: frozenset({S.RECEIVED, S.ON_HOLD, S.FAILED}),
    S.BACKORDERED: frozenset({S.VALIDATED}),
    S.ALLOCATED: frozenset({S.VALIDATED, S.BACKORDERED}),
    S.FULFILLMENT_REQUESTED: frozenset({S.ALLOCATED}),
    S.SHIPPED: frozenset({S.FULFILLMENT_REQUESTED}),
    S.IN_TRANSIT: frozenset({S.SHIPPED, S.DELIVERY_EXCEPTION}),
    S.OUT_FOR_DELIVERY: frozenset({S.SHIPPED, S.IN_TRANSIT, S.DELIVERY_EXCEPTION}),
    S.DELIVERY_EXCEPTION: frozenset({S.SHIPPED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY}),
    S.DELIVERED: frozenset({S.SHIPPED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERY_EXCEPTION}),
    # ON_HOLD from ALLOCATED / FULFILLMENT_REQUESTED: the reservation expired before the order shipped.
    S.ON_HOLD: frozenset({S.RECEIVED, S.VALIDATED, S.ALLOCATED, S.FULFILLMENT_REQUESTED}),
    S.FAILED: frozenset({S.RECEIVED, S.VALIDATED, S.BACKORDERED, S.ALLOCATED, S.FULFILLMENT_REQUESTED}),
    S.CANCELLED: frozenset(
        {S.RECEIVED, S.VALIDATED, S.BACKORDERED, S.ALLOCATED, S.ON_HOLD, S.FULFILLMENT_REQUESTED}
    ),
    # REJECTED: an order waiting for approval (ON_HOLD, APPROVAL_REQUIRED or CREDIT_LIMIT) was rejected.
    S.REJECTED: frozenset({S.ON_HOLD}),
}

TERMINAL: frozenset[OrderStatus] = frozenset({S.DELIVERED, S.CANCELLED, S.REJECTED})
"""FAILED is not terminal: `python -m ops retry` sends a failed order back to the step that failed."""


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return current in ALLOWED_TRANSITIONS.get(target, frozenset())
