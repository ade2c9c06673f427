"""parse_erp_order: a `POST /orders` body from the ERP/sales portal → CanonicalOrder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.channels.custom import parse_order_document, to_canonical
from oms.channels.erp import parse_erp_order, parse_erp_submission
from oms.domain.errors import ChannelPayloadError
from oms.money import ZERO
from tests.support.channel_math import TAX_RATES, line_tax
from tests.support.validation import assert_passes_oms_validation

EVENTS = Path(__file__).parents[1] / "events" / "erp"

Payload = dict[str, Any]


def load() -> Payload:
    result: Payload = json.loads((EVENTS / "order.json").read_bytes())
    return result


@pytest.fixture
def payload() -> Payload:
    return load()


def test_recorded_order_maps_to_the_expected_canonical_order(payload: Payload) -> None:
    # Given the recorded sales-portal order, entered by the authenticated user jdoe
    # When it is parsed
    order = parse_erp_order(payload, entered_by="user:jdoe")
    # Then it is an ERP order entered by that user, every amount exact
    assert (order.channel, order.external_id, order.entered_by) == ("erp", "SO-2026-004417", "user:jdoe")
    assert order.customer.customer_id == "erp-ACCT-10442"
    assert order.customer.name == "Lone Star School District \u2013 IT Procurement"
    assert order.shipping_address.jurisdiction == "US-TX"
    assert order.shipping_address.line2 is None
    assert [(x.line_id, x.sku, x.quantity) for x in order.lines] == [
        ("10", "ELC-PSU-65W", 40),
        ("20", "ELC-HDMI-2M", 100),
        ("30", "ELC-KVM-4P", 6),
    ]
    assert [x.unit_price for x in order.lines] == [Decimal("39.95"), Decimal("14.50"), Decimal("129.00")]
    assert [x.discount for x in order.lines] == [Decimal("79.90"), Decimal("72.50"), Decimal("0.00")]
    assert [x.tax for x in order.lines] == [Decimal("94.88"), Decimal("86.09"), Decimal("48.38")]
    assert order.shipping_total == Decimal("45.00")
    assert order.tax_total == Decimal("229.35")
    assert order.grand_total == Decimal("3943.95")
    assert order.placed_at == datetime(2026, 11, 2, 22, 3, tzinfo=UTC)
    assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.grand_total
    assert_passes_oms_validation(order)


def test_customer_reference_is_returned_beside_the_order(payload: Payload) -> None:
    submission = parse_erp_submission(payload, entered_by="user:jdoe")
    assert submission.customer_reference == "PO 2026-1187"
    payload.pop("customer_reference")
    assert parse_erp_submission(payload, entered_by="user:jdoe").customer_reference is None


def test_control_characters_are_stripped_from_the_customer_reference(payload: Payload) -> None:
    payload["customer_reference"] = "PO\x00 2026\n-1187 "
    assert parse_erp_submission(payload, entered_by="user:jdoe").customer_reference == "PO  2026 -1187"


def test_the_webshop_model_is_the_same_model(payload: Payload) -> None:
    # Given the ERP body parsed through the shared order document
    doc = parse_order_document(payload)
    # When it is mapped for the ERP channel
    order = to_canonical(doc, channel="erp", entered_by="user:jdoe")
    # Then it is exactly what parse_erp_order gives
    assert order == parse_erp_order(payload, entered_by="user:jdoe")


def test_same_erp_order_id_is_the_same_oms_order(payload: Payload) -> None:
    # A retried POST (same ERP order id) maps to the same OMS order id, whoever retries it
    first = parse_erp_order(payload, entered_by="user:jdoe")
    second = parse_erp_order(payload, entered_by="user:asmith")
    assert first.order_id == second.order_id


def test_erp_orders_need_a_customer_account(payload: Payload) -> None:
    payload["customer"]["id"] = None
    with pytest.raises(ChannelPayloadError, match=r"^customer\.id: is required for ERP orders"):
        parse_erp_order(payload, entered_by="user:jdoe")


@pytest.mark.parametrize("entered_by", ["channel:shopify", "", "user jdoe", "../root", "user:" + "x" * 80])
def test_entered_by_must_be_a_user_principal(payload: Payload, entered_by: str) -> None:
    with pytest.raises(ValueError, match="entered_by"):
        parse_erp_order(payload, entered_by=entered_by)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("order_id", "../x", "order_id: has characters"),
        ("order_id", "a/b", "order_id: has characters"),
        ("order_id", "%00", "order_id: has characters"),
        ("order_id", "' OR 1=1", "order_id: has characters"),
        ("customer_reference", "x" * 256, "customer_reference: must be at most 255"),
        ("grand_total", "3943.951", "grand_total: has more decimals"),
        ("grand_total", 3943.95, "grand_total: must be a decimal string"),
        ("placed_at", "2026-11-02 16:03", "placed_at: must include a UTC offset"),
        ("salesperson", "jdoe", "salesperson: is not a field"),
    ],
)
def test_bad_fields_are_named(payload: Payload, field: str, value: Any, reason: str) -> None:
    payload[field] = value
    with pytest.raises(ChannelPayloadError) as caught:
        parse_erp_order(payload, entered_by="user:jdoe")
    assert caught.value.reason.startswith(reason), caught.value.reason


@pytest.mark.parametrize("quantity", [0, -1, True, "3"])
def test_bad_quantities_are_rejected(payload: Payload, quantity: Any) -> None:
    payload["lines"][0]["quantity"] = quantity
    with pytest.raises(ChannelPayloadError, match=r"^lines\[0\]\.quantity: must be"):
        parse_erp_order(payload, entered_by="user:jdoe")


def test_unicode_names_survive(payload: Payload) -> None:
    payload["lines"][0]["name"] = "Блок питания 65 W — 電源 \U0001f50c"
    assert (
        parse_erp_order(payload, entered_by="user:jdoe").lines[0].name
        == "Блок питания 65 W — 電源 \U0001f50c"
    )


@pytest.mark.parametrize("body", [[], "order", None, 42])
def test_non_object_body_is_rejected(body: Any) -> None:
    with pytest.raises(ChannelPayloadError, match="payload: must be a JSON object"):
        parse_erp_order(body, entered_by="user:jdoe")


# --- property ---------------------------------------------------------------------------------------------


@settings(derandomize=True, max_examples=100, deadline=None)
@given(
    specs=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=300_000),
            st.integers(min_value=1, max_value=10_000),
            st.integers(min_value=0, max_value=100),
        ),
        min_size=1,
        max_size=40,
    ),
    jurisdiction=st.sampled_from(sorted(k for k in TAX_RATES if k.startswith("US-"))),
)
def test_generated_orders_round_trip_to_the_cent(
    specs: list[tuple[int, int, int]], jurisdiction: str
) -> None:
    # Given a consistent ERP order with random lines in a US jurisdiction
    payload = load()
    rate = TAX_RATES[jurisdiction]
    lines = []
    subtotal = discounts = taxes = ZERO
    for i, (cents, quantity, percent) in enumerate(specs):
        gross = Decimal(cents).scaleb(-2) * quantity
        discount = (gross * percent / 100).quantize(Decimal("0.01"))
        tax = line_tax(gross - discount, rate, "USD")
        subtotal, discounts, taxes = subtotal + gross, discounts + discount, taxes + tax
        lines.append(
            {
                "line_id": str(i + 1),
                "sku": f"SKU-{i}",
                "name": f"Item {i}",
                "quantity": quantity,
                "unit_price": str(Decimal(cents).scaleb(-2)),
                "discount": str(discount),
                "tax": str(tax),
            }
        )
    total = subtotal - discounts + Decimal("45.00") + taxes
    payload.update(lines=lines, tax_total=str(taxes), grand_total=str(total))
    payload["shipping_address"]["region"] = jurisdiction.removeprefix("US-")
    # When it is parsed from its JSON text
    order = parse_erp_order(json.loads(json.dumps(payload)), entered_by="user:jdoe")
    # Then every amount is the ERP's to the cent and the OMS's checks pass
    assert (order.subtotal, order.discount_total, order.tax_total) == (subtotal, discounts, taxes)
    assert order.grand_total == total
    assert_passes_oms_validation(order)
