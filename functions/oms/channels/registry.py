"""The webhook channels the OMS accepts, by the name in the intake route (`POST /webhooks/{channel}`).

The ERP/sales portal is not here: it posts to the authenticated order API (`oms.channels.erp`).
"""

from __future__ import annotations

from oms.channels.base import ChannelAdapter
from oms.channels.custom import CustomShopChannel
from oms.channels.shopify import ShopifyChannel
from oms.channels.woocommerce import WooCommerceChannel

CHANNELS: dict[str, ChannelAdapter] = {
    adapter.name: adapter for adapter in (ShopifyChannel(), WooCommerceChannel(), CustomShopChannel())
}
