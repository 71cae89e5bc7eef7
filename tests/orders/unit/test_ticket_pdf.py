"""The tickets PDF: a page per ticket, and a QR code on each that a gate scanner reads back."""

from __future__ import annotations

import io
import re
import struct
import uuid
import zlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from boxoffice.gate.qr_reader import codes_in_picture
from boxoffice.orders.tickets.codes import TicketSigner, verify_code
from boxoffice.orders.tickets.pdf import (
    TicketPage,
    TicketsDocument,
    format_price,
    render_tickets_pdf,
)
from boxoffice.orders.tickets.qr import qr_image

EVENT = uuid.UUID("9e8d7c6b-5a49-4837-a625-14f3e2d1c0b9")


@pytest.fixture(scope="module")
def signer() -> TicketSigner:
    return TicketSigner(Ed25519PrivateKey.generate())


def _document(
    signer: TicketSigner, buyer_name: str = "Zoë Ñandú", count: int = 2
) -> TicketsDocument:
    ids = [uuid.uuid4() for _ in range(count)]
    return TicketsDocument(
        order_id="ord_01HZX",
        event_name="Night of the Long Queues",
        venue="Kulturhalle Süd",
        starts_at=datetime(2026, 9, 12, 19, 30, tzinfo=UTC),
        buyer_name=buyer_name,
        currency="EUR",
        tickets=[
            TicketPage(
                ticket_id=str(ticket_id),
                code=signer.sign(ticket_id, EVENT),
                ticket_type="Standing" if n == 0 else "Balcony",
                price=4500,
            )
            for n, ticket_id in enumerate(ids)
        ],
    )


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def _embedded_images(pdf: bytes) -> list[Image.Image]:
    """The PDF's 8-bit grey images. fpdf2 stores them as PNG-predicted Flate data, which is
    exactly a PNG's IDAT: wrap each in a PNG container and let PIL read it."""
    images: list[Image.Image] = []
    for match in re.finditer(rb"obj\s*<<(.*?)>>\s*stream\n", pdf, re.S):
        header = match.group(1)
        if b"/Subtype /Image" not in header:
            continue
        assert b"/ColorSpace /DeviceGray" in header and b"/Predictor 15" in header
        width = int(re.search(rb"/Width (\d+)", header).group(1))  # type: ignore[union-attr]
        height = int(re.search(rb"/Height (\d+)", header).group(1))  # type: ignore[union-attr]
        length = int(re.search(rb"/Length (\d+)", header).group(1))  # type: ignore[union-attr]
        data = pdf[match.end() : match.end() + length]
        images.append(Image.open(io.BytesIO(_png(width, height, data))))
    return images


def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_one_page_per_ticket(signer: TicketSigner) -> None:
    pdf = render_tickets_pdf(_document(signer))
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert _page_count(pdf) == 2


def test_qr_codes_in_the_pdf_decode_to_the_ticket_codes(signer: TicketSigner) -> None:
    doc = _document(signer)
    images = _embedded_images(render_tickets_pdf(doc))
    decoded = [text for image in images for text in codes_in_picture(image)]
    assert decoded == [ticket.code for ticket in doc.tickets]
    for text, ticket in zip(decoded, doc.tickets, strict=True):
        verified = verify_code(text, signer.public_keys())
        assert verified is not None and str(verified.ticket_id) == ticket.ticket_id


def test_qr_image_decodes(signer: TicketSigner) -> None:
    code = signer.sign(uuid.uuid4(), EVENT)
    assert codes_in_picture(qr_image(code)) == [code]


@pytest.mark.parametrize("name", ["Zoë Ñandú", "李", "Łukasz “Luke” Żółć — 🎟️", "Line\nbreak\tname"])
def test_names_beyond_latin_1_do_not_crash(signer: TicketSigner, name: str) -> None:
    pdf = render_tickets_pdf(_document(signer, buyer_name=name, count=1))
    assert _page_count(pdf) == 1


def test_many_tickets(signer: TicketSigner) -> None:
    assert _page_count(render_tickets_pdf(_document(signer, count=10))) == 10


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (4500, "EUR", "45.00 EUR"),
        (5, "usd", "0.05 USD"),
        (123456, "GBP", "1,234.56 GBP"),
        (1500, "JPY", "1,500 JPY"),
    ],
)
def test_format_price(amount: int, currency: str, text: str) -> None:
    assert format_price(amount, currency) == text
