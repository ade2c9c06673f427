"""The data classification (decision 0050): every field of a model that holds customer-facing data is
personal, financial or operational.

* personal: identifies or describes a person (names, e-mail, phone, street lines, city, postal code, a
  payer's remittance text). Kept out of logs and analyst exports by construction, masked in the API without
  the `oms/personal.read` scope, pseudonymised by an erasure request, expired by the retention policy.
* financial: amounts, invoice and credit note numbers, payment references: what tax law and the auditors
  need kept (invoices and credit notes for ten years).
* operational: statuses, ids, timestamps, SKUs, warehouses, reasons: what runs the business.

Pydantic models declare their classes on the model with `@classified(...)` (the field's JSON schema then
carries `x-data-class`, so docs/openapi.json shows it); PynamoDB models and map attributes in the one registry
of oms.privacy.registry. tests/unit/test_data_classification.py fails when a field is left unclassified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class DataClass(StrEnum):
    PERSONAL = "personal"
    FINANCIAL = "financial"
    OPERATIONAL = "operational"


SCHEMA_KEY = "x-data-class"


def _by_field(
    personal: Iterable[str], financial: Iterable[str], operational: Iterable[str]
) -> dict[str, DataClass]:
    classes: dict[str, DataClass] = {}
    for data_class, names in (
        (DataClass.PERSONAL, personal),
        (DataClass.FINANCIAL, financial),
        (DataClass.OPERATIONAL, operational),
    ):
        for name in names:
            if name in classes:
                raise ValueError(f"{name} is classified twice ({classes[name]} and {data_class})")
            classes[name] = data_class
    return classes


def classified(
    *, personal: Iterable[str] = (), financial: Iterable[str] = (), operational: Iterable[str] = ()
) -> Callable[[type[M]], type[M]]:
    """Class decorator: the data class of each field of a pydantic model (every field, exactly once: the
    classification test holds that)."""

    def apply(model: type[M]) -> type[M]:
        classes = _by_field(personal, financial, operational)
        unknown = sorted(set(classes) - set(model.model_fields))
        if unknown:
            raise ValueError(f"{model.__name__} has no fields {unknown}")
        model.__data_classes__ = MappingProxyType(classes)  # type: ignore[attr-defined]
        for name, field in model.model_fields.items():
            if name in classes:
                extra = dict(field.json_schema_extra) if isinstance(field.json_schema_extra, dict) else {}
                extra[SCHEMA_KEY] = classes[name].value
                field.json_schema_extra = extra  # type: ignore[assignment]
        model.model_rebuild(force=True)
        return model

    return apply


def classes_of(model: type[BaseModel]) -> Mapping[str, DataClass]:
    """The fields' classes as the model itself declared them (not inherited: a subclass declares its own)."""
    declared = model.__dict__.get("__data_classes__")
    return declared if declared is not None else MappingProxyType({})


def personal_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(n for n, c in classes_of(model).items() if c is DataClass.PERSONAL)
