"""The tickets email's content: a plain-text part, an HTML part that looks like the shop's
pages, and the PDF. The HTML is a Jinja2 template, autoescaped (buyer and event names are
untrusted), styled inline only (some mail clients drop <style>) and fetching nothing from
elsewhere. Pure: the activity loads the order and sends; this only writes the message."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from boxoffice.core.mail import one_line
from boxoffice.orders.receipt import Receipt, receipt_text

TEMPLATES = Path(__file__).parents[1] / "mail_templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class TicketsMail:
    order_id: str
    buyer_name: str
    buyer_email: str
    event_name: str
    venue: str
    starts_at: str
    ticket_count: int
    pdf_key: str
    # What was bought (tickets and add-ons) and charged.
    receipt: Receipt
    # An account's order: its links need the account, not a guest token.
    has_account: bool = False


@dataclass(frozen=True)
class TicketsLinks:
    order_page: str
    pdf: str


def tickets_links(public_base_url: str, order_id: str, guest_token: str | None) -> TicketsLinks:
    """The order page (the shop's, which moves a guest's token into a cookie) and the PDF.
    A guest's links carry the order's token: the mail is the buyer's proof. An account's
    carry none: the buyer signs in to the shop, whose session opens the shop's PDF link (the
    API's would want a bearer token, which a browser following a mail's link has not)."""
    base = public_base_url.rstrip("/")
    order_id = quote(order_id, safe="")
    query = f"?token={quote(guest_token, safe='')}" if guest_token is not None else ""
    return TicketsLinks(
        order_page=f"{base}/shop/orders/{order_id}{query}",
        pdf=(
            f"{base}/orders/{order_id}/tickets.pdf{query}"
            if guest_token is not None
            else f"{base}/shop/orders/{order_id}/tickets.pdf"
        ),
    )


def tickets_message(
    mail: TicketsMail,
    links: TicketsLinks,
    *,
    mail_from: str,
    recipient: str,
    message_id: str,
    pdf: bytes,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = Address(display_name=one_line(mail.buyer_name), addr_spec=recipient)
    message["Subject"] = f"Your tickets: {one_line(mail.event_name)}"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    wording = _Wording.of(mail)
    message.set_content(_text(mail, links, wording))
    message.add_alternative(
        _env.get_template("tickets.html").render(mail=mail, links=links, wording=wording),
        subtype="html",
    )
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=f"tickets-{mail.order_id}.pdf"
    )
    return message


@dataclass(frozen=True)
class _Wording:
    """The sentences both parts share, in the singular for one ticket."""

    what: str
    attached: str
    them: str

    @classmethod
    def of(cls, mail: TicketsMail) -> _Wording:
        if mail.ticket_count == 1:
            return cls("is your ticket", "It is attached as a PDF.", "it")
        return cls(
            f"are your {mail.ticket_count} tickets",
            "They are attached as a PDF, one page per ticket.",
            "them",
        )


def _text(mail: TicketsMail, links: TicketsLinks, wording: _Wording) -> str:
    if mail.has_account:
        again = f"Download {wording.them} again while signed in to your account: {links.pdf}"
        page = f"See your order while signed in to your account: {links.order_page}"
    else:
        again = f"Download {wording.them} again: {links.pdf}"
        page = f"See your order: {links.order_page}"
    return (
        f"Hello {mail.buyer_name},\n\n"
        f"Here {wording.what} for {mail.event_name}\n"
        f"at {mail.venue}, {mail.starts_at}.\n\n"
        f"{wording.attached} Show the QR code at the entrance;\n"
        "each ticket lets one person in, once.\n\n"
        f"{again}\n\n"
        f"{page}\n\n"
        f"Order {mail.order_id}:\n{receipt_text(mail.receipt)}"
    )
