"""`zammad-sla serve` (receiver + worker in one process) and `zammad-sla worker` (consumer only)."""

from __future__ import annotations

import logging
import signal
import sys

import click

from zammad_sla_plugin.policy import Policy
from zammad_sla_plugin.policy_option import policy_option
from zammad_sla_plugin.queue import run_consumer_forever
from zammad_sla_plugin.settings import settings_or_exit
from zammad_sla_plugin.sidecar import Sidecar


def _configure_logging(level: str) -> None:
    numeric = getattr(logging, level.upper())
    logging.basicConfig(
        level=numeric, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip
    # huey logs every task it schedules at INFO: only worth seeing when debugging.
    logging.getLogger("huey").setLevel(numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING))


log_level_option = click.option(
    "--log-level", default="info", show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)  # fmt: skip


@click.command()
@policy_option
@log_level_option
def serve(policy: Policy, log_level: str) -> None:
    """Run the webhook receiver and the SLA worker in one process (the single-container default).

    Configured by environment: ZAMMAD_URL, ZAMMAD_TOKEN, ZAMMAD_SLA_WEBHOOK_SECRET,
    ZAMMAD_SLA_LISTEN, ZAMMAD_SLA_DATA_DIR, ZAMMAD_SLA_REDIS_URL (see README).
    """
    import waitress  # local: only `serve` needs the WSGI server

    _configure_logging(log_level)
    settings = settings_or_exit(require_webhook_secret=True)
    sidecar = Sidecar(settings, policy)
    consumer = sidecar.start_consumer()
    sidecar.schedule_periodic_jobs()
    click.echo(f"zammad-sla: listening on http://{settings.listen} (Zammad at {settings.zammad_url})", err=True)
    # `docker stop` / systemd send SIGTERM: leave the server loop so running evaluations
    # finish (consumer.stop is graceful) instead of dying mid-write.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        waitress.serve(sidecar.receiver(), host=settings.listen_host, port=settings.listen_port, threads=8, ident="zammad-sla")
    finally:
        consumer.stop()


@click.command()
@policy_option
@log_level_option
def worker(policy: Policy, log_level: str) -> None:
    """Run only the queue consumer (scaled-out deployments sharing a Redis queue)."""
    _configure_logging(log_level)
    settings = settings_or_exit()
    sidecar = Sidecar(settings, policy)
    sidecar.schedule_periodic_jobs()
    run_consumer_forever(sidecar.huey, settings.workers, max_poll_delay=0.1)
