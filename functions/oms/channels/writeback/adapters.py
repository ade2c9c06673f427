"""Telling each channel what happened to its order, through its own API (docs/decisions/0022).

* Shopify (REST Admin API 2025-01, fulfillment orders): a shipment becomes a fulfillment of the fulfillment
  order line items it shipped, with its tracking number, carrier and tracking URL
  (`GET orders/{id}/fulfillment_orders.json`, `POST fulfillments.json`); a delivery becomes a `delivered`
  fulfillment event (`POST orders/{id}/fulfillments/{fulfillment_id}/events.json`); an OMS cancellation
  cancels the order (`POST orders/{id}/cancel.json`). Rate limits: the leaky bucket the
  `X-Shopify-Shop-Api-Call-Limit` header reports (the client slows down before it is full) and 429 with
  `Retry-After`.
* WooCommerce (REST API v3): each shipment and delivery is an order note (the shipment's note goes to the
  customer), the last shipment completes the order (`PUT orders/{id}` `{"status": "completed"}`), a
  cancellation or refund sets that status.
* The web shop and the ERP: a signed outbound webhook in the Standard Webhooks scheme (`webhook-id` is the
  notification's id, the same on every retry, so the receiver deduplicates).

Each call is idempotent on the channel's side as well: before repeating a call whose first attempt may
have reached the channel, the adapter looks for its effect (a fulfillment with this tracking number, a note
carrying the notification's id, a delivered event) and does not repeat it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from oms.channels.signatures import standard_webhook_signature
from oms.channels.writeback.http import ChannelCallError, ChannelUnavailableError, HttpClient, HttpResponse
from oms.domain.notifications import ChannelNotification, NotificationKind

SHOPIFY_API_VERSION = "2025-01"

# Carrier codes of the warehouse events → the company names Shopify knows, and their tracking pages.
_CARRIERS: dict[str, tuple[str, str]] = {
    "UPS": ("UPS", "https://www.ups.com/track?tracknum={}"),
    "FEDEX": ("FedEx", "https://www.fedex.com/fedextrack/?trknbr={}"),
    "USPS": ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"),
    "DHL": ("DHL Express", "https://www.dhl.com/global-en/home/tracking.html?tracking-id={}"),
}


@dataclass(frozen=True)
class WriteBackResult:
    done: bool
    """False when there was nothing the channel could be told (recorded as skipped, with `detail`)."""
    reference: str | None = None
    """The channel's id of what was created (a Shopify fulfillment id, a WooCommerce note id)."""
    detail: str = ""


class WriteBack(Protocol):
    def deliver(
        self, notification: ChannelNotification, *, first_attempt: bool, reference: str | None
    ) -> WriteBackResult:
        """Tell the channel. `first_attempt` is False when an earlier attempt may have reached the channel;
        `reference` is what an earlier notification of the same shipment created (its fulfillment)."""


def carrier_info(carrier: str | None, tracking_number: str | None) -> dict[str, str]:
    info: dict[str, str] = {}
    if tracking_number:
        info["number"] = tracking_number
    if carrier:
        company, url = _CARRIERS.get(carrier.upper(), (carrier, ""))
        info["company"] = company
        if url and tracking_number:
            info["url"] = url.format(tracking_number)
    return info


# --- Shopify ---------------------------------------------------------------------------------------------


class ShopifyBucket:
    """Client side of Shopify's leaky bucket: after each answer, wait when the bucket is nearly full."""

    def __init__(self, leak_per_second: float, sleep: Callable[[float], None]) -> None:
        self.leak_per_second = leak_per_second
        self.sleep = sleep
        self.waited = 0.0

    def __call__(self, response: HttpResponse) -> None:
        header = response.headers.get("x-shopify-shop-api-call-limit", "")
        used, _, size = header.partition("/")
        if not (used.isdigit() and size.isdigit()):
            return
        headroom = int(size) - int(used)
        if headroom <= 2:
            wait = (3 - headroom) / self.leak_per_second
            self.waited += wait
            self.sleep(wait)


