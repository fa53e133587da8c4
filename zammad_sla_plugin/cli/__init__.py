"""The `zammad-sla` command line: one entry point, one subcommand per job.

Subcommands live in their own modules and are imported only when invoked, so a
slow or heavy import (Flask, huey, pandas) never taxes an unrelated command.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command
SUBCOMMANDS: dict[str, str] = {
    "compute": "zammad_sla_plugin.cli.compute:compute",
    "twin": "zammad_sla_plugin.twin.command:twin",
    "serve": "zammad_sla_plugin.cli.serve:serve",
    "worker": "zammad_sla_plugin.cli.serve:worker",
    "demo": "zammad_sla_plugin.cli.demo:demo",
    "setup": "zammad_sla_plugin.cli.admin:setup",
    "uninstall": "zammad_sla_plugin.cli.admin:uninstall",
    "doctor": "zammad_sla_plugin.cli.admin:doctor",
    "backfill": "zammad_sla_plugin.cli.admin:backfill",
    "report": "zammad_sla_plugin.report.command:report",
    "explain": "zammad_sla_plugin.cli.explain:explain",
    "import-zammad-slas": "zammad_sla_plugin.cli.import_slas:import_zammad_slas",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zammad-sla")
def main() -> None:
    """SLA engine sidecar for Zammad (the Aivo support SLA)."""


if __name__ == "__main__":  # pragma: no cover
    main()
