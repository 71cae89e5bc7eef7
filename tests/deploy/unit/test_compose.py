"""docker-compose.yml stays valid. Needs `docker compose` or `docker-compose` (no daemon: `config`
only parses and interpolates); skipped without either."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


COMPOSE = _compose_command()
needs_compose = pytest.mark.skipif(
    COMPOSE is None, reason="neither `docker compose` nor `docker-compose` is installed"
)


def _config(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "COMPOSE_"))}
    return subprocess.run(
        [*COMPOSE, "-f", str(COMPOSE_FILE), "config", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean | env,
        timeout=60,
        check=False,
    )


@needs_compose
def test_compose_config_is_valid() -> None:
    result = _config({"STRIPE_API_KEY": "sk_test_compose_check"}, "-q")
    assert result.returncode == 0, result.stderr


@needs_compose
def test_compose_has_every_part_and_a_scalable_worker() -> None:
    result = _config({"STRIPE_API_KEY": "sk_test_compose_check"}, "--services")
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {
        "temporal",
        "temporal-postgres",
        "temporal-ui",
        "app-postgres",
        "minio",
        "mailpit",
        "migrate",
        "api",
        "prometheus",
        "grafana",
        "worker",
    } <= services
    rendered = _config({"STRIPE_API_KEY": "sk_test_compose_check"})
    worker = rendered.stdout.split("\n  worker:\n", 1)[1].split("\nvolumes:", 1)[0]
    # `--scale worker=N` needs no fixed name and no host port.
    assert "container_name" not in worker
    assert "ports:" not in worker


@needs_compose
def test_compose_refuses_to_start_without_a_stripe_key() -> None:
    result = _config({}, "-q")
    assert result.returncode != 0
    assert "STRIPE_API_KEY" in result.stderr
