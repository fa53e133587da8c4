"""`zammad-sla explain TICKET_ID`: why a live ticket's deadlines are where they are."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any

import click

from zammad_sla_plugin.clock import SlaInputError
from zammad_sla_plugin.explain import explain as explain_ticket
from zammad_sla_plugin.explain import explain_text
from zammad_sla_plugin.policy import Policy
from zammad_sla_plugin.policy_option import policy_option
from zammad_sla_plugin.settings import settings_or_exit
from zammad_sla_plugin.zammad import ZammadClient, ZammadError


def fetch_explanation(client: ZammadClient, ticket_id: int, policy: Policy, now: datetime) -> dict[str, Any]:
    """Read the ticket, its history and organization from Zammad and explain its SLA."""
    ticket = client.get_ticket(ticket_id, expand=True)
    history = client.ticket_history(ticket_id)
    org_id = ticket.get("organization_id")
    organization = client.get_organization(int(org_id)) if org_id else None
    return explain_ticket(ticket, history, organization, now, policy)


@click.command()
@click.argument("ticket_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@policy_option
def explain(ticket_id: int, as_json: bool, policy: Policy) -> None:
    """Explain the SLA of ticket TICKET_ID (read from Zammad: ZAMMAD_URL, ZAMMAD_TOKEN)."""
    settings = settings_or_exit()
    assert settings.zammad_url is not None and settings.zammad_token is not None  # required above
    with ZammadClient(settings.zammad_url, settings.zammad_token.reveal()) as client:
        try:
            explanation = fetch_explanation(client, ticket_id, policy, datetime.now(timezone.utc))
        except ZammadError as error:
            click.echo(f"zammad-sla explain: {error}", err=True)
            sys.exit(1)
        except SlaInputError as error:
            click.echo(f"zammad-sla explain: ticket {ticket_id}: {error}", err=True)
            sys.exit(2)
    click.echo(json.dumps(explanation, indent=2) if as_json else explain_text(explanation))
