"""Admin commands: `zammad-sla setup`, `uninstall`, `doctor` and `backfill`.

All four read the same environment as the sidecar (ZAMMAD_URL, ZAMMAD_TOKEN[_FILE],
ZAMMAD_SLA_WEBHOOK_SECRET[_FILE], ZAMMAD_SLA_PUBLIC_URL, ZAMMAD_SLA_DATA_DIR,
ZAMMAD_SLA_REDIS_URL) and the policy from --config / ZAMMAD_SLA_CONFIG.
Exit status: 0 success, 1 something failed (the output says what), 2 bad configuration.
"""

from __future__ import annotations

import sys
from datetime import datetime, time, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from zammad_sla_plugin.cli.options import policy_option

if TYPE_CHECKING:  # what the commands use is imported when they run (cli/__init__.py)
    from zammad_sla_plugin.admin import provision
    from zammad_sla_plugin.core.policy import Policy
    from zammad_sla_plugin.runtime.settings import Settings
    from zammad_sla_plugin.zammad import ZammadClient


def _client(settings: Settings, **options: object) -> ZammadClient:
    from zammad_sla_plugin.zammad import ZammadClient

    assert settings.zammad_url and settings.zammad_token is not None  # required by settings_or_exit
    return ZammadClient(settings.zammad_url, settings.zammad_token.reveal(), **options)  # type: ignore[arg-type]


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"zammad-sla: {message}", err=True)
    sys.exit(code)


def _http_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # Same rule as ZAMMAD_SLA_PUBLIC_URL: Zammad's webhook can only call http(s).
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise click.BadParameter(f"{value!r} is not an http(s) URL with a host")
    return value


def _apply(plan: provision.Plan, settings: Settings, migration_timeout: float, restart_wait: float) -> tuple[list[provision.Change], bool]:
    """Apply a plan, waiting out the restart that migrations cause; (applied, manual restart needed)."""
    from zammad_sla_plugin.admin import provision

    probe = _client(settings, retries=0, timeout=(2, 5))
    client = _client(settings)
    try:
        # Poll often: a restart's down window can be short, and the first missed one would
        # look like "no restart" (progress lines are throttled separately).
        ctx = provision.ApplyContext(client, click.echo, migration_timeout=migration_timeout, alive=provision.answers(probe),
                                     poll_interval=0.25, restart_grace=restart_wait)  # fmt: skip
        return provision.apply_plan(plan, ctx), ctx.manual_restart_needed
    finally:
        client.close()
        probe.close()


MANUAL_RESTART = (
    "Zammad must be restarted by hand to use the new attributes (auto_shutdown is off): e.g. "
    "`systemctl restart zammad`, `docker compose restart`, or `kubectl rollout restart` of its deployments; "
    "then run `zammad-sla doctor`"
)


def _print_plan(plan: provision.Plan, *, show_ok: bool) -> None:
    for change in plan.changes:
        if change.action != "ok" or show_ok:
            click.echo(change.describe())


