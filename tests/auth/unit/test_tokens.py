"""Bearer tokens: what is accepted, and every classic attack refused, for HS256 and for an
OpenID Connect issuer served from a local JWKS endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from boxoffice.auth.order_tokens import order_token, token_matches
from boxoffice.auth.tokens import InvalidToken, TokenVerifier, mint_token
from boxoffice.core.settings import Settings

SECRET = "unit-test-secret-that-is-long-enough"


def hs_settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(data_dir=tmp_path, auth_secret=SECRET, **extra)


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "alice", "iss": "boxoffice", "aud": "boxoffice", "iat": now, "exp": now + 600}
    return base | extra


async def test_a_minted_token_names_its_subject_and_staff_roles(tmp_path: Path) -> None:
    settings = hs_settings(tmp_path)
    token = mint_token(settings, "grace", ["support", "gate"])
    principal = await TokenVerifier(settings).verify(token)
    assert principal.subject == "grace"
    assert principal.roles == {"support", "gate"}
    # Roles we do not know are ignored, not trusted.
    odd = jwt.encode(claims(roles=["root", "admin"]), SECRET, algorithm="HS256")
    assert (await TokenVerifier(settings).verify(odd)).roles == {"admin"}


def _none_token() -> str:
    def b64(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(roles=['admin']))}."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac_signed(body: dict[str, Any], key: bytes, kid: str) -> str:
    """HS256 by hand: PyJWT itself refuses to use a public key as an HMAC secret."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(body).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _tampered() -> str:
    header, _, signature = jwt.encode(claims(), SECRET, algorithm="HS256").split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(roles=["admin"])).encode()).rstrip(b"=")
    return f"{header}.{forged.decode()}.{signature}"


def attacks() -> dict[str, tuple[str, str]]:
    """Made when a test runs, so none has expired by accident in a long suite."""
    return {
        "expired": (jwt.encode(claims(exp=int(time.time()) - 3600), SECRET), "expired"),
        "not yet valid": (jwt.encode(claims(nbf=int(time.time()) + 3600), SECRET), "not valid yet"),
        "wrong audience": (jwt.encode(claims(aud="someone-else"), SECRET), "audience"),
        "wrong issuer": (jwt.encode(claims(iss="https://evil.example"), SECRET), "issuer"),
        "alg none": (_none_token(), "algorithm"),
        "wrong key": (jwt.encode(claims(), "another-secret-of-enough-length!!"), "signature"),
        "tampered": (_tampered(), "signature"),
        "no expiry": (
            jwt.encode({k: v for k, v in claims().items() if k != "exp"}, SECRET),
            "claim",
        ),
        "no subject": (
            jwt.encode({k: v for k, v in claims().items() if k != "sub"}, SECRET),
            "claim",
        ),
        "garbage": ("not.a.token", "malformed"),
    }


@pytest.mark.parametrize("attack", sorted(attacks()))
async def test_hs256_attacks_are_refused(tmp_path: Path, attack: str) -> None:
    token, reason = attacks()[attack]
    with pytest.raises(InvalidToken, match=reason):
        await TokenVerifier(hs_settings(tmp_path)).verify(token)


def test_order_tokens_are_per_order_and_secret() -> None:
    token = order_token(b"secret", "ord_1")
    assert token_matches(b"secret", "ord_1", token)
    assert token == order_token(b"secret", "ord_1")  # a retried create gets it again
    assert not token_matches(b"secret", "ord_2", token)
    assert not token_matches(b"other secret", "ord_1", token)
    assert not token_matches(b"secret", "ord_1", token[:-1])


class Issuer:
    """An OpenID Connect issuer on loopback: discovery document and JWKS, keys rotatable."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = {"keys": [issuer.public_jwk(kid) for kid in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add_key(self, kid: str, kind: str) -> None:
        if kind == "RS256":
            self.keys[kid] = (kind, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        else:
            self.keys[kid] = (kind, ec.generate_private_key(ec.SECP256R1()))

    def public_jwk(self, kid: str) -> dict[str, Any]:
        kind, key = self.keys[kid]
        algorithm = jwt.algorithms.RSAAlgorithm if kind == "RS256" else jwt.algorithms.ECAlgorithm
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
        return jwk | {"kid": kid, "alg": kind, "use": "sig"}

    def token(self, kid: str, **extra: Any) -> str:
        kind, key = self.keys[kid]
        body = claims(iss=self.url, aud="boxoffice-api", realm_access={"roles": ["support"]})
        return jwt.encode(body | extra, key, algorithm=kind, headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    running.add_key("rsa-1", "RS256")
    running.add_key("ec-1", "ES256")
    yield running
    running.close()


def oidc_settings(tmp_path: Path, issuer: Issuer) -> Settings:
    return Settings(
        data_dir=tmp_path,
        auth_mode="oidc",
        oidc_issuer=issuer.url,
        oidc_audience="boxoffice-api",
        oidc_roles_claim="realm_access.roles",
        jwks_refresh_cooldown_seconds=0,
    )


async def test_oidc_tokens_of_both_key_types_are_accepted(tmp_path: Path, issuer: Issuer) -> None:
    verifier = TokenVerifier(oidc_settings(tmp_path, issuer))
    for kid in ("rsa-1", "ec-1"):
        principal = await verifier.verify(issuer.token(kid))
        assert principal.subject == "alice"
        assert principal.roles == {"support"}


async def test_oidc_keys_are_cached_and_refreshed_on_rotation(
    tmp_path: Path, issuer: Issuer
) -> None:
    verifier = TokenVerifier(oidc_settings(tmp_path, issuer))
    for _ in range(3):
        await verifier.verify(issuer.token("rsa-1"))
    assert issuer.jwks_fetches == 1
    issuer.add_key("rsa-2", "RS256")  # the provider rotates: a token names a new key
    assert (await verifier.verify(issuer.token("rsa-2"))).subject == "alice"
    assert issuer.jwks_fetches == 2


async def test_oidc_attacks_are_refused(tmp_path: Path, issuer: Issuer) -> None:
    verifier = TokenVerifier(oidc_settings(tmp_path, issuer))
    _, rsa_key = issuer.keys["rsa-1"]
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = claims(iss=issuer.url, aud="boxoffice-api")
    attacks = {
        "wrong issuer": issuer.token("rsa-1", iss="https://evil.example"),
        "wrong audience": issuer.token("rsa-1", aud="another-api"),
        "expired": issuer.token("rsa-1", exp=int(time.time()) - 3600),
        # The classic confusion: HS256 keyed with the issuer's public key.
        "hs256 with the public key": _hmac_signed(body, public_pem, "rsa-1"),
        "unknown key": jwt.encode(
            body,
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256",
            headers={"kid": "not-theirs"},
        ),
        "alg none": _none_token(),
    }
    accepted = []
    for name, token in attacks.items():
        try:
            await verifier.verify(token)
        except InvalidToken:
            continue
        accepted.append(name)
    assert accepted == []


def test_oidc_mode_needs_issuer_and_audience(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="OIDC_ISSUER and OIDC_AUDIENCE"):
        Settings(data_dir=tmp_path, auth_mode="oidc")
