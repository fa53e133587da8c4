"""`zammad-sla demo`: the scripted week (zammad_sla_plugin/demo/week.py) printed for people."""

from __future__ import annotations

import sys
import tempfile
import time
from typing import TYPE_CHECKING

import click

from zammad_sla_plugin.cli.options import policy_option

if TYPE_CHECKING:  # the demo is imported when it runs (cli/__init__.py)
    from zammad_sla_plugin.core.policy import Policy


@click.command()
@click.option("--lang", default=None, metavar="LOCALE",
              help="Zammad's locale_default in the twin (e.g. es-ar, pt-br): the sidecar writes in it, the demo speaks it.")
@policy_option
def demo(policy: Policy, lang: str | None = None) -> None:
    """Replay a scripted week of tickets through an embedded Zammad twin and the sidecar."""
    from zammad_sla_plugin.demo.week import LOCAL, DemoRun, render_table

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zammad-sla-demo-") as data_dir:
        run = DemoRun(policy, lambda line: click.echo(f"  {line}"), data_dir, lang)
        tr = run.tr
        try:
            run.start()
            click.echo(tr._("Twin at %(twin)s; sidecar at %(sidecar)s; times are %(zone)s local time.", twin=run.stack.twin.url,
                            sidecar=run.stack.webhook_url, zone=LOCAL.key) + "\n")  # fmt: skip
            click.echo(run.installation() + "\n")
            run.run()
            rows = run.table()
            notified = run.notifications()
            emails = run.emails()
        finally:
            run.stack.stop()
    click.echo("\n" + tr._("SLA fields and tags in Zammad at the end of the week (Thu 26 March 18:00):") + "\n")
    click.echo(render_table(rows, lang))
    click.echo("\n" + tr._("Who Zammad notified of the sidecar's writes (quiet mode):"))
    for line in notified:
        click.echo(f"  {line}")
    click.echo("\n" + tr._("E-mails the sidecar had Zammad send (feature proposal approved):"))
    for line in emails or [tr._("none")]:
        click.echo(f"  {line}")
    seconds = round(time.monotonic() - started, 1)
    click.echo("\n" + tr._("Done in %(seconds).1f s.", seconds=seconds))
    sys.exit(0)
