"""The buyer's tickets as one PDF: a page per ticket with its QR code. Pure: data in, bytes out."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from boxoffice.orders.tickets.qr import qr_image

#: Currencies without a minor unit (Stripe's list); every other one has two decimals.
_ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_QR_SIZE_MM = 110


@dataclass(frozen=True)
class TicketPage:
    ticket_id: str
    code: str
    ticket_type: str
    #: In minor units of the order's currency, as paid (the hold's unit price).
    price: int


@dataclass(frozen=True)
class ReceiptLine:
    """An add-on bought with the tickets: shown (with what it cost) on the receipt page."""

    name: str
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class TicketsDocument:
    order_id: str
    event_name: str
    venue: str
    starts_at: datetime
    buyer_name: str
    currency: str
    tickets: Sequence[TicketPage]
    addons: Sequence[ReceiptLine] = ()
    #: What the order was charged; 0: not shown.
    total: int = 0


def render_tickets_pdf(doc: TicketsDocument) -> bytes:
    """One A4 page per ticket, in the order given."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    # The core fonts are declared WinAnsiEncoding: cp1252 adds quotes, dashes and the euro sign.
    pdf.core_fonts_encoding = "cp1252"
    # Every page is laid out to fit; an automatic break would split a ticket over two pages.
    pdf.set_auto_page_break(False)
    pdf.set_title(_printable(f"Tickets: {doc.event_name}", pdf))
    pdf.set_creator("boxoffice")
    for number, ticket in enumerate(doc.tickets, start=1):
        _ticket_page(pdf, doc, ticket, number)
    if doc.addons:
        _addons_page(pdf, doc)
    return bytes(pdf.output())


def format_price(amount: int, currency: str) -> str:
    code = currency.upper()
    if code in _ZERO_DECIMAL_CURRENCIES:
        return f"{amount:,} {code}"
    return f"{amount // 100:,}.{amount % 100:02d} {code}"


def format_starts_at(starts_at: datetime) -> str:
    """E.g. `Saturday 12 September 2026, 19:30 UTC`, in the zone the datetime carries."""
    return starts_at.strftime("%A %d %B %Y, %H:%M %Z")


def _ticket_page(pdf: FPDF, doc: TicketsDocument, ticket: TicketPage, number: int) -> None:
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("Helvetica", "B", 22)
    _centred_lines(pdf, 10, _printable(doc.event_name, pdf))
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 13)
    _centred_lines(pdf, 7, _printable(doc.venue, pdf))
    _centred_lines(pdf, 7, format_starts_at(doc.starts_at))

    pdf.image(qr_image(ticket.code), x=Align.C, y=pdf.get_y() + 6, w=_QR_SIZE_MM, h=_QR_SIZE_MM)
    pdf.set_y(pdf.get_y() + 6 + _QR_SIZE_MM + 4)

    rows = [
        ("Ticket", f"{_printable(ticket.ticket_type, pdf)}  ({number} of {len(doc.tickets)})"),
        ("Price", format_price(ticket.price, doc.currency)),
        ("Name", _printable(doc.buyer_name, pdf)),
        ("Order", _printable(doc.order_id, pdf)),
        ("Ticket id", ticket.ticket_id),
    ]
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(35, 8, label)
        pdf.set_font("Helvetica", "", 12)
        pdf.multi_cell(width - 35, 8, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # The code in plain text, for a gate whose scanner cannot read the print.
    pdf.ln(6)
    pdf.set_font("Courier", "", 8)
    _centred_lines(pdf, 4, ticket.code)
    pdf.set_y(-20)
    pdf.set_font("Helvetica", "I", 9)
    note = "Each ticket lets one person in, once. Keep this code private."
    pdf.cell(width, 5, note, align=Align.C)


def _addons_page(pdf: FPDF, doc: TicketsDocument) -> None:
    """What came with the tickets (parking, a voucher), to show where it is handed out, and
    what the order cost in all."""
    pdf.add_page()
    width = pdf.epw
    pdf.set_font("Helvetica", "B", 22)
    _centred_lines(pdf, 10, _printable(doc.event_name, pdf))
    pdf.set_font("Helvetica", "", 13)
    _centred_lines(pdf, 7, "With your tickets")
    pdf.ln(8)
    for line in doc.addons:
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(width - 50, 8, _printable(f"{line.quantity} x {line.name}", pdf))
        pdf.set_font("Helvetica", "", 12)
        amount = format_price(line.quantity * line.unit_price, doc.currency)
        pdf.cell(50, 8, amount, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if doc.total:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(width - 50, 8, "Order total (tickets included)")
        total = format_price(doc.total, doc.currency)
        pdf.cell(50, 8, total, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(width, 6, _printable(f"Order {doc.order_id}, {doc.buyer_name}", pdf))
    pdf.set_y(-20)
    pdf.set_font("Helvetica", "I", 9)
    pdf.cell(
        width, 5, "Show this page with your ticket where add-ons are handed out.", align=Align.C
    )


def _centred_lines(pdf: FPDF, height: float, text: str) -> None:
    pdf.multi_cell(pdf.epw, height, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _printable(text: str, pdf: FPDF) -> str:
    """`text` in what the core fonts can encode: accents dropped where needed, else `?`.

    Core fonts keep the PDF small and need no font files; names in other scripts still print."""
    encoding: str = pdf.core_fonts_encoding
    out = []
    for char in text:
        if _encodable(char, encoding):
            out.append(char)
            continue
        if char.isspace():
            out.append(" ")
            continue
        base = "".join(
            c
            for c in unicodedata.normalize("NFKD", char)
            if not unicodedata.combining(c) and _encodable(c, encoding)
        )
        out.append(base or "?")
    return "".join(out)


def _encodable(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return char.isprintable()
