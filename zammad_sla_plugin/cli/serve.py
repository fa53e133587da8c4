"""`zammad-sla serve` (receiver + worker in one process) and `zammad-sla worker` (consumer only).

Every startup problem (bad settings, a data dir that is a file, Redis down, the listen
port taken) is one line on stderr and exit status 2, before "listening" is printed.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable, NoReturn, TypeVar

import click

from zammad_sla_plugin.cli.options import policy_option

if TYPE_CHECKING:  # the runtime is imported when a command runs (cli/__init__.py)
    from zammad_sla_plugin.core.policy import Policy
    from zammad_sla_plugin.runtime.settings import Settings
    from zammad_sla_plugin.runtime.sidecar import Sidecar

T = TypeVar("T")
log = logging.getLogger("zammad_sla_plugin.serve")


def _configure_logging(level: str) -> None:
    from webhooks.server import RateLimitedLog

    numeric = getattr(logging, level.upper())
    logging.basicConfig(
        level=numeric, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip
    quiet = numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
    # huey logs every task it schedules at INFO; urllib3 one WARNING per retried request
    # (thousands during a Zammad outage): only worth seeing when debugging.
    logging.getLogger("huey").setLevel(quiet)
    logging.getLogger("urllib3").setLevel(numeric if numeric <= logging.DEBUG else logging.ERROR)
    logging.getLogger("waitress.queue").addFilter(RateLimitedLog(60.0))


log_level_option = click.option(
    "--log-level", default="info", show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)  # fmt: skip


def _fail(what: str, error: BaseException) -> NoReturn:
    from zammad_sla_plugin.runtime.queue import one_line

    click.echo(f"zammad-sla: {what}: {one_line(error)}", err=True)
    sys.exit(2)


def _or_exit(what: str, step: Callable[[], T]) -> T:
    """Run a startup step; any error becomes one line on stderr and exit status 2."""
    try:
        return step()
    except Exception as error:  # startup: whatever failed, the operator gets one line
        _fail(what, error)


def _start_sidecar(policy: Policy, settings: Settings) -> Sidecar:
    from zammad_sla_plugin.runtime.settings import secret_warnings
    from zammad_sla_plugin.runtime.sidecar import Sidecar

    for warning in secret_warnings(settings):
        log.warning("%s", warning)
    sidecar = _or_exit("cannot open the queue", lambda: Sidecar(settings, policy))
    problem = sidecar.queue_problem()
    if problem:
        click.echo(f"zammad-sla: {problem}", err=True)
        sys.exit(2)
    return sidecar


@click.command()
@policy_option
@log_level_option
def serve(policy: Policy, log_level: str) -> None:
    """Run the webhook receiver and the SLA worker in one process (the single-container default).

    Configured by environment: ZAMMAD_URL, ZAMMAD_TOKEN, ZAMMAD_SLA_WEBHOOK_SECRET,
    ZAMMAD_SLA_LISTEN, ZAMMAD_SLA_DATA_DIR, ZAMMAD_SLA_REDIS_URL (see README).
    """
    from webhooks.server import create_receiver_server, freeze_startup_heap  # local: only `serve` serves HTTP
    from zammad_sla_plugin.runtime.settings import settings_or_exit

    _configure_logging(log_level)
    settings = settings_or_exit(require_webhook_secret=True)
    sidecar = _start_sidecar(policy, settings)
    # Before answering anything: what a killed predecessor acknowledged goes into the queue.
    _or_exit("cannot queue the webhook journal", sidecar.open_journal)
    server: Any = _or_exit(
        f"cannot listen on {settings.listen}",
        lambda: create_receiver_server(sidecar.receiver(), settings.listen_host, settings.listen_port),
    )
    consumer = sidecar.start_consumer()
    sidecar.schedule_periodic_jobs()
    click.echo(f"zammad-sla: listening on http://{settings.listen} (Zammad at {settings.zammad_url})", err=True)
    # `docker stop` / systemd send SIGTERM: leave the server loop so running evaluations
    # finish (consumer.stop is graceful) instead of dying mid-write.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    freeze_startup_heap()
    try:
        server.run()
    finally:
        server.close()
        sidecar.close_journal()  # every acknowledged delivery into the queue before the consumer stops
        consumer.stop()


@click.command()
@policy_option
@log_level_option
def worker(policy: Policy, log_level: str) -> None:
    """Run only the queue consumer (scaled-out deployments sharing a Redis queue)."""
    from zammad_sla_plugin.runtime.queue import run_consumer_forever
    from zammad_sla_plugin.runtime.settings import settings_or_exit

    _configure_logging(log_level)
    settings = settings_or_exit()
    sidecar = _start_sidecar(policy, settings)
    sidecar.queue.recover_orphans()
    sidecar.schedule_periodic_jobs()
    run_consumer_forever(sidecar.huey, settings.workers, max_poll_delay=0.1)
