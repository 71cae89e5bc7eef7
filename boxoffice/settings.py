"""The one settings class, built by `get_settings()` and never at import time: tests make theirs."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Stripe key used against the local emulator, which accepts any key.
LOCAL_STRIPE_KEY = "sk_test_boxoffice_local"


class Settings(BaseSettings):
    """Every knob of the system. Unset embedded parts (database, Stripe, S3, SMTP) are started by
    `make dev` and by the tests; setting one points the system at a real service instead."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

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
    task_queue_purchases: str = "purchases"
    task_queue_payments: str = "payments"
    task_queue_fulfilment: str = "fulfilment"
    # Stripe's limit is 100 requests/s in live mode; one payment attempt makes about three calls.
    payments_max_activities_per_second: float = Field(default=25, gt=0)

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

    # The purchase pipeline.
    hold_seconds: int = Field(default=15 * 60, ge=1, le=24 * 3600)
    max_tickets_per_order: int = Field(default=10, ge=1, le=100)
    # Support may lengthen a hold by at most this many minutes in all.
    max_hold_extension_minutes: int = Field(default=60, ge=0, le=24 * 60)
    reservation_wait_seconds: float = Field(default=5, gt=0, le=60)
    # How long an API process refuses a ticket type it saw sold out without asking Postgres
    # again (0: ask every time). A seat given back is on sale again at most this much later.
    sold_out_memory_seconds: float = Field(default=1.0, ge=0, le=60)
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

    @property
    def signing_key_path(self) -> Path:
        return self.ticket_signing_key_file or self.data_dir / "ticket-signing-key.pem"

    def stripe_key(self) -> str:
        return self.stripe_api_key.get_secret_value() if self.stripe_api_key else LOCAL_STRIPE_KEY


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read from the environment once, on first use."""
    return Settings()
