"""Credit notes and dunning letters as A4 PDFs (fpdf2, core fonts, deterministic like the invoices: the same
document renders to the same bytes, so a retried step rewrites the same S3 object)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from oms.money import MINOR_UNITS, Money

_FONT = "Helvetica"


class DocumentLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    description: str
    reference: str = ""
    amount: Money


class CashDocument(BaseModel):
    """A credit note or a dunning letter: who to, what for, the lines and the total."""

    model_config = ConfigDict(frozen=True)

    kind: str
    """"Credit note" or the dunning level's title."""
    number: str
    issued_at: datetime
    seller: list[str]
    customer_id: str
    customer_name: str
    currency: str
    intro: str
    lines: list[DocumentLine]
    total_label: str
    total: Money
    notes: list[str] = []


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.{MINOR_UNITS[currency]}f} {currency}"


def render_cash_pdf(doc: CashDocument) -> bytes:
    # fpdf2 loads on the first document, not when a handler that may write one is imported.
    from fpdf import FPDF

    from oms.documents.invoice_pdf import latin1

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(doc.issued_at)
    pdf.set_title(latin1(f"{doc.kind} {doc.number}"))
    pdf.set_creator("oms.documents.cash_pdf")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 16)
    pdf.cell(0, 9, latin1(doc.kind), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=9)
    for line in doc.seller:
        pdf.cell(0, 4.5, latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(
        0,
        5,
        latin1(f"{doc.kind} {doc.number}   Date {doc.issued_at.date().isoformat()}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(_FONT, size=10)
    pdf.cell(0, 5, latin1(f"To: {doc.customer_name} ({doc.customer_id})"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.multi_cell(0, 5, latin1(doc.intro), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(_FONT, "B", 9)
    widths = (95, 50, 35)
    for width, title in zip(widths, ("Description", "Reference", "Amount"), strict=True):
        pdf.cell(width, 6, title, border="B", align="R" if title == "Amount" else "L")
    pdf.ln()
    pdf.set_font(_FONT, size=9)
    for item in doc.lines:
        pdf.cell(widths[0], 5.5, latin1(item.description)[:60])
        pdf.cell(widths[1], 5.5, latin1(item.reference)[:32])
        pdf.cell(widths[2], 5.5, _money(item.amount, doc.currency), align="R")
        pdf.ln()
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(widths[0] + widths[1], 7, latin1(doc.total_label), border="T")
    pdf.cell(widths[2], 7, _money(doc.total, doc.currency), border="T", align="R")
    pdf.ln(10)
    pdf.set_font(_FONT, size=9)
    for note in doc.notes:
        pdf.multi_cell(0, 4.5, latin1(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def today_of(at: datetime) -> date:
    return at.date()
