"""Webhook intake: verify the signature over the raw bytes, parse, persist once, start the lifecycle."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms.channels.shopify import parse_shopify_order
from oms.channels.signatures import verify_shopify
from oms.domain.errors import ChannelPayloadError, UnknownChannelError
from oms.domain.order import CanonicalOrder
from oms.logic.intake import IntakeResult, receive_order

MAX_BODY_BYTES = 1_048_576


class PayloadTooLargeError(ChannelPayloadError):
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedTopicError(ChannelPayloadError):
    code = "UNSUPPORTED_TOPIC"


class MalformedBodyError(ChannelPayloadError):
    """The body is not a JSON object at all (400), as opposed to a JSON order that breaks the schema (422)."""

    code = "MALFORMED_BODY"


@dataclass(frozen=True)
class Channel:
    name: str
    verify: Callable[[bytes, Mapping[str, str], str], None]
    topic_header: str
    order_topics: frozenset[str]
    parse: Callable[[Mapping[str, Any]], CanonicalOrder]


def _verify_shopify(raw: bytes, headers: Mapping[str, str], secret: str) -> None:
    verify_shopify(raw, headers.get("x-shopify-hmac-sha256"), secret)


CHANNELS: dict[str, Channel] = {
    "shopify": Channel(
        name="shopify",
        verify=_verify_shopify,
        topic_header="x-shopify-topic",
        order_topics=frozenset({"orders/create"}),
        parse=parse_shopify_order,
    ),
}


def decode_json(raw: bytes) -> Mapping[str, Any]:
    try:
        payload = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedBodyError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MalformedBodyError("body must be a JSON object")
    return payload


def accept_webhook(
    channel_name: str,
    raw_body: bytes,
    headers: Mapping[str, str],
    *,
    secret_for: Callable[[str], str],
    workflow_arn: str,
    now: datetime,
) -> IntakeResult:
    """Verify, parse and persist one webhook delivery. Raises OmsError subclasses for bad input;
    nothing is written unless every check passed."""
    channel = CHANNELS.get(channel_name)
    if channel is None:
        raise UnknownChannelError(f"unknown channel {channel_name!r}; known: {', '.join(sorted(CHANNELS))}")
    if len(raw_body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"body of {len(raw_body)} bytes exceeds {MAX_BODY_BYTES}")
    lowered = {k.lower(): v for k, v in headers.items()}
    channel.verify(raw_body, lowered, secret_for(channel.name))
    topic = lowered.get(channel.topic_header, "")
    if topic not in channel.order_topics:
        raise UnsupportedTopicError(
            f"topic {topic!r} is not handled; expected one of {sorted(channel.order_topics)}"
        )
    order = channel.parse(decode_json(raw_body))
    return receive_order(order, workflow_arn=workflow_arn, received_at=now)