@click.command()
@policy_option
@click.option("--dry-run", is_flag=True, help="Print the plan only; change nothing in Zammad.")
@click.option(
    "--webhook-url", metavar="URL", default=None,
    help="Public base URL of the sidecar as Zammad reaches it (default: ZAMMAD_SLA_PUBLIC_URL); "
         "the webhook endpoint is <URL>/webhooks/zammad.", callback=_http_url,
)  # fmt: skip
@click.option("--migration-timeout", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds to wait for Zammad to come back after restarting for the migrations.")  # fmt: skip
@click.option("--restart-wait", type=click.FloatRange(min=0.5), default=30.0, show_default=True,
              help="Seconds to wait for Zammad to go down for its restart before concluding it waits for a manual one.")  # fmt: skip
def setup(policy: Policy, dry_run: bool, webhook_url: str | None, migration_timeout: float, restart_wait: float) -> None:
    """Provision Zammad for zammad-sla (idempotent: safe to run again).

    Creates what is missing and updates what drifted: the SLA object attributes (then runs
    the migrations), the blocker priority, the webhook, the trigger, the agent overviews
    "SLA at risk", "SLA breached", "SLA paused" and a core workflow showing the computed
    SLA fields read-only. Everything else in Zammad is left alone.
    """
    from zammad_sla_plugin.admin import provision
    from zammad_sla_plugin.runtime.settings import settings_or_exit
    from zammad_sla_plugin.zammad import ZammadError

    settings = settings_or_exit(require_zammad=True, require_webhook_secret=True)
    url = webhook_url or settings.public_url
    if not url:
        _fail("the sidecar's public URL is needed for the webhook: pass --webhook-url or set ZAMMAD_SLA_PUBLIC_URL", 2)
    assert url is not None and settings.webhook_secret is not None
    client = _client(settings)
    try:
        plan = provision.plan_setup(client, policy, webhook_url=url, secret=settings.webhook_secret.reveal())
    except (ZammadError, provision.ProvisionError) as error:
        _fail(f"setup failed: {error}")
    finally:
        client.close()
    if plan.language:
        click.echo(f"language: {plan.language}")
    if dry_run:
        _print_plan(plan, show_ok=True)
        click.echo(f"dry run: {len(plan.pending)} change(s) planned, nothing written")
        return
    try:
        applied, manual_restart = _apply(plan, settings, migration_timeout, restart_wait)
    except (ZammadError, provision.ProvisionError) as error:
        _fail(f"setup failed: {error}")
    unchanged = sum(1 for c in plan.changes if c.action == "ok")
    if applied:
        click.echo(f"setup: {len(applied)} change(s) applied, {unchanged} object(s) already up to date")
    else:
        click.echo(f"setup: nothing to do, all {unchanged} object(s) already up to date")
    if manual_restart:
        _fail(MANUAL_RESTART)
    if plan.conflicts:
        _fail(f"{len(plan.conflicts)} conflict(s) need a manual fix (see above)")


@click.command()
@policy_option
@click.option("--drop-attributes", is_flag=True, help="Also delete the SLA object attributes and their values.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation before dropping attributes.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@click.option("--migration-timeout", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds to wait for Zammad to come back after restarting for the attribute deletions.")  # fmt: skip
@click.option("--restart-wait", type=click.FloatRange(min=0.5), default=30.0, show_default=True,
              help="Seconds to wait for Zammad to go down for its restart before concluding it waits for a manual one.")  # fmt: skip
def uninstall(policy: Policy, drop_attributes: bool, yes: bool, dry_run: bool, migration_timeout: float, restart_wait: float) -> None:
    """Remove from Zammad what `setup` created.

    The trigger, webhook, overviews, core workflow and an unused priority it created; with
    --drop-attributes the SLA attributes too.
    """
    from zammad_sla_plugin.admin import provision
    from zammad_sla_plugin.runtime.settings import settings_or_exit
    from zammad_sla_plugin.zammad import ZammadError

    settings = settings_or_exit(require_zammad=True)
    client = _client(settings)
    try:
        plan = provision.plan_uninstall(client, policy, drop_attributes=drop_attributes)
    except (ZammadError, provision.ProvisionError) as error:
        _fail(f"uninstall failed: {error}")
    finally:
        client.close()
    if dry_run or not plan.pending:
        _print_plan(plan, show_ok=True)
        click.echo(f"dry run: {len(plan.pending)} removal(s) planned" if dry_run else "uninstall: nothing to remove")
        return
    if drop_attributes and not yes:
        _print_plan(plan, show_ok=True)
        click.confirm("Drop the SLA attributes and every value stored in them?", abort=True, err=True)
    try:
        applied, manual_restart = _apply(plan, settings, migration_timeout, restart_wait)
    except (ZammadError, provision.ProvisionError) as error:
        _fail(f"uninstall failed: {error}")
    if manual_restart:
        click.echo(MANUAL_RESTART.replace("to use the new attributes", "to drop the attributes' columns"))
    click.echo(f"uninstall: {len(applied)} change(s) applied")
    if not drop_attributes:
        click.echo("the SLA attributes were kept (remove them with --drop-attributes)")


@click.command()
@policy_option
@click.option("--webhook-url", metavar="URL", default=None, callback=_http_url,
              help="Public base URL of the sidecar (default: ZAMMAD_SLA_PUBLIC_URL).")  # fmt: skip
@click.option("--max-skew", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Largest clock difference to Zammad, in seconds.")  # fmt: skip
def doctor(policy: Policy, webhook_url: str | None, max_skew: float) -> None:
    """Check the installation: one PASS/WARN/FAIL line per check, with the fix.

    Exits 1 when any check fails.
    """
    from zammad_sla_plugin.admin.doctor import Doctor, render
    from zammad_sla_plugin.runtime.settings import settings_or_exit

    settings = settings_or_exit(require_zammad=True)
    # One quick retry: doctor reports a down Zammad rather than waiting it out.
    client = _client(settings, retries=1, backoff_factor=0.2, timeout=(5, 15))
    try:
        results = Doctor(client, policy, settings, webhook_url=webhook_url, max_skew_seconds=max_skew).run()
    finally:
        client.close()
    click.echo(render(results))
    if any(r.failed for r in results):
        sys.exit(1)


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or ISO time", param_hint="--closed-since") from None
    if len(value) == 10:  # a bare date means that day's start
        parsed = datetime.combine(parsed.date(), time(0))
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


@click.command()
@policy_option
@click.option("--closed-since", metavar="DATE",
              help="Also evaluate tickets closed since DATE (YYYY-MM-DD, UTC, or an ISO time with offset).")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1, 32), default=10, show_default=True,
              help="Tickets evaluated in parallel (each thread has its own Zammad connection).")  # fmt: skip
