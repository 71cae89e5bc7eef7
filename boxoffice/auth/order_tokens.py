"""Guest order access tokens: derived from the order id with a server secret, so nothing is
stored, a retried create returns the same token, and nobody can make one without the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from boxoffice.core.secret_files import load_or_create_secret
from boxoffice.core.settings import Settings

PREFIX = "bxo_"


def order_token_secret(settings: Settings) -> bytes:
    if settings.order_token_secret is not None:
        return settings.order_token_secret.get_secret_value().encode()
    path = settings.data_dir / "order-token-secret"
    return load_or_create_secret(path, lambda: secrets.token_hex(32).encode()).strip()


def order_token(secret: bytes, order_id: str) -> str:
    digest = hmac.new(secret, f"order-access:{order_id}".encode(), hashlib.sha256).digest()
    return PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_matches(secret: bytes, order_id: str, token: str) -> bool:
    return hmac.compare_digest(order_token(secret, order_id).encode(), token.encode())
