"""Invoice document invariants and its PDF rendering."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pypdf import PdfReader

from oms.documents.invoice_pdf import latin1, render_invoice_pdf
from oms.domain.invoice import InvoiceDocument, InvoiceLine, Party, due_date_for
from oms.domain.order import Address
from oms.money import ZERO
from tests.support.channel_math import TAX_RATES, line_tax

ISSUED_AT = datetime(2026, 11, 2, 16, 5, 12, tzinfo=UTC)
SELLER = Party(
    name="Voltline Distribution Inc.",
    address_lines=["200 Meadowlands Pkwy", "Secaucus, NJ 07094", "United States"],
    tax_id="EIN 84-1234567",
    email="billing@voltline.example",
)
BILL_TO = Party(
    name="Bayside Robotics LLC", address_lines=["1450 Bayshore Blvd, Suite 300", "Burlingame, CA 94010"]
)
SHIP_TO = Address(
    name="Dana Whitfield",
    line1="1450 Bayshore Blvd",
    line2="Suite 300",
    city="Burlingame",
    region="CA",
    postal_code="94010",
    country="US",
)


def make_line(
    sku: str, description: str, quantity: int, unit_price: str, discount: str, rate: Decimal
) -> InvoiceLine:
    price, disc = Decimal(unit_price), Decimal(discount)
    net = price * quantity - disc
    return InvoiceLine(
        sku=sku,
        description=description,
        quantity=quantity,
        unit_price=price,
        discount=disc,
        net_amount=net,
        tax_rate=rate,
        tax_amount=line_tax(net, rate, "USD"),
    )


def make_document(
    lines: list[InvoiceLine], shipping: Decimal = Decimal("14.99"), **overrides: Any
) -> InvoiceDocument:
    subtotal = sum((line.unit_price * line.quantity for line in lines), ZERO)
    discounts = sum((line.discount for line in lines), ZERO)
    tax = sum((line.tax_amount for line in lines), ZERO)
    fields: dict[str, Any] = {
        "invoice_number": "INV-2026-000123",
        "order_id": "ord_3f9a1c2b7d4e5f60718293a4",
        "external_id": "5912345678901",
        "channel": "shopify",
        "issued_at": ISSUED_AT,
        "due_date": due_date_for(ISSUED_AT, 30),
        "payment_terms_days": 30,
        "seller": SELLER,
        "bill_to": BILL_TO,
        "ship_to": SHIP_TO,
        "currency": "USD",
        "lines": lines,
        "subtotal": subtotal,
        "discount_total": discounts,
        "shipping_total": shipping,
        "tax_total": tax,
        "grand_total": subtotal - discounts + shipping + tax,
    }
    fields.update(overrides)
    return InvoiceDocument(**fields)


CA = TAX_RATES["US-CA"]


@pytest.fixture
def sample() -> InvoiceDocument:
    return make_document(
        [
            make_line("ELC-USB-C-1M", "USB-C to USB-C Cable 1 m - Braided, 60 W", 10, "8.99", "8.99", CA),
            make_line("ELC-HDMI-2M", "HDMI 2.1 Cable 2 m - Black", 4, "14.50", "5.80", CA),
            make_line("ELC-PSU-65W", "65 W USB-C GaN Power Supply - US plug", 3, "39.95", "11.99", CA),
        ]
    )


def many_lines(count: int, seed: int) -> list[InvoiceLine]:
    rng = random.Random(seed)
    return [
        make_line(
            f"ELC-PART-{i:03d}",
            f"Component {i} - "
            + rng.choice(["cable", "adapter", "power supply", "hub", "switch"]) * rng.randint(1, 4),
            rng.randint(1, 40),
            f"{rng.randint(100, 50_000) / 100:.2f}",
            "0.00",
            CA,
        )
        for i in range(count)
    ]


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


# --- the document ------------------------------------------------------------------------------------------


def test_sample_document_adds_up_and_serialises_money_as_strings(sample: InvoiceDocument) -> None:
    # Given a consistent invoice
    # When it is dumped to JSON
    data = json.loads(sample.model_dump_json())
    # Then its totals are exact and every amount is a string
    assert sample.subtotal == Decimal("267.75")
    assert sample.discount_total == Decimal("26.78")
    assert sample.tax_total == Decimal("17.47")
    assert sample.grand_total == Decimal("273.43")
    assert data["grand_total"] == "273.43"
    assert data["lines"][0]["unit_price"] == "8.99"
    assert data["lines"][0]["tax_rate"] == "0.0725"
    assert data["issued_at"] == "2026-11-02T16:05:12Z"
    assert InvoiceDocument.model_validate_json(sample.model_dump_json()) == sample


def test_issued_at_is_normalised_to_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    doc = make_document(many_lines(1, seed=1), issued_at=datetime(2026, 11, 2, 11, 5, 12, tzinfo=eastern))
    assert doc.issued_at == ISSUED_AT
    assert doc.issued_at.tzinfo == UTC


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"grand_total": Decimal("273.44")}, "grand_total"),
        ({"subtotal": Decimal("267.74"), "grand_total": Decimal("273.42")}, "subtotal"),
        ({"discount_total": Decimal("26.77"), "grand_total": Decimal("273.44")}, "discount_total"),
        ({"tax_total": Decimal("17.48"), "grand_total": Decimal("273.44")}, "tax_total"),
        ({"shipping_total": Decimal("15.00")}, "grand_total"),
        ({"grand_total": Decimal("273.430001")}, "more decimals"),
        ({"currency": "XYZ"}, "unsupported currency"),
        ({"issued_at": datetime(2026, 11, 2, 16, 5)}, "time zone"),  # noqa: DTZ001 - the case under test
        ({"due_date": date(2026, 11, 1)}, "due_date"),
        ({"lines": []}, "at least 1"),
        ({"grand_total": 273.43}, "float"),
    ],
)
def test_inconsistent_documents_are_rejected(
    sample: InvoiceDocument, override: dict[str, Any], message: str
) -> None:
    # Given a consistent invoice's fields with one or two amounts changed
    fields = {**dict(sample), **override}
    # When / Then it cannot be built
    with pytest.raises(ValidationError, match=message):
        InvoiceDocument(**fields)


def test_line_whose_net_is_not_gross_less_discount_is_rejected() -> None:
    with pytest.raises(ValidationError, match="net_amount"):
        InvoiceLine(
            sku="ELC-HDMI-2M",
            description="HDMI",
            quantity=4,
            unit_price=Decimal("14.50"),
            discount=Decimal("5.80"),
            net_amount=Decimal("52.21"),
            tax_rate=CA,
            tax_amount=Decimal("3.78"),
        )


def test_line_discount_above_the_line_amount_is_rejected() -> None:
    with pytest.raises(ValidationError, match="exceeds"):
        InvoiceLine(
            sku="ELC-HDMI-2M",
            description="HDMI",
            quantity=1,
            unit_price=Decimal("14.50"),
            discount=Decimal("15.00"),
            net_amount=Decimal("0.00"),
            tax_rate=CA,
            tax_amount=Decimal("0"),
        )


def test_shipping_tax_is_part_of_the_tax_total(sample: InvoiceDocument) -> None:
    # Given an invoice whose shipping is taxed (1.00) on top of the line taxes
    fields = {**dict(sample), "shipping_tax": Decimal("1.00"), "tax_total": Decimal("18.47")}
    fields["grand_total"] = Decimal("274.43")
    # When / Then it is consistent
    assert InvoiceDocument(**fields).tax_total == Decimal("18.47")


@st.composite
def invoice_lines(draw: st.DrawFn) -> list[InvoiceLine]:
    count = draw(st.integers(min_value=1, max_value=12))
    rate = draw(st.sampled_from(sorted(set(TAX_RATES.values()))))
    lines = []
    for i in range(count):
        price = Decimal(draw(st.integers(min_value=0, max_value=1_000_000))).scaleb(-2)
        quantity = draw(st.integers(min_value=1, max_value=500))
        discount = Decimal(draw(st.integers(min_value=0, max_value=int(price * quantity * 100)))).scaleb(-2)
        lines.append(make_line(f"SKU-{i}", f"Item {i}", quantity, str(price), str(discount), rate))
    return lines


@settings(derandomize=True, max_examples=100, deadline=None)
@given(lines=invoice_lines(), shipping_cents=st.integers(min_value=0, max_value=10_000))
def test_consistent_documents_always_validate_and_round_trip(
    lines: list[InvoiceLine], shipping_cents: int
) -> None:
    # Given any set of valid lines and shipping
    # When the document is built from their sums
    doc = make_document(lines, shipping=Decimal(shipping_cents).scaleb(-2))
    # Then the invariants hold and the JSON round trip is lossless
    assert doc.subtotal - doc.discount_total + doc.shipping_total + doc.tax_total == doc.grand_total
    assert doc.tax_total == sum((line.tax_amount for line in doc.lines), ZERO)
    assert InvoiceDocument.model_validate_json(doc.model_dump_json()) == doc


@settings(derandomize=True, max_examples=100, deadline=None)
@given(
    lines=invoice_lines(),
    field=st.sampled_from(["subtotal", "discount_total", "shipping_total", "tax_total", "grand_total"]),
    cents=st.integers(min_value=1, max_value=100),
)
def test_any_total_off_by_some_cents_is_rejected(lines: list[InvoiceLine], field: str, cents: int) -> None:
    # Given a consistent document
    doc = make_document(lines)
    # When one total is raised by a few cents
    fields = {**dict(doc), field: getattr(doc, field) + Decimal(cents).scaleb(-2)}
    # Then the document is rejected
    with pytest.raises(ValidationError):
        InvoiceDocument(**fields)


# --- the PDF -----------------------------------------------------------------------------------------------


def test_pdf_opens_and_shows_the_invoice_number_and_grand_total(sample: InvoiceDocument) -> None:
    # Given a sample invoice
    # When it is rendered
    data = render_invoice_pdf(sample)
    # Then it is a one-page PDF showing the number, the total and the parties
    assert data.startswith(b"%PDF-")
    pages, text = pdf_text(data)
    assert pages == 1
    assert "INV-2026-000123" in text
    assert "273.43" in text
    assert "Bayside Robotics LLC" in text
    assert "ELC-PSU-65W" in text
    assert "2026-12-02" in text  # due date, net 30


def test_pdf_creation_date_is_the_issue_time(sample: InvoiceDocument) -> None:
    reader = PdfReader(io.BytesIO(render_invoice_pdf(sample)))
    assert reader.metadata is not None
    assert reader.metadata.creation_date == ISSUED_AT


def test_same_document_renders_to_identical_bytes(sample: InvoiceDocument) -> None:
    # Given the same invoice rendered twice (a retried task), and once from its JSON form
    first = render_invoice_pdf(sample)
    second = render_invoice_pdf(sample)
    third = render_invoice_pdf(InvoiceDocument.model_validate_json(sample.model_dump_json()))
    # Then the bytes are identical
    assert first == second == third


def test_different_documents_render_differently(sample: InvoiceDocument) -> None:
    other = sample.model_copy(update={"invoice_number": "INV-2026-000124"})
    assert render_invoice_pdf(sample) != render_invoice_pdf(other)


def test_sixty_line_invoice_spans_several_pages_with_every_line() -> None:
    # Given an invoice with 60 lines
    doc = make_document(many_lines(60, seed=7))
    # When it is rendered
    pages, text = pdf_text(render_invoice_pdf(doc))
    # Then it breaks over two or more pages, every line and the total are there, pages are numbered
    assert pages >= 2
    for i in range(60):
        assert f"ELC-PART-{i:03d}" in text
    assert f"{doc.grand_total:,.2f}" in text
    assert f"Page {pages} of {pages}" in text


def test_text_outside_latin1_is_replaced_safely(sample: InvoiceDocument) -> None:
    # Given names and descriptions with characters the core fonts cannot show
    lines = [make_line("ELC-RES-10K", "Résistance 10 kΩ – “précision” ≤1% ✓ 电阻 Łódź", 2, "0.25", "0", CA)]  # noqa: RUF001
    doc = make_document(lines, bill_to=Party(name="Zoë Łukasiewicz GmbH", address_lines=["Straße 1 — Köln"]))
    # When it is rendered
    _, text = pdf_text(render_invoice_pdf(doc))
    # Then it renders, keeping what Latin-1 has and approximating the rest
    assert "Résistance" in text
    assert "Zoë Lukasiewicz GmbH" in text
    assert "Straße 1 - Köln" in text


def test_latin1_replacements() -> None:
    assert latin1("“quoted” — 5 € … ok") == '"quoted" - 5 EUR ... ok'
    assert latin1("Łódź ✓ 电 10 kΩ") == "Lódz ? ? 10 kOhm"
    assert latin1("tab\tnew\nline") == "tab new line"
    assert latin1("café") == "café"
