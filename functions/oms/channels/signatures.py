"""Webhook signature schemes of the sales channels.

Two families are supported:

* body HMAC (Shopify, WooCommerce): base64(HMAC-SHA256(secret, raw body)) in one header
  (`X-Shopify-Hmac-Sha256`, `X-WC-Webhook-Signature`);
* Standard Webhooks (custom channels): `webhook-signature: v1,<base64>` over `"{id}.{timestamp}.{body}"`,
  with a timestamp tolerance against replays and several signatures/secrets during secret rotation.

Every check runs over the raw request bytes, never over re-serialised JSON, and compares in constant time.
All failures raise `SignatureError` with a short reason that is safe to log (no secret, no expected value).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from oms.domain.errors import SignatureError

SHOPIFY_SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
WOOCOMMERCE_SIGNATURE_HEADER = "X-WC-Webhook-Signature"

STANDARD_WEBHOOK_TOLERANCE = timedelta(minutes=5)
STANDARD_WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
_STANDARD_WEBHOOK_VERSION = "v1"


# --- body HMAC (Shopify, WooCommerce) -------------------------------------------------------------------


def body_hmac_base64(raw_body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(secret, raw_body)): the scheme shared by Shopify and WooCommerce."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_body_hmac(raw_body: bytes, header_value: str | None, secret: str, header_name: str) -> None:
    """Check a base64 body HMAC given in `header_name`; raise `SignatureError` if missing or wrong."""
    if not secret:
        # A missing secret must never make every signature "valid" (HMAC with an empty key is computable).
        raise SignatureError("no webhook secret configured for this channel")
    if header_value is None or not header_value.strip():
        raise SignatureError(f"missing {header_name} header")
    expected = body_hmac_base64(raw_body, secret)
    if not hmac.compare_digest(expected.encode("ascii"), header_value.strip().encode("utf-8")):
        raise SignatureError(f"{header_name} does not match the request body")


def shopify_signature(raw_body: bytes, secret: str) -> str:
    """The value Shopify puts in `X-Shopify-Hmac-Sha256` for `raw_body` signed with the app secret."""
    return body_hmac_base64(raw_body, secret)


def verify_shopify(raw_body: bytes, header_value: str | None, secret: str) -> None:
    """Verify `X-Shopify-Hmac-Sha256` over the raw request body; raise `SignatureError` with a reason."""
    verify_body_hmac(raw_body, header_value, secret, SHOPIFY_SIGNATURE_HEADER)


def woocommerce_signature(raw_body: bytes, secret: str) -> str:
    """The value WooCommerce puts in `X-WC-Webhook-Signature` (same scheme as Shopify)."""
    return body_hmac_base64(raw_body, secret)


def verify_woocommerce(raw_body: bytes, header_value: str | None, secret: str) -> None:
    """Verify `X-WC-Webhook-Signature` over the raw request body; raise `SignatureError` with a reason."""
    verify_body_hmac(raw_body, header_value, secret, WOOCOMMERCE_SIGNATURE_HEADER)


# --- Standard Webhooks ----------------------------------------------------------------------------------


def standard_webhook_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret.

    A secret of the form `whsec_<base64>` (the format the spec prescribes) is base64-decoded; any other
    string is used as its UTF-8 bytes, so a channel that hands out a plain shared secret works as well.
    """
    if secret.startswith(STANDARD_WEBHOOK_SECRET_PREFIX):
        encoded = secret[len(STANDARD_WEBHOOK_SECRET_PREFIX) :]
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("a whsec_ secret must be base64 after the prefix") from exc
    else:
        key = secret.encode("utf-8")
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def standard_webhook_signature(msg_id: str, timestamp: int, raw_body: bytes, secret: str) -> str:
    """One `webhook-signature` entry, `v1,<base64>`, for a message signed with `secret`."""
    signed = f"{msg_id}.{timestamp}.".encode() + raw_body
    digest = hmac.new(standard_webhook_key(secret), signed, hashlib.sha256).digest()
    return f"{_STANDARD_WEBHOOK_VERSION},{base64.b64encode(digest).decode('ascii')}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (HTTP header names are case-insensitive; API Gateway lowercases)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _required_header(headers: Mapping[str, str], name: str) -> str:
    value = _header(headers, name)
    if value is None or not value.strip():
        raise SignatureError(f"missing {name} header")
    return value.strip()


def _signatures_v1(header_value: str) -> list[bytes]:
    """The decoded v1 signatures of a `webhook-signature` header; other versions are skipped."""
    found: list[bytes] = []
    for entry in header_value.split():
        version, sep, encoded = entry.partition(",")
        if not sep or version != _STANDARD_WEBHOOK_VERSION:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def verify_standard_webhook(
    raw_body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: datetime,
    tolerance: timedelta = STANDARD_WEBHOOK_TOLERANCE,
) -> None:
    """Verify a Standard Webhooks message; raise `SignatureError` with a reason when it must be rejected.

    `secrets` holds every secret currently accepted (the new and the old one during a rotation); the
    message is valid when any v1 signature in the header matches any secret. `now` must be time zone aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be time zone aware")
    if not secrets:
        raise SignatureError("no webhook secret configured for this channel")
    msg_id = _required_header(headers, "webhook-id")
    timestamp_text = _required_header(headers, "webhook-timestamp")
    signature_value = _required_header(headers, "webhook-signature")

    if not timestamp_text.isascii() or not timestamp_text.isdigit() or len(timestamp_text) > 12:
        raise SignatureError("webhook-timestamp is not a Unix time in seconds")
    timestamp = int(timestamp_text)
    age_seconds = now.timestamp() - timestamp
    if age_seconds > tolerance.total_seconds():
        raise SignatureError("webhook-timestamp is too old (possible replay)")
    if -age_seconds > tolerance.total_seconds():
        raise SignatureError("webhook-timestamp is too far in the future")

    candidates = _signatures_v1(signature_value)
    if not candidates:
        raise SignatureError("webhook-signature has no well-formed v1 signature")

    signed = f"{msg_id}.{timestamp_text}.".encode() + raw_body
    matched = False
    for secret in secrets:
        expected = hmac.new(standard_webhook_key(secret), signed, hashlib.sha256).digest()
        for candidate in candidates:
            # Evaluate every pair (no early exit) so timing does not reveal which secret matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("webhook-signature does not match the message")
