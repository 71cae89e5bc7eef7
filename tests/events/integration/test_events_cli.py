"""`boxoffice events ...` on the real stack, as an organiser at a terminal: create a draft from a
file, open its sales, add a type and an add-on, raise a price, read the report, postpone, and
cancel with a dry run first. The commands refuse what the API refuses, with an exit code."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.commands import cli, json_output, own_output
from tests.conftest import Stack
from tests.purchases import wait_for_status


async def test_an_event_run_from_the_command_line(
    stack: Stack, cli_env: dict[str, str], tmp_path: Path
) -> None:
    spec = tmp_path / "event.json"
    spec.write_text(
        json.dumps(
            {
                "name": f"CLI night {uuid.uuid4().hex[:6]}",
                "venue": "Hall 3",
                "starts_at": (datetime.now(UTC) + timedelta(days=20)).isoformat(),
                "ticket_types": [
                    {"name": "General", "price": 2500, "currency": "EUR", "capacity": 40}
                ],
            }
        )
    )
    created = await cli(cli_env, "events", "create", str(spec), "--draft", "--json")
    assert created.exit_code == 0, created.output
    event = json_output(created)
    event_id, type_id = event["id"], event["ticket_types"][0]["id"]
    assert event["status"] == "draft"

    bad_end = await cli(cli_env, "events", "update", event_id, "--ends-at", "2020-01-01T00:00Z")
    assert bad_end.exit_code == 2
    assert "ends_at" in bad_end.output
    opened = await cli(cli_env, "events", "update", event_id, "--status", "on_sale")
    assert opened.exit_code == 0, opened.output
    assert "on_sale" in opened.output
    addon = await cli(
        cli_env,
        "events",
        "add-addon",
        event_id,
        "--name",
        "Drink voucher",
        "--price",
        "500",
        "--currency",
        "EUR",
        "--stock",
        "100",
        "--json",
    )
    assert addon.exit_code == 0, addon.output
    addon_id = json_output(addon)["addons"][0]["id"]
    raised = await cli(cli_env, "events", "update-type", event_id, type_id, "--price", "3000")
    assert raised.exit_code == 0, raised.output
    cut = await cli(cli_env, "events", "update-type", event_id, type_id, "--capacity", "-1")
    assert cut.exit_code == 2

    async with stack.http() as http:
        body = {
            "event_id": event_id,
            "items": [{"ticket_type_id": type_id, "quantity": 2}],
            "addons": [{"addon_id": addon_id, "quantity": 2}],
            "buyer": {"email": "cli-buyer@example.com", "name": "CLI Buyer"},
            "payment_method": "pm_card_visa",
        }
        order = (await http.post("/orders", json=body)).json()
        done = await wait_for_status(http, order["id"], "completed")
    assert done["total"]["amount"] == 2 * 3000 + 2 * 500

    report = await cli(cli_env, "events", "report", event_id, "--csv")
    assert report.exit_code == 0, report.output
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(own_output(report)))}
    assert (rows["General"]["sold"], rows["General"]["revenue"]) == ("2", "6000")
    assert (rows["Drink voucher"]["sold"], rows["Drink voucher"]["revenue"]) == ("2", "1000")
    table = await cli(cli_env, "events", "report", event_id)
    assert "60.00 EUR" in table.output and "Drink voucher" in table.output

    later = (datetime.now(UTC) + timedelta(days=50)).isoformat()
    moved = await cli(
        cli_env, "events", "postpone", event_id, "--starts-at", later, "--reason", "Tour moved"
    )
    assert moved.exit_code == 0, moved.output
    assert "postponed to" in moved.output

    preview = await cli(cli_env, "events", "cancel", event_id, "--reason", "x", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "would refund 1 orders: 70.00 EUR" in preview.output
    unconfirmed = await cli(cli_env, "events", "cancel", event_id, "--reason", "x")
    assert unconfirmed.exit_code == 2
    assert "--yes" in unconfirmed.output
    cancelled = await cli(
        cli_env, "events", "cancel", event_id, "--reason", "The tour is off.", "--yes"
    )
    assert cancelled.exit_code == 0, cancelled.output
    assert "done; 1 of 1 orders done, 0 failed, 0 left" in cancelled.output
    again = await cli(cli_env, "events", "cancel", event_id, "--reason", "again", "--yes")
    assert again.exit_code == 1
    assert "was cancelled by grace@support" in again.output
    progress = await cli(cli_env, "events", "cancellation", event_id, "--json")
    assert json_output(progress)["outcomes"] == {"refunded": 1}
    unknown = await cli(cli_env, "events", "show", str(uuid.uuid4()))
    assert unknown.exit_code == 3
