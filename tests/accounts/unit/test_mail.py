"""The account emails: a text and an HTML part with the link, English or Brazilian Portuguese
by locale, user input escaped in the HTML and kept on one line in headers."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from boxoffice.accounts.mail import (
    mail_locale,
    no_account_message,
    sign_in_message,
    verify_message,
)

FROM = "Boxoffice <tickets@boxoffice.test>"
URL = "http://shop.test/shop/account/link/abc_DEF-123"


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()).replace("\r\n", "\n"), str(html.get_content())


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", "en"), ("pt_BR", "pt_BR"), ("pt-BR", "pt_BR"), ("pt", "pt_BR"), ("de", "en")],
)
def test_the_locale_picks_the_language(locale: str, expected: str) -> None:
    assert mail_locale(locale) == expected


def test_a_verification_link_in_both_parts_and_languages() -> None:
    english = verify_message(FROM, "zoe@example.com", "Zoë", URL, 15, "en")
    portuguese = verify_message(FROM, "zoe@example.com", "Zoë", URL, 15, "pt_BR")
    assert english["Subject"] == "Confirm your email address for Boxoffice"
    assert portuguese["Subject"] == "Confirme seu e-mail no Boxoffice"
    for message in (english, portuguese):
        text, html = parts(message)
        assert URL in text and f'href="{URL}"' in html
        assert "15" in text
        assert message["From"] == FROM
        assert message["To"].addresses[0].addr_spec == "zoe@example.com"
    assert "Hello Zoë," in parts(english)[0]
    assert "Olá, Zoë," in parts(portuguese)[0]
    assert "minutos" in parts(portuguese)[0]


def test_a_sign_in_link_says_so() -> None:
    message = sign_in_message(FROM, "zoe@example.com", None, URL, 15, "en")
    text, _ = parts(message)
    assert message["Subject"] == "Your sign-in link for Boxoffice"
    assert text.startswith("Hello,\n\nSign in to your account")


def test_no_account_points_at_the_sign_up_page() -> None:
    sign_up = "http://shop.test/shop/account/sign-up"
    for locale, says in (
        ("en", f"there is no account for this address; sign up at {sign_up}"),
        ("pt_BR", f"não há conta para este endereço; cadastre-se em {sign_up}"),
    ):
        text, html = parts(no_account_message(FROM, "zoe@example.com", sign_up, locale))
        assert says in text
        assert sign_up in text and f'href="{sign_up}"' in html


def test_a_name_is_escaped_in_html_and_one_line_in_headers() -> None:
    name = '<script>alert("x")</script>\r\nBcc: evil@example.com'
    message = verify_message(FROM, "zoe@example.com", name, URL, 15, "en")
    text, html = parts(message)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>" in text  # plain text shows it as typed
    assert message["Bcc"] is None
    assert "\n" not in str(message["To"]) and "\r" not in str(message["To"])
