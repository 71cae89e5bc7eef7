"""The Helm chart (deploy/helm/boxoffice) rendered by a real Helm engine without a cluster, and its
objects checked against Kubernetes' own schemas. The tests use it, and so does `make k8s`:

    python -m tests.deploy.chart deploy/rendered

The engine is helm-python-sdk: Helm v4's Go SDK in a shared library, driven through ctypes, so
no `helm` binary is downloaded. It validates values against values.schema.json before
rendering, as `helm install` does. kubernetes-validate ships the OpenAPI schemas per version.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

from boxoffice.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "deploy" / "helm" / "boxoffice"
RENDERED_DIR = ROOT / "deploy" / "rendered"
#: The newest Kubernetes whose schemas kubernetes-validate ships, and the oldest the chart
#: supports (Chart.yaml kubeVersion).
KUBERNETES_VERSIONS = (kubernetes_validate.latest_version(), "1.27.0")
#: Settings that are secrets: read from the existing Secret, refused in values.
SECRET_SETTINGS = frozenset(
    {
        "DATABASE_URL",
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "AUTH_SECRET",
        "ORDER_TOKEN_SECRET",
        "PAYLOAD_ENCRYPTION_KEYS",
        "TICKET_SIGNING_KEY",
    }
)
#: Secrets a deployment may go without (read from the Secret when it holds them).
OPTIONAL_SECRET_SETTINGS = frozenset({"TEMPORAL_API_KEY"})
#: Kinds of the Prometheus Operator, whose schemas are CRDs and not in kubernetes-validate.
OPERATOR_KINDS = frozenset({"ServiceMonitor", "PodMonitor"})
Obj = dict[str, Any]


@contextmanager
def loaded_chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as chart:
        yield chart


def render(
    values: Mapping[str, Any] | None = None,
    *,
    release: str = "boxoffice",
    namespace: str = "boxoffice",
    upgrade: bool = False,
) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` would (schema first). Raises
    helm.HelmValuesError (schema) or helm.HelmRenderError (a template's `fail`)."""
    with loaded_chart() as chart:
        return chart.render(
            dict(values or {}),
            name=release,
            namespace=namespace,
            is_install=not upgrade,
            is_upgrade=upgrade,
        )


def objects(rendered: Mapping[str, str]) -> list[Obj]:
    """Every Kubernetes object of a render (NOTES.txt and empty documents left out)."""
    found: list[Obj] = []
    for path in sorted(rendered):
        if not path.endswith((".yaml", ".yml")):
            continue
        for document in yaml.safe_load_all(rendered[path]):
            if document:
                found.append(document)
    return found


def render_objects(values: Mapping[str, Any] | None = None, **options: Any) -> list[Obj]:
    return objects(render(values, **options))


def find(found: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in found if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind} {name}: {len(matches)} found"
    return matches[0]


def validation_errors(obj: Obj, version: str) -> list[str]:
    """Messages of everything Kubernetes `version` would refuse in `obj` (strict: unknown
    fields too); [] when it is valid."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.path))}: {error.message}"]
    return []


def setting_schema(field_schema: Mapping[str, Any]) -> dict[str, Any]:
    """What values.schema.json must at least say of a setting, from pydantic's JSON schema of
    its field: its type and bounds (an optional field: its non-null form)."""
    branches = field_schema.get("anyOf")
    if branches:
        (field_schema,) = [b for b in branches if b.get("type") != "null"]
    wanted = (
        *("type", "enum", "pattern", "minLength", "maxLength"),
        *("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
    )
    return {key: field_schema[key] for key in wanted if key in field_schema}


def settings_schemas() -> dict[str, dict[str, Any]]:
    """Every setting but the secrets, by environment variable name."""
    properties = Settings.model_json_schema()["properties"]
    named = {name.upper(): setting_schema(schema) for name, schema in properties.items()}
    secrets = SECRET_SETTINGS | OPTIONAL_SECRET_SETTINGS
    return {name: schema for name, schema in named.items() if name not in secrets}


def file_name(obj: Obj) -> str:
    kind = re.sub(r"(?<!^)(?=[A-Z])", "-", obj["kind"]).lower()
    return f"{kind}-{obj['metadata']['name']}.yaml"


def write_rendered(target: Path = RENDERED_DIR) -> list[Path]:
    """The default values' manifests, one file per object, replacing what `target` held."""
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.yaml"):
        old.unlink()
    written = []
    for obj in render_objects():
        path = target / file_name(obj)
        path.write_text(yaml.safe_dump(obj, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else RENDERED_DIR
    written = write_rendered(target)
    refused = [
        f"{path.name}: {message}"
        for path in written
        for obj in [yaml.safe_load(path.read_text(encoding="utf-8"))]
        if obj["kind"] not in OPERATOR_KINDS
        for message in validation_errors(obj, KUBERNETES_VERSIONS[0])
    ]
    for line in refused:
        print(line, file=sys.stderr)
    print(f"{len(written)} objects in {target} (Kubernetes {KUBERNETES_VERSIONS[0]} schemas)")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
