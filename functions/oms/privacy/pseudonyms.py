"""An order's or a customer's personal values replaced by their pseudonyms (decision 0053, 0054): what the
audit trail records of a change (its stream images) and what an erasure writes. The personal attributes come
from the registry (oms.privacy.registry); a value that is a pseudonym already stays as it is, so applying
this twice changes nothing (an erasure retried after a crash)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.models import Model

from oms.privacy.masking import is_pseudonym, pseudonym
from oms.privacy.registry import personal_attributes


def _value(value: Any, key: bytes) -> Any:
    if isinstance(value, str) and value and not is_pseudonym(value):
        return pseudonym(value, key)
    if isinstance(value, list):
        return [_value(v, key) for v in value]
    return value


def pseudonymised(
    model: type[Model] | type[MapAttribute[str, Any]], image: Mapping[str, Any], key: bytes
) -> dict[str, Any]:
    """`image` (plain values of one item of `model`, or of one map attribute) with every personal value a
    pseudonym; a personal map attribute's own personal values likewise, the rest of it as it was."""
    attributes = model.get_attributes()
    personal = personal_attributes(model.__name__)
    out = dict(image)
    for name in personal & set(out):
        attribute = attributes.get(name)
        nested = type(attribute) if isinstance(attribute, MapAttribute) else None
        if nested is not None and type(attribute) is not MapAttribute and isinstance(out[name], Mapping):
            out[name] = pseudonymised(nested, out[name], key)
        else:
            out[name] = _value(out[name], key)
    return out
