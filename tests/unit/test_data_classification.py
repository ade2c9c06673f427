"""Decision 0050: every field of a model that holds customer data is classified personal, financial or
operational. These tests fail when a field is added without a class, so the masks, the exports, the
retention and the erasure (which read the classes) can never silently miss a new personal field."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from typing import Any

import pytest
from pydantic import BaseModel
from pynamodb.attributes import MapAttribute
from pynamodb.models import Model

import oms
import oms.data.models as tables
from oms.privacy.classification import SCHEMA_KEY, DataClass, classes_of, personal_fields
from oms.privacy.registry import ATTRIBUTE_CLASSES

PERSONAL_WORDS = {
    "email",
    "phone",
    "first_name",
    "last_name",
    "line1",
    "line2",
    "address1",
    "address2",
    "postal_code",
    "zip",
    "ship_to",
    "bill_to",
    "shipping_address",
    "billing_address",
    "customer",
    "destination",
}
"""Field names that say a model holds a person's data, whatever the model is called."""


def _modules() -> list[Any]:
    found = []
    for info in pkgutil.walk_packages(oms.__path__, "oms."):
        found.append(importlib.import_module(info.name))
    return found


def _pydantic_models() -> list[type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    for module in _modules():
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseModel) and value.__module__ == module.__name__:
                models[f"{value.__module__}.{value.__qualname__}"] = value
    return list(models.values())


def _nested_models(annotation: Any) -> set[type[BaseModel]]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return {annotation}
    return {m for arg in typing.get_args(annotation) for m in _nested_models(arg)}


def _holds_personal_data(model: type[BaseModel], seen: frozenset[type[BaseModel]] = frozenset()) -> bool:
    if personal_fields(model):
        return True
    for name, field in model.model_fields.items():
        if name in PERSONAL_WORDS:
            return True
        for nested in _nested_models(field.annotation) - seen - {model}:
            if _holds_personal_data(nested, seen | {model}):
                return True
    return False


MODELS = _pydantic_models()
CUSTOMER_MODELS = sorted((m for m in MODELS if _holds_personal_data(m)), key=lambda m: m.__qualname__)


def test_the_models_that_hold_customer_data_are_found() -> None:
    # Given every pydantic model of the oms package
    names = {m.__qualname__ for m in CUSTOMER_MODELS}
    # Then the ones known to carry a person's data are among those that must be classified
    assert {"Address", "Customer", "CanonicalOrder", "OrderView", "InvoiceDocument", "Party"} <= names


@pytest.mark.parametrize("model", CUSTOMER_MODELS, ids=lambda m: f"{m.__module__}.{m.__qualname__}")
def test_every_field_of_a_model_holding_customer_data_is_classified(model: type[BaseModel]) -> None:
    classes = classes_of(model)
    missing = sorted(set(model.model_fields) - set(classes))
    assert not missing, (
        f"{model.__qualname__}: classify {missing} as personal, financial or operational in its @classified"
    )
    assert set(classes) <= set(model.model_fields)


@pytest.mark.parametrize("model", CUSTOMER_MODELS, ids=lambda m: f"{m.__module__}.{m.__qualname__}")
def test_a_field_holding_a_persons_model_is_itself_personal(model: type[BaseModel]) -> None:
    classes = classes_of(model)
    for name, field in model.model_fields.items():
        if any(personal_fields(n) for n in _nested_models(field.annotation)):
            assert classes[name] is DataClass.PERSONAL, f"{model.__qualname__}.{name}"


def test_the_class_is_in_the_json_schema_and_so_in_the_openapi_document() -> None:
    from oms.domain.order import OrderView

    schema = OrderView.model_json_schema()
    assert schema["$defs"]["Customer"]["properties"]["email"][SCHEMA_KEY] == "personal"
    assert schema["$defs"]["Address"]["properties"]["line1"][SCHEMA_KEY] == "personal"
    assert schema["properties"]["totals"][SCHEMA_KEY] == "financial"


def _pynamodb_classes() -> dict[str, type[Any]]:
    return {
        name: value
        for name, value in inspect.getmembers(tables, inspect.isclass)
        if value.__module__ == tables.__name__
        and (issubclass(value, Model) or (issubclass(value, MapAttribute) and value is not MapAttribute))
    }


PYNAMODB = _pynamodb_classes()


def test_every_pynamodb_model_and_map_attribute_is_in_the_registry() -> None:
    assert sorted(PYNAMODB) == sorted(ATTRIBUTE_CLASSES)


@pytest.mark.parametrize("name", sorted(PYNAMODB))
def test_every_attribute_of_every_table_is_classified(name: str) -> None:
    attributes = set(PYNAMODB[name].get_attributes())
    registered = set(ATTRIBUTE_CLASSES[name])
    assert sorted(attributes - registered) == [], f"{name}: classify these in oms/privacy/registry.py"
    assert sorted(registered - attributes) == [], f"{name}: the registry names attributes it does not have"


def test_the_tables_personal_attributes_are_the_domain_models_personal_fields() -> None:
    # The same person's data is personal in the domain model and in the table that stores it
    from oms.domain.order import Address, Customer

    assert personal_fields(Address) == {
        a for a, c in ATTRIBUTE_CLASSES["AddressAttribute"].items() if c is DataClass.PERSONAL
    }
    assert personal_fields(Customer) == {
        a for a, c in ATTRIBUTE_CLASSES["CustomerAttribute"].items() if c is DataClass.PERSONAL
    }
