"""`zammad-sla import-zammad-slas`: Zammad's SLAs and calendars as a policy file to review.

Reads `GET /api/v1/slas` and `/api/v1/calendars` (the token needs admin.sla and
admin.calendar; admin.group and ticket priorities only when a condition names them), and writes
the current policy (`--config`, or the built-in default) with one `[[contracts]]` table per
Zammad SLA appended. Never overwrites a file without `--force`. Exit status: 0 written,
1 Zammad could not be read, 2 bad configuration or an existing output file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click


def _fail(message: str, code: int) -> None:
    click.echo(f"zammad-sla: {message}", err=True)
    sys.exit(code)


def _write(output: str, text: str, force: bool) -> None:
    try:
        _write_file(Path(output), text, force)
    except FileExistsError:
        _fail(f"{output} exists; pass --force to overwrite it (nothing was written)", 2)
    except OSError as error:
        _fail(f"cannot write {output}: {error.strerror or error}", 1)


def _write_file(path: Path, text: str, force: bool) -> None:
    if not force:
        with path.open("x", encoding="utf-8") as stream:  # exclusive: never clobbers a file
            stream.write(text)
        return
    # Overwrite through a temporary file and a rename: a failed run leaves the old file whole.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _uses(slas: list[dict[str, Any]], name: str) -> bool:
    return any(name in str(sla.get("condition") or "") for sla in slas)


@click.command("import-zammad-slas")
@click.option("--config", "config_path", envvar="ZAMMAD_SLA_CONFIG", type=click.Path(dir_okay=False), default=None,
              help="Policy TOML the contracts are appended to (default: the built-in Aivo SLA). Env: ZAMMAD_SLA_CONFIG.")
@click.option("--output", "-o", required=True, help="File to write, or - for standard output.")
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
def import_zammad_slas(config_path: str | None, output: str, force: bool) -> None:
    """Write Zammad's SLAs and calendars as contracts of a policy file to review."""
    import tomllib

    from zammad_sla_plugin.admin.zammad_slas import Lookups, PolicyTerms, render, translate
    from zammad_sla_plugin.core.policy import PolicyError, default_policy_text, load_policy
    from zammad_sla_plugin.runtime.settings import settings_or_exit
    from zammad_sla_plugin.zammad import ZammadClient, ZammadError

    if output != "-" and Path(output).exists() and not force:
        _fail(f"{output} exists; pass --force to overwrite it (nothing was written)", 2)
    try:
        policy = load_policy(config_path)
    except PolicyError as error:
        _fail(str(error), 2)
    base_text = default_policy_text() if config_path is None else Path(config_path).read_text(encoding="utf-8")
    document = tomllib.loads(base_text)
    existing = {str(c.get("name", "")) for c in document.get("contracts", []) if isinstance(c, dict)}
    terms = PolicyTerms(
        priorities=dict(policy.priorities),
        targets={name: (t.first_response_minutes, t.resolution_minutes) for name, t in policy.severities.items()},
        kind_attribute=policy.attributes.kind,
        default_contract=str(document.get("default_contract", "default")),
        taken_names=frozenset(existing),
    )
    settings = settings_or_exit()
    assert settings.zammad_url and settings.zammad_token is not None  # required by settings_or_exit
    client = ZammadClient(settings.zammad_url, settings.zammad_token.reveal())
    try:
        slas = client.slas()
        calendars = client.calendars()
        priorities = {int(p["id"]): str(p["name"]) for p in client.ticket_priorities()} if _uses(slas, "ticket.priority_id") else {}
        groups = {int(g["id"]): str(g["name"]) for g in client.groups()} if _uses(slas, "ticket.group_id") else {}
    except ZammadError as error:
        _fail(f"cannot read Zammad's SLAs and calendars: {error}", 1)
    finally:
        client.close()
    result = translate(slas, calendars, terms, Lookups(priorities=priorities, groups=groups))
    text = render(base_text, result, client.base_url)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    problems, loader_warnings = _load_check(text)
    for warning in loader_warnings:
        click.echo(f"warning: the written policy: {warning}", err=True)
    for problem in problems:
        click.echo(f"error: the written policy does not load: {problem}", err=True)
    if output == "-":
        click.echo(text, nl=False)
    else:
        _write(output, text, force)
    active = sum(1 for c in result.contracts if c.enabled)
    click.echo(f"{len(slas)} Zammad SLA(s) -> {active} contract(s) written to {'standard output' if output == '-' else output}"
               f"{f', {len(result.contracts) - active} commented out' if active < len(result.contracts) else ''}; "
               f"{len(result.warnings)} warning(s): review the file before using it", err=True)
    if problems:
        sys.exit(1)


def _load_check(text: str) -> tuple[list[str], list[str]]:
    """(load errors, load warnings) of the written text, as `--config` would report them."""
    import tomllib

    from zammad_sla_plugin.core.policy import PolicyError, policy_from_dict

    try:
        policy = policy_from_dict(tomllib.loads(text), "(imported policy)")
    except PolicyError as error:
        return list(error.problems), []
    return [], list(policy.contract_book.warnings)
