"""The `zammad-sla` command line: one entry point, one subcommand per job.

Start-up is paid by every admin typing a command, every cron job and every `compute`
call, so nothing is imported before it is needed:
- `zammad-sla --help` lists the commands from `SUBCOMMANDS` below, importing none of them;
- `zammad-sla <command> ...` imports that command's module only;
- a command module imports click and little else at its top: what the command runs
  (Flask, huey, the Zammad client, the policy loader) is imported inside its function,
  so `zammad-sla <command> --help` costs little more than Python and click.

Adding a command: write it in its own module (a `click.Command`, heavy imports inside the
function) and add one line to `SUBCOMMANDS`: its name, ".module:attribute", and its summary,
the first sentence of its docstring (tests/test_cli_startup.py holds the two equal).
"""

from __future__ import annotations

import importlib
import importlib.util

import click
from click.utils import make_default_short_help

# name -> ("module:attribute" of a click command, relative to this package; the first sentence of its help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "backfill": (".admin:backfill", "Evaluate every open ticket (and optionally recently closed ones) now."),
    "compute": (".compute:compute", "Evaluate tickets read from stdin (one JSON object, or JSON Lines)."),
    "demo": (".demo:demo", "Replay a scripted week of tickets through an embedded Zammad twin and the sidecar."),
    "doctor": (".admin:doctor", "Check the installation: one PASS/WARN/FAIL line per check, with the fix."),
    "explain": (".explain:explain", "Explain the SLA of ticket TICKET_ID (read from Zammad: ZAMMAD_URL, ZAMMAD_TOKEN)."),
    "import-zammad-slas": (".import_slas:import_zammad_slas", "Write Zammad's SLAs and calendars as contracts of a policy file to review."),
    "report": (".report:report", "SLA compliance of the tickets created or closed in [--from, --to)."),
    "serve": (".serve:serve", "Run the webhook receiver and the SLA worker in one process (the single-container default)."),
    "setup": (".admin:setup", "Provision Zammad for zammad-sla (idempotent: safe to run again)."),
    "twin": (".twin:twin", "Serve a Zammad-compatible API (in-memory) for tests, demos and benchmarks."),
    "uninstall": (".admin:uninstall", "Remove from Zammad what `setup` created."),
    "worker": (".serve:worker", "Run only the queue consumer (scaled-out deployments sharing a Redis queue)."),
}


def command_target(name: str) -> tuple[str, str]:
    """(absolute module name, attribute) of the command registered as `name`."""
    module_name, attribute = SUBCOMMANDS[name][0].split(":")
    return importlib.util.resolve_name(module_name, __name__), attribute


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use, and listed without it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        module_name, attribute = command_target(cmd_name)
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
