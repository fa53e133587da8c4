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
@policy_option
def demo(policy: Policy) -> None:
    """Replay a scripted week of tickets through an embedded Zammad twin and the sidecar."""
    from zammad_sla_plugin.demo.week import LOCAL, DemoRun, render_table

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zammad-sla-demo-") as data_dir:
        run = DemoRun(policy, lambda line: click.echo(f"  {line}"), data_dir)
        try:
            run.start()
            click.echo(f"Twin at {run.stack.twin.url}; sidecar at {run.stack.webhook_url}; "
                       f"times are {LOCAL.key} local time.\n")  # fmt: skip
            click.echo(run.installation() + "\n")
            run.run()
            rows = run.table()
            notified = run.notifications()
            emails = run.emails()
        finally:
            run.stack.stop()
    click.echo("\nSLA fields and tags in Zammad at the end of the week (Thu 26 March 18:00):\n")
    click.echo(render_table(rows))
    click.echo("\nWho Zammad notified of the sidecar's writes (quiet mode):")
    for line in notified:
        click.echo(f"  {line}")
    click.echo("\nE-mails the sidecar had Zammad send (feature proposal approved):")
    for line in emails or ["none"]:
        click.echo(f"  {line}")
    click.echo(f"\nDone in {time.monotonic() - started:.1f} s.")
    sys.exit(0)
