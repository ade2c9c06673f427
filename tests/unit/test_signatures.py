"""Webhook signatures: Shopify/WooCommerce body HMAC and Standard Webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from oms.channels.signatures import (
    shopify_signature,
    standard_webhook_key,
    standard_webhook_signature,
    verify_shopify,
    verify_standard_webhook,
    verify_woocommerce,
    woocommerce_signature,
)
from oms.domain.errors import SignatureError

EVENTS = Path(__file__).parents[1] / "events" / "shopify"
SECRET = "shpss_test_app_secret_0123456789"
NOW = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
WHSEC_OLD = "whsec_" + base64.b64encode(b"old-secret-old-secret-old-secret").decode()


@pytest.fixture
def raw_body() -> bytes:
    return (EVENTS / "orders_create.json").read_bytes()


# --- Shopify ---------------------------------------------------------------------------------------------


def test_shopify_signature_is_base64_hmac_sha256_of_the_raw_body(raw_body: bytes) -> None:
    # Given the raw body and the app secret
    # When it is signed
    signature = shopify_signature(raw_body, SECRET)
    # Then it is the base64 HMAC-SHA256 of exactly those bytes
    expected = base64.b64encode(hmac.new(SECRET.encode(), raw_body, hashlib.sha256).digest()).decode()
    assert signature == expected


def test_valid_shopify_signature_is_accepted(raw_body: bytes) -> None:
    # Given a delivery signed with the app secret
    header = shopify_signature(raw_body, SECRET)
    # When / Then it verifies without error
    verify_shopify(raw_body, header, SECRET)


def test_shopify_signature_with_wrong_secret_is_rejected(raw_body: bytes) -> None:
    # Given a delivery signed with another secret
    header = shopify_signature(raw_body, "some-other-secret")
    # When / Then verification fails with a mismatch reason
    with pytest.raises(SignatureError, match="does not match"):
        verify_shopify(raw_body, header, SECRET)


def test_shopify_body_changed_by_one_byte_is_rejected(raw_body: bytes) -> None:
    # Given a correctly signed body of which one byte changes afterwards
    header = shopify_signature(raw_body, SECRET)
    position = raw_body.index(b'"total_price"') + 1
    tampered = raw_body[:position] + bytes([raw_body[position] ^ 0x01]) + raw_body[position + 1 :]
    assert len(tampered) == len(raw_body)
    assert tampered != raw_body
    # When / Then verification fails
    with pytest.raises(SignatureError, match="does not match"):
        verify_shopify(tampered, header, SECRET)


def test_reserialised_json_does_not_verify(raw_body: bytes) -> None:
    # Given the same JSON document serialised differently (the signature covers raw bytes, not the JSON)
    header = shopify_signature(raw_body, SECRET)
    reserialised = json.dumps(json.loads(raw_body), separators=(",", ":")).encode()
    # When / Then it does not verify
    with pytest.raises(SignatureError):
        verify_shopify(reserialised, header, SECRET)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_shopify_header_is_rejected(raw_body: bytes, header: str | None) -> None:
    # Given a delivery without the HMAC header
    # When / Then verification fails naming the header
    with pytest.raises(SignatureError, match="missing X-Shopify-Hmac-Sha256"):
        verify_shopify(raw_body, header, SECRET)


def test_empty_secret_never_verifies(raw_body: bytes) -> None:
    # Given a channel without a configured secret and a signature made with the empty key
    header = shopify_signature(raw_body, "")
    # When / Then verification fails rather than trusting the empty key
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify_shopify(raw_body, header, "")


def test_woocommerce_uses_the_same_scheme_under_its_own_header(raw_body: bytes) -> None:
    # Given a WooCommerce delivery
    header = woocommerce_signature(raw_body, SECRET)
    # When / Then it verifies, and a missing header names the WooCommerce header
    verify_woocommerce(raw_body, header, SECRET)
    with pytest.raises(SignatureError, match="X-WC-Webhook-Signature"):
        verify_woocommerce(raw_body, None, SECRET)


# --- Standard Webhooks -----------------------------------------------------------------------------------


def _standard_headers(body: bytes, secret: str, at: datetime, msg_id: str = "msg_2p5Qk1Xj") -> dict[str, str]:
    timestamp = int(at.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_webhook_signature(msg_id, timestamp, body, secret),
    }


def test_standard_webhook_signature_follows_the_spec() -> None:
    # Given a whsec_ secret (base64 key after the prefix) and a message
    body = b'{"type":"order.created"}'
    # When it is signed
    signature = standard_webhook_signature("msg_1", 1_700_000_000, body, WHSEC)
    # Then it is v1,<base64 HMAC-SHA256 over "id.timestamp.body"> with the decoded key
    key = base64.b64decode(WHSEC.removeprefix("whsec_"))
    digest = hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()
    assert signature == "v1," + base64.b64encode(digest).decode()


def test_valid_standard_webhook_is_accepted(raw_body: bytes) -> None:
    # Given a message signed just now
    headers = _standard_headers(raw_body, WHSEC, NOW - timedelta(seconds=3))
    # When / Then it verifies
    verify_standard_webhook(raw_body, headers, [WHSEC], NOW)


def test_standard_webhook_headers_are_case_insensitive(raw_body: bytes) -> None:
    # Given the same headers with canonical capitalisation
    headers = {k.title(): v for k, v in _standard_headers(raw_body, WHSEC, NOW).items()}
    # When / Then it verifies
    verify_standard_webhook(raw_body, headers, [WHSEC], NOW)


def test_rotated_secret_second_of_two_is_accepted(raw_body: bytes) -> None:
    # Given a sender still signing with the old secret while the receiver accepts new and old
    headers = _standard_headers(raw_body, WHSEC_OLD, NOW)
    # When / Then it verifies against the second secret
    verify_standard_webhook(raw_body, headers, [WHSEC, WHSEC_OLD], NOW)


def test_several_signatures_in_the_header_any_match_is_enough(raw_body: bytes) -> None:
    # Given a header carrying an unknown-version entry, a stale signature and the current one
    headers = _standard_headers(raw_body, WHSEC, NOW)
    timestamp = int(headers["webhook-timestamp"])
    stale = standard_webhook_signature("msg_2p5Qk1Xj", timestamp, raw_body, WHSEC_OLD)
    headers["webhook-signature"] = f"v1a,AAAA {stale} {headers['webhook-signature']}"
    # When / Then it verifies with only the new secret
    verify_standard_webhook(raw_body, headers, [WHSEC], NOW)


def test_standard_webhook_wrong_secret_is_rejected(raw_body: bytes) -> None:
    # Given a message signed with a secret the receiver does not accept
    headers = _standard_headers(raw_body, WHSEC_OLD, NOW)
    # When / Then it is rejected
    with pytest.raises(SignatureError, match="does not match"):
        verify_standard_webhook(raw_body, headers, [WHSEC], NOW)


def test_standard_webhook_changed_id_is_rejected(raw_body: bytes) -> None:
    # Given a valid message whose id is swapped (the id is part of the signed content)
    headers = _standard_headers(raw_body, WHSEC, NOW)
    headers["webhook-id"] = "msg_other"
    # When / Then it is rejected
    with pytest.raises(SignatureError, match="does not match"):
        verify_standard_webhook(raw_body, headers, [WHSEC], NOW)


@pytest.mark.parametrize(
    ("signed_at", "reason"),
    [
        (NOW - timedelta(minutes=5, seconds=1), "too old"),
        (NOW + timedelta(minutes=5, seconds=1), "future"),
    ],
)
def test_stale_or_future_timestamp_is_rejected(raw_body: bytes, signed_at: datetime, reason: str) -> None:
    # Given a correctly signed message whose timestamp is outside the 5-minute tolerance
    headers = _standard_headers(raw_body, WHSEC, signed_at)
    # When / Then it is rejected even though the signature matches
    with pytest.raises(SignatureError, match=reason):
        verify_standard_webhook(raw_body, headers, [WHSEC], NOW)


def test_timestamp_at_the_edge_of_the_tolerance_is_accepted(raw_body: bytes) -> None:
    # Given a message signed exactly five minutes ago
    headers = _standard_headers(raw_body, WHSEC, NOW - timedelta(minutes=5))
    # When / Then it verifies
    verify_standard_webhook(raw_body, headers, [WHSEC], NOW)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h: h.pop("webhook-id"), "missing webhook-id"),
        (lambda h: h.pop("webhook-timestamp"), "missing webhook-timestamp"),
        (lambda h: h.pop("webhook-signature"), "missing webhook-signature"),
        (lambda h: h.update({"webhook-timestamp": "2026-11-02T15:30:00Z"}), "not a Unix time"),
        (lambda h: h.update({"webhook-timestamp": "9" * 5000}), "not a Unix time"),
        (lambda h: h.update({"webhook-signature": "garbage"}), "no well-formed v1"),
        (lambda h: h.update({"webhook-signature": "v1,not base64!"}), "no well-formed v1"),
        (lambda h: h.update({"webhook-signature": "v2,AAAA"}), "no well-formed v1"),
    ],
)
def test_malformed_standard_webhook_headers_are_rejected(
    raw_body: bytes, mutate: Callable[[dict[str, str]], object], reason: str
) -> None:
    # Given a valid message whose headers are then damaged
    headers = _standard_headers(raw_body, WHSEC, NOW)
    mutate(headers)
    # When / Then verification fails with a reason naming the problem
    with pytest.raises(SignatureError, match=reason):
        verify_standard_webhook(raw_body, headers, [WHSEC], NOW)


def test_no_configured_secrets_never_verifies(raw_body: bytes) -> None:
    headers = _standard_headers(raw_body, WHSEC, NOW)
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify_standard_webhook(raw_body, headers, [], NOW)


def test_plain_secret_without_prefix_is_used_as_utf8_bytes() -> None:
    assert standard_webhook_key("plain-shared-secret") == b"plain-shared-secret"
    assert standard_webhook_key(WHSEC) == b"0123456789abcdef0123456789abcdef"
    with pytest.raises(ValueError, match="base64"):
        standard_webhook_key("whsec_###")


def test_naive_now_is_a_programming_error(raw_body: bytes) -> None:
    headers = _standard_headers(raw_body, WHSEC, NOW)
    with pytest.raises(ValueError, match="time zone"):
        verify_standard_webhook(raw_body, headers, [WHSEC], NOW.replace(tzinfo=None))
