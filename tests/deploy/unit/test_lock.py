"""The lock files pin every dependency pyproject.toml asks for, at a version it allows: an
install from them (CI, `make dev`, the Docker image) gets what was tested. A dependency added
to pyproject.toml without `make lock` fails here, with the command to run."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, Version]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {canonicalize_name(name): Version(version) for name, version in _PIN.findall(text)}


def wanted(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    todo = list(extras)
    while todo:
        for requirement in map(Requirement, project["optional-dependencies"][todo.pop()]):
            if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
                todo += sorted(requirement.extras)  # boxoffice[gate] inside [dev]
            else:
                found.append(requirement)
    return found


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))]
)
def test_the_lock_pins_every_dependency_at_an_allowed_version(
    lock: str, extras: tuple[str, ...]
) -> None:
    pinned = pins(lock)
    problems = []
    for requirement in wanted(*extras):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not in {lock}")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} does not meet {requirement}")
    assert not problems, f"{'; '.join(problems)}: run `make lock`"


def test_the_image_and_the_dev_install_use_the_locks() -> None:
    assert "pip install -r requirements.lock" in (ROOT / "Dockerfile").read_text()
    assert "pip install -r $(LOCK)" in (ROOT / "Makefile").read_text()
    assert pins("requirements.lock").keys() <= pins("requirements-dev.lock").keys()
