"""The storefront's and buyer accounts' part of the one settings class (`settings.Settings`
inherits it, so there is still one class, built by `get_settings()`)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

#: Stripe.js in production. Unset STRIPE_JS_URL with no STRIPE_API_KEY: the emulator's stand-in.
STRIPE_JS = "https://js.stripe.com/v3/"
#: Publishable key used against the local emulator, which accepts any key.
LOCAL_STRIPE_PUBLISHABLE_KEY = "pk_test_boxoffice_local"


class WebSettings(BaseSettings):
    # Where the checkout page loads Stripe.js from. Unset: https://js.stripe.com/v3/ with a real
    # STRIPE_API_KEY, the local emulator's stand-in (STRIPE_API_BASE/js.stripe.com/v3/) without.
    stripe_js_url: str | None = None
    stripe_publishable_key: str = LOCAL_STRIPE_PUBLISHABLE_KEY
    # The time zone the pages show times in (an IANA name): the venues' own, usually.
    shop_time_zone: str = "UTC"
    # An emailed sign-in or verification link works once, for this long.
    account_link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # A signed-in browser stays signed in this long without signing in again.
    account_session_days: int = Field(default=30, ge=1, le=365)
    # Emailed links asked for, and password sign-ins tried, per client address and window.
    rate_limit_account_links_per_client: int = Field(default=5, ge=0)
    rate_limit_sign_ins_per_client: int = Field(default=10, ge=0)

    @field_validator("shop_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"SHOP_TIME_ZONE {value!r} is no IANA time zone") from None
        return value
