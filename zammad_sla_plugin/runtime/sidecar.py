"""The sidecar assembled: settings -> Zammad client, evaluator, durable queue, receiver.

`Sidecar` wires the adapters together; `zammad-sla serve` runs the receiver and a consumer
in one process, `zammad-sla worker` only a consumer (scaled-out deployments on Redis).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from flask import Flask

from webhooks.app import LookupFailed, create_app
from zammad_sla_plugin.core.clock import SlaInputError
from zammad_sla_plugin.runtime.worker import fetch_explanation
from zammad_sla_plugin.runtime.metrics import Metrics
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.runtime.journal import DeliveryJournal, journal_for
from zammad_sla_plugin.runtime.readiness import CachedCheck
from zammad_sla_plugin.runtime.queue import ConsumerHandle, TicketQueue, build_huey, one_line, start_consumer
from zammad_sla_plugin.runtime.settings import Settings
from zammad_sla_plugin.runtime.status_store import status_store_for
from zammad_sla_plugin.core.times import format_utc, parse_time
from zammad_sla_plugin.runtime.worker import Now, TicketEvaluator
from zammad_sla_plugin.zammad import ZammadClient, ZammadError

log = logging.getLogger(__name__)


class ThreadLocalClient:
    """One `ZammadClient` per thread behind one object (requests sessions are not thread-safe)."""

    def __init__(self, factory: Callable[[], ZammadClient]) -> None:
        self._factory = factory
        self._local = threading.local()

    def _client(self) -> ZammadClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
        return client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client(), name)


def utc_now() -> datetime:
    """The real current time (the default clock of the sidecar)."""
    return datetime.now(timezone.utc)


class Sidecar:
    """One sidecar process: everything the receiver and the worker need."""

    RECONCILE_MARK = "reconcile:last_run"

    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        *,
        now: Now = utc_now,
        schedule_checks: bool = True,
        queue_options: dict[str, Any] | None = None,
        readiness_ttl: float = 10.0,
    ) -> None:
        """Build the adapters. `schedule_checks=False` skips exact-time checks (virtual clocks);
        `readiness_ttl` is how long a readiness answer is served before one background refresh."""
        if not settings.zammad_url or settings.zammad_token is None:
            raise ValueError("the sidecar needs ZAMMAD_URL and ZAMMAD_TOKEN")
        self.settings, self.policy, self.now = settings, policy, now
        self.schedule_checks = schedule_checks
        self.metrics = Metrics()
        url, token = settings.zammad_url, settings.zammad_token.reveal()
        # Typed as the client it stands in for: ThreadLocalClient forwards every attribute.
        self.client: ZammadClient = ThreadLocalClient(  # type: ignore[assignment]
            lambda: ZammadClient(url, token, on_request=self._count_api_call)
        )
        self.evaluator = TicketEvaluator(self.client, policy, now, sink=self.metrics)
        self.huey = build_huey(settings)
        self.queue = TicketQueue(
            self.huey, self._evaluate, coalesce_seconds=settings.coalesce_seconds, metrics=self.metrics,
            **(queue_options or {}),
        )  # fmt: skip
        self.metrics.set_queue_depth_source(self.queue.depth)
        # Deliveries are acknowledged once journaled (runtime/journal.py) where that is as
        # durable as the queue's own commit: SQLite without fsync. Opened with the receiver.
        self.journal: DeliveryJournal | None = None
        if not settings.redis_url and not settings.queue_fsync:
            self.journal = journal_for(self.queue, settings.data_dir)
        self._journal_open = False
        # /readyz answers at once from the last known state (runtime/readiness.py); the check
        # itself runs in the background, one at a time.
        self.readiness = CachedCheck(self._check_readiness, ttl=readiness_ttl)
        # The background check stays short: one attempt, no retries, its own connection.
        self._probe_client = ZammadClient(url, token, retries=0, timeout=(2, 3))
        self._probe_guard = threading.Lock()
        self.metrics.set_status_store(status_store_for(self.huey))  # shared by every process on this queue
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()

    def _count_api_call(self, method: str, endpoint: str, status: int | None, seconds: float) -> None:
        self.metrics.api_call(method, endpoint, status if status is not None else "error", seconds)

    def _evaluate(self, ticket_id: int) -> datetime | None:
        with self._in_flight_lock:
            self._in_flight += 1
        try:
            next_check = self.evaluator.evaluate(ticket_id)
        except ZammadError as error:
            if not error.not_found:
                raise
            log.info("ticket %s no longer exists in Zammad; dropping it", ticket_id)
            self.metrics.set_ticket_status(ticket_id, None)
            next_check = None
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
        # Kept beside the queue's own schedule so `reconcile` finds overdue checks even
        # when exact-time scheduling is off (the demo's virtual clock). Only tickets with
        # a next check have the key, so it stays bounded by the open tickets.
        if next_check:
            self.huey.put(self._next_key(ticket_id), format_utc(next_check))
        else:
            self.huey.delete(self._next_key(ticket_id))
        return next_check if self.schedule_checks else None

    @staticmethod
    def _next_key(ticket_id: int) -> str:
        return f"sla-next:{ticket_id}"

    def recorded_next_check(self, ticket_id: int) -> datetime | None:
        """The next-check instant of the ticket's last evaluation (None if none or unknown)."""
        text = self.huey.get(self._next_key(ticket_id), peek=True)
        return parse_time(text, "next check") if text else None

    def busy(self, *, include_scheduled: bool = False) -> bool:
        """Whether an evaluation is queued or running here (or scheduled, if asked)."""
        # The journal first: what leaves it is in the queue by the time the queue is read.
        journaled = self.journal is not None and self.journal.backlog() > 0
        scheduled = include_scheduled and self.queue.scheduled() > 0
        return journaled or self._in_flight > 0 or self.queue.depth() > 0 or scheduled

    # -- inbound ---------------------------------------------------------------
    def receiver(self) -> Flask:
        """The webhook receiver app, enqueueing into this sidecar's queue."""
        if self.settings.webhook_secret is None:
            raise ValueError("the receiver needs ZAMMAD_SLA_WEBHOOK_SECRET")
        return create_app(
            secret=self.settings.webhook_secret.reveal_bytes(),
            enqueue=self.open_journal(),
            readiness=self.readiness,
            metrics=self.metrics,
            explain=self.explain_for,
        )

    def open_journal(self) -> Callable[[int, str | None], bool]:
        """What the receiver enqueues with: the journal, opened (and what a killed process
        left in it queued) on first use, or the queue itself where there is no journal."""
        if self.journal is None:
            return self.queue.submit
        if not self._journal_open:
            self.journal.open()  # logs what it replayed
            self._journal_open = True
        return self.journal.submit

    def close_journal(self, timeout: float = 10.0) -> None:
        """Queue what the journal holds and close it (after the receiver stopped answering)."""
        if self.journal is not None and self._journal_open:
            if not self.journal.close(timeout):
                log.warning("webhook journal not drained in %.0fs: it is queued at the next start", timeout)
            self._journal_open = False

    def explain_for(self, ticket_id: int, caller_token: str) -> dict[str, Any]:
        """`GET /tickets/<id>/sla`: the explanation, read with the caller's Zammad token."""
        assert self.settings.zammad_url is not None
        with ZammadClient(self.settings.zammad_url, caller_token, retries=1, timeout=(5, 15)) as client:
            try:
                return fetch_explanation(client, ticket_id, self.policy, self.now())
            except ZammadError as error:
                if error.status in (401, 403, 404):
                    raise LookupFailed(error.status, error.error_human or error.error or str(error)) from None
                raise LookupFailed(502, f"Zammad did not answer: {error}") from None
            except SlaInputError as error:
                raise LookupFailed(422, f"ticket {ticket_id} cannot be evaluated: {error}") from None

    def queue_problem(self) -> str | None:
        """Why the queue cannot be written (None when it can): a one-line reason."""
        try:
            self.huey.put("readyz:probe", format_utc(utc_now()))
            self.huey.get("readyz:probe")
        except Exception as error:  # any storage failure means "not ready", with its reason
            where = "Redis queue" if self.settings.redis_url else f"queue in {self.settings.data_dir}"
            return f"{where} not writable: {one_line(error)}"
        return None

    def _check_readiness(self) -> list[str]:
        """Problems that make this sidecar unable to work (empty = ready); `readiness` caches it."""
        problems = []
        problem = self.queue_problem()
        if problem:
            problems.append(problem)
        journal_problem = self.journal.problem() if self.journal is not None and self._journal_open else None
        if journal_problem:
            problems.append(journal_problem)
        try:
            with self._probe_guard:  # one requests session, one user at a time
                self._probe_client.me()
        except ZammadError as error:
            problems.append(f"Zammad not reachable with our token: {error}")
        return problems

    # -- reconcile ---------------------------------------------------------------
    def reconcile(self) -> int:
        """Queue every open ticket updated since the last run or whose check is overdue.

        Catches events Zammad gave up delivering (it retries a webhook 5 times over
        ~100 s, then drops it) and checks whose scheduled task was lost. Two condition
        searches (no Lucene): tickets not in a closed/merged state, and tickets updated
        since the last run (so a close we missed is seen too). Sorted by id so paging
        is stable while tickets change. Returns the number of tickets queued.
        """
        now = self.now()
        last_run_text = self.huey.get(self.RECONCILE_MARK, peek=True)
        last_run = parse_time(last_run_text, "reconcile mark") if last_run_text else None
        stopped = set(self.policy.states.closed) | set(self.policy.states.merged)
        stopped_ids = [str(s["id"]) for s in self.client.ticket_states() if s.get("name") in stopped]
        searches: list[dict[str, Any]] = [{"ticket.state_id": {"operator": "is not", "value": stopped_ids}}]
        if last_run is not None:
            since = format_utc(last_run - timedelta(seconds=5))  # overlap: clocks and commits race
            searches.append({"ticket.updated_at": {"operator": "after (absolute)", "value": since}})
        self.queue.recover_orphans()
        queued: set[int] = set()
        open_ids: set[int] = set()
        for condition in searches:
            for ticket in self.client.search_tickets(condition, sort_by="id", order_by="asc"):
                ticket_id = int(ticket["id"])
                if condition is searches[0]:
                    open_ids.add(ticket_id)
                if ticket_id in queued:
                    continue
                updated_at = parse_time(ticket.get("updated_at") or ticket["created_at"], "updated_at")
                recently_updated = last_run is None or updated_at >= last_run - timedelta(seconds=5)
                scheduled = self.recorded_next_check(ticket_id)
                overdue = scheduled is not None and scheduled <= now
                never_evaluated = ticket.get(self.policy.attributes.status) in (None, "")
                if recently_updated or overdue or never_evaluated:
                    # Forced: a pending marker left by a crash must not hold this back.
                    self.queue.submit(ticket_id, force=True)
                    queued.add(ticket_id)
        self._prune_next_checks(open_ids, now)
        self.huey.put(self.RECONCILE_MARK, format_utc(now))
        log.info("reconcile queued %d ticket(s)", len(queued))
        return len(queued)

    def _prune_next_checks(self, open_ids: set[int], now: datetime) -> None:
        """Forget overdue next checks of tickets that are no longer open (deleted or
        closed behind our back), so storage stays bounded by the open tickets."""
        prefix = "sla-next:"
        for key in self.queue.keys_with_prefix(prefix):
            suffix = key[len(prefix):]
            if not suffix.isdigit() or int(suffix) in open_ids:
                continue
            due = self.recorded_next_check(int(suffix))
            if due is None or due <= now:  # a future check belongs to a ticket newer than the search
                self.huey.delete(key)

    # -- running -------------------------------------------------------------------
    def start_consumer(self, workers: int | None = None) -> ConsumerHandle:
        """Run the queue consumer in background threads of this process."""
        self.queue.recover_orphans()
        # Poll an idle queue every 0.1 s at most: event-to-write-back latency over SQLite.
        return start_consumer(self.huey, workers or self.settings.workers, max_poll_delay=0.1)

    def schedule_periodic_jobs(self) -> None:
        """Reconcile every `reconcile_seconds` and prune old delivery ids hourly.

        Every process that runs a consumer registers the same jobs (the queue keeps one
        live chain per job, whoever registers it last).
        """
        self.queue.schedule_reconcile(self.reconcile, self.settings.reconcile_seconds)
        self.queue.schedule_housekeeping()

