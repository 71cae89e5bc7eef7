"""The gate bundle and offline gates on the real stack: gates that scan with the bundle alone,
their uploads when they come back (first scan wins, the others are conflicts), the bundle's
ETag and refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from boxoffice.gate.offline import OfflineGate
from boxoffice.gate.results import GateBundle
from tests.conftest import Stack
from tests.purchases import create_event

from .steps import bought, upload, validate


async def test_offline_gates_verify_with_the_bundle_and_report_conflicts(stack: Stack) -> None:
    async with stack.http() as http:
        event, order = await bought(http, 2)
        twice, once = (t["code"] for t in order["tickets"])
        bundle = GateBundle.model_validate(
            (await http.get(f"/events/{event['id']}/gate-bundle")).json()
        )
        # Only the bundle from here on: both gates are offline.
        east, west = OfflineGate(bundle, "east"), OfflineGate(bundle, "west")
        start = datetime.now(UTC) - timedelta(minutes=10)
        assert east.scan(twice, start).result == "accepted"
        assert east.scan(twice, start + timedelta(seconds=5)).result == "already_used"
        assert west.scan(twice, start + timedelta(minutes=1)).result == "accepted"
        assert west.scan(once, start + timedelta(minutes=2)).result == "accepted"
        assert west.scan("garbage").result == "invalid"

        # West comes back online first: its scan of `twice` wins for now.
        west_upload = west.upload()
        assert west_upload is not None
        west_answer = await upload(http, event["id"], west_upload.model_dump(mode="json"))
        assert [r["result"] for r in west_answer["results"]] == ["accepted", "accepted"]
        # East's earlier scan arrives later and wins; west's scan of it becomes the conflict.
        east_upload = east.upload()
        assert east_upload is not None
        east_answer = await upload(http, event["id"], east_upload.model_dump(mode="json"))
        assert [r["result"] for r in east_answer["results"]] == ["accepted"]
        again = await upload(http, event["id"], west_upload.model_dump(mode="json"))
        assert [r["result"] for r in again["results"]] == ["conflict", "accepted"]
        assert again["results"][0]["checked_in_gate"] == "east"
        # A third gate's later scan is a conflict straight away, naming the first scan.
        north = OfflineGate(bundle, "north")
        assert north.scan(twice, start + timedelta(minutes=3)).result == "accepted"
        north_upload = north.upload()
        assert north_upload is not None
        late = await upload(http, event["id"], north_upload.model_dump(mode="json"))
        assert late["conflicts"] == 1 and late["accepted"] == 0
        assert late["results"][0]["checked_in_gate"] == "east"

        online = await validate(http, twice)
        assert online["result"] == "already_used"
        assert online["checked_in_gate"] == "east"
        assert online["checked_in_at"].startswith(start.strftime("%Y-%m-%dT%H:%M"))
        counts = (await http.get(f"/events/{event['id']}/checkins")).json()
        newer = GateBundle.model_validate(
            (await http.get(f"/events/{event['id']}/gate-bundle")).json()
        )
    assert counts["checked_in"] == 2 and counts["valid"] == 2 and counts["void"] == 0
    assert counts["conflicts"] == 2  # west's and north's scans of `twice`
    general_counts = next(t for t in counts["ticket_types"] if t["name"] == "General")
    assert general_counts == {
        "ticket_type_id": general_counts["ticket_type_id"],
        "name": "General",
        "valid": 2,
        "checked_in": 2,
    }
    assert next(t for t in counts["ticket_types"] if t["name"] == "VIP")["checked_in"] == 0
    assert newer.version == bundle.version + 2
    assert len(newer.checked_in_ticket_ids) == 2


async def test_bundle_etag_and_unknown_event(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http)
        first = await http.get(f"/events/{event['id']}/gate-bundle")
        assert first.status_code == 200
        etag = first.headers["ETag"]
        unchanged = await http.get(
            f"/events/{event['id']}/gate-bundle", headers={"If-None-Match": etag}
        )
        assert unchanged.status_code == 304
        for path in ("gate-bundle", "checkins"):
            missing = await http.get(f"/events/{uuid.uuid4()}/{path}")
            assert missing.status_code == 404
            assert "No event" in missing.json()["detail"]
        naive = datetime.now().replace(tzinfo=None).isoformat()
        refused = await http.post(
            f"/events/{event['id']}/scans",
            json={"gate": "g", "scans": [{"scan_id": "s1", "code": "x", "scanned_at": naive}]},
        )
        assert refused.status_code == 422
        assert "time zone" in refused.json()["detail"]
