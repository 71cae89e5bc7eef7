"""The emails of buyer accounts, in English and Brazilian Portuguese: a verification link (a
new sign-up), a sign-in link, and "there is no account for this address". Each has a text part
and a simple HTML part; everything from user input is escaped in the HTML and kept on one line
in headers."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from boxoffice.core.mail import one_line

EN = "en"
PT_BR = "pt_BR"
#: Stands for the link in a wording's paragraphs (a paragraph of its own, or inside one).
LINK = "{link}"


@dataclass(frozen=True)
class Wording:
    subject: str
    hello: str
    hello_named: str
    paragraphs: tuple[str, ...]


_VERIFY = {
    EN: Wording(
        "Confirm your email address for Boxoffice",
        "Hello,",
        "Hello {name},",
        (
            "Confirm your email address and sign in to your new account by opening this link:",
            LINK,
            "The link works once, for {minutes} minutes. If you did not sign up, ignore this "
            "email: nothing happens without the link.",
        ),
    ),
    PT_BR: Wording(
        "Confirme seu e-mail no Boxoffice",
        "Olá,",
        "Olá, {name},",
        (
            "Confirme seu endereço de e-mail e entre na sua nova conta abrindo este link:",
            LINK,
            "O link funciona uma vez, por {minutes} minutos. Se você não se cadastrou, ignore "
            "este e-mail: nada acontece sem o link.",
        ),
    ),
}
_SIGN_IN = {
    EN: Wording(
        "Your sign-in link for Boxoffice",
        "Hello,",
        "Hello {name},",
        (
            "Sign in to your account by opening this link:",
            LINK,
            "The link works once, for {minutes} minutes. If you did not ask for it, ignore "
            "this email.",
        ),
    ),
    PT_BR: Wording(
        "Seu link de acesso ao Boxoffice",
        "Olá,",
        "Olá, {name},",
        (
            "Entre na sua conta abrindo este link:",
            LINK,
            "O link funciona uma vez, por {minutes} minutos. Se você não pediu este link, "
            "ignore este e-mail.",
        ),
    ),
}
_NO_ACCOUNT = {
    EN: Wording(
        "No Boxoffice account for this address",
        "Hello,",
        "Hello,",
        (
            "Someone asked for a sign-in link for this address, but there is no account for "
            "this address; sign up at " + LINK,
            "If it was not you, ignore this email.",
        ),
    ),
    PT_BR: Wording(
        "Nenhuma conta no Boxoffice para este endereço",
        "Olá,",
        "Olá,",
        (
            "Alguém pediu um link de acesso para este endereço, mas não há conta para este "
            "endereço; cadastre-se em " + LINK,
            "Se não foi você, ignore este e-mail.",
        ),
    ),
}


def mail_locale(locale: str) -> str:
    """`pt_BR`, `pt-BR`, `pt`: Brazilian Portuguese; anything else: English."""
    return PT_BR if locale.replace("-", "_").lower().split("_")[0] == "pt" else EN


def verify_message(
    mail_from: str, to: str, name: str | None, url: str, minutes: int, locale: str
) -> EmailMessage:
    return _message(_VERIFY[mail_locale(locale)], mail_from, to, name, url, minutes)


def sign_in_message(
    mail_from: str, to: str, name: str | None, url: str, minutes: int, locale: str
) -> EmailMessage:
    return _message(_SIGN_IN[mail_locale(locale)], mail_from, to, name, url, minutes)


def no_account_message(mail_from: str, to: str, sign_up_url: str, locale: str) -> EmailMessage:
    return _message(_NO_ACCOUNT[mail_locale(locale)], mail_from, to, None, sign_up_url, 0)


def _message(
    wording: Wording, mail_from: str, to: str, name: str | None, url: str, minutes: int
) -> EmailMessage:
    name = one_line(name) if name else None
    hello = wording.hello_named.format(name=name) if name else wording.hello
    paragraphs = [p.replace("{minutes}", str(minutes)) for p in wording.paragraphs]
    text = "\n\n".join([hello, *(p.replace(LINK, url) for p in paragraphs)]) + "\n"
    anchor = f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
    body = "".join(
        f"<p>{p}</p>\n"
        for p in [
            html.escape(hello),
            *(anchor.join(html.escape(piece) for piece in p.split(LINK)) for p in paragraphs),
        ]
    )
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = Address(display_name=name or "", addr_spec=to)
    message["Subject"] = wording.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="boxoffice")
    message.set_content(text)
    message.add_alternative(
        f'<!doctype html>\n<html><body style="font-family: sans-serif">\n{body}</body></html>\n',
        subtype="html",
    )
    return message
