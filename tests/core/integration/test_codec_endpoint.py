"""The codec endpoint the Temporal UI and CLI decode payloads through, on the real stack:
encode and decode round trip, JSON errors that name no key, CORS for the UI's origin alone,
and anonymous decoding for the dev UI only (what the workflow stored, decoded:
`test_payload_encryption.py`)."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from boxoffice.core.temporal.encryption.codec import ENCODING, KEY_ID_METADATA
from tests.conftest import ApiServer, Stack, stack_settings

UI_ORIGIN = "http://localhost:8233"


async def test_codec_endpoint_decodes_what_it_encoded(stack: Stack) -> None:
    plain = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": ""}
    plain["data"] = base64.b64encode(b'{"email": "ui@example.com"}').decode()
    async with stack.http() as http:
        encoded = await http.post("/codec/encode", json={"payloads": [plain]})
        assert encoded.status_code == 200, encoded.text
        [sealed] = encoded.json()["payloads"]
        decoded = await http.post("/codec/decode", json=encoded.json())

    assert base64.b64decode(sealed["metadata"]["encoding"]) == ENCODING
    assert KEY_ID_METADATA in sealed["metadata"]
    assert b"ui@example.com" not in base64.b64decode(sealed["data"])
    assert decoded.status_code == 200, decoded.text
    assert decoded.json() == {"payloads": [plain]}


async def test_codec_endpoint_refuses_bad_input_with_json_errors(stack: Stack) -> None:
    async with stack.http() as http:
        encoded = await http.post(
            "/codec/encode", json={"payloads": [{"metadata": {}, "data": "e30="}]}
        )
        [sealed] = encoded.json()["payloads"]
        real_key_id = base64.b64decode(sealed["metadata"][KEY_ID_METADATA]).decode()
        tampered = dict(sealed, data=base64.b64encode(b"\x00" * 40).decode())
        unknown_key = dict(
            sealed,
            metadata=sealed["metadata"]
            | {KEY_ID_METADATA: base64.b64encode(b"no-such-key").decode()},
        )
        cases: list[tuple[dict[str, Any] | str, dict[str, str], int, str]] = [
            # Neither answer names a key: which keys exist is for the API's log.
            ({"payloads": [tampered]}, {}, 400, "could not be decrypted"),
            ({"payloads": [unknown_key]}, {}, 400, "could not be decrypted"),
            ({"payloads": [{"data": "not base64!"}]}, {}, 422, "payloads.0.data"),
            ({"payloads": [sealed]}, {"X-Namespace": "elsewhere"}, 404, "serves namespace"),
            ({"payloads": "nope"}, {}, 422, "payloads"),
            ({"payloads": [{"data": "", "status": "x"}]}, {}, 422, "status"),
            ("{not json", {"Content-Type": "application/json"}, 422, ""),
        ]
        for body, headers, status, detail in cases:
            if isinstance(body, str):
                response = await http.post("/codec/decode", content=body, headers=headers)
            else:
                response = await http.post("/codec/decode", json=body, headers=headers)
            assert response.status_code == status, (body, response.text)
            assert detail in response.json()["detail"], (body, response.text)
            assert "no-such-key" not in response.text and real_key_id not in response.text


async def test_codec_cors_lets_the_temporal_ui_in_and_no_one_else(stack: Stack) -> None:
    assert stack.settings.codec_origins == [UI_ORIGIN]
    preflight_headers = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with stack.http() as http:
        allowed = await http.options(
            "/codec/decode", headers=preflight_headers | {"Origin": UI_ORIGIN}
        )
        foreign = await http.options(
            "/codec/decode", headers=preflight_headers | {"Origin": "https://evil.example"}
        )
        posted = await http.post(
            "/codec/decode", json={"payloads": []}, headers={"Origin": UI_ORIGIN}
        )
        refused = await http.post(
            "/codec/decode",
            json={"payloads": []},
            headers={"Origin": UI_ORIGIN, "X-Namespace": "elsewhere"},
        )
        elsewhere = await http.get("/events", headers={"Origin": UI_ORIGIN})

    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == UI_ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "x-namespace" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in foreign.headers
    assert posted.status_code == 200
    assert posted.headers["access-control-allow-origin"] == UI_ORIGIN
    # The UI reads the reason of a refusal too.
    assert refused.status_code == 404
    assert refused.headers["access-control-allow-origin"] == UI_ORIGIN
    # CORS is the codec routes' alone.
    assert "access-control-allow-origin" not in elsewhere.headers


async def test_anonymous_decoding_is_the_dev_uis_only(stack: Stack) -> None:
    """CODEC_ALLOW_ANONYMOUS (`make dev`) opens decoding to the dev Temporal UI only: from its
    origin, over loopback; encoding and any other caller still need a support token."""
    settings = stack_settings(stack.services, codec_allow_anonymous=True)
    async with stack.http() as http:
        sealed = (
            await http.post("/codec/encode", json={"payloads": [{"metadata": {}, "data": "e30="}]})
        ).json()
    with ApiServer(settings) as api:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=30) as anyone:
            ui = await anyone.post("/codec/decode", json=sealed, headers={"Origin": UI_ORIGIN})
            no_origin = await anyone.post("/codec/decode", json=sealed)
            elsewhere = await anyone.post(
                "/codec/decode", json=sealed, headers={"Origin": "http://evil.example"}
            )
            encode = await anyone.post(
                "/codec/encode",
                json={"payloads": [{"metadata": {}, "data": "e30="}]},
                headers={"Origin": UI_ORIGIN},
            )
    assert ui.status_code == 200, ui.text
    assert [no_origin.status_code, elsewhere.status_code, encode.status_code] == [401] * 3
