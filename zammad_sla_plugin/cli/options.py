"""The `--config` option shared by every command that needs the SLA policy."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import click

from zammad_sla_plugin.core.policy import PolicyError, load_policy


def policy_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--config FILE` (env ZAMMAD_SLA_CONFIG) and pass the loaded policy as `policy`.

    An invalid policy prints every problem and exits 2; no traceback reaches the user.
    """

    @click.option(
        "--config",
        "config_path",
        envvar="ZAMMAD_SLA_CONFIG",
        type=click.Path(dir_okay=False),
        default=None,
        help="Policy TOML file (default: the built-in Aivo SLA). Env: ZAMMAD_SLA_CONFIG.",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, config_path: str | None, **kwargs: Any) -> Any:
        try:
            policy = load_policy(config_path)
        except PolicyError as error:
            click.echo(f"zammad-sla: {error}", err=True)
            sys.exit(2)
        for warning in policy.contract_book.warnings:
            click.echo(f"zammad-sla: warning: policy {config_path}: {warning}", err=True)
        return command(*args, policy=policy, **kwargs)

    return wrapper
