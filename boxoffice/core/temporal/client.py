"""Connecting to Temporal, the same way in the API, the workers and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.service import TLSConfig

from boxoffice.core.observability.tracing import temporal_interceptors
from boxoffice.core.settings import Settings
from boxoffice.core.settings_deploy import DeploySettings
from boxoffice.core.temporal.encryption.codec import encrypting_data_converter
from boxoffice.core.temporal.encryption.keys import key_ring_from_settings


@dataclass(frozen=True)
class Security:
    """How a client proves itself to Temporal and checks the server: `Client.connect`'s `tls`
    and `api_key`. Both are left out of the repr (TLSConfig's holds the private key), so
    logging this never shows a secret."""

    tls: bool | TLSConfig = field(default=False, repr=False)
    api_key: str | None = field(default=None, repr=False)


def connection_security(settings: DeploySettings) -> Security:
    """TLS from the settings (files read now: the settings checked they are readable), and the
    API key, which implies TLS: Temporal Cloud takes it only over TLS, and a bearer token must
    never cross the network in the clear."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    if not settings.temporal_uses_tls:
        return Security()
    cert, key, ca = (
        path.read_bytes() if path else None
        for path in (
            settings.temporal_tls_cert_file,
            settings.temporal_tls_key_file,
            settings.temporal_tls_ca_file,
        )
    )
    if not (cert or ca or settings.temporal_tls_server_name):
        return Security(tls=True, api_key=api_key)  # the system's roots, no client certificate
    return Security(
        tls=TLSConfig(
            server_root_ca_cert=ca,
            domain=settings.temporal_tls_server_name,
            client_cert=cert,
            client_private_key=key,
        ),
        api_key=api_key,
    )


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client whose payloads are encrypted with the configured keys, so every process that
    starts, runs or reads workflows writes and reads the same ciphertext.

    `lazy` lets the API start while Temporal is still coming up; `/readyz` tells. With tracing
    on (`core/observability/tracing.py`), its calls and the workers made from it are traced."""
    security = connection_security(settings)
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=encrypting_data_converter(key_ring_from_settings(settings)),
        interceptors=temporal_interceptors(),
        tls=security.tls,
        api_key=security.api_key,
        lazy=lazy,
    )
