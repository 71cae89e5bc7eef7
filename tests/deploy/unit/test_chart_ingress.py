"""ingress.* and api.trustedProxies: an optional Ingress to the API's Service, refused without a
host; the proxies' addresses reach the API alone as TRUSTED_PROXIES, and uvicorn's own proxy
trust is off so that setting alone decides (tests/core/unit/test_trusted_proxies.py shows
what it changes)."""

from __future__ import annotations

from typing import Any

import pytest

from boxoffice.core.settings import Settings
from tests.deploy.chart import KUBERNETES_VERSIONS, find, render_objects, validation_errors
from tests.deploy.unit.test_chart import env_of, pod_spec
from tests.deploy.unit.test_chart_values import refusal

INGRESS: dict[str, Any] = {
    "enabled": True,
    "className": "nginx",
    "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
    "hosts": [
        {"host": "tickets.example.com"},
        {"host": "api.example.com", "paths": [{"path": "/orders", "pathType": "Exact"}]},
    ],
    "tls": [{"secretName": "tickets-tls", "hosts": ["tickets.example.com", "api.example.com"]}],
}


def test_no_ingress_by_default() -> None:
    assert [o for o in render_objects() if o["kind"] == "Ingress"] == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_an_enabled_ingress_routes_its_hosts_to_the_api_service(version: str) -> None:
    found = render_objects({"ingress": INGRESS})
    ingress = find(found, "Ingress", "boxoffice-api")
    assert validation_errors(ingress, version) == []
    assert ingress["metadata"]["annotations"] == INGRESS["annotations"]
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == INGRESS["tls"]
    routes = [
        (rule["host"], path["path"], path["pathType"], path["backend"]["service"])
        for rule in spec["rules"]
        for path in rule["http"]["paths"]
    ]
    backend = {"name": "boxoffice-api", "port": {"name": "http"}}
    assert routes == [
        ("tickets.example.com", "/", "Prefix", backend),
        ("api.example.com", "/orders", "Exact", backend),
    ]
    service = find(found, "Service", "boxoffice-api")
    assert [p["name"] for p in service["spec"]["ports"]] == ["http"]


@pytest.mark.parametrize(
    ("ingress", "expected"),
    [
        ({"enabled": True}, "missing property 'ingress.hosts: at least one host when ingress"),
        ({"enabled": True, "hosts": []}, "at least one host when ingress.enabled"),
        ({"enabled": True, "hosts": [{"host": ""}]}, "at '/ingress/hosts/0/host'"),
        ({"enabled": True, "hosts": [{"paths": [{"path": "/"}]}]}, "missing property 'host'"),
        (
            {**INGRESS, "tls": [{"secretName": "", "hosts": ["tickets.example.com"]}]},
            "at '/ingress/tls/0/secretName': minLength",
        ),
        ({**INGRESS, "tls": [{"hosts": ["tickets.example.com"]}]}, "'secretName'"),
    ],
)
def test_an_ingress_without_a_host_or_tls_secret_is_refused(
    ingress: dict[str, Any], expected: str
) -> None:
    assert expected in refusal({"ingress": ingress})


def test_trusted_proxies_reach_the_api_only_and_uvicorn_trusts_none_itself() -> None:
    found = render_objects({"api": {"trustedProxies": ["10.0.0.0/8", "fd00::/8"]}})
    (api,) = pod_spec(find(found, "Deployment", "boxoffice-api"))["containers"]
    assert env_of(api)["TRUSTED_PROXIES"]["value"] == "10.0.0.0/8,fd00::/8"
    assert "--no-proxy-headers" in api["command"]
    # What the chart renders is what the API's settings accept.
    assert Settings(trusted_proxies="10.0.0.0/8,fd00::/8").trusted_proxy_list == [
        "10.0.0.0/8",
        "fd00::/8",
    ]
    for obj in found:
        if obj["kind"] in ("Deployment", "Job") and obj["metadata"]["name"] != "boxoffice-api":
            assert "TRUSTED_PROXIES" not in env_of(pod_spec(obj)["containers"][0])
    default_api = pod_spec(find(render_objects(), "Deployment", "boxoffice-api"))
    assert "TRUSTED_PROXIES" not in env_of(default_api["containers"][0])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"api": {"trustedProxies": ["*"]}}, "at '/api/trustedProxies/0'"),
        ({"api": {"trustedProxies": ["ingress.local"]}}, "at '/api/trustedProxies/0'"),
        ({"settings": {"TRUSTED_PROXIES": "10.0.0.0/8"}}, "set api.trustedProxies (a list)"),
    ],
)
def test_proxies_other_than_addresses_or_set_elsewhere_are_refused(
    values: dict[str, Any], expected: str
) -> None:
    assert expected in refusal(values)
