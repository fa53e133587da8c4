"""`zammad-sla report`: SLA compliance of a period, as HTML, CSV or JSON.

Only click and the report's limits are imported here, so `report --help` starts at once; the
pipeline (`report/command.py`: fetch, evaluate, aggregate, render) is imported by the command.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zammad_sla_plugin.cli.options import policy_option
from zammad_sla_plugin.report.limits import DEFAULT_CONCURRENCY, FORMATS, MAX_CONCURRENCY

if TYPE_CHECKING:
    from zammad_sla_plugin.core.policy import Policy


def _day(ctx: click.Context, param: click.Parameter, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def _write(text: str, output: str) -> None:
    if output == "-":
        click.echo(text, nl=False)
        return
    path = Path(output)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        click.echo(f"zammad-sla report: cannot write {output}: {error.strerror or error}", err=True)
        sys.exit(1)


@click.command()
@click.option("--from", "from_day", required=True, callback=_day, metavar="YYYY-MM-DD",
              help="First day of the period (local date in the calendar's time zone).")
@click.option("--to", "to_day", required=True, callback=_day, metavar="YYYY-MM-DD",
              help="Day after the period (excluded), e.g. --from 2026-10-01 --to 2026-11-01 for October.")
@click.option("--organization", default=None, metavar="NAME",
              help="Only tickets of this organization (exact name, any case).")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="html",
              show_default=True, help="html: one self-contained page with charts; csv: one row per group; "
              "json: the full document with every ticket.")
@click.option("--output", default="-", metavar="FILE", help="Write here instead of stdout.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bars on stderr while fetching.")
@click.option("--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), default=DEFAULT_CONCURRENCY,
              show_default=True, metavar="N",
              help=f"Ticket histories fetched in parallel (1-{MAX_CONCURRENCY}), each on its own connection.")
@click.option("--lang", default=None, metavar="LOCALE",
              help="Language of the HTML page (en, es, pt-BR; default: the policy's locale, else Zammad's locale_default).")
@policy_option
def report(policy: Policy, from_day: date, to_day: date, organization: str | None, output_format: str,
           output: str, progress: bool, concurrency: int, lang: str | None = None) -> None:
    """SLA compliance of the tickets created or closed in [--from, --to).

    Reads ZAMMAD_URL and ZAMMAD_TOKEN from the environment. Figures per severity,
    organization and month of creation; the report states its denominators.
    """
    from zammad_sla_plugin.report.command import RENDERERS, make_report
    from zammad_sla_plugin.report.outcome import ReportPeriod
    from zammad_sla_plugin.report.render_html import render_html
    from zammad_sla_plugin.runtime.settings import settings_or_exit
    from zammad_sla_plugin.zammad import ZammadClient, ZammadError

    try:
        period = ReportPeriod(from_day, to_day, policy.business_calendar.timezone)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--to") from None
    if organization is not None and not organization.strip():
        raise click.BadParameter("must not be empty", param_hint="--organization")
    settings = settings_or_exit()
    assert settings.zammad_url is not None and settings.zammad_token is not None  # required above
    now = datetime.now(timezone.utc)
    try:
        url, token = settings.zammad_url, settings.zammad_token.reveal()
        with ZammadClient(url, token) as client:
            document = make_report(client, policy, period, organization, now, progress=progress,
                                   concurrency=concurrency, make_source=lambda: ZammadClient(url, token))
            if output_format == "html" and lang is None:
                from zammad_sla_plugin.runtime.locale import effective_locale

                lang = effective_locale(policy, client).locale
    except ZammadError as error:
        click.echo(f"zammad-sla report: cannot read from Zammad: {error}", err=True)
        sys.exit(1)
    for problem in document["errors"]:
        click.echo(f"zammad-sla report: ticket {problem['ticket_id']} skipped: {problem['error']}", err=True)
    _write(render_html(document, lang, policy) if output_format == "html" else RENDERERS[output_format](document), output)
    if output != "-":
        click.echo(f"zammad-sla report: {document['totals']['tickets']} tickets -> {output}", err=True)
