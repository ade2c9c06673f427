"""Decisions 0051 and 0055: the masks, the pseudonyms and the log formatter, on hand-made values."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.data.models import OrderRecord
from oms.domain.order import Address, Customer
from oms.privacy.access import masked
from oms.privacy.classification import DataClass
from oms.privacy.logs import PERSONAL_KEYS, PersonalDataFormatter
from oms.privacy.masking import is_pseudonym, mask_email, mask_postal_code, pseudonym, redact_text
from oms.privacy.pseudonyms import pseudonymised
from oms.privacy.registry import ATTRIBUTE_CLASSES

KEY = b"test-key"


def test_a_pseudonym_is_the_keyed_hash_of_the_normalised_value() -> None:
    expected = "pii:" + hmac.new(KEY, b"ann.lee@example.com", hashlib.sha256).hexdigest()[:16]
    assert pseudonym(" Ann.Lee@Example.COM ", KEY) == expected
    assert pseudonym("ann.lee@example.com", b"another key") != expected
    assert len(expected) == 20  # fits a postal code field (20 characters)


def test_masks_keep_only_what_identifies_nobody() -> None:
    assert mask_email("ann.lee@example.com") == "a***@example.com"
    assert mask_postal_code("94010") == "940**"
    assert mask_postal_code("M5V") == "M**"
    assert mask_email(pseudonym("x", KEY)) == pseudonym("x", KEY)


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("mail ann@example.com now", "ann@example.com"),
        ("call +1 415 555 0142 today", "+1 415 555 0142"),
        ("call +14155550142", "+14155550142"),
        ("(415) 555-0142", "(415) 555-0142"),
        ("1 validation error input_value='1450 Bayshore Blvd'", "1450 Bayshore Blvd"),
    ],
)
def test_personal_text_is_redacted_from_free_text(text: str, gone: str) -> None:
    assert gone not in redact_text(text)


def test_operational_numbers_are_not_mistaken_for_phones() -> None:
    text = "order ord_1f2e at 2026-11-02T13:00:00+00:00, 12 units, INV-2026-0000123"
    assert redact_text(text) == text


def _formatted(**extra: object) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PersonalDataFormatter())
    log = logging.getLogger("test-privacy-formatter")
    log.propagate = False
    log.handlers = [handler]
    log.warning("customer ann@example.com wrote", extra=extra)
    return dict(json.loads(stream.getvalue()))


def test_the_formatter_removes_personal_keys_at_any_depth_and_inside_json_strings() -> None:
    body = json.dumps(
        {"customer": {"email": "ann@example.com"}, "shipping_address": {"address1": "1 Main St"}}
    )
    record = _formatted(
        order={"customer": {"name": "Ann Lee"}, "lines": [{"sku": "A", "quantity": 2}]},
        event={"body": body},
        order_id="ord_1",
    )
    text = json.dumps(record)
    for value in ("ann@example.com", "Ann Lee", "1 Main St"):
        assert value not in text
    assert record["order_id"] == "ord_1"
    assert record["order"]["lines"] == [{"sku": "A", "quantity": 2}]  # type: ignore[index]


def test_every_personal_field_name_of_the_tables_is_a_key_the_formatter_removes() -> None:
    names = {
        a for classes in ATTRIBUTE_CLASSES.values() for a, c in classes.items() if c is DataClass.PERSONAL
    }
    # `reference` (a payment's remittance text) is a word other records use for operational values; it is
    # never logged with a payer's text (the cash functions log ids only)
    assert names - PERSONAL_KEYS == {"reference"}


def test_the_api_masks_every_personal_field_and_keeps_the_rest() -> None:
    customer = Customer(customer_id="shopify-1", name="Ann Lee", email="ann@example.com")
    address = Address(
        name="Ann Lee", line1="1 Main St", city="Burlingame", region="CA", postal_code="94010", country="US"
    )
    assert masked(customer).model_dump() == {
        "customer_id": "shopify-1",
        "name": "A***",
        "email": "a***@example.com",
    }
    shown = masked(address).model_dump()
    assert shown == {
        "name": "A***",
        "line1": "1***",
        "line2": None,
        "city": "B***",
        "region": "CA",
        "postal_code": "940**",
        "country": "US",
    }


@settings(max_examples=50, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(["name", "line1", "line2", "city", "postal_code"]),
        st.text(min_size=1, max_size=40).filter(str.strip),
    )
)
def test_pseudonymising_twice_is_pseudonymising_once(values: dict[str, str]) -> None:
    image = {
        "order_id": "o1",
        "status": "RECEIVED",
        "shipping_address": {"country": "US", "region": "CA", **values},
        "customer": {"customer_id": "c1", "name": "Ann", "email": "ann@example.com"},
    }
    once = pseudonymised(OrderRecord, image, KEY)
    assert pseudonymised(OrderRecord, once, KEY) == once
    assert once["status"] == "RECEIVED"
    assert once["shipping_address"]["country"] == "US"
    assert once["customer"]["customer_id"] == "c1"
    assert all(is_pseudonym(v) for k, v in once["shipping_address"].items() if k in values)
    assert is_pseudonym(once["customer"]["email"])
