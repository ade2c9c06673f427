"""Render an `InvoiceDocument` as an A4 PDF with fpdf2.

Core fonts only (no font files to package), so text is reduced to Latin-1: accents outside it are stripped,
common typographic characters get ASCII stand-ins, and anything else becomes "?".

The output is deterministic: the PDF's creation date is the invoice's issue time and fpdf2 derives the file
identifier from the content, so rendering the same document again (a retried Lambda task) yields the same
bytes and therefore the same S3 object and ETag.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from fpdf import FPDF
from fpdf.fonts import FontFace

from oms.domain.invoice import InvoiceDocument, Party
from oms.domain.order import Address
from oms.money import MINOR_UNITS

_FONT = "Helvetica"
_MARGIN = 15.0
_GREY = (90, 90, 90)
_RULE = (200, 200, 200)
_HEADING_FILL = (235, 238, 242)

_ASCII_STAND_INS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": ",",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "*",
    "\u2122": "(TM)",
    "\u20ac": "EUR",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2009": " ",
    "\u202f": " ",
    "\u2007": " ",
    "\u2248": "~",
    "\u2126": "Ohm",
    "\u03a9": "Ohm",
    "\u03bc": "\u00b5",
    # Letters NFKD does not decompose.
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0131": "i",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0126": "H",
    "\u0127": "h",
}


def latin1(text: str) -> str:
    """`text` reduced to what the PDF core fonts can show (Latin-1), without losing more than necessary."""
    out: list[str] = []
    for char in text:
        if char in _ASCII_STAND_INS:
            out.append(_ASCII_STAND_INS[char])
            continue
        if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            out.append(" ")
            continue
        if ord(char) <= 0xFF:
            out.append(char)
            continue
        # "Ł" → "L", "ő" → "o": keep the base letter when decomposition leaves a Latin-1 character.
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) <= 0xFF for c in base) else "?")
    return "".join(out)


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.{MINOR_UNITS[currency]}f}"


def _percent(rate: Decimal) -> str:
    text = f"{rate * 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


class _InvoicePdf(FPDF):
    def __init__(self, doc: InvoiceDocument) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._doc = doc

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, size=8)
        self.set_text_color(*_GREY)
        left = latin1(f"{self._doc.seller.name} - Invoice {self._doc.invoice_number}")
        self.cell(self.epw / 2, 5, left, align="L")
        self.cell(self.epw / 2, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def _party_lines(party: Party) -> list[str]:
    lines = [party.name, *party.address_lines]
    if party.email:
        lines.append(party.email)
    if party.tax_id:
        lines.append(f"Tax ID: {party.tax_id}")
    return lines


def _address_lines(address: Address) -> list[str]:
    locality = " ".join(p for p in (address.city, address.region or "", address.postal_code or "") if p)
    return [
        address.name,
        address.line1,
        *([address.line2] if address.line2 else []),
        locality,
        address.country,
    ]


def _text_block(pdf: FPDF, x: float, y: float, width: float, title: str, lines: list[str]) -> float:
    """A titled block of lines at (x, y); returns the y below it."""
    pdf.set_xy(x, y)
    pdf.set_font(_FONT, "B", 8)
    pdf.set_text_color(*_GREY)
    pdf.cell(width, 5, latin1(title.upper()), new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(_FONT, size=9.5)
    for line in lines:
        pdf.set_x(x)
        pdf.multi_cell(width, 4.6, latin1(line), new_x="LEFT", new_y="NEXT")
    return pdf.get_y()


def _header(pdf: FPDF, doc: InvoiceDocument) -> None:
    top = pdf.get_y()
    half = pdf.epw / 2
    # Seller, top left.
    pdf.set_font(_FONT, "B", 15)
    pdf.multi_cell(half, 7, latin1(doc.seller.name), new_x="LEFT", new_y="NEXT")
    pdf.set_font(_FONT, size=9)
    for line in _party_lines(doc.seller)[1:]:
        pdf.multi_cell(half, 4.4, latin1(line), new_x="LEFT", new_y="NEXT")
    seller_bottom = pdf.get_y()

    # Invoice facts, top right.
    pdf.set_xy(_MARGIN + half, top)
    pdf.set_font(_FONT, "B", 20)
    pdf.cell(half, 9, "INVOICE", align="R", new_x="LEFT", new_y="NEXT")
    terms = "Due on receipt" if doc.payment_terms_days == 0 else f"Net {doc.payment_terms_days} days"
    facts = [
        ("Invoice no.", doc.invoice_number),
        ("Invoice date", doc.issued_at.date().isoformat()),
        ("Due date", doc.due_date.isoformat()),
        ("Payment terms", terms),
        ("Order", doc.order_id),
        ("Channel order", f"{doc.channel} {doc.external_id}"),
    ]
    for label, value in facts:
        pdf.set_x(_MARGIN + half)
        pdf.set_font(_FONT, size=9)
        pdf.set_text_color(*_GREY)
        pdf.cell(half * 0.42, 5, latin1(label), align="R")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(_FONT, "B", 9)
        pdf.cell(half * 0.58, 5, latin1(value), align="R", new_x="LMARGIN", new_y="NEXT")
    facts_bottom = pdf.get_y()

    y = max(seller_bottom, facts_bottom) + 6
    pdf.set_draw_color(*_RULE)
    pdf.line(_MARGIN, y - 3, _MARGIN + pdf.epw, y - 3)
    bill_bottom = _text_block(pdf, _MARGIN, y, half - 5, "Bill to", _party_lines(doc.bill_to))
    ship_bottom = _text_block(pdf, _MARGIN + half, y, half - 5, "Ship to", _address_lines(doc.ship_to))
    pdf.set_xy(_MARGIN, max(bill_bottom, ship_bottom) + 6)


_COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("SKU", 27, "LEFT"),
    ("Description", 49, "LEFT"),
    ("Qty", 11, "RIGHT"),
    ("Unit price", 19, "RIGHT"),
    ("Discount", 18, "RIGHT"),
    ("Net", 21, "RIGHT"),
    ("Tax %", 14, "RIGHT"),
    ("Tax", 21, "RIGHT"),
)


def _table(
    pdf: FPDF, columns: tuple[tuple[str, float, str], ...], rows: list[list[str]], *, scale: float = 1.0
) -> None:
    pdf.set_font(_FONT, size=8.5)
    pdf.set_draw_color(*_RULE)
    with pdf.table(
        col_widths=tuple(width for _, width, _ in columns),
        width=pdf.epw * scale,
        align="RIGHT" if scale < 1 else "CENTER",
        text_align=tuple(align for _, _, align in columns),
        borders_layout="HORIZONTAL_LINES",
        headings_style=FontFace(emphasis="BOLD", fill_color=_HEADING_FILL),
        line_height=4.6,
        padding=(1.2, 1.2),
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for title, _, _ in columns:
            heading.cell(title)
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(latin1(value))


def _rate(rate: Decimal | None) -> str:
    return _percent(rate) if rate is not None else "-"


def _line_table(pdf: FPDF, doc: InvoiceDocument) -> None:
    currency = doc.currency
    rows = [
        [
            line.sku,
            line.description,
            str(line.quantity),
            _money(line.unit_price, currency),
            _money(line.discount, currency) if line.discount else "-",
            _money(line.net_amount, currency),
            _rate(line.tax_rate),
            _money(line.tax_amount, currency),
        ]
        for line in doc.lines
    ]
    _table(pdf, _COLUMNS, rows)


_CHARGE_COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("Shipping and fees", 76, "LEFT"),
    ("Amount", 30, "RIGHT"),
    ("Discount", 18, "RIGHT"),
    ("Net", 21, "RIGHT"),
    ("Tax %", 14, "RIGHT"),
    ("Tax", 21, "RIGHT"),
)

_DISCOUNT_COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("Discount", 76, "LEFT"),
    ("Kind", 30, "LEFT"),
    ("On lines", 26, "RIGHT"),
    ("On shipping", 26, "RIGHT"),
    ("Total", 22, "RIGHT"),
)

_TAX_COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("Tax by jurisdiction", 80, "LEFT"),
    ("Rate", 26, "RIGHT"),
    ("Taxable amount", 48, "RIGHT"),
    ("Tax", 26, "RIGHT"),
)


def _section(pdf: FPDF, height: float) -> None:
    if pdf.will_page_break(height):
        pdf.add_page()
    pdf.ln(4)


def _charges(pdf: FPDF, doc: InvoiceDocument) -> None:
    if not doc.charges:
        return
    currency = doc.currency
    _section(pdf, 14)
    rows = [
        [
            ("Shipping: " if c.kind == "SHIPPING" else "Fee: ") + c.description,
            _money(c.amount, currency),
            _money(c.discount, currency) if c.discount else "-",
            _money(c.net_amount, currency),
            _rate(c.tax_rate),
            _money(c.tax_amount, currency),
        ]
        for c in doc.charges
    ]
    _table(pdf, _CHARGE_COLUMNS, rows)


def _discounts(pdf: FPDF, doc: InvoiceDocument) -> None:
    if not doc.discounts:
        return
    currency = doc.currency
    _section(pdf, 14)
    rows = [
        [
            d.label,
            d.kind,
            _money(d.on_lines, currency),
            _money(d.on_shipping, currency) if d.on_shipping else "-",
            _money(d.amount, currency),
        ]
        for d in doc.discounts
    ]
    _table(pdf, _DISCOUNT_COLUMNS, rows)


def _tax_summary(pdf: FPDF, doc: InvoiceDocument) -> None:
    if not doc.taxes:
        return
    currency = doc.currency
    _section(pdf, 14)
    rows = [
        [
            t.title,
            _rate(t.rate),
            _money(t.taxable_amount, currency) if t.taxable_amount is not None else "-",
            _money(t.amount, currency),
        ]
        for t in doc.taxes
    ]
    _table(pdf, _TAX_COLUMNS, rows)


def _totals(pdf: FPDF, doc: InvoiceDocument) -> None:
    currency = doc.currency
    rows: list[tuple[str, Decimal]] = [("Subtotal", doc.subtotal)]
    if doc.discount_total:
        rows.append(("Discounts", -doc.discount_total))
    rows.append(("Shipping", doc.shipping_total))
    if doc.fee_total or any(c.kind == "FEE" for c in doc.charges):
        rows.append(("Fees", doc.fee_total))
    rows.append(("Tax included" if doc.prices_include_tax else "Tax", doc.tax_total))
    if doc.shipping_tax:
        rows.append(("  of which on shipping", doc.shipping_tax))
    if doc.fee_tax:
        rows.append(("  of which on fees", doc.fee_tax))
    height = 5.5 * len(rows) + 12
    if pdf.will_page_break(height + 4):
        pdf.add_page()
    pdf.ln(4)
    label_width, value_width = 45.0, 35.0
    x = _MARGIN + pdf.epw - label_width - value_width
    for label, amount in rows:
        pdf.set_x(x)
        pdf.set_font(_FONT, size=9.5)
        pdf.cell(label_width, 5.5, label)
        pdf.cell(value_width, 5.5, _money(amount, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(0, 0, 0)
    pdf.line(x, pdf.get_y() + 1, _MARGIN + pdf.epw, pdf.get_y() + 1)
    pdf.ln(2.5)
    pdf.set_x(x)
    pdf.set_font(_FONT, "B", 11)
    pdf.cell(label_width, 7, f"Total due ({currency})")
    pdf.cell(value_width, 7, _money(doc.grand_total, currency), align="R", new_x="LMARGIN", new_y="NEXT")


def _closing(pdf: FPDF, doc: InvoiceDocument) -> None:
    text = (
        ("Prices include tax. " if doc.prices_include_tax else "")
        + f"Please pay {_money(doc.grand_total, doc.currency)} {doc.currency} by {doc.due_date.isoformat()}, "
        f"quoting invoice {doc.invoice_number}. Amounts already paid at checkout need no further action."
    )
    if pdf.will_page_break(14):
        pdf.add_page()
    pdf.ln(6)
    pdf.set_font(_FONT, size=8.5)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(pdf.epw, 4.4, latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as PDF bytes: identical bytes for an identical document."""
    pdf = _InvoicePdf(doc)
    pdf.set_creation_date(doc.issued_at)
    pdf.set_title(latin1(f"Invoice {doc.invoice_number}"))
    pdf.set_author(latin1(doc.seller.name))
    pdf.set_subject(latin1(f"Invoice {doc.invoice_number} for order {doc.order_id}"))
    pdf.set_creator("oms.documents.invoice_pdf")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.alias_nb_pages()
    pdf.add_page()
    _header(pdf, doc)
    _line_table(pdf, doc)
    _charges(pdf, doc)
    _discounts(pdf, doc)
    _tax_summary(pdf, doc)
    _totals(pdf, doc)
    _closing(pdf, doc)
    return bytes(pdf.output())
