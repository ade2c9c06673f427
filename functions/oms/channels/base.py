"""What every sales-channel adapter provides: signature verification and the interpretation of one
webhook delivery into a channel-neutral `ChannelDelivery`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from oms.domain.order import CanonicalOrder


class DeliveryKind(StrEnum):
    CREATED = "CREATED"
    """A new order (an already known external id is a redelivery: the first order stands)."""
    UPDATED = "UPDATED"
    """The channel changed the order; it amends the OMS order while that has not been allocated."""
    CANCELLED = "CANCELLED"
    """The channel cancelled the order; reserved stock is released unless it has shipped."""
    PING = "PING"
    """A channel's connectivity check (e.g. WooCommerce's creation ping): answered 200, nothing stored."""
    IGNORED = "IGNORED"
    """A delivery this OMS does not act on (another topic): answered 200 with the reason, nothing stored."""
    PRIVACY = "PRIVACY"
    """A channel's privacy request (Shopify's compliance webhooks): queued for the privacy function, which
    erases or exports the customer's data as `POST /customers/{id}/erasure` or `/access-request` would."""


@dataclass(frozen=True)
class PrivacyRequest:
    """What a channel asks on behalf of a customer or a shop (decision 0053)."""

    kind: str
    """ERASURE (customers/redact), ACCESS (customers/data_request), SHOP_REDACT (shop/redact)."""
    customer_id: str | None
    """The OMS customer id (`shopify-<id>`); None for a shop's redaction."""
    orders: tuple[str, ...] = ()
    """The channel's order ids the request names."""


@dataclass(frozen=True)
class ChannelDelivery:
    kind: DeliveryKind
    delivery_id: str
    """The channel's id of this delivery (the dedupe and archive key): X-Shopify-Event-Id,
    X-WC-Webhook-Delivery-ID, webhook-id."""
    external_id: str | None = None
    order: CanonicalOrder | None = None
    """The order as the channel now describes it (CREATED and UPDATED)."""
    note: str | None = None
    privacy: PrivacyRequest | None = None
    """PRIVACY: what is asked."""


class ChannelAdapter(Protocol):
    name: str

    def verify(
        self, raw_body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: datetime
    ) -> None:
        """Raise SignatureError unless one of `secrets` signed `raw_body` (several during rotation).
        `headers` have lower-case names."""

    def interpret(self, raw_body: bytes, headers: Mapping[str, str]) -> ChannelDelivery:
        """Turn a verified delivery into a ChannelDelivery; raise ChannelPayloadError (or a subclass)
        with a field-named reason when it is not a valid delivery of this channel."""
