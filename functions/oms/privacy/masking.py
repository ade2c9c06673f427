"""The masks of personal data, in one place (decision 0051): for logs (redacted), analyst exports and the API
without `oms/personal.read` (a masked form or a keyed hash), and the erasure (a pseudonym).

* `pseudonym(value, key)`: `pii:` + HMAC-SHA256(key, normalised value), 16 hex. The same person's e-mail gives
  the same pseudonym in every export and every audit entry, so analysts can count and join customers; without
  the key (Secrets Manager, `PrivacyKeySecret`) nobody can test a guess against it.
* `mask_email`, `mask_text`, `mask_postal_code`: what a person without the personal-data scope sees
  (`a***@example.com`, `J***`, `100**`).
* `redact_text`: e-mail addresses and international phone numbers found inside free text (log messages,
  exception texts), and pydantic's echo of a refused value (`input_value='...'`).

Pure: the key is read by the caller (oms.privacy.keys).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

PSEUDONYM_PREFIX = "pii:"
REDACTED = "[personal]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w+])\+\d[\d\s().\-]{6,}\d")
_US_PHONE = re.compile(r"\(\d{3}\)\s?\d{3}-\d{4}")
_PYDANTIC_INPUT = re.compile(r"input_value=(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\{.*?\}|\[.*?\])")


def normalise(value: str) -> str:
    """One form per value: case and surrounding spaces do not make another person."""
    return " ".join(value.split()).casefold()


def pseudonym(value: str, key: bytes) -> str:
    digest = hmac.new(key, normalise(value).encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:16]  # 20 characters: fits every personal field (a postal code: 20)


def is_pseudonym(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PSEUDONYM_PREFIX)


def mask_email(value: str | None) -> str | None:
    if not value:
        return value
    if is_pseudonym(value):
        return value
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else mask_text(value)


def mask_text(value: str | None) -> str | None:
    if not value:
        return value
    if is_pseudonym(value):
        return value
    return value[:1] + "***"


def mask_postal_code(value: str | None) -> str | None:
    if not value:
        return value
    if is_pseudonym(value):
        return value
    keep = 3 if len(value) > 4 else 1
    return value[:keep] + "*" * (len(value) - keep)


def redact_text(text: str) -> str:
    text = _PYDANTIC_INPUT.sub(f"input_value={REDACTED}", text)
    text = _EMAIL.sub(REDACTED, text)
    text = _PHONE.sub(REDACTED, text)
    return _US_PHONE.sub(REDACTED, text)


def redact(value: Any, personal_keys: frozenset[str]) -> Any:
    """A JSON-like value: every personal key's value replaced, personal text found in strings removed."""
    if isinstance(value, Mapping):
        return {
            k: (
                REDACTED
                if isinstance(k, str) and k.casefold() in personal_keys and v not in (None, "")
                else redact(v, personal_keys)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, personal_keys) for v in value]
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                nested = json.loads(stripped)
            except ValueError:
                return redact_text(value)
            # a JSON body inside a string (a logged event's `body`): its personal keys too
            return json.dumps(redact(nested, personal_keys), separators=(",", ":"))
        return redact_text(value)
    return value