@click.option("--restart", is_flag=True, help="Ignore the progress of an interrupted run and start over.")
@click.option("--resume", is_flag=True,
              help="Continue the interrupted run recorded in the data dir (what a run does anyway); exits 2 when there is none.")  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress bar (e.g. in logs).")
def backfill(policy: Policy, closed_since: str | None, concurrency: int, restart: bool, resume: bool, no_progress: bool) -> None:
    """Evaluate every open ticket (and optionally recently closed ones) now.

    Uses the worker's evaluation path, so fields, tags and notes end up exactly as the
    running sidecar would write them. Resumable: an interrupted run continues where it
    stopped (progress in ZAMMAD_SLA_DATA_DIR). Exits 1 when any ticket failed.
    """
    from zammad_sla_plugin.admin.backfill import (
        PROGRESS_FILENAME, Backfill, ProgressFile, candidate_tickets, client_factory, evaluator_factory, selected,
    )  # fmt: skip
    from zammad_sla_plugin.runtime.settings import settings_or_exit
    from zammad_sla_plugin.runtime.sidecar import utc_now

    if restart and resume:
        raise click.UsageError("--restart and --resume exclude each other")
    since = _parse_since(closed_since)
    settings = settings_or_exit(require_zammad=True)
    assert settings.zammad_url and settings.zammad_token is not None
    progress = ProgressFile(settings.data_dir / PROGRESS_FILENAME)
    if resume and not progress.path.exists():
        _fail(f"backfill: no interrupted run to resume ({progress.path} does not exist)", 2)
    make_client = client_factory(settings.zammad_url, settings.zammad_token.reveal())
    with make_client() as lister:
        runner = Backfill(evaluator_factory(make_client, policy, utc_now), progress, concurrency=concurrency,
                          show_progress=not no_progress)  # fmt: skip
        # One pass: evaluations start with the first search page, each with its ticket's record.
        summary = runner.run(restart=restart, listing=lambda: selected(candidate_tickets(lister, policy, since), policy, since))
    for line in summary.lines():
        click.echo(line)
    if summary.interrupted:
        sys.exit(130)
    if summary.failed or summary.listing_failed:
        sys.exit(1)
