"""A fast path for moto's JSON-protocol response serializer, with the same output.

moto 5.2.5 serializes every result through ``ResponseSerializer``: for each member of every structure in
the output shape it asks an attribute picker, which probes up to six aliases of the member name (the
shape's name, its snake_case form, prefix-stripped forms…) with a caught ``KeyError`` per miss. For a
DynamoDB item every attribute value is such a structure with ten members of which one is present, so
serializing an order item of a few hundred attribute values costs milliseconds, inside the emulated
DynamoDB's lock (issue 9's profile: 45 % of all CPU).

:func:`fast_json_body` walks the same output shape over the same result and produces the same dict,
but picks members by their exact names. That is the same as the picker's answer exactly when no alias
of a member can match a key of the value; the fast path is taken only when that is provable:

* the value of every structure is a ``dict`` whose keys are all member names of the structure, and
* no alias the picker would try for a member (computed with moto's own alias providers) is the name
  of another member of that structure, and
* no response transformer is registered (moto's class-wide ``RESPONSE_KEY_PATH_TO_TRANSFORMER``),
  and no list member or map value shape renames its items (``locationName``).

Otherwise it raises :class:`Unsupported` and the caller runs moto's own serializer. Scalars are
converted by the same rules as ``BaseJSONSerializer`` (enums, ``str()`` of strings, ``int``/``float``,
base64 blobs, timestamps through moto's ``TimestampSerializer``). ``tests/integration/
test_embedded_serializer.py`` holds the output byte-for-byte to moto's on a corpus of responses.
"""

from __future__ import annotations

import threading
from enum import Enum
from typing import Any

MISSING = object()


class Unsupported(Exception):
    """The value or shape is outside what the fast path can prove equal; use moto's serializer."""


_plans_lock = threading.Lock()
_plans: dict[int, tuple[Any, ...]] = {}


def _structure_plan(shape: Any) -> tuple[dict[str, tuple[Any, str]], frozenset[str]]:
    """(member name -> (member shape, serialized name), member names) for a structure shape whose
    members cannot be confused by the alias picker; raises Unsupported otherwise."""
    plan = _plans.get(id(shape))
    if plan is not None and plan[0] is shape:
        if plan[1] is None:
            raise Unsupported(shape.name)
        return plan[1], plan[2]
    from botocore import xform_name
    from moto.core.serialize import DEFAULT_ALIAS_PROVIDERS, AttributePickerContext

    members = dict(shape.members)
    names = frozenset(members)
    safe = True
    result: dict[str, tuple[Any, str]] = {}
    for key, member_shape in members.items():
        member_shape.parent = shape  # as moto's serializer sets it before picking
        context = AttributePickerContext(obj={}, key=key, shape=member_shape)
        aliases: set[str] = set()
        for provider in DEFAULT_ALIAS_PROVIDERS:
            alias_provider = provider(context)  # type: ignore[abstract]
            if alias_provider.has_alias(key):
                alias = alias_provider.get_alias(key)
                aliases.update((alias, xform_name(alias)))
        aliases.discard(key)
        if aliases & names:
            safe = False
        result[key] = (member_shape, member_shape.serialization.get("name", key))
    with _plans_lock:
        if safe:
            _plans[id(shape)] = (shape, result, names)
        else:
            _plans[id(shape)] = (shape, None, names)
    if not safe:
        raise Unsupported(shape.name)
    return result, names


