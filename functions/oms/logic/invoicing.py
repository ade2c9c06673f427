"""Invoicing a shipped order: one gaplessly numbered invoice, rendered to PDF and JSON in S3, exactly once.

Every step is safe to repeat: the invoice record is created once (later attempts read it back), the
documents are rendered deterministically from it and overwrite themselves byte for byte, and the order's
billing status moves once.

One computation: the order's price breakdown (`oms.pricing.breakdown`, from the components validation
stored with their tax by jurisdiction) makes the `InvoiceDocument`; the invoice record's totals, the JSON
and the PDF are all taken from that document.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel
from pynamodb.exceptions import DoesNotExist

from oms.aws import client
from oms.data.bus import publish
from oms.data.invoices import create_invoice_record
from oms.data.models import CustomerRecord, InvoiceRecord, OrderRecord
from oms.data.orders import get_order, set_billing_status, ship_to
from oms.data.pricing import pricing_of
from oms.data.shipments import shipments_of
from oms.domain.events import (
    BILLING_SOURCE,
    DOCUMENTS_SOURCE,
    DocumentCreated,
    DocumentType,
    InvoiceIssued,
)
from oms.domain.invoice import (
    InvoiceCharge,
    InvoiceDiscount,
    InvoiceDiscountShare,
    InvoiceDocument,
    InvoiceLine,
    InvoiceTax,
    Party,
)
from oms.domain.pricing import ItemBreakdown, ItemKind, PriceBreakdown, TaxLine
from oms.domain.status import BillingStatus, OrderStatus
from oms.logic.tracking import SHIPPED_PHASE, NotReadyError
from oms.observability import MetricUnit, metrics
from oms.pricing.breakdown import compute_breakdown
from oms.privacy.classification import classified

ACTOR = "service:invoice"


@classified(
    personal=(
        "name",
        "address_lines",
        "email",
    ),
    financial=("tax_id",),
)
class SellerProfile(BaseModel):
    name: str
    address_lines: list[str]
    tax_id: str
    email: str | None = None


def payment_terms_days(customer_id: str) -> int:
    """The customer's agreed terms (days); channel customers without an account pay at checkout (0)."""
    try:
        return int(CustomerRecord.get(customer_id).payment_terms_days)
    except DoesNotExist:
        return 0


def _taxes(lines: list[TaxLine]) -> list[InvoiceTax]:
    return [
        InvoiceTax(title=t.title, rate=t.rate, level=t.level, jurisdiction=t.jurisdiction, amount=t.amount)
        for t in lines
    ]


def _line(item: ItemBreakdown) -> InvoiceLine:
    assert item.sku is not None
    assert item.unit_price is not None
    return InvoiceLine(
        sku=item.sku,
        description=item.description,
        quantity=item.quantity,
        unit_price=item.unit_price,
        discount=item.discount,
        discounts=[InvoiceDiscountShare(discount=d.discount, amount=d.amount) for d in item.discounts],
        net_amount=item.net,
        tax_rate=item.tax_rate,
        tax_amount=item.tax,
        taxes=_taxes(item.taxes),
    )


def _charge(item: ItemBreakdown) -> InvoiceCharge:
    return InvoiceCharge(
        kind="SHIPPING" if item.kind is ItemKind.SHIPPING else "FEE",
        description=item.description,
        amount=item.gross,
        discount=item.discount,
        net_amount=item.net,
        tax_rate=item.tax_rate,
        tax_amount=item.tax,
        taxes=_taxes(item.taxes),
    )


def invoice_document(
    breakdown: PriceBreakdown,
    *,
    record: OrderRecord,
    invoice: InvoiceRecord,
    seller: SellerProfile,
    terms_days: int,
) -> InvoiceDocument:
    """The invoice of an order's price breakdown: every amount is one of the breakdown's."""
    address = ship_to(record)
    customer = record.customer
    return InvoiceDocument(
        invoice_number=invoice.invoice_number,
        order_id=record.order_id,
        external_id=record.external_id,
        channel=record.channel,
        issued_at=invoice.issued_at,
        due_date=invoice.issued_at.date() + timedelta(days=terms_days),
        payment_terms_days=terms_days,
        seller=Party(
            name=seller.name, address_lines=seller.address_lines, tax_id=seller.tax_id, email=seller.email
        ),
        bill_to=Party(
            name=customer.name,
            address_lines=[
                line for line in (address.line1, address.line2, address.city, address.country) if line
            ],
            tax_id=None,
        ),
        ship_to=address,
        currency=breakdown.currency,
        prices_include_tax=breakdown.prices_include_tax,
        lines=[_line(item) for item in breakdown.lines],
        charges=[_charge(item) for item in (*breakdown.shipping, *breakdown.fees)],
        discounts=[
            InvoiceDiscount(
                label=d.label, kind=d.kind, on_lines=d.on_lines, on_shipping=d.on_shipping, on_fees=d.on_fees
            )
            for d in breakdown.discounts
            if d.amount
        ],
        taxes=[
            InvoiceTax(
                title=t.title,
                rate=t.rate,
                level=t.level,
                jurisdiction=t.jurisdiction,
                taxable_amount=t.taxable_amount,
                amount=t.amount,
            )
            for t in breakdown.taxes
        ],
        subtotal=breakdown.subtotal,
        discount_total=breakdown.line_discount_total,
        shipping_total=breakdown.shipping_total,
        shipping_tax=breakdown.shipping_tax,
        fee_total=breakdown.fee_total,
        fee_tax=breakdown.fee_tax,
        tax_total=breakdown.tax_total,
        grand_total=breakdown.grand_total,
    )


