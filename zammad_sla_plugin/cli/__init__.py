"""The `zammad-sla` command line: one entry point, one subcommand per job.

Start-up is paid by every admin typing a command, every cron job and every `compute`
call, so nothing is imported before it is needed:
- `zammad-sla --help` lists the commands from `SUBCOMMANDS` below, importing none of them;
- `zammad-sla <command> ...` imports that command's module only;
- a command module imports click and little else at its top: what the command runs
  (Flask, huey, the Zammad client, the policy loader) is imported inside its function,
  so `zammad-sla <command> --help` costs little more than Python and click.

Adding a command: write it in its own module (a `click.Command`, heavy imports inside the
function) and add one line to `SUBCOMMANDS`: its name, "module:attribute", and its summary,
the first sentence of its docstring (tests/test_cli_startup.py holds the two equal).
"""

from __future__ import annotations

import importlib

import click
from click.utils import make_default_short_help

# name -> ("module:attribute" of a click command, the first sentence of its help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "backfill": ("zammad_sla_plugin.cli.admin:backfill", "Evaluate every open ticket (and optionally recently closed ones) now."),
    "compute": ("zammad_sla_plugin.cli.compute:compute", "Evaluate tickets read from stdin (one JSON object, or JSON Lines)."),
    "demo": ("zammad_sla_plugin.cli.demo:demo", "Replay a scripted week of tickets through an embedded Zammad twin and the sidecar."),
    "doctor": ("zammad_sla_plugin.cli.admin:doctor", "Check the installation: one PASS/WARN/FAIL line per check, with the fix."),
    "explain": ("zammad_sla_plugin.cli.explain:explain", "Explain the SLA of ticket TICKET_ID (read from Zammad: ZAMMAD_URL, ZAMMAD_TOKEN)."),
    "report": ("zammad_sla_plugin.report.command:report", "SLA compliance of the tickets created or closed in [--from, --to)."),
    "serve": ("zammad_sla_plugin.cli.serve:serve", "Run the webhook receiver and the SLA worker in one process (the single-container default)."),
    "setup": ("zammad_sla_plugin.cli.admin:setup", "Provision Zammad for zammad-sla (idempotent: safe to run again)."),
    "twin": ("zammad_sla_plugin.cli.twin:twin", "Serve a Zammad-compatible API (in-memory) for tests, demos and benchmarks."),
    "uninstall": ("zammad_sla_plugin.cli.admin:uninstall", "Remove from Zammad what `setup` created."),
    "worker": ("zammad_sla_plugin.cli.serve:worker", "Run only the queue consumer (scaled-out deployments sharing a Redis queue)."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use, and listed without it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attribute = entry[0].split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own listing imports every command for its help text; the summaries in
        # SUBCOMMANDS give the same lines (shortened as click shortens them) without that.
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, make_default_short_help(SUBCOMMANDS[name][1], limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zammad-sla")
def main() -> None:
    """SLA engine sidecar for Zammad (the Aivo support SLA)."""


if __name__ == "__main__":  # pragma: no cover
    main()
