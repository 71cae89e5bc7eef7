"""Buyer accounts' pages: sign up, sign in (an emailed link, or a password), the link's page,
sign out, "my orders" and setting a password. Thin: `AccountService` holds the rules. Asking
for a link answers the same page whether the address has an account or not."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from boxoffice.accounts.domain import AccountError, AccountErrorKind
from boxoffice.accounts.service import AccountService
from boxoffice.auth.access import client_address, enforce_rate_limit
from boxoffice.storefront.guards import CheckedForm, SignedIn, form_text
from boxoffice.storefront.web import (
    N_,
    SESSION_COOKIE,
    gettext,
    locale_of,
    redirect,
    render,
    set_cookie,
)

router = APIRouter(include_in_schema=False)
ACCOUNT = "/shop/account"
#: What the pages say for each refusal, in the page's language.
_SAYS: dict[AccountErrorKind, str] = {
    AccountErrorKind.INVALID_LINK: N_("This link is not valid. Ask for a new one."),
    AccountErrorKind.EXPIRED_LINK: N_("This link has expired. Ask for a new one."),
    AccountErrorKind.USED_LINK: N_("This link was already used. Ask for a new one."),
    AccountErrorKind.BAD_CREDENTIALS: N_("The email or the password is not right."),
    AccountErrorKind.EMAIL_NOT_VERIFIED: N_(
        "Confirm your email address first: use the link we sent."
    ),
    AccountErrorKind.BAD_PASSWORD: N_("A password needs at least 10 characters (and at most 200)."),
    AccountErrorKind.BAD_EMAIL: N_("This is not an email address we can write to."),
    AccountErrorKind.NO_SUCH_ACCOUNT: N_("There is no such account."),
    AccountErrorKind.MAIL_UNAVAILABLE: N_(
        "We could not send the email just now. Try again shortly."
    ),
}


def _accounts(request: Request) -> AccountService:
    service: AccountService = request.app.state.accounts
    return service


def _refusal(request: Request, refused: AccountError) -> str:
    return gettext(request, _SAYS.get(refused.reason, refused.message))


async def _limited(request: Request, kind: str, limit: int) -> str | None:
    """The page's words for a rate limit reached, or None."""
    try:
        await enforce_rate_limit(request, f"{kind}:ip:{client_address(request)}", limit)
    except HTTPException:
        return gettext(request, "Too many tries from here. Wait a minute and try again.")
    return None


def _status(refused: AccountError) -> int:
    return {"invalid": 422, "not_found": 404, "unavailable": 503}.get(refused.kind, 400)


@router.get(f"{ACCOUNT}/sign-up")
async def sign_up_page(request: Request, account: SignedIn) -> Response:
    return render(request, "account/sign_up.html", form={})


@router.post(f"{ACCOUNT}/sign-up")
async def sign_up(request: Request, form: CheckedForm, account: SignedIn) -> Response:
    settings = request.app.state.settings
    shown = {
        "name": form_text(form, "name", strip=True),
        "email": form_text(form, "email", strip=True),
    }
    limited = await _limited(request, "links", settings.rate_limit_account_links_per_client)
    if limited:
        return render(request, "account/sign_up.html", 429, form=shown, error=limited)
    try:
        await _accounts(request).sign_up(
            shown["email"],
            shown["name"] or None,
            form_text(form, "password") or None,
            locale_of(request),
        )
    except AccountError as refused:
        error = _refusal(request, refused)
        return render(request, "account/sign_up.html", _status(refused), form=shown, error=error)
    return _check_your_email(request, shown["email"])


@router.get(f"{ACCOUNT}/sign-in")
async def sign_in_page(request: Request, account: SignedIn) -> Response:
    if account is not None:
        return redirect(request, ACCOUNT)
    return render(request, "account/sign_in.html", email="")


