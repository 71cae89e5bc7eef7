"""What `make dev` prints once everything answers: where each part is, a curl line that buys
the demo ticket, and a token per role."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from boxoffice.auth.tokens import mint_token
from boxoffice.core.settings import Settings
from boxoffice.devstack.demo import DemoEvent

if TYPE_CHECKING:
    from boxoffice.devstack.run import DevPorts


def banner(
    ports: DevPorts, settings: Settings, demo: DemoEvent, mail_dir: Path | None, data_dir: Path
) -> str:
    api = f"http://localhost:{ports.api}"
    tokens = {
        role: mint_token(settings, f"dev-{role}", [role] if role != "buyer" else [], 24 * 3600)
        for role in ("admin", "support", "gate", "buyer")
    }
    general = demo.ticket_type_ids.get("General admission") or next(
        iter(demo.ticket_type_ids.values())
    )
    body = (
        f'{{"event_id": "{demo.event_id}", '
        f'"items": [{{"ticket_type_id": "{general}", "quantity": 1}}], '
        '"buyer": {"email": "you@example.com", "name": "Your Name"}, '
        '"payment_method": "pm_card_visa"}'
    )
    lines = [
        "",
        "Boxoffice is running. Ctrl-C stops everything.",
        "",
        f"  Storefront   {api}/shop   (test cards: 4242424242424242 pays, 4000000000000341 is",
        "               declined, 4000000000003220 asks for 3-D Secure; any expiry, any CVC)",
        f"  API docs     {api}/docs",
        f"  Temporal UI  {settings.temporal_ui_url}",
        f"  Mail folder  {mail_dir}" if mail_dir else f"  Mail         {settings.smtp_url}",
        f"  Service logs {data_dir / 'logs'}",
        "",
        "Buy one General admission ticket:",
        f"  curl -s -X POST {api}/orders -H 'Content-Type: application/json' -d '{body}'",
        "",
        "Then look at the order and download its tickets (ORDER_ID and TOKEN are `id` and",
        "`access_token` in the answer: a guest's proof that the order is theirs):",
        f"  curl -s -H 'X-Order-Token: TOKEN' {api}/orders/ORDER_ID",
        f"  curl -s -o tickets.pdf '{api}/orders/ORDER_ID/tickets.pdf?token=TOKEN'",
        "",
        "Scan it at the door (a second scan is refused):",
        f"  .venv/bin/boxoffice gate --api {api} --token {tokens['gate']} --image tickets.pdf",
        "",
        "Run an event as its organiser (edit, add-ons, postpone, cancel; README: Organisers):",
        "  .venv/bin/boxoffice events --help",
        "",
        "Dev bearer tokens, valid 24 h (`.venv/bin/boxoffice token --role ROLE` mints more):",
        *(f"  {role:<8} {value}" for role, value in tokens.items()),
        "",
    ]
    return "\n".join(lines)
