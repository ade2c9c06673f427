"""Who reads personal fields (decision 0055): the scope `oms/personal.read`. The API masks every field the
classification marks personal for a caller without it (`a***@example.com`, `J***`, `100**`), whatever model
it is in; a pseudonymised (erased) value is shown as the pseudonym it is."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel

from oms.privacy.classification import personal_fields
from oms.privacy.masking import mask_email, mask_postal_code, mask_text

PERSONAL_READ_SCOPE = "oms/personal.read"
ERASE_SCOPE = "oms/privacy.erase"
ACCESS_SCOPE = "oms/privacy.access"

M = TypeVar("M", bound=BaseModel)


def may_read_personal(scopes: Iterable[str]) -> bool:
    return PERSONAL_READ_SCOPE in set(scopes)


def _mask(name: str, value: Any) -> Any:
    if isinstance(value, BaseModel):
        return masked(value, everything=True)
    if isinstance(value, list):
        return [_mask(name, v) for v in value]
    if not isinstance(value, str):
        return value
    if "email" in name:
        return mask_email(value)
    if name in ("postal_code", "zip", "postcode"):
        return mask_postal_code(value)
    return mask_text(value)


def masked(model: M, *, everything: bool = False) -> M:
    """A copy of `model` with its personal fields masked, nested models included. `everything`: the model is
    itself a personal field's value (an address): its own personal fields are masked, its others kept."""
    personal = personal_fields(type(model))
    update: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in personal:
            update[name] = _mask(name, value)
        elif isinstance(value, BaseModel) and personal_fields(type(value)):
            update[name] = masked(value)
    return model.model_copy(update=update)
