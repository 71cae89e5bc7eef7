"""Bearer tokens: verified with a shared HS256 secret or an OpenID Connect issuer's JWKS.

Only the algorithms of the configured mode are accepted (never `none`, never HS256 with a
public key as its secret); `exp`, `iat` and `sub` are required, `nbf` is honoured, and the
issuer and audience must match.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterable
from typing import Any

import httpx
import jwt

from boxoffice.auth.principal import STAFF_ROLES, Principal
from boxoffice.core.secret_files import load_or_create_secret
from boxoffice.core.settings import Settings

OIDC_ALGORITHMS = ["RS256", "ES256"]


class InvalidToken(Exception):
    """The token proves nothing; the message says why, without echoing the token."""


def auth_secret(settings: Settings) -> bytes:
    """The HS256 secret: from settings, else generated once into the data directory."""
    if settings.auth_secret is not None:
        return settings.auth_secret.get_secret_value().encode()
    path = settings.data_dir / "auth-secret"
    return load_or_create_secret(path, lambda: secrets.token_hex(32).encode()).strip()


def mint_token(
    settings: Settings, subject: str, roles: Iterable[str] = (), ttl_seconds: int = 12 * 3600
) -> str:
    """An HS256 token for this deployment (dev and tests; production uses its OIDC provider)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "roles": sorted(set(roles)),
    }
    return jwt.encode(claims, auth_secret(settings), algorithm="HS256")


class TokenVerifier:
    """Checks bearer tokens as the settings say; JWKS keys are cached and refetched when a
    token names a key id not seen yet (the provider rotated its keys)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._secret = auth_secret(settings) if settings.auth_mode == "hs256" else b""
        self._jwks: jwt.PyJWKClient | None = None
        self._jwks_lock = asyncio.Lock()

    async def verify(self, token: str) -> Principal:
        settings = self._settings
        try:
            if settings.auth_mode == "hs256":
                claims = self._decode(
                    token, self._secret, ["HS256"], settings.auth_issuer, settings.auth_audience
                )
                roles_claim = "roles"
            else:
                jwks = await self._jwks_client()
                key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)
                assert settings.oidc_issuer and settings.oidc_audience
                claims = self._decode(
                    token, key, OIDC_ALGORITHMS, settings.oidc_issuer, settings.oidc_audience
                )
                roles_claim = settings.oidc_roles_claim
        except jwt.PyJWKClientConnectionError as error:
            raise InvalidToken(f"the identity provider's keys are unreachable: {error}") from None
        except jwt.PyJWKClientError as error:
            raise InvalidToken(f"no key of the identity provider matches: {error}") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(_reason(error)) from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 200:
            raise InvalidToken("the token's subject is missing or too long")
        return Principal(subject=subject, roles=_roles(claims, roles_claim))

    def _decode(
        self, token: str, key: Any, algorithms: list[str], issuer: str, audience: str
    ) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=issuer,
            audience=audience,
            leeway=self._settings.auth_leeway_seconds,
            options={"require": ["exp", "iat", "sub"]},
        )
        return claims

    async def _jwks_client(self) -> jwt.PyJWKClient:
        async with self._jwks_lock:
            if self._jwks is None:
                url = self._settings.oidc_jwks_url or await self._discover_jwks_url()
                self._jwks = jwt.PyJWKClient(
                    url,
                    cache_jwk_set=True,
                    lifespan=self._settings.jwks_cache_seconds,
                    # A token naming an unknown key refetches the set at most this often, so
                    # made-up key ids cannot turn us into a flood against the provider.
                    cooldown_duration=self._settings.jwks_refresh_cooldown_seconds,
                    timeout=10,
                )
            return self._jwks

    async def _discover_jwks_url(self) -> str:
        issuer = (self._settings.oidc_issuer or "").rstrip("/")
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(url)
                response.raise_for_status()
                jwks_uri = response.json()["jwks_uri"]
        except (httpx.HTTPError, ValueError, KeyError) as error:
            raise InvalidToken(f"cannot read the issuer's discovery document: {error}") from None
        if not isinstance(jwks_uri, str):
            raise InvalidToken("the issuer's discovery document has no jwks_uri")
        return jwks_uri


def _roles(claims: dict[str, Any], path: str) -> frozenset[str]:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(role for role in value if role in STAFF_ROLES)


def _reason(error: jwt.InvalidTokenError) -> str:
    reasons: list[tuple[type[jwt.InvalidTokenError], str]] = [
        (jwt.ExpiredSignatureError, "the token has expired"),
        (jwt.ImmatureSignatureError, "the token is not valid yet"),
        (jwt.InvalidAudienceError, "the token is for another audience"),
        (jwt.InvalidIssuerError, "the token is from another issuer"),
        (jwt.InvalidAlgorithmError, "the token's algorithm is not accepted"),
        (jwt.InvalidSignatureError, "the token's signature is invalid"),
        (jwt.MissingRequiredClaimError, "the token lacks a required claim"),
    ]
    for kind, reason in reasons:
        if isinstance(error, kind):
            return reason
    return "the token is malformed"