class ShopifyWriteBack:
    def __init__(
        self, credentials: Mapping[str, Any], *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        version = credentials.get("api_version", SHOPIFY_API_VERSION)
        base = credentials.get("base_url") or f"https://{credentials['shop_domain']}"
        self.bucket = ShopifyBucket(float(credentials.get("leak_per_second", 2)), sleep)
        self.client = HttpClient(
            base_url=f"{base.rstrip('/')}/admin/api/{version}/",
            headers={"X-Shopify-Access-Token": str(credentials["access_token"])},
            timeout=float(credentials.get("timeout_seconds", 5)),
            sleep=sleep,
            after_response=self.bucket,
        )
        self.notify_customer = bool(credentials.get("notify_customer", True))

    def _fulfillments(self, order: str) -> list[dict[str, Any]]:
        body = self.client.request("GET", f"orders/{order}/fulfillments.json").json() or {}
        return list(body.get("fulfillments") or [])

    def _fulfillment_with(self, order: str, tracking_number: str | None) -> dict[str, Any] | None:
        if not tracking_number:
            return None
        for fulfillment in self._fulfillments(order):
            numbers = {fulfillment.get("tracking_number"), *(fulfillment.get("tracking_numbers") or [])}
            if tracking_number in numbers and fulfillment.get("status") != "cancelled":
                return fulfillment
        return None

    def _ship(self, n: ChannelNotification, first_attempt: bool) -> WriteBackResult:
        order = n.external_id
        if not first_attempt:
            existing = self._fulfillment_with(order, n.tracking_number)
            if existing is not None:
                return WriteBackResult(True, str(existing["id"]), "fulfillment already created")
        body = self.client.request("GET", f"orders/{order}/fulfillment_orders.json").json() or {}
        wanted = {line.line_id: line.quantity for line in n.lines}
        groups = []
        for fo in body.get("fulfillment_orders") or []:
            if fo.get("status") not in ("open", "in_progress") or "create_fulfillment" not in (
                fo.get("supported_actions") or ["create_fulfillment"]
            ):
                continue
            items = []
            for item in fo.get("line_items") or []:
                key = str(item.get("line_item_id"))
                take = min(wanted.get(key, 0), int(item.get("fulfillable_quantity") or 0))
                if take > 0:
                    items.append({"id": item["id"], "quantity": take})
                    wanted[key] -= take
            if items:
                groups.append({"fulfillment_order_id": fo["id"], "fulfillment_order_line_items": items})
        if not groups:
            existing = self._fulfillment_with(order, n.tracking_number)
            if existing is not None:
                return WriteBackResult(True, str(existing["id"]), "fulfillment already created")
            return WriteBackResult(False, None, "nothing left to fulfil on Shopify (fulfilled there already)")
        request = {
            "fulfillment": {
                "line_items_by_fulfillment_order": groups,
                "tracking_info": carrier_info(n.carrier, n.tracking_number),
                "notify_customer": self.notify_customer,
            }
        }
        created = self.client.request("POST", "fulfillments.json", json_body=request).json() or {}
        fulfillment = created.get("fulfillment") or {}
        if "id" not in fulfillment:
            raise ChannelUnavailableError("Shopify answered a fulfillment without an id")
        return WriteBackResult(True, str(fulfillment["id"]), f"fulfillment {fulfillment['id']} created")

    def _delivered(
        self, n: ChannelNotification, first_attempt: bool, reference: str | None
    ) -> WriteBackResult:
        order = n.external_id
        fulfillment_id = reference
        if fulfillment_id is None:
            found = self._fulfillment_with(order, n.tracking_number)
            if found is None:
                # The shipment's own notification has not reached Shopify yet: try again later.
                raise ChannelUnavailableError(
                    f"no Shopify fulfillment with tracking number {n.tracking_number} yet"
                )
            fulfillment_id = str(found["id"])
        path = f"orders/{order}/fulfillments/{fulfillment_id}/events.json"
        if not first_attempt:
            events = (self.client.request("GET", path).json() or {}).get("fulfillment_events") or []
            if any(e.get("status") == "delivered" for e in events):
                return WriteBackResult(True, fulfillment_id, "delivered event already recorded")
        event = {"event": {"status": "delivered", "happened_at": n.occurred_at.astimezone(UTC).isoformat()}}
        self.client.request("POST", path, json_body=event)
        return WriteBackResult(True, fulfillment_id, f"fulfillment {fulfillment_id} delivered")

    def _cancel(self, n: ChannelNotification) -> WriteBackResult:
        order = n.external_id
        current = self.client.request("GET", f"orders/{order}.json", params={"fields": "id,cancelled_at"})
        if ((current.json() or {}).get("order") or {}).get("cancelled_at"):
            return WriteBackResult(True, order, "already cancelled on Shopify")
        self.client.request(
            "POST", f"orders/{order}/cancel.json", json_body={"reason": "other", "email": False}
        )
        return WriteBackResult(True, order, "cancelled on Shopify")

    def deliver(
        self, notification: ChannelNotification, *, first_attempt: bool, reference: str | None
    ) -> WriteBackResult:
        kind = notification.kind
        if kind is NotificationKind.SHIPPED:
            return self._ship(notification, first_attempt)
        if kind is NotificationKind.DELIVERED:
            return self._delivered(notification, first_attempt, reference)
        if kind is NotificationKind.CANCELLED:
            return self._cancel(notification)
        return WriteBackResult(False, None, "refunds are made in Shopify itself; the OMS does not move money")


# --- WooCommerce -----------------------------------------------------------------------------------------


class WooCommerceWriteBack:
    def __init__(
        self, credentials: Mapping[str, Any], *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        token = f"{credentials['consumer_key']}:{credentials['consumer_secret']}".encode()
        self.client = HttpClient(
            base_url=str(credentials["base_url"]),
            headers={"Authorization": "Basic " + base64.b64encode(token).decode("ascii")},
            timeout=float(credentials.get("timeout_seconds", 5)),
            sleep=sleep,
        )

    @staticmethod
    def _marker(n: ChannelNotification) -> str:
        return f"[oms {n.notification_id}]"

    def _note(self, n: ChannelNotification, text: str, *, customer: bool, first_attempt: bool) -> str:
        order = n.external_id
        marker = self._marker(n)
        if not first_attempt:
            notes = self.client.request("GET", f"orders/{order}/notes").json() or []
            for note in notes:
                if marker in str(note.get("note", "")):
                    return str(note.get("id"))
        created = (
            self.client.request(
                "POST",
                f"orders/{order}/notes",
                json_body={"note": f"{text} {marker}", "customer_note": customer},
            ).json()
            or {}
        )
        return str(created.get("id"))

    def _status(self, n: ChannelNotification, status: str) -> None:
        self.client.request("PUT", f"orders/{n.external_id}", json_body={"status": status})

    def deliver(
        self, notification: ChannelNotification, *, first_attempt: bool, reference: str | None
    ) -> WriteBackResult:
        n = notification
        where = (
            f"{n.carrier}, tracking number {n.tracking_number}" if n.tracking_number else str(n.carrier or "")
        )
        if n.kind is NotificationKind.SHIPPED:
            items = ", ".join(f"{line.quantity} x {line.sku}" for line in n.lines)
            note = self._note(n, f"Shipped {items} with {where}.", customer=True, first_attempt=first_attempt)
            if n.all_shipped:
                self._status(n, "completed")
            return WriteBackResult(True, note, "note added" + (", order completed" if n.all_shipped else ""))
        if n.kind is NotificationKind.DELIVERED:
            note = self._note(n, f"Delivered ({where}).", customer=False, first_attempt=first_attempt)
            return WriteBackResult(True, note, "delivery note added")
        status = "cancelled" if n.kind is NotificationKind.CANCELLED else "refunded"
        self._status(n, status)
        note = self._note(
            n,
            f"Order {status} by the OMS: {n.reason or ''}".strip(),
            customer=False,
            first_attempt=first_attempt,
        )
        return WriteBackResult(True, note, f"order {status}")


# --- Standard Webhooks (the web shop, the ERP) -----------------------------------------------------------


class WebhookWriteBack:
    """POST `{"type": "order.shipped", "timestamp": ..., "data": {...}}`, signed with each current secret."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.url = str(credentials["url"])
        secret = credentials["secret"]
        self.secrets = [secret] if isinstance(secret, str) else list(secret)
        self.client = HttpClient(
            base_url=self.url, timeout=float(credentials.get("timeout_seconds", 5)), sleep=sleep
        )
        self.clock = clock

    def deliver(
        self, notification: ChannelNotification, *, first_attempt: bool, reference: str | None
    ) -> WriteBackResult:
        n = notification
        body = json.dumps(
            {
                "type": f"order.{n.kind.value.lower()}",
                "timestamp": n.occurred_at.astimezone(UTC).isoformat(),
                "data": {
                    "order_id": n.external_id,
                    "oms_order_id": n.order_id,
                    "shipment_id": n.shipment_id,
                    "carrier": n.carrier,
                    "tracking_number": n.tracking_number,
                    "lines": [line.model_dump() for line in n.lines],
                    "all_shipped": n.all_shipped,
                    "reason": n.reason,
                },
            },
            separators=(",", ":"),
        ).encode()
        timestamp = int(self.clock().timestamp())
        signature = " ".join(
            standard_webhook_signature(n.notification_id, timestamp, body, secret) for secret in self.secrets
        )
        self.client.headers = {
            "webhook-id": n.notification_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }
        self.client.request("POST", "", raw_body=body)
        return WriteBackResult(True, n.notification_id, "webhook accepted")


def writeback_for(channel: str, credentials: Mapping[str, Any]) -> WriteBack:
    """The adapter for `channel` with its credentials (an entry of the ChannelApiCredentials secret)."""
    if channel == "shopify":
        return ShopifyWriteBack(credentials)
    if channel == "woocommerce":
        return WooCommerceWriteBack(credentials)
    if "url" in credentials:
        return WebhookWriteBack(credentials)
    raise ChannelCallError(f"no write-back is configured for channel {channel}")
