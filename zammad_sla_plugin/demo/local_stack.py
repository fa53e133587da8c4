"""A whole installation on loopback in one process: the Zammad twin, provisioned like
`zammad-sla setup`, and the sidecar (waitress receiver, huey queue, consumer threads).

Used by `zammad-sla demo`, the end-to-end tests and the pipeline benchmark. Everything
talks over real HTTP; only the clock may be the twin's (virtual) one.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.runtime.queue import ConsumerHandle
from zammad_sla_plugin.runtime.settings import Settings, load_settings
from zammad_sla_plugin.runtime.sidecar import Sidecar, utc_now
from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.twin.server import serve_until_stopped
from zammad_sla_plugin.zammad import ZammadClient

AGENT = "emma.taylor@example.com"  # seeded agents of the twin
AGENT_ID = 4
# The admin's own mandatory ticket field: like many real installs, agents must fill it in,
# and it is empty on every new ticket (our writes must go through anyway).
ADMIN_MANDATORY_FIELD = "customer_reference"
CUSTOMER = "emily@example.com"  # seeded customer, member of organization 2
CUSTOMER_ORG_ID = 2


class AgentClient(ZammadClient):
    """A client acting as an agent in Zammad's UI: the form makes them fill in the admin's
    mandatory field before any update is saved."""

    def update_ticket(self, ticket_id: int, fields: Any) -> dict[str, Any]:
        """Update like the agent's ticket form: the mandatory field is filled in."""
        return super().update_ticket(ticket_id, {ADMIN_MANDATORY_FIELD: f"REF-{int(ticket_id)}", **dict(fields)})


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalStack:
    """Twin + provisioning + sidecar, started and stopped together."""

    def __init__(
        self,
        policy: Policy,
        data_dir: str | Path,
        *,
        virtual_now: datetime | None = None,
        redis_url: str | None = None,
        coalesce_seconds: float = 0.05,
        workers: int = 2,
        time_scale: float = 0.001,
        schedule_checks: bool = True,
        queue_options: dict[str, Any] | None = None,
        twin_latency_ms: int = 0,
    ) -> None:
        """`virtual_now` freezes the twin's clock there and makes it the sidecar's clock too.

        The twin is as strict as a real installation: the sidecar's token holds exactly the
        permissions README lists, `tag_new` is off, executing migrations restarts Zammad, and
        the admin made a ticket field of their own mandatory. The stack's own actors (agent,
        customer) act through a separate admin token.
        """
        from zammad_sla_plugin.admin.provision import REQUIRED_PERMISSIONS

        self.policy = policy
        self.token, self.secret = secrets.token_hex(16), secrets.token_hex(16)
        self.harness_token = secrets.token_hex(16)
        # Restart windows long enough for a 20 ms poll to see them, short enough for tests.
        self.twin = TwinServer(
            token=self.token, harness_token=self.harness_token, api_permissions=sorted(REQUIRED_PERMISSIONS),
            tag_new=False, auto_shutdown=True, time_scale=time_scale, now=virtual_now, frozen=virtual_now is not None,
            restart_seconds=0.3 / time_scale, shutdown_delay_seconds=0.05 / time_scale,
        )  # fmt: skip
        self.virtual = virtual_now is not None
        self.twin_latency_ms = twin_latency_ms
        self.environ = {
            "ZAMMAD_TOKEN": self.token, "ZAMMAD_SLA_WEBHOOK_SECRET": self.secret,
            "ZAMMAD_SLA_LISTEN": f"127.0.0.1:{free_port()}", "ZAMMAD_SLA_DATA_DIR": str(data_dir),
            "ZAMMAD_SLA_COALESCE_SECONDS": str(coalesce_seconds), "ZAMMAD_SLA_WORKERS": str(workers),
            **({"ZAMMAD_SLA_REDIS_URL": redis_url} if redis_url else {}),
        }  # fmt: skip
        self.schedule_checks = schedule_checks and not self.virtual
        self.queue_options = queue_options
        self.settings: Settings
        self.sidecar: Sidecar
        self.consumer: ConsumerHandle | None = None
        self._server: Any = None
        self._started = False

    # -- lifecycle ---------------------------------------------------------------
    def start(self, *, consumer: bool = True, sidecar: bool = True) -> LocalStack:
        """Start the twin, the receiver, provision the twin, then (optionally) the consumer.

        With `sidecar=False` only the twin is started and provisioned: the caller runs the
        sidecar itself (e.g. `zammad-sla serve` in a subprocess, with `self.environ`).
        """
        import waitress.server  # local: only in-process stacks need the server object

        self.twin.start()
        self._started = True
        self.environ["ZAMMAD_URL"] = self.twin.url
        self.settings = load_settings(self.environ, require_webhook_secret=True)
        self.admin = self.client()
        self.agent = AgentClient(self.twin.url, self.harness_token, on_behalf_of=AGENT, retries=2, backoff_factor=0.01)
        self.customer = self.client(on_behalf_of=CUSTOMER)
        self.sidecar_client = ZammadClient(self.twin.url, self.token, retries=2, backoff_factor=0.01)
        self.sidecar_user_id = int(self.sidecar_client.me()["id"])
        self.probe = ZammadClient(self.twin.url, self.token, retries=0, timeout=(1, 2))  # sees restarts
        self._add_admin_mandatory_field()
        if not sidecar:
            self.provision()
            return self
        now = self.twin.clock.now if self.virtual else utc_now
        self.sidecar = Sidecar(
            self.settings, self.policy, now=now, schedule_checks=self.schedule_checks, queue_options=self.queue_options
        )
        self._server = waitress.server.create_server(
            self.sidecar.receiver(), host="127.0.0.1", port=self.settings.listen_port, threads=4
        )
        self._receiver_stopping = threading.Event()
        self._receiver_thread = threading.Thread(target=serve_until_stopped, args=(self._server, self._receiver_stopping),
                                                 name="sidecar-receiver", daemon=True)  # fmt: skip
        self._receiver_thread.start()
        self.provision()
        if self.twin_latency_ms:
            self.set_faults(latency_ms=self.twin_latency_ms)
        if consumer:
            self.start_consumer()
        return self

    def _apply_context(self, client: ZammadClient, echo: Any = None) -> Any:
        from zammad_sla_plugin.admin.provision import ApplyContext, answers

        return ApplyContext(client=client, echo=echo or (lambda line: None), poll_interval=0.02,
                            migration_timeout=30, restart_grace=5, alive=answers(self.probe))  # fmt: skip

    def _add_admin_mandatory_field(self) -> None:
        """What an admin of a real Zammad often has: a ticket field mandatory for agents."""
        from zammad_sla_plugin.admin.provision import wait_for_restart

        self.admin.create_object_attribute({
            "object": "Ticket", "name": ADMIN_MANDATORY_FIELD, "display": "Customer reference", "data_type": "input",
            "data_option": {"type": "text", "maxlength": 120, "null": True, "default": ""},
            "screens": {"edit": {"ticket.agent": {"shown": True, "required": True}},
                        "create_middle": {"ticket.agent": {"shown": True, "required": False}}},
            "active": True, "position": 1500,
        })  # fmt: skip
        self.admin.execute_migrations()
        wait_for_restart(self._apply_context(self.admin))

    def provision(self) -> list[Any]:
        """Provision the twin exactly as `zammad-sla setup` does (with the sidecar's token); returns the changes."""
        from zammad_sla_plugin.admin.provision import apply_plan, plan_setup

        plan = plan_setup(self.sidecar_client, self.policy, webhook_url=self.webhook_url, secret=self.secret)
        return apply_plan(plan, self._apply_context(self.sidecar_client))

    def start_consumer(self) -> None:
        """Start the sidecar's queue consumer threads."""
        self.consumer = self.sidecar.start_consumer(int(self.environ["ZAMMAD_SLA_WORKERS"]))

    def stop(self) -> None:
        """Stop everything this stack started (idempotent)."""
        if self.consumer is not None:
            self.consumer.stop(timeout=5)
            self.consumer = None
        if self._server is not None:
            self._receiver_stopping.set()
            self._receiver_thread.join(timeout=5)
            self._server = None
        sidecar = getattr(self, "sidecar", None)
        if sidecar is not None:
            sidecar.close_journal()
        probe = getattr(self, "probe", None)
        if probe is not None:
            probe.close()
        self.twin.stop()

    def __enter__(self) -> LocalStack:
        # `with LocalStack(...).start(sidecar=False) as stack:` must not start twice.
        return self if self._started else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers -------------------------------------------------------------------
    @property
    def webhook_url(self) -> str:
        """Where the twin's webhook delivers."""
        return f"http://{self.environ['ZAMMAD_SLA_LISTEN']}/webhooks/zammad"

    def client(self, on_behalf_of: str | None = None) -> ZammadClient:
        """A client of the twin with the stack's admin token (acting as `on_behalf_of` if given)."""
        return ZammadClient(self.twin.url, self.harness_token, on_behalf_of=on_behalf_of, retries=2, backoff_factor=0.01)

    def set_faults(self, **faults: Any) -> None:
        """Inject faults into the twin's API (latency_ms, error_rate, status, outage...)."""
        self.admin.session.post(f"{self.twin.url}/_twin/faults", json=faults, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        """Remove injected faults (keeping the stack's standing latency)."""
        self.admin.session.delete(f"{self.twin.url}/_twin/faults", timeout=5).raise_for_status()
        if self.twin_latency_ms:
            self.set_faults(latency_ms=self.twin_latency_ms)

    def set_clock(self, instant: datetime) -> None:
        """Jump the twin's frozen clock (virtual stacks only)."""
        self.twin.clock.set(instant, frozen=True)

    def settle(self, timeout: float = 30.0, *, quiet_polls: int = 3) -> None:
        """Wait until webhooks are delivered and the sidecar has nothing queued or running."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < quiet_polls:
            if time.monotonic() > deadline:
                raise TimeoutError("the sidecar did not settle in time")
            busy = self.twin.deliverer.pending() > 0 or self.sidecar.busy(include_scheduled=not self.schedule_checks)
            busy = busy or any(self.sidecar.queue.is_pending(ticket_id) for ticket_id in list(self.twin.state.tables["tickets"]))
            quiet = 0 if busy else quiet + 1
            time.sleep(0.02)

    def create_ticket(self, title: str, priority: str = "2 normal", **fields: Any) -> dict[str, Any]:
        """Create a ticket as the customer (through the web form)."""
        return self.customer.request("POST", "tickets", json={
            "title": title, "group": "Users", "customer_id": f"guess:{CUSTOMER}", "priority": priority,
            "article": {"subject": title, "body": title, "type": "web", "sender": "Customer", "internal": False},
            **fields,
        })  # fmt: skip

    def take_call(self, title: str, priority: str = "2 normal", **fields: Any) -> dict[str, Any]:
        """A ticket the agent opens for the customer who called (a phone article from the
        customer), like a contact via the on-call line. Only agents can write phone
        articles: Zammad turns a customer's into a note (CreatesTicketArticles)."""
        return self.agent.request("POST", "tickets", json={
            "title": title, "group": "Users", "customer_id": f"guess:{CUSTOMER}", "priority": priority,
            "article": {"subject": title, "body": title, "type": "phone", "sender": "Customer", "internal": False},
            **fields,
        })  # fmt: skip

