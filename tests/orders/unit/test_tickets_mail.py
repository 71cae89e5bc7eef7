"""The tickets email: plain text and HTML alternatives with the PDF attached, buyer and event
names escaped in the HTML, and the order page linked with a guest's token or, for an account's
order, without one."""

from __future__ import annotations

from email.message import EmailMessage

from boxoffice.orders.receipt import order_receipt, receipt_text
from boxoffice.orders.tickets.mail import TicketsMail, tickets_links, tickets_message

BASE = "http://tickets.test"
TOKEN = "bxo_Guest-Token_123"
PDF = b"%PDF-1.7 test"


def mail(*, buyer_name: str = "Ada", has_account: bool = False, count: int = 3) -> TicketsMail:
    return TicketsMail(
        order_id="ord_01",
        buyer_name=buyer_name,
        buyer_email="ada@example.com",
        event_name="Night <script>alert(1)</script> & Day",
        venue="Kulturhalle Süd",
        starts_at="Saturday 12 September 2026, 19:30 UTC",
        ticket_count=count,
        pdf_key="orders/ord_01/tickets.pdf",
        receipt=order_receipt(
            [{"name": "General", "quantity": count, "unit_price": 4500}],
            [{"name": "Parking", "quantity": 1, "unit_price": 1500}],
            count * 4500 + 1500,
            "EUR",
        ),
        has_account=has_account,
    )


def message(tickets: TicketsMail) -> EmailMessage:
    token = None if tickets.has_account else TOKEN
    return tickets_message(
        tickets,
        tickets_links(BASE, tickets.order_id, token),
        mail_from="Boxoffice <tickets@boxoffice.test>",
        recipient=tickets.buyer_email,
        message_id="<tickets.ord_01@boxoffice>",
        pdf=PDF,
    )


def parts(sent: EmailMessage) -> tuple[str, str]:
    text = sent.get_body(("plain",))
    html = sent.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()).replace("\r\n", "\n"), str(html.get_content())


def test_text_and_html_are_alternatives_beside_the_pdf() -> None:
    sent = message(mail())
    assert sent.get_content_type() == "multipart/mixed"
    body, attachment = sent.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "tickets-ord_01.pdf"
    assert attachment.get_content() == PDF
    assert sent["Message-ID"] == "<tickets.ord_01@boxoffice>"


def test_html_escapes_buyer_and_event_names() -> None:
    _, html = parts(message(mail(buyer_name="<b>Ada</b>")))
    assert "<b>Ada</b>" not in html and "Hello &lt;b&gt;Ada&lt;/b&gt;," in html
    assert "<script>" not in html
    assert "Night &lt;script&gt;alert(1)&lt;/script&gt; &amp; Day" in html


def test_html_is_self_contained_and_styled_inline() -> None:
    _, html = parts(message(mail()))
    lowered = html.lower()
    for outside in ("<style", "<script", "<link", "<img", " src=", "url("):
        assert outside not in lowered
    assert 'style="' in html


def test_guest_links_carry_the_token() -> None:
    text, html = parts(message(mail()))
    page = f"{BASE}/shop/orders/ord_01?token={TOKEN}"
    assert f'href="{page}"' in html and ">See your order</a>" in html
    assert f'href="{BASE}/orders/ord_01/tickets.pdf?token={TOKEN}"' in html
    assert f"\nSee your order: {page}\n" in text
    assert f"\nDownload them again: {BASE}/orders/ord_01/tickets.pdf?token={TOKEN}\n" in text


def test_an_accounts_links_carry_no_token() -> None:
    text, html = parts(message(mail(has_account=True)))
    page = f"{BASE}/shop/orders/ord_01"
    assert "token" not in text and "token" not in html
    assert f'href="{page}"' in html and "Sign in to your account" in html
    assert f"See your order while signed in to your account: {page}\n" in text
    pdf = f"{BASE}/shop/orders/ord_01/tickets.pdf"
    assert f"\nDownload them again while signed in to your account: {pdf}\n" in text


def test_text_keeps_its_wording_and_gains_the_order_page() -> None:
    tickets = mail(count=1)
    text, _ = parts(message(tickets))
    assert text == (
        "Hello Ada,\n\n"
        "Here is your ticket for Night <script>alert(1)</script> & Day\n"
        "at Kulturhalle Süd, Saturday 12 September 2026, 19:30 UTC.\n\n"
        "It is attached as a PDF. Show the QR code at the entrance;\n"
        "each ticket lets one person in, once.\n\n"
        f"Download it again: {BASE}/orders/ord_01/tickets.pdf?token={TOKEN}\n\n"
        f"See your order: {BASE}/shop/orders/ord_01?token={TOKEN}\n\n"
        "Order ord_01:\n"
        "  1 x General  45.00 EUR\n"
        "  1 x Parking  15.00 EUR\n"
        "  Total        60.00 EUR\n"
    )


def test_html_lists_the_receipt_lines() -> None:
    _, html = parts(message(mail(count=2)))
    for cell in ("General", ">2<", "90.00 EUR", "Parking", "15.00 EUR", "105.00 EUR"):
        assert cell in html
    assert "They are attached as a PDF, one page per ticket." in html


def test_receipt_rows_without_names_or_prices() -> None:
    bought = order_receipt([{"quantity": 2}], [{"quantity": 1}], 0, "JPY")
    assert receipt_text(bought) == "  2 x Ticket  0 JPY\n  1 x Add-on  0 JPY\n  Total       0 JPY\n"
