"""`zammad-sla explain TICKET_ID`: why a live ticket's deadlines are where they are."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import click

from zammad_sla_plugin.cli.options import policy_option

if TYPE_CHECKING:  # what the command uses is imported when it runs (cli/__init__.py)
    from zammad_sla_plugin.core.policy import Policy


@click.command()
@click.argument("ticket_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@click.option("--lang", default=None, metavar="LOCALE",
              help="Language of the text (en, es, pt-BR; default: the policy's locale, else Zammad's locale_default).")
@policy_option
def explain(ticket_id: int, as_json: bool, policy: Policy, lang: str | None = None) -> None:
    """Explain the SLA of ticket TICKET_ID (read from Zammad: ZAMMAD_URL, ZAMMAD_TOKEN)."""
    from zammad_sla_plugin.core.clock import SlaInputError
    from zammad_sla_plugin.core.explain import explain_text
    from zammad_sla_plugin.runtime.locale import effective_locale
    from zammad_sla_plugin.runtime.settings import settings_or_exit
    from zammad_sla_plugin.runtime.worker import fetch_explanation
    from zammad_sla_plugin.zammad import ZammadClient, ZammadError

    settings = settings_or_exit()
    assert settings.zammad_url is not None and settings.zammad_token is not None  # required above
    with ZammadClient(settings.zammad_url, settings.zammad_token.reveal()) as client:
        try:
            explanation = fetch_explanation(client, ticket_id, policy, datetime.now(timezone.utc))
            lang = lang or (None if as_json else effective_locale(policy, client).locale)
        except ZammadError as error:
            click.echo(f"zammad-sla explain: {error}", err=True)
            sys.exit(1)
        except SlaInputError as error:
            click.echo(f"zammad-sla explain: ticket {ticket_id}: {error}", err=True)
            sys.exit(2)
    click.echo(json.dumps(explanation, indent=2) if as_json else explain_text(explanation, lang, policy))
