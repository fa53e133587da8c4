"""The command line starts at once: help imports no command, and a command only what it runs.

Checked by the modules a fresh interpreter holds after the help is printed, not by time
(benchmarks are where speed is measured; `python -X importtime` shows the cost).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from click.utils import make_default_short_help

from zammad_sla_plugin.cli import SUBCOMMANDS, command_target, main

REPO_ROOT = Path(__file__).resolve().parent.parent

# Runs the CLI's main in a fresh interpreter, then lists every module it imported.
MODULES_AFTER = """
import sys
from zammad_sla_plugin.cli import main
try:
    main(sys.argv[1:], prog_name="zammad-sla")
except SystemExit as exit:
    assert not exit.code, exit.code
print("--- modules ---")
print("\\n".join(sorted(sys.modules)))
"""

# What an admin typing `--help` or a script calling `compute` must not pay for.
HEAVY = ("flask", "jinja2", "huey", "waitress", "werkzeug", "requests", "pydantic", "holidays", "webhooks",
         "zammad_sla_plugin.twin", "zammad_sla_plugin.demo", "zammad_sla_plugin.admin", "zammad_sla_plugin.runtime")  # fmt: skip


def modules_after(*args: str) -> tuple[str, list[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", MODULES_AFTER, *args], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=60, check=True)  # fmt: skip
    output, _, modules = proc.stdout.partition("--- modules ---\n")
    return output, modules.split()


@pytest.mark.parametrize("args", [["--help"], ["compute", "--help"]], ids=" ".join)
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    output, modules = modules_after(*args)
    assert "Usage: zammad-sla" in output
    heavy = sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []


def test_top_level_help_imports_no_command_module() -> None:
    _, modules = modules_after("--help")
    targets = {command_target(name)[0] for name in SUBCOMMANDS}
    assert "zammad_sla_plugin.cli.compute" in targets and "zammad_sla_plugin.cli.report" in targets
    assert targets.isdisjoint(modules)


def eager_group() -> click.Group:
    """The same group with every command imported, as click lists them by default."""
    ctx = click.Context(main)
    commands = {name: main.get_command(ctx, name) for name in SUBCOMMANDS}
    return click.Group(name=main.name, commands=commands, help=main.help, params=main.params,  # type: ignore[arg-type]
                       context_settings=main.context_settings)


@pytest.mark.parametrize("width", [60, 80, 200])
def test_listing_without_imports_matches_clicks_own(width: int) -> None:
    # The summaries in SUBCOMMANDS stand in for the commands' own help: they must say the same.
    lazy = CliRunner().invoke(main, ["--help"], terminal_width=width)
    eager = CliRunner().invoke(eager_group(), ["--help"], terminal_width=width)
    assert lazy.exit_code == eager.exit_code == 0
    assert lazy.output == eager.output


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_each_summary_is_its_commands_first_sentence(name: str) -> None:
    command = main.get_command(click.Context(main), name)
    assert command is not None and command.help is not None
    summary = SUBCOMMANDS[name][1]
    assert make_default_short_help(command.help, 1000) == summary
    assert CliRunner().invoke(main, [name, "--help"]).exit_code == 0