def build_invoice_document(
    record: OrderRecord, invoice: InvoiceRecord, seller: SellerProfile, terms_days: int
) -> InvoiceDocument:
    return invoice_document(
        compute_breakdown(pricing_of(record)),
        record=record,
        invoice=invoice,
        seller=seller,
        terms_days=terms_days,
    )


def issue_invoice(order_id: str, *, bucket: str, seller: SellerProfile, now: datetime) -> InvoiceRecord:
    record = get_order(order_id)
    if OrderStatus(record.status) not in SHIPPED_PHASE:
        raise NotReadyError(f"order {order_id} is {record.status}; invoices are issued at shipment")
    terms = payment_terms_days(record.customer.customer_id)
    breakdown = compute_breakdown(pricing_of(record))
    invoice = create_invoice_record(
        order_id=order_id,
        issued_at=now,
        currency=breakdown.currency,
        grand_total=breakdown.grand_total,
        tax_total=breakdown.tax_total,
        customer_id=record.customer.customer_id,
        due_date=(now.date() + timedelta(days=terms)).isoformat(),
    )
    document = invoice_document(breakdown, record=record, invoice=invoice, seller=seller, terms_days=terms)
    # fpdf2 and its fonts load on the first invoice, not at the function's start (cold import, issue 14).
    from oms.documents.invoice_pdf import render_invoice_pdf

    s3 = client("s3")
    tags = {"order_id": order_id, "invoice_number": invoice.invoice_number}
    s3.put_object(
        Bucket=bucket,
        Key=invoice.pdf_key,
        Body=render_invoice_pdf(document),
        ContentType="application/pdf",
        Metadata=tags,
    )
    s3.put_object(
        Bucket=bucket,
        Key=invoice.json_key,
        Body=document.model_dump_json(indent=2).encode("utf-8"),
        ContentType="application/json",
        Metadata=tags,
    )
    if set_billing_status(
        order_id,
        BillingStatus.INVOICED,
        by=ACTOR,
        at=now,
        extra=[
            OrderRecord.invoice_number.set(invoice.invoice_number),
            OrderRecord.invoice_pdf_key.set(invoice.pdf_key),
            OrderRecord.payment_status.set(invoice.payment_status or "UNPAID"),
        ],
    ):
        metrics.add_metric(name="OrdersInvoiced", unit=MetricUnit.Count, value=1)
    # Every attempt publishes (a crash before it is retried by SQS); cash application is idempotent, and
    # document management and revenue recognition dedupe on the invoice number (decision 0048).
    shipped = [s.shipped_at for s in shipments_of(order_id)]
    publish(
        DOCUMENTS_SOURCE,
        DocumentCreated(
            event_id=f"document:invoice:{invoice.invoice_number}",
            document_type=DocumentType.INVOICE,
            document_number=invoice.invoice_number,
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            amount=str(invoice.grand_total),
            issued_at=invoice.issued_at,
            bucket=bucket,
            pdf_key=invoice.pdf_key,
            json_key=invoice.json_key,
            order_id=order_id,
            invoice_numbers=[invoice.invoice_number],
        ),
        resources=[invoice.invoice_number],
    )
    publish(
        BILLING_SOURCE,
        InvoiceIssued(
            order_id=order_id,
            invoice_number=invoice.invoice_number,
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            grand_total=str(invoice.grand_total),
            net_total=str(invoice.grand_total - invoice.tax_total),
            tax_total=str(invoice.tax_total),
            due_date=invoice.due_date,
            issued_at=invoice.issued_at,
            recognition_date=recognition_date(shipped, invoice.issued_at),
        ),
        resources=[invoice.invoice_number],
    )
    return invoice


def recognition_date(shipped_at: list[datetime], issued_at: datetime) -> date:
    """Revenue is recognised when control passes: the day (UTC) the first shipment left; the invoice's day
    when no shipment is on record (an order invoiced by hand)."""
    first = min(shipped_at, default=issued_at)
    return first.astimezone(UTC).date()
