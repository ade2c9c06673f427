"""An order as the API shows it: the record, with its price broken down the way its invoice will be."""

from __future__ import annotations

from oms.data.orders import get_order, to_view
from oms.data.pricing import pricing_of
from oms.domain.order import OrderView
from oms.governance.audit_trail import order_history
from oms.pricing.breakdown import compute_breakdown


def order_view(order_id: str) -> OrderView:
    """The order, its history read from its audit trail (decision 0025)."""
    record = get_order(order_id, consistent=False)
    return to_view(record, order_history(order_id, record)).model_copy(
        update={"pricing": compute_breakdown(pricing_of(record)), "tax_calculator": record.tax_calculator}
    )
