"""The deployment's part of the one settings class (`settings.Settings` inherits it): the task
queues the workers serve, which Temporal Worker Deployment and build a worker belongs to, how it
reaches a Temporal that wants TLS (Temporal Cloud: mTLS or an API key), and whose forwarded
headers the API believes."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from boxoffice.core.comma_list import comma_list

#: The file settings for Temporal's TLS, by field name: each must be a readable file.
_TLS_FILES = ("temporal_tls_cert_file", "temporal_tls_key_file", "temporal_tls_ca_file")


class DeploySettings(BaseSettings):
    task_queue_purchases: str = "purchases"
    task_queue_payments: str = "payments"
    # Set to the purchases queue's name when one process serves every queue: the worker then
    # runs those activities as its own workflow task's answer hands them over (eager dispatch).
    task_queue_fulfilment: str = "fulfilment"
    # Stripe's limit is 100 requests/s in live mode; one payment attempt makes about three calls.
    payments_max_activities_per_second: float = Field(default=25, gt=0)

    # Temporal Worker Versioning. Both unset: unversioned workers (`make dev`, the tests). Both
    # set: the worker polls as version WORKER_DEPLOYMENT_NAME.WORKER_BUILD_ID, and refuses to
    # start unless that build was registered (`boxoffice worker --register-build`). One of the
    # two alone is refused at start (`core/temporal/versioning.py` says why in one line).
    worker_deployment_name: str | None = Field(default=None, max_length=200)
    worker_build_id: str | None = Field(default=None, max_length=200)

    # TLS to Temporal (`core/temporal/client.py`). All unset: plain gRPC (the dev server, a
    # cluster in the same network). A client certificate and key (PEM files, mTLS: Temporal
    # Cloud's certificate auth), an API key, or TEMPORAL_TLS=true each turn TLS on; the server
    # is checked against the system's roots unless a CA file is given.
    temporal_tls: bool = False
    temporal_tls_cert_file: Path | None = None
    temporal_tls_key_file: Path | None = None
    temporal_tls_ca_file: Path | None = None
    # The name the server's certificate is checked for, when it is not the address's host.
    temporal_tls_server_name: str | None = None
    # Temporal Cloud's API keys: a secret, sent as a bearer token over TLS.
    temporal_api_key: SecretStr | None = None

    # The API's proxies (an ingress controller, a load balancer), comma-separated addresses or
    # networks (10.0.0.0/8). A request from one of them is taken to come from the client its
    # X-Forwarded-For names, by the scheme its X-Forwarded-Proto names: the per-client rate
    # limits count buyers, not the proxy, and redirects keep https. Empty: trust none, so
    # nobody can choose the address they are counted as (core/http/middlewares.py).
    trusted_proxies: str = ""

    @model_validator(mode="after")
    def _payments_queue_of_its_own(self) -> Self:
        """Its rate limit (Stripe's) is the whole task queue's: shared, it would slow the rest."""
        if self.task_queue_payments in (self.task_queue_purchases, self.task_queue_fulfilment):
            raise ValueError(
                "TASK_QUEUE_PAYMENTS must be a queue of its own: its rate limit "
                "(PAYMENTS_MAX_ACTIVITIES_PER_SECOND) applies to the whole task queue"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for item in comma_list(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {item!r} is not an IP address or network (10.0.0.0/8); "
                    "list your proxies' addresses, never '*'"
                ) from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return comma_list(self.trusted_proxies)

    @field_validator(*_TLS_FILES, "temporal_tls_server_name", "temporal_api_key", mode="before")
    @classmethod
    def _blank_tls_is_unset(cls, value: object) -> object:
        """`VAR=` in an env file or compose means "not set"."""
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _usable_tls_files(self) -> Self:
        """Refused at start, not at the first connection: a certificate without its key (or
        the reverse), and a file this process cannot read."""
        cert, key = self.temporal_tls_cert_file, self.temporal_tls_key_file
        if (cert is None) != (key is None):
            given, missing = (
                ("TEMPORAL_TLS_CERT_FILE", "TEMPORAL_TLS_KEY_FILE")
                if key is None
                else ("TEMPORAL_TLS_KEY_FILE", "TEMPORAL_TLS_CERT_FILE")
            )
            raise ValueError(f"{given} is set but {missing} is not: mTLS needs both")
        for name in _TLS_FILES:
            path: Path | None = getattr(self, name)
            if path is None:
                continue
            try:
                with path.open("rb") as file:
                    file.read(1)
            except OSError as error:
                raise ValueError(
                    f"{name.upper()} {str(path)!r} cannot be read: {error.strerror or error}"
                ) from None
        return self

    @property
    def temporal_uses_tls(self) -> bool:
        return bool(
            self.temporal_tls
            or self.temporal_tls_cert_file
            or self.temporal_tls_ca_file
            or self.temporal_tls_server_name
            or self.temporal_api_key
        )
