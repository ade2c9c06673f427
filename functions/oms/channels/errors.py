"""Errors the channel adapters raise at the HTTP boundary, and the helpers that raise them.

* `MalformedBodyError` (HTTP 400): the body is not a JSON object at all (or not the form a channel's ping
  uses), as opposed to a JSON order that breaks the schema (`ChannelPayloadError`, 422).
* `UnsupportedContentTypeError` (HTTP 415): the request's Content-Type is not what the channel sends.

Every reason names the field (or header) the sender can fix and never echoes the input, which may hold
personal data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from oms.domain.errors import ChannelPayloadError

JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# Delivery ids become dedupe keys and S3 archive keys: the same conservative alphabet as SafeId, a bit longer
# (Shopify sends UUIDs, WooCommerce 40-character hashes, Standard Webhooks "msg_<ksuid>").
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")


MAX_BODY_BYTES = 1_048_576


class PayloadTooLargeError(ChannelPayloadError):
    """The body is larger than any channel sends (413)."""

    code = "PAYLOAD_TOO_LARGE"


class MalformedBodyError(ChannelPayloadError):
    """The body is not a JSON object (400), as opposed to a JSON order that breaks the schema (422)."""

    code = "MALFORMED_BODY"


class UnsupportedContentTypeError(ChannelPayloadError):
    """The request's Content-Type is not one the channel sends (415)."""

    code = "UNSUPPORTED_CONTENT_TYPE"


# --- request-level checks ---------------------------------------------------------------------------------


def media_type(headers: Mapping[str, str]) -> str:
    """The media type of `content-type` without parameters (charset), lower-cased; "" when absent."""
    value = headers.get("content-type", "")
    return value.split(";", 1)[0].strip().lower()


def require_content_type(headers: Mapping[str, str], *allowed: str) -> str:
    """The request's media type; `UnsupportedContentTypeError` unless it is one of `allowed`."""
    found = media_type(headers)
    if found not in allowed:
        shown = found or "none"
        raise UnsupportedContentTypeError(
            f"content-type: {shown[:60]!r} is not supported; expected {' or '.join(allowed)}"
        )
    return found


def decode_json_object(raw_body: bytes) -> dict[str, Any]:
    """The body as a JSON object, numbers as exact Decimals; `MalformedBodyError` otherwise."""
    try:
        payload = json.loads(raw_body.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise MalformedBodyError("body: is not UTF-8") from None
    except json.JSONDecodeError as exc:
        # The position is useful to the sender; the message of JSONDecodeError does not echo the input.
        raise MalformedBodyError(f"body: is not valid JSON ({exc.msg} at position {exc.pos})") from None
    except RecursionError:
        raise MalformedBodyError("body: is nested too deeply") from None
    if not isinstance(payload, dict):
        raise MalformedBodyError("body: must be a JSON object")
    return payload


def delivery_id_from(headers: Mapping[str, str], *names: str) -> str:
    """The first present header of `names`, checked to be a safe key; `ChannelPayloadError` otherwise."""
    for name in names:
        value = headers.get(name, "").strip()
        if value:
            if not _DELIVERY_ID.fullmatch(value):
                raise ChannelPayloadError(f"{name} header: has characters that are not allowed")
            return value
    raise ChannelPayloadError(f"{' or '.join(names)} header: is required")


# --- pydantic errors → field-named reasons ----------------------------------------------------------------


def field_path(loc: tuple[int | str, ...]) -> str:
    """`("line_items", 2, "sku")` → `line_items[2].sku`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "payload"


def error_message(error: ErrorDetails) -> str:
    """A short, input-free message for one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be greater than or equal to {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return "must be an integer"
    if kind in {"string_type", "string_unicode"}:
        return "must be a string"
    if kind in {"bool_type", "bool_parsing"}:
        return "must be true or false"
    if kind in {"list_type"}:
        return "must be a list"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "must be an object"
    if kind in {"datetime_type", "datetime_parsing", "datetime_from_date_parsing"}:
        return "must be an ISO-8601 date-time"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s) (got {ctx.get('actual_length')})"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return "has characters that are not allowed"
    if kind == "extra_forbidden":
        return "is not a field of this schema"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    # Never echo the input: it may hold personal data. Pydantic's own message is short and input-free.
    return error["msg"]


def describe_validation_error(
    exc: ValidationError,
    prefix: tuple[int | str, ...] = (),
    rename: Mapping[str, str] | None = None,
    limit: int = 3,
) -> str:
    """At most `limit` field-named reasons of `exc`, joined by "; ".

    `rename` maps field names of the validated model to the sender's field names (canonical → channel), so
    an error found by the canonical model names the field the sender can fix.
    """
    errors = exc.errors(include_url=False, include_input=False)
    parts = []
    for error in errors[:limit]:
        loc = tuple(
            rename.get(p, p) if rename is not None and isinstance(p, str) else p for p in error["loc"]
        )
        parts.append(f"{field_path(prefix + loc)}: {error_message(error)}")
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more problem(s)")
    return "; ".join(parts)


def payload_error(
    exc: ValidationError, prefix: tuple[int | str, ...] = (), rename: Mapping[str, str] | None = None
) -> ChannelPayloadError:
    """A `ChannelPayloadError` whose reason names the failing fields of `exc`."""
    return ChannelPayloadError(describe_validation_error(exc, prefix, rename))