@router.post(f"{ACCOUNT}/sign-in/link")
async def send_link(request: Request, form: CheckedForm, account: SignedIn) -> Response:
    settings = request.app.state.settings
    email = form_text(form, "email", strip=True)
    limited = await _limited(request, "links", settings.rate_limit_account_links_per_client)
    if limited:
        return render(request, "account/sign_in.html", 429, email=email, error=limited)
    try:
        await _accounts(request).send_sign_in_link(email, locale_of(request))
    except AccountError as refused:
        error = _refusal(request, refused)
        return render(request, "account/sign_in.html", _status(refused), email=email, error=error)
    return _check_your_email(request, email)


@router.post(f"{ACCOUNT}/sign-in/password")
async def sign_in_with_password(request: Request, form: CheckedForm, account: SignedIn) -> Response:
    settings = request.app.state.settings
    email = form_text(form, "email", strip=True)
    limited = await _limited(request, "sign-ins", settings.rate_limit_sign_ins_per_client)
    if limited:
        return render(request, "account/sign_in.html", 429, email=email, error=limited)
    try:
        signed = await _accounts(request).sign_in_with_password(email, form_text(form, "password"))
    except AccountError as refused:
        error = _refusal(request, refused)
        return render(request, "account/sign_in.html", 401, email=email, error=error)
    return await _start_session(request, signed.id)


@router.get(f"{ACCOUNT}/link/{{token}}")
async def link_page(request: Request, token: str, account: SignedIn) -> Response:
    """A page with a button, not the sign-in itself: mail scanners that open links would
    otherwise use up the single-use link before its owner does."""
    return render(request, "account/link.html", token=token)


@router.post(f"{ACCOUNT}/link")
async def use_link(request: Request, form: CheckedForm, account: SignedIn) -> Response:
    try:
        signed = await _accounts(request).use_link(form_text(form, "token", strip=True))
    except AccountError as refused:
        message = _refusal(request, refused)
        return render(
            request,
            "message.html",
            _status(refused),
            title=gettext(request, "Sign in"),
            message=message,
            link=(f"{ACCOUNT}/sign-in", gettext(request, "Ask for a new link")),
        )
    return await _start_session(request, signed.id)


@router.post(f"{ACCOUNT}/sign-out")
async def sign_out(request: Request, form: CheckedForm) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await _accounts(request).end_session(raw)
    response = redirect(request, "/shop")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(ACCOUNT)
async def my_orders(request: Request, account: SignedIn) -> Response:
    if account is None:
        return redirect(request, f"{ACCOUNT}/sign-in")
    orders = await _accounts(request).orders(account)
    return render(
        request, "account/orders.html", orders=orders, saved=request.query_params.get("saved")
    )


@router.post(f"{ACCOUNT}/password")
async def set_password(request: Request, form: CheckedForm, account: SignedIn) -> Response:
    if account is None:
        return redirect(request, f"{ACCOUNT}/sign-in")
    try:
        # Every other browser signed in to the account is signed out: a new password is
        # often set because an old one leaked.
        await _accounts(request).set_password(
            account.id,
            form_text(form, "password"),
            keep_session=request.cookies.get(SESSION_COOKIE),
        )
    except AccountError as refused:
        orders = await _accounts(request).orders(account)
        error = _refusal(request, refused)
        return render(request, "account/orders.html", 422, orders=orders, error=error)
    return redirect(request, f"{ACCOUNT}?saved=password")


async def _start_session(request: Request, account_id: object) -> Response:
    settings = request.app.state.settings
    raw = await _accounts(request).start_session(account_id)  # type: ignore[arg-type]
    response = redirect(request, ACCOUNT)
    set_cookie(
        response,
        request,
        SESSION_COOKIE,
        raw,
        path="/",
        max_age=settings.account_session_days * 86400,
    )
    return response


def _check_your_email(request: Request, email: str) -> Response:
    return render(
        request,
        "message.html",
        title=gettext(request, "Check your email"),
        message=gettext(
            request,
            "If %(email)s can be signed in or signed up with, a link is on its way there. It "
            "works once, for a short while.",
            email=email,
        ),
    )
