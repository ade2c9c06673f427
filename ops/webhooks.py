"""Signed webhook requests as each channel sends them, for trying a stack by hand (``ops send-webhook``)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from oms.channels.signatures import shopify_signature, standard_webhook_signature, woocommerce_signature

#: the channel a sample body is in, and the topic/event its headers announce
TOPICS = {"shopify": "orders/create", "woocommerce": "order.created", "webshop": "order.created"}


def signed_request(channel: str, body: bytes, secret: str | list[str]) -> dict[str, str]:
    """The headers the channel would send with ``body``, signed now with ``secret`` (a web shop's first
    secret when it is rotating several)."""
    key = secret[0] if isinstance(secret, list) else secret
    now = datetime.now(UTC)
    if channel == "shopify":
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": TOPICS[channel],
            "X-Shopify-Hmac-Sha256": shopify_signature(body, key),
            "X-Shopify-Shop-Domain": "voltline-distribution.myshopify.com",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": now.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "X-Shopify-API-Version": "2025-10",
        }
    if channel == "woocommerce":
        return {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
            "X-WC-Webhook-Source": "https://shop.voltline.example/",
            "X-WC-Webhook-Topic": TOPICS[channel],
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": "created",
            "X-WC-Webhook-Signature": woocommerce_signature(body, key),
            "X-WC-Webhook-ID": "17",
            "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        }
    if channel == "webshop":
        message_id = f"msg_{uuid.uuid4().hex}"
        timestamp = int(time.time())
        return {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_webhook_signature(message_id, timestamp, body, key),
        }
    raise ValueError(f"no signing scheme for channel {channel!r}: shopify, woocommerce or webshop")


def channel_secrets(secret_string: str) -> dict[str, Any]:
    """The WebhookSecrets secret's JSON: channel -> secret (or a list of secrets while rotating)."""
    secrets = json.loads(secret_string)
    if not isinstance(secrets, dict):
        raise ValueError("the WebhookSecrets secret must be a JSON object of channel -> secret")
    return secrets
