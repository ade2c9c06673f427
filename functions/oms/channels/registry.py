"""The webhook channels the OMS accepts, by the name in the intake route (`POST /webhooks/{channel}`).

An adapter's module (its pydantic models of the channel's payloads) is imported the first time its channel
is asked for, not when the intake function starts: most deployments use one or two channels, and the
webhook acknowledgement is user-facing (cold start, issue 14).

The ERP/sales portal is not here: it posts to the authenticated order API (`oms.channels.erp`).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping

from oms.channels.base import ChannelAdapter

# channel name → (module, adapter class)
ADAPTERS: dict[str, tuple[str, str]] = {
    "shopify": ("oms.channels.shopify", "ShopifyChannel"),
    "woocommerce": ("oms.channels.woocommerce", "WooCommerceChannel"),
    "webshop": ("oms.channels.custom", "CustomShopChannel"),
}


class ChannelRegistry(Mapping[str, ChannelAdapter]):
    """The adapters by channel name, each built on first use."""

    def __init__(self, adapters: Mapping[str, tuple[str, str]]) -> None:
        self._where = dict(adapters)
        self._built: dict[str, ChannelAdapter] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> ChannelAdapter:
        adapter = self._built.get(name)
        if adapter is not None:
            return adapter
        module, cls = self._where[name]  # KeyError: not a channel
        with self._lock:
            adapter = self._built.get(name)
            if adapter is None:
                adapter = getattr(importlib.import_module(module), cls)()
                if adapter.name != name:
                    raise RuntimeError(f"{module}.{cls} is channel {adapter.name!r}, registered as {name!r}")
                self._built[name] = adapter
        return adapter

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, name: object) -> bool:
        return name in self._where


CHANNELS: Mapping[str, ChannelAdapter] = ChannelRegistry(ADAPTERS)