def _value(serializer: Any, value: Any, shape: Any) -> Any:
    """The serialized form of ``value`` for ``shape``, or MISSING where moto's serializer sets nothing."""
    type_name = shape.type_name
    if type_name == "structure":
        if value is None:
            return MISSING
        if shape.is_document_type:
            return value
        if type(value) is not dict:
            raise Unsupported(f"{shape.name} from {type(value).__name__}")
        members, names = _structure_plan(shape)
        if not names.issuperset(value):
            raise Unsupported(f"{shape.name}: keys outside the shape")
        out: dict[str, Any] = {}
        if len(value) == 1:
            (key,) = value
            member_value = value[key]
            if member_value is not None:
                member_shape, name = members[key]
                serialized = _value(serializer, member_value, member_shape)
                if serialized is not MISSING:
                    out[name] = serialized
            return out
        for key, (member_shape, name) in members.items():
            member_value = value.get(key)
            if member_value is None:
                continue
            serialized = _value(serializer, member_value, member_shape)
            if serialized is not MISSING:
                out[name] = serialized
        return out
    if type_name == "map":
        value_shape = shape.value
        if "name" in value_shape.serialization:
            raise Unsupported(f"{shape.name}: renamed map values")
        mapped: dict[str, Any] = {}
        for sub_key, sub_value in value.items():
            serialized = _value(serializer, sub_value, value_shape)
            if serialized is not MISSING:
                mapped[sub_key] = serialized
        return mapped
    if type_name == "list":
        member = shape.member
        if "name" in member.serialization:
            raise Unsupported(f"{shape.name}: renamed list members")
        items = []
        for item in value:
            serialized = _value(serializer, item, member)
            items.append(item if serialized is MISSING else serialized)
        return items
    if type_name == "string":
        if isinstance(value, Enum):
            value = value.value
        return str(value) if value not in [None, {}, []] else value
    if type_name in ("integer", "long"):
        return int(value)
    if type_name in ("float", "double"):
        return float(value)
    if type_name == "blob":
        return serializer._base64(value)
    if type_name == "timestamp":
        wrapper: dict[str, Any] = {}
        serializer._timestamp_serializer.serialize(wrapper, value, shape, "timestamp")
        return wrapper["timestamp"]
    return value


def fast_json_body(serializer: Any, result: Any) -> dict[str, Any]:
    """The dict moto's JSON serializer would build for ``result``; raises Unsupported where unsure."""
    output_shape = serializer.operation_model.output_shape
    if output_shape is None:
        return {}
    serialized = _value(serializer, result, output_shape)
    return {} if serialized is MISSING else serialized


class FastJsonResponses:
    """Installs the fast path on ``BaseResponse.serialized`` for the JSON-protocol services named."""

    SERVICES = frozenset({"dynamodb"})

    def __init__(self, *, verify: bool = False) -> None:
        """:param verify: also run moto's serializer on every fast-path response and record where the two
        differ in ``mismatches`` (for the corpus test; doubles the cost)."""
        self._original: Any = None
        self.verify = verify
        self.fast = 0
        self.fallbacks = 0
        self.mismatches: list[tuple[str, Any, Any]] = []

    def install(self) -> None:
        from moto.core import responses as moto_responses
        from moto.core.responses import ActionResult, BaseResponse
        from moto.core.serialize import BaseJSONSerializer, XFormedAttributePicker, get_serializer_class
        from moto.core.utils import get_service_model

        original = BaseResponse.__dict__["serialized"]
        self._original = original
        owner = self
        services = self.SERVICES

        def serialized(response: Any, action_result: ActionResult) -> Any:
            result = action_result.result
            if (
                response.boto3_service_name not in services
                or isinstance(result, Exception)
                or BaseResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER
                or getattr(type(response), "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)
            ):
                return original(response, action_result)
            service_model = get_service_model(response.boto3_service_name)
            protocol = response.determine_response_protocol(service_model)
            serializer_cls = get_serializer_class(service_model.service_name, protocol)
            if not issubclass(serializer_cls, BaseJSONSerializer):
                return original(response, action_result)
            try:
                operation_model = service_model.operation_model(response._get_action())
            except Exception:
                return original(response, action_result)
            if operation_model.has_event_stream_output:
                return original(response, action_result)
            serializer = serializer_cls(
                operation_model=operation_model,
                pretty_print=moto_responses.settings.PRETTIFY_RESPONSES,
                value_picker=XFormedAttributePicker(),
            )
            try:
                body = fast_json_body(serializer, result)
            except Unsupported:
                owner.fallbacks += 1
                return original(response, action_result)
            owner.fast += 1
            resp = serializer._create_default_response()
            resp = serializer._serialized_result_to_response(resp, result, operation_model.output_shape, body)
            headers = resp["headers"]
            headers.update(response.response_headers)
            answer = resp["status_code"], headers, resp["body"]
            if owner.verify:
                expected = original(response, action_result)
                if expected != answer:
                    owner.mismatches.append((operation_model.name, expected, answer))
            return answer

        BaseResponse.serialized = serialized  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        from moto.core.responses import BaseResponse

        if self._original is not None:
            BaseResponse.serialized = self._original  # type: ignore[method-assign]
            self._original = None
