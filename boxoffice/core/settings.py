"""The one settings class, built by `get_settings()` and never at import time: tests make theirs."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from boxoffice.core.comma_list import comma_list
from boxoffice.core.settings_deploy import DeploySettings
from boxoffice.core.settings_web import STRIPE_JS, WebSettings
from boxoffice.core.temporal.encryption.keys import choose_current_key_id, parse_keys

#: Stripe key used against the local emulator, which accepts any key.
LOCAL_STRIPE_KEY = "sk_test_boxoffice_local"

#: Every abuse limit turned off: for load that is one client and one buyer on purpose (the test
#: stacks, the chaos cluster, the benchmark). A new limit belongs here too.
ABUSE_LIMITS_OFF: dict[str, int] = {
    "rate_limit_orders_per_client": 0,
    "rate_limit_orders_per_buyer": 0,
    "rate_limit_validations_per_client": 0,
    "max_tickets_per_buyer_per_event": 0,
    "max_unpaid_tickets_per_client": 0,
    "rate_limit_payments_per_client": 0,
    "max_payment_attempts_per_order": 0,
    "rate_limit_account_links_per_client": 0,
    "rate_limit_sign_ins_per_client": 0,
}


class Settings(WebSettings, DeploySettings):
    """Every knob of the system. Unset embedded parts (database, Stripe, S3, SMTP) are started by
    `make dev` and by the tests; setting one points the system at a real service instead."""

    # hide_input_in_errors: a refused secret (a key of the wrong length) is never echoed.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    data_dir: Path = Path(".data")
    public_base_url: str = "http://localhost:8000"
    log_level: str = "INFO"

    # PostgreSQL. Unset: `make dev` starts embedded PostgreSQL under data_dir.
    database_url: str | None = None
    # Sized so a burst of 500 requests queues for a connection instead of failing.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=60, gt=0)

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: str = "http://localhost:8233"

    # Stripe. Unset key: the local emulator at stripe_api_base.
    stripe_api_key: SecretStr | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1)

    # S3. Unset endpoint: AWS itself (credentials from the usual AWS variables).
    s3_endpoint_url: str | None = None
    s3_bucket: str = "boxoffice-tickets"
    s3_region: str = "us-east-1"

    smtp_url: str = "smtp://localhost:1025"
    mail_from: str = "Boxoffice <tickets@boxoffice.localhost>"

    # Ticket signing (Ed25519). A PEM private key, or a file holding one.
    ticket_signing_key: SecretStr | None = None
    ticket_signing_key_file: Path | None = None
    # Public keys (PEM, one or more blocks) of retired signing keys: tickets they signed stay
    # valid at the gate after a rotation. In the variable itself, or in a file.
    ticket_previous_public_keys: str | None = None
    ticket_previous_public_keys_file: Path | None = None

    # Encryption of every Temporal payload (buyer names and emails) with AES-256-GCM, as
    # `key_id:base64(32 bytes)`, comma-separated. New payloads use PAYLOAD_ENCRYPTION_KEY_ID
    # (optional with one key); the others still decrypt what they encrypted, so keys rotate.
    # Unset: a key generated once into data_dir/payload-encryption-key (dev).
    payload_encryption_keys: SecretStr | None = None
    payload_encryption_key_id: str | None = None
    # Browser origins allowed to call the codec endpoint (/codec), comma-separated: where the
    # Temporal UI runs. Unset: temporal_ui_url.
    codec_cors_origins: str | None = None

    # Requests with a larger body are refused (413) before anything reads them.
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    # Who may call the API (README "Security"). hs256: bearer tokens signed with a shared
    # secret (the dev default, generated into data_dir; `boxoffice token` mints them). oidc: an
    # OpenID Connect issuer's tokens (RS256/ES256), checked against its JWKS.
    auth_mode: Literal["hs256", "oidc"] = "hs256"
    auth_secret: SecretStr | None = None
    auth_issuer: str = "boxoffice"
    auth_audience: str = "boxoffice"
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    # Unset: the jwks_uri of the issuer's /.well-known/openid-configuration.
    oidc_jwks_url: str | None = None
    # Where the token lists its roles: a claim name or dotted path (Keycloak:
    # realm_access.roles; Cognito: cognito:groups). Values admin, support, gate count.
    oidc_roles_claim: str = "roles"
    jwks_cache_seconds: int = Field(default=300, ge=1)
    jwks_refresh_cooldown_seconds: float = Field(default=30, ge=0)
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # Derives guest orders' access tokens; unset: generated into data_dir. Changing it makes
    # every guest's order link stop working.
    order_token_secret: SecretStr | None = None

    # Abuse limits. Requests per window, per client address and per buyer; 0 turns one off.
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    rate_limit_orders_per_client: int = Field(default=30, ge=0)
    rate_limit_orders_per_buyer: int = Field(default=10, ge=0)
    rate_limit_validations_per_client: int = Field(default=1200, ge=0)
    # Payment attempts per client address and window: how stolen cards are tested.
    rate_limit_payments_per_client: int = Field(default=10, ge=0)
    # Payment attempts one order may make in all; 0: no limit.
    max_payment_attempts_per_order: int = Field(default=5, ge=0, le=1000)
    # Tickets one buyer may pay for per event, counted under the account, the mailbox (an
    # address with +tags and dots folded) and the card's fingerprint; 0: no cap.
    max_tickets_per_buyer_per_event: int = Field(default=20, ge=0)
    # Tickets held and not yet paid per client network (an IPv4 address, an IPv6 /64),
    # across events; 0: no limit.
    max_unpaid_tickets_per_client: int = Field(default=20, ge=0)
    # Orders an event-wide run (a cancellation, a postponement) acts on at once: each is a
    # refund at Stripe and an email, so this bounds the load one run puts on both.
    event_run_window: int = Field(default=20, ge=1, le=500)
    # How long each API process answers the public catalogue (GET /events, /events/{id})
    # from memory; availability shown may be this much old. 0: render every request.
    catalogue_cache_seconds: float = Field(default=1.0, ge=0, le=300)
    # Browser origins allowed to call the API, comma-separated (none by default).
    cors_allowed_origins: str = ""
    # Dev only: the codec endpoint's decode without a token, for the dev Temporal UI (which
    # cannot send one) from its loopback origin; refused with OIDC or an https public URL.
    codec_allow_anonymous: bool = False

    # The purchase pipeline.
    hold_seconds: int = Field(default=15 * 60, ge=1, le=24 * 3600)
    # A hold first lasts this long (at most hold_seconds), and is lengthened to hold_seconds
    # once a card is tried: holding seats without paying costs a holder something. 0: the
    # whole hold at once.
    first_hold_seconds: int = Field(default=5 * 60, ge=0, le=24 * 3600)
    max_tickets_per_order: int = Field(default=10, ge=1, le=100)
    # Support may lengthen a hold by at most this many minutes in all.
    max_hold_extension_minutes: int = Field(default=60, ge=0, le=24 * 60)
    # The API takes the seats itself right after starting the order's run (the run adopts
    # them): a buyer hears "yes" without waiting for a worker. False: the design before it
    # (admission control, then waiting up to reservation_wait_seconds for the run's answer),
    # kept so `make bench` measures both.
    reserve_in_api: bool = True
    reservation_wait_seconds: float = Field(default=5, gt=0, le=60)
    # How long an API process refuses a ticket type it saw sold out without asking Postgres
    # again (0: ask every time). A seat given back is on sale again at most this much later.
    sold_out_memory_seconds: float = Field(default=1.0, ge=0, le=60)
    # Requests per ticket type one API process lets go on at once whatever seats are left;
    # more go on only while the seats it knows to be left cover them all
    # (`orders/admission/turns.py`). The rest wait their turn, and may then be refused from
    # the sold-out memory instead. With one API process, at most this many can start a run
    # and then find the seats gone.
    admissions_at_once_per_type: int = Field(default=8, ge=1, le=1000)
    # How long seats let through admission control count against other buyers while the
    # order's workflow has not reserved them. Each reservation lets go of its own at once, so
    # this only bounds how long a seat stays off sale after its API process died mid-request;
    # an admission that lapses while its reservation is still queued (Temporal far behind)
    # lets one more buyer in, who may be refused by the workflow instead of at once.
    admission_lease_seconds: float = Field(default=60, gt=0, le=3600)
    payment_timeout_seconds: int = Field(default=30, ge=1)
    step_timeout_seconds: int = Field(default=60, ge=1)
    step_max_attempts: int = Field(default=5, ge=1)
    retry_initial_interval_seconds: float = Field(default=1, gt=0)
    retry_max_interval_seconds: float = Field(default=60, gt=0)
    # A workflow stays open this long after its event starts, for late refunds and resends.
    order_grace_seconds: int = Field(default=7 * 24 * 3600, ge=0)
    default_refund_cutoff_hours: int = Field(default=48, ge=0)

    # Prometheus metrics. The API serves its own at GET /metrics. Each worker process serves
    # ours (boxoffice_*) on metrics_port and the Temporal SDK's (temporal_*) on
    # worker_metrics_port, each plus the process's index under --processes N; 0 turns one off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)

    @field_validator(
        "database_url",
        "stripe_api_key",
        "stripe_api_base",
        "stripe_webhook_secret",
        "s3_endpoint_url",
        "ticket_signing_key",
        "ticket_previous_public_keys",
        "auth_secret",
        "order_token_secret",
        "oidc_issuer",
        "oidc_audience",
        "oidc_jwks_url",
        "payload_encryption_keys",
        "payload_encryption_key_id",
        "codec_cors_origins",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`VAR=` in an env file or compose means "not set", not an empty secret."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _oidc_needs_issuer_and_audience(self) -> Settings:
        if self.auth_mode == "oidc" and not (self.oidc_issuer and self.oidc_audience):
            raise ValueError("AUTH_MODE=oidc needs OIDC_ISSUER and OIDC_AUDIENCE")
        return self

    @property
    def cors_origins(self) -> list[str]:
        return comma_list(self.cors_allowed_origins)

    @model_validator(mode="after")
    def _valid_payload_encryption_keys(self) -> Settings:
        """Refuse bad keys at start, not at the first workflow; the dev key file (keys unset) is
        checked where it is read."""
        if self.payload_encryption_keys is not None:
            keys = parse_keys(self.payload_encryption_keys.get_secret_value())
            choose_current_key_id(keys, self.payload_encryption_key_id)
        return self

    @model_validator(mode="after")
    def _anonymous_codec_in_dev_only(self) -> Settings:
        """Decoded payloads are buyers' names and emails: never open outside a dev machine."""
        if not self.codec_allow_anonymous:
            return self
        if self.auth_mode == "oidc" or self.public_base_url.startswith("https://"):
            raise ValueError(
                "CODEC_ALLOW_ANONYMOUS is for the dev stack only: it cannot be on with "
                "AUTH_MODE=oidc or an https PUBLIC_BASE_URL"
            )
        foreign = [o for o in self.codec_origins if not _is_loopback_origin(o)]
        if foreign:
            raise ValueError(
                "CODEC_ALLOW_ANONYMOUS opens the codec to a Temporal UI on this machine only; "
                f"these CODEC_CORS_ORIGINS are not on loopback: {', '.join(foreign)}"
            )
        return self

    @property
    def codec_origins(self) -> list[str]:
        text = self.codec_cors_origins or self.temporal_ui_url
        return [origin.rstrip("/") for origin in comma_list(text)]

    @property
    def signing_key_path(self) -> Path:
        return self.ticket_signing_key_file or self.data_dir / "ticket-signing-key.pem"

    def stripe_key(self) -> str:
        return self.stripe_api_key.get_secret_value() if self.stripe_api_key else LOCAL_STRIPE_KEY

    @property
    def stripe_js(self) -> str:
        """The Stripe.js the checkout page loads (`settings_web.WebSettings.stripe_js_url`)."""
        if self.stripe_js_url:
            return self.stripe_js_url
        if self.stripe_api_key is None and self.stripe_api_base:
            return f"{self.stripe_api_base.rstrip('/')}/js.stripe.com/v3/"
        return STRIPE_JS


def _is_loopback_origin(origin: str) -> bool:
    host = urlsplit(origin).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read from the environment once, on first use."""
    return Settings()
