"""TwinServer: the twin on a real loopback socket, served by waitress in a thread."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime
from types import TracebackType
from typing import Any

from waitress.server import create_server

from .api_slas import seed_calendar
from .app import create_app
from .clock import TwinClock
from .context import TwinContext
from .delivery import Deliverer
from .objects import seed_builtin
from .observability import FaultInjector, RequestLog
from .restart import RestartSimulator
from .seed import API_USER_ID, add_agent, add_harness_admin, restrict_api_user, seed_base, seed_demo
from .state import TwinState


def serve_until_stopped(server: Any, stopping: threading.Event) -> None:
    """Run a waitress server on this thread until `stopping` is set, then tear it down here.

    waitress' own run() cannot be stopped from another thread without closing file
    descriptors under its select(); loop here and tear down on this same thread.
    """
    try:
        while not stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)
    finally:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=2)
        server.asyncore.close_all(server._map)


class TwinServer:
    """A Zammad-compatible HTTP server with in-memory state.

    `time_scale` multiplies webhook retry waits (0.001 turns 10 s into 10 ms) and the restart
    after migrations. `now` starts the twin clock at that instant (it then ticks at real speed;
    `frozen=True` stops it). Use `start()`/`stop()` or a `with` block; `url` is valid after start.

    `api_permissions=None` gives the token's user the Admin and Agent roles (everything); a list
    of Zammad permission names gives it exactly one role "zammad-sla" holding those (plus full
    access to every group when it holds ticket.agent). `tag_new` and `auto_shutdown` are
    Zammad's settings; with `auto_shutdown` the twin answers 502 for `restart_seconds` starting
    `shutdown_delay_seconds` after migrations ran (both times time_scale). `harness_token` adds a
    second token, of an admin user (`admin@example.com`) that tests and the demo act through.
    """

    def __init__(
        self,
        token: str = "secret",
        host: str = "127.0.0.1",
        port: int = 0,
        time_scale: float = 1.0,
        now: datetime | None = None,
        *,
        frozen: bool = False,
        seed_demo_data: bool = False,
        api_login: str = "zammad-sla@example.com",
        threads: int = 8,
        fault_seed: int | None = None,
        api_permissions: list[str] | None = None,
        tag_new: bool = True,
        auto_shutdown: bool = True,
        restart_seconds: float = 2.0,
        shutdown_delay_seconds: float = 0.5,
        harness_token: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.clock = TwinClock(now, frozen=frozen)
        self.state = TwinState(self.clock, api_login=api_login)
        with self.state.lock:
            seed_base(self.state, api_login)
            seed_builtin(self.state)
            seed_calendar(self.state)
            if seed_demo_data:
                seed_demo(self.state)
            if api_permissions is not None:
                restrict_api_user(self.state, api_permissions)
            self.state.settings.update(tag_new=tag_new, auto_shutdown=auto_shutdown)
            harness = add_harness_admin(self.state) if harness_token else None
        self.restart = RestartSimulator(auto_shutdown=auto_shutdown, restart_seconds=restart_seconds,
                                        shutdown_delay_seconds=shutdown_delay_seconds, time_scale=time_scale)
        self.state.restart = self.restart
        self.deliverer = Deliverer(self.state, time_scale)
        self.context = TwinContext(
            state=self.state, clock=self.clock, token=token, api_user_id=API_USER_ID,
            deliverer=self.deliverer, faults=FaultInjector(fault_seed), requests=RequestLog(),
            restart=self.restart, tokens={harness_token: int(harness["id"])} if harness_token and harness else {},
        )
        self.app = create_app(self.context)
        self._threads = threads
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def _serve(self, server: Any) -> None:
        serve_until_stopped(server, self._stopping)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        if self._server is None:
            raise RuntimeError("TwinServer is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def api_login(self) -> str:
        """Login of the token's user."""
        return self.state.api_login

    def start(self, timeout: float = 5.0) -> "TwinServer":
        """Bind (a free port when 0), serve in a background thread, wait until accepting."""
        if self._server is not None:
            return self
        self._server = create_server(self.app, host=self.host, port=self.port, threads=self._threads,
                                     ident="Zammad twin", clear_untrusted_proxy_headers=True)
        self.port = int(self._server.effective_port)
        self.deliverer.base_url = f"http://{self.host}:{self.port}"
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, args=(self._server,), name="zammad-twin", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"twin did not start listening on {self.host}:{self.port}")

    def stop(self) -> None:
        """Stop serving and cancel pending webhook retries."""
        self.deliverer.stop()
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._server = None

    @property
    def notifications(self) -> list[dict[str, Any]]:
        """The notification log (as GET /_twin/notifications)."""
        return self.context.notifications.entries()

    def add_agent(self, login: str, firstname: str = "", lastname: str = "", *, groups: dict[int, list[str]] | None = None,
                  permissions: list[str] | None = None, active: bool = True) -> dict[str, Any]:
        """Add an agent (Agent role, default notification matrix, full access to group 1 unless
        `groups` says otherwise); `permissions` gives it a role of its own with exactly those."""
        with self.state.lock:
            return add_agent(self.state, login, firstname, lastname, groups=groups, permissions=permissions, active=active)

    def token_for(self, user_id: int) -> str:
        """A new API token of user `user_id` (tests acting as several users, like the
        request specs' `authenticated_as`)."""
        token = f"token-{user_id}-{len(self.context.tokens) + 1}"
        self.context.tokens[token] = int(user_id)
        return token

    def wait_until_up(self, timeout: float = 10.0) -> bool:
        """Block until a pending restart after migrations has finished (test helper)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.restart.status()
            if not status["down"] and not status["restart_pending"]:
                return True
            time.sleep(0.002)
        return False

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        """Block until no webhook job is running or waiting (test helper)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.deliverer.pending() == 0:
                return True
            time.sleep(0.005)
        return False

    def __enter__(self) -> "TwinServer":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
