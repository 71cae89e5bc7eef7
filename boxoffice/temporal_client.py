"""Connecting to Temporal, the same way in the API, the workers and the CLI."""

from __future__ import annotations

from temporalio.client import Client

from boxoffice.settings import Settings


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """`lazy` lets the API start while Temporal is still coming up; `/readyz` tells."""
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, lazy=lazy
    )
