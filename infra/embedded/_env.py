"""A thread-local overlay over ``os.environ``.

Several Lambda functions run at once in different threads of one process, and each one must see
its own ``Environment.Variables``. ``install()`` replaces ``os.environ`` with an ``os._Environ``
subclass that shares the original's storage (so writes and ``putenv`` behave as before and every
reference to the old object stays consistent) but first looks into a per-thread overlay.
``os.getenv`` reads the module global ``os.environ``, so it sees the overlay too. Modules that did
``from os import environ`` before ``install()`` keep the plain object and do not see overlays.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_local = threading.local()
_install_lock = threading.Lock()
_installed: dict[str, Any] = {"count": 0, "original": None}


def _current_overlay() -> dict[str, str] | None:
    stack: list[dict[str, str]] | None = getattr(_local, "stack", None)
    if stack:
        return stack[-1]
    return None


class OverlayEnviron(os._Environ):  # type: ignore[type-arg]
    """``os.environ`` look-alike whose reads see the calling thread's overlay first."""

    def __init__(self, base: os._Environ) -> None:  # type: ignore[type-arg]
        super().__init__(
            base._data,  # type: ignore[attr-defined]
            base.encodekey,  # type: ignore[attr-defined]
            base.decodekey,  # type: ignore[attr-defined]
            base.encodevalue,  # type: ignore[attr-defined]
            base.decodevalue,  # type: ignore[attr-defined]
        )

    def __getitem__(self, key: str) -> str:
        overlay = _current_overlay()
        if overlay is not None and key in overlay:
            return overlay[key]
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: str) -> None:
        overlay = _current_overlay()
        if overlay is not None and key in overlay:
            # A function changing one of its own variables changes only its own view.
            overlay[key] = str(value)
            return
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        overlay = _current_overlay()
        if overlay is not None and key in overlay:
            del overlay[key]
            return
        super().__delitem__(key)

    def __iter__(self) -> Iterator[str]:
        overlay = _current_overlay()
        if overlay is None:
            yield from super().__iter__()
            return
        seen = set(overlay)
        yield from list(overlay)
        for key in super().__iter__():
            if key not in seen:
                yield key

    def __len__(self) -> int:
        overlay = _current_overlay()
        if overlay is None:
            return super().__len__()
        return len(set(overlay) | set(super().__iter__()))

    def __contains__(self, key: object) -> bool:
        overlay = _current_overlay()
        if overlay is not None and key in overlay:
            return True
        return super().__contains__(key)


def install() -> None:
    """Put the overlay-aware environ in place (reference counted)."""
    with _install_lock:
        if _installed["count"] == 0:
            original = os.environ
            if not isinstance(original, OverlayEnviron):
                _installed["original"] = original
                os.environ = OverlayEnviron(original)  # noqa: B003 - same storage, not a reset
        _installed["count"] += 1


def uninstall() -> None:
    with _install_lock:
        if _installed["count"] == 0:
            return
        _installed["count"] -= 1
        if _installed["count"] == 0 and _installed["original"] is not None:
            os.environ = _installed["original"]  # noqa: B003
            _installed["original"] = None


@contextmanager
def overlay(values: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """Within the block, the calling thread sees ``values`` on top of the process environment."""
    stack: list[dict[str, str]] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = []
        _local.stack = stack
    layer = {str(k): str(v) for k, v in values.items()}
    stack.append(layer)
    try:
        yield layer
    finally:
        stack.pop()
