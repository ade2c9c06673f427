"""The ERP/sales portal: `POST /orders` with an order of our own schema (docs/channels/webshop.md, the
`data` object) plus an optional `customer_reference`.

The request is authenticated upstream (JWT authorizer or IAM); the caller passes the authenticated user as
`entered_by` (e.g. "user:jdoe"), which the order keeps for segregation of duties: the user who entered an
order cannot approve it. The ERP's own `order_id` is the external id, so a retried POST is the same order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oms.channels.custom import parse_order_document, to_canonical
from oms.domain.errors import ChannelPayloadError
from oms.domain.order import CanonicalOrder

CHANNEL = "erp"

# A user principal as the authorizer hands it over: never a channel integration ("channel:..."), which would
# let an API caller pose as a webhook.
_ENTERED_BY = re.compile(r"^(?!channel:)[A-Za-z0-9][A-Za-z0-9._:\-]{0,79}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ErpOrder:
    order: CanonicalOrder
    customer_reference: str | None
    """The customer's purchase order number, if any (CanonicalOrder has no field for it yet)."""


def parse_erp_submission(payload: Mapping[str, Any], entered_by: str) -> ErpOrder:
    """Validate a `POST /orders` body; `ChannelPayloadError` with a field-named reason for bad input.

    `entered_by` is not input from the body: a malformed one is a programming error (`ValueError`).
    """
    if not _ENTERED_BY.fullmatch(entered_by):
        raise ValueError("entered_by must be an authenticated user principal such as 'user:jdoe'")
    doc = parse_order_document(payload)
    if doc.customer.id is None:
        # Sales-portal orders are placed for an account; guest checkouts exist only in the shops.
        raise ChannelPayloadError("customer.id: is required for ERP orders")
    order = to_canonical(doc, channel=CHANNEL, entered_by=entered_by)
    reference = _CONTROL.sub(" ", doc.customer_reference).strip() if doc.customer_reference else None
    return ErpOrder(order=order, customer_reference=reference or None)


def parse_erp_order(payload: Mapping[str, Any], entered_by: str) -> CanonicalOrder:
    """The canonical order of a `POST /orders` body entered by the authenticated `entered_by`."""
    return parse_erp_submission(payload, entered_by).order
