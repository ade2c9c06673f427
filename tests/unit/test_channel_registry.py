"""The channel registry: every webhook channel, by name, answering the recorded deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oms.channels.base import DeliveryKind
from oms.channels.custom import CustomShopChannel
from oms.channels.registry import CHANNELS
from oms.channels.shopify import ShopifyChannel
from oms.channels.signatures import shopify_signature
from oms.channels.woocommerce import WooCommerceChannel
from oms.domain.errors import SignatureError

EVENTS = Path(__file__).parents[1] / "events"

# channel → (recorded body, recorded headers, the secret the recorded headers were signed with, a time
# within the signature's tolerance)
RECORDED = {
    "shopify": ("shopify/orders_create.json", "shopify/orders_create_headers.json", "shpss_registry_test"),
    "woocommerce": (
        "woocommerce/order_created.json",
        "woocommerce/order_created_headers.json",
        "wc_test_secret_7f3a91c2",
    ),
    "webshop": (
        "webshop/order_created.json",
        "webshop/order_created_headers.json",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ),
}
NOW = datetime(2026, 11, 2, 14, 20, 7, tzinfo=UTC)


def recorded(channel: str) -> tuple[bytes, dict[str, str], str]:
    body_file, headers_file, secret = RECORDED[channel]
    body = (EVENTS / body_file).read_bytes()
    headers = {k.lower(): v for k, v in json.loads((EVENTS / headers_file).read_text()).items()}
    if channel == "shopify":
        # The recorded Shopify headers carry no signature: sign with this test's secret.
        headers["x-shopify-hmac-sha256"] = shopify_signature(body, secret)
    return body, headers, secret


def test_the_registry_holds_the_three_webhook_channels_by_their_own_name() -> None:
    # Given the registry
    # When / Then each channel is registered under the name it reports, with the right adapter
    assert sorted(CHANNELS) == ["shopify", "webshop", "woocommerce"]
    assert {name: adapter.name for name, adapter in CHANNELS.items()} == {name: name for name in CHANNELS}
    assert isinstance(CHANNELS["shopify"], ShopifyChannel)
    assert isinstance(CHANNELS["woocommerce"], WooCommerceChannel)
    assert isinstance(CHANNELS["webshop"], CustomShopChannel)


def test_the_erp_is_not_a_webhook_channel() -> None:
    assert "erp" not in CHANNELS


@pytest.mark.parametrize("channel", sorted(RECORDED))
def test_each_channel_verifies_and_interprets_its_recorded_delivery(channel: str) -> None:
    # Given a channel's recorded, signed order-creation delivery
    body, headers, secret = recorded(channel)
    adapter = CHANNELS[channel]
    # When it is verified and interpreted through the registry
    adapter.verify(body, headers, [secret], NOW)
    delivery = adapter.interpret(body, headers)
    # Then it is a new order of that channel
    assert delivery.kind is DeliveryKind.CREATED
    assert delivery.order is not None
    assert delivery.order.channel == channel
    assert delivery.order.entered_by == f"channel:{channel}"
    assert delivery.external_id == delivery.order.external_id


@pytest.mark.parametrize("channel", sorted(RECORDED))
def test_no_channel_accepts_another_channels_secret(channel: str) -> None:
    body, headers, _ = recorded(channel)
    with pytest.raises(SignatureError):
        CHANNELS[channel].verify(body, headers, ["not-this-channels-secret"], NOW)
