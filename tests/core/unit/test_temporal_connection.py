"""How the settings reach Temporal (`core/temporal/client.py`): plain gRPC by default, mTLS
from certificate files, an API key (which implies TLS), and clear refusals at start for a
certificate without its key and a file that cannot be read. No real Temporal Cloud: the
arguments `Client.connect` gets are checked."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import TLSConfig

from boxoffice.core.settings import Settings
from boxoffice.core.temporal.client import Security, connect, connection_security

KEYS = "k1:" + base64.b64encode(bytes(32)).decode()


@pytest.fixture
def pem_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name, text in (("cert", "CERT"), ("key", "KEY"), ("ca", "CA")):
        path = tmp_path / f"{name}.pem"
        path.write_text(f"-----BEGIN {text}-----\n", encoding="ascii")
        files[name] = path
    return files


def test_by_default_the_connection_is_plain() -> None:
    assert connection_security(Settings()) == Security(tls=False, api_key=None)


def test_an_api_key_turns_tls_on_with_the_system_roots() -> None:
    security = connection_security(Settings(temporal_api_key="tmprl-secret-key"))
    assert security == Security(tls=True, api_key="tmprl-secret-key")
    # Neither the settings nor what is handed to the client show the key when logged.
    assert "tmprl-secret-key" not in repr(security)
    assert "tmprl-secret-key" not in repr(Settings(temporal_api_key="tmprl-secret-key"))


def test_temporal_tls_alone_is_tls_without_a_client_certificate() -> None:
    assert connection_security(Settings(temporal_tls=True)) == Security(tls=True)


def test_a_certificate_and_key_are_mtls_with_the_optional_ca_and_server_name(
    pem_files: dict[str, Path],
) -> None:
    security = connection_security(
        Settings(
            temporal_tls_cert_file=pem_files["cert"],
            temporal_tls_key_file=pem_files["key"],
            temporal_tls_ca_file=pem_files["ca"],
            temporal_tls_server_name="temporal.internal",
        )
    )
    assert security.api_key is None
    assert security.tls == TLSConfig(
        server_root_ca_cert=b"-----BEGIN CA-----\n",
        domain="temporal.internal",
        client_cert=b"-----BEGIN CERT-----\n",
        client_private_key=b"-----BEGIN KEY-----\n",
    )
    assert b"KEY" not in repr(security).encode()


def test_the_certificate_files_are_read_from_the_environment(
    pem_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_TLS_CERT_FILE", str(pem_files["cert"]))
    monkeypatch.setenv("TEMPORAL_TLS_KEY_FILE", str(pem_files["key"]))
    monkeypatch.setenv("TEMPORAL_TLS_CA_FILE", "")  # `VAR=`: not set
    monkeypatch.setenv("TEMPORAL_API_KEY", "tmprl-both")
    security = connection_security(Settings())
    assert isinstance(security.tls, TLSConfig)
    assert security.tls.client_cert == b"-----BEGIN CERT-----\n"
    assert security.tls.server_root_ca_cert is None
    assert security.api_key == "tmprl-both"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("cert", "TEMPORAL_TLS_CERT_FILE is set but TEMPORAL_TLS_KEY_FILE is not: mTLS needs both"),
        ("key", "TEMPORAL_TLS_KEY_FILE is set but TEMPORAL_TLS_CERT_FILE is not: mTLS needs both"),
    ],
)
def test_half_a_certificate_is_refused_at_start(
    pem_files: dict[str, Path], given: str, says: str
) -> None:
    files: dict[str, Any] = {f"temporal_tls_{given}_file": pem_files[given]}
    with pytest.raises(ValidationError) as refused:
        Settings(**files)
    assert says in str(refused.value)


def test_a_file_that_cannot_be_read_is_refused_at_start(
    pem_files: dict[str, Path], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(ValidationError) as refused:
        Settings(temporal_tls_cert_file=pem_files["cert"], temporal_tls_key_file=missing)
    assert f"TEMPORAL_TLS_KEY_FILE '{missing}' cannot be read: No such file" in str(refused.value)
    if os.geteuid() != 0:  # root reads any file
        pem_files["ca"].chmod(0)
        with pytest.raises(ValidationError) as refused:
            Settings(temporal_tls_ca_file=pem_files["ca"])
        assert "TEMPORAL_TLS_CA_FILE" in str(refused.value)
        assert "Permission denied" in str(refused.value)


async def test_connect_hands_the_tls_config_and_api_key_to_the_client(
    pem_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    async def fake_connect(target_host: str, **options: Any) -> str:
        seen.update(options, target_host=target_host)
        return "client"

    monkeypatch.setattr(Client, "connect", fake_connect)
    settings = Settings(
        temporal_address="shop.a1b2c.tmprl.cloud:7233",
        temporal_namespace="shop.a1b2c",
        temporal_api_key="tmprl-key",
        payload_encryption_keys=KEYS,
    )
    assert await connect(settings, lazy=True) == "client"  # type: ignore[comparison-overlap]
    assert seen["target_host"] == "shop.a1b2c.tmprl.cloud:7233"
    assert (seen["namespace"], seen["tls"], seen["api_key"]) == ("shop.a1b2c", True, "tmprl-key")
    assert seen["lazy"] is True

    seen.clear()
    plain = Settings(payload_encryption_keys=KEYS)
    await connect(plain)
    assert (seen["tls"], seen["api_key"]) == (False, None)
