"""Connecting to Temporal, the same way in the API, the workers and the CLI."""

from __future__ import annotations

from temporalio.client import Client

from boxoffice.core.observability.tracing import temporal_interceptors
from boxoffice.core.settings import Settings
from boxoffice.core.temporal.encryption.codec import encrypting_data_converter
from boxoffice.core.temporal.encryption.keys import key_ring_from_settings


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client whose payloads are encrypted with the configured keys, so every process that
    starts, runs or reads workflows writes and reads the same ciphertext.

    `lazy` lets the API start while Temporal is still coming up; `/readyz` tells. With tracing
    on (`core/observability/tracing.py`), its calls and the workers made from it are traced."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=encrypting_data_converter(key_ring_from_settings(settings)),
        interceptors=temporal_interceptors(),
        lazy=lazy,
    )
