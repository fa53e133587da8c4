"""`zammad-sla twin`: run the Zammad twin in the foreground until Ctrl-C."""

from __future__ import annotations

import signal
import threading

import click


@click.command("twin")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=3000, show_default=True, type=int, help="Port (0 = any free port).")
@click.option("--token", required=True, envvar="ZAMMAD_TWIN_TOKEN", help="API token the twin accepts.")
@click.option("--time-scale", default=1.0, show_default=True, type=float, help="Multiplier for webhook retry waits.")
@click.option("--seed-demo/--no-seed", default=False, show_default=True, help="Add a few demo tickets.")
@click.option("--api-permissions", default=None, help="Comma-separated Zammad permissions of the token's user "
              "(default: Admin+Agent, i.e. everything).")
@click.option("--tag-new/--no-tag-new", default=True, show_default=True, help="Zammad setting tag_new (free tags).")
@click.option("--auto-shutdown/--no-auto-shutdown", default=True, show_default=True,
              help="Zammad setting auto_shutdown: restart by itself after migrations.")
@click.option("--restart-seconds", default=2.0, show_default=True, type=float,
              help="How long a restart after migrations answers 502 (times --time-scale).")
def twin(host: str, port: int, token: str, time_scale: float, seed_demo: bool, api_permissions: str | None,
         tag_new: bool, auto_shutdown: bool, restart_seconds: float) -> None:
    """Serve a Zammad-compatible API (in-memory) for tests, demos and benchmarks."""
    from zammad_sla_plugin.twin.server import TwinServer  # lazily: `zammad-sla twin --help` imports no twin

    permissions = None if api_permissions is None else [p.strip() for p in api_permissions.split(",") if p.strip()]
    try:
        server = TwinServer(token=token, host=host, port=port, time_scale=time_scale, seed_demo_data=seed_demo,
                            api_permissions=permissions, tag_new=tag_new, auto_shutdown=auto_shutdown,
                            restart_seconds=restart_seconds)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--api-permissions") from None
    server.start()
    click.echo(f"Zammad twin listening on {server.url}")
    click.echo(f"API user: {server.api_login} (Authorization: Token token=<your token>)")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo("twin stopped")
