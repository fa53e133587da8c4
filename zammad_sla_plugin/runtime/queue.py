"""The durable work queue between the webhook receiver and the SLA evaluation.

Built on huey: SQLite (a file in the data dir) by default, Redis when several
replicas must share one queue. Everything durable lives in huey's own storage
(queue, schedule and key/value store), so SQLite and Redis follow the same code.

Keys kept in huey's key/value store (all small, bounded by tickets or pruned):
- ``delivery:<id>``   first-seen time of a webhook delivery id (de-duplication,
                      pruned after `delivery_ttl_seconds` by the housekeeping job)
- ``pending:<ticket>`` an evaluation task is queued and has not started yet; later
                      events for the ticket coalesce into it
- ``retrying:<ticket>`` a failed evaluation has a retry scheduled
- ``evaluated:<ticket>`` start time of the last successful evaluation of a ticket
                      that had failures (makes retries of an older attempt redundant;
                      pruned after `delivery_ttl_seconds`)
- ``nextcheck:<ticket>`` the currently wanted next-check instant; check tasks for
                      any other instant are stale and exit
- ``periodic:<job>``  token of the live self-rescheduling chain of a periodic job
- ``zammad-sla.lock.<name>`` lease locks (same key scheme as huey.lock_task)

Crash safety rests on three storage primitives (`huey_adapter.AtomicStorage`), each one
SQLite transaction or one Redis script: an event's delivery id, its ``pending`` marker and
its task are written together; due tasks move from the schedule to the ready queue
together; lease locks are renewed and released by compare-and-set. The one window
left (a task taken off the queue by a process that then dies) is closed by
`TicketQueue.recover_orphans`, which consumers run at start and with every reconcile.

Only huey's public API is used here; what needs its internals (the storages' atomic
primitives, the scheduler and the embeddable consumer) lives in `huey_adapter`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Protocol

import huey
from huey.constants import EmptyData

from zammad_sla_plugin.runtime.huey_adapter import (
    DUPLICATE, Consumer, Record, RedisHuey, RedisStorage, SqliteHuey, SqliteStorage, atomic,
)  # fmt: skip
from zammad_sla_plugin.runtime.metrics import Metrics

logger = logging.getLogger(__name__)

HUEY_NAME = "zammad-sla"
QUEUE_FILENAME = "queue.sqlite3"

Evaluate = Callable[[int], "datetime | None"]


class _QueueSettings(Protocol):
    @property
    def data_dir(self) -> Path: ...

    @property
    def redis_url(self) -> str | None: ...

    @property
    def queue_fsync(self) -> bool: ...


def build_huey(
    settings: _QueueSettings | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    redis_url: str | None = None,
    sqlite_fsync: bool | None = None,
) -> huey.Huey:
    """Build the huey instance: Redis when a Redis URL is given, else SQLite in the data dir.

    Accepts a `Settings` (uses `.data_dir`, `.redis_url` and `.queue_fsync`) and/or
    explicit keyword arguments, which win over the settings. The data dir is created
    if missing. `sqlite_fsync=True` fsyncs every commit (survives a power cut, slower);
    the default survives a killed process (see `huey_adapter.SqliteStorage`).
    """
    if settings is not None:
        data_dir = data_dir if data_dir is not None else settings.data_dir
        redis_url = redis_url if redis_url is not None else settings.redis_url
        sqlite_fsync = sqlite_fsync if sqlite_fsync is not None else settings.queue_fsync
    if redis_url:
        # results=False: we never read task return values, so don't store them.
        return RedisHuey(HUEY_NAME, url=redis_url, results=False, immediate=False, storage_class=RedisStorage)
    directory = Path(data_dir if data_dir is not None else "./var")
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"data dir {str(directory)!r} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        HUEY_NAME,
        storage_class=SqliteStorage,
        filename=str(directory / QUEUE_FILENAME),
        synchronous="FULL" if sqlite_fsync else "NORMAL",
        results=False,
        immediate=False,
    )


def one_line(error: BaseException) -> str:
    """`Type: message` of an exception on one line (for logs that stay one line per event)."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class LeaseLock:
    """A cross-process lock in huey storage that expires if its holder dies.

    huey's own `lock_task` never expires on SQLite or Redis < 7.4, so a kill -9
    during an evaluation would block that ticket forever. This lock uses the
    same key (`<huey name>.lock.<name>`), storing the owner and the lease end.
    Taking over an expired lease, renewing and releasing are compare-and-set on
    the exact value this holder wrote, so a renew can never re-create a lock
    that was released, and a release never removes someone else's lock.
    """

    def __init__(self, hub: huey.Huey, name: str, lease_seconds: float, clock: Callable[[], float] = time.time):
        self._huey = hub
        self._storage = atomic(hub)
        self.name = name
        self.key = f"{hub.name}.lock.{name}"
        self._lease = lease_seconds
        self._clock = clock
        self._owner = uuid.uuid4().hex
        self._mutex = threading.Lock()  # orders this holder's own renew/release
        self._written: bytes | None = None  # the value we hold the lock with

    def _value(self) -> bytes:
        return bytes(self._huey.serializer.serialize({"owner": self._owner, "expires": self._clock() + self._lease}))

    def acquire(self, clear: str | None = None) -> bool:
        """Take the lock without waiting; True on success. With `clear`, that key is deleted
        when the lock is taken: in the same transaction when it is free (one round trip on
        Redis), right after a dead holder's lease is taken over."""
        with self._mutex:
            value = self._value()
            if self._put_if_empty(value, clear):
                self._written = value
                return True
            current = self._huey.storage.peek_data(self.key)
            if current is EmptyData:  # released in between
                if self._put_if_empty(value, clear):
                    self._written = value
                    return True
                return False
            try:
                expires = float(self._huey.serializer.deserialize(current).get("expires", float("inf")))
            except Exception:
                expires = 0.0  # unreadable: a leftover, take it
            if expires < self._clock() and self._storage.compare_and_set(self.key, bytes(current), value):
                logger.warning("lock %s: lease of a dead holder expired, taking it over", self.name)
                self._written = value
                if clear is not None:
                    self._huey.storage.delete_data(clear)
                return True
            return False

    def _put_if_empty(self, value: bytes, clear: str | None) -> bool:
        if clear is None:
            return bool(self._huey.storage.put_if_empty(self.key, value))
        return self._storage.put_if_empty_and_delete(self.key, value, clear)

    def release(self) -> None:
        """Release the lock if we still own it."""
        with self._mutex:
            if self._written is not None:
                self._storage.compare_and_set(self.key, self._written, None)
                self._written = None

    def renew(self) -> bool:
        """Extend the lease if we hold the lock; False only if it was taken from us."""
        with self._mutex:
            if self._written is None:
                return True  # released (or never taken): nothing to renew, nothing lost
            value = self._value()
            if self._storage.compare_and_set(self.key, self._written, value):
                self._written = value
                return True
            self._written = None
            return False

    @property
    def held(self) -> bool:
        """Whether this object believes it holds the lock."""
        return self._written is not None


class _Heartbeat:
    """Renews the leases of the locks this process holds, so leases can be short.

    A short lease means a holder killed with -9 blocks its ticket (or the reconcile
    job) for seconds, not minutes; a live holder keeps its lock however long Zammad
    takes to answer. One daemon thread per queue, started on first use.
    """

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._held: set[LeaseLock] = set()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, lock: LeaseLock) -> None:
        with self._guard:
            self._held.add(lock)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="zammad-sla-lease-heartbeat", daemon=True)
                self._thread.start()

    def drop(self, lock: LeaseLock) -> None:
        with self._guard:
            self._held.discard(lock)

    def _run(self) -> None:
        while True:
            time.sleep(self._interval)
            with self._guard:
                held = list(self._held)
            for lock in held:
                try:
                    if not lock.renew():
                        logger.error("lock %s was taken over while held (lease expired)", lock.name)
                except Exception:  # storage hiccup: the next beat tries again well within the lease
                    logger.warning("could not renew lock %s", lock.name, exc_info=True)


@dataclass
class _Periodic:
    fn: Callable[[], Any]
    every_seconds: float


class TicketQueue:
    """Coalescing, de-duplicating, per-ticket-locked evaluation queue on huey.

    Build exactly one per huey instance, in every process that submits or
    consumes (the tasks are registered on the instance under fixed names, so the
    receiver process and any consumer process agree on them).
    """

    TASK_EVALUATE = "zsla_evaluate"
    TASK_CHECK = "zsla_check"
    TASK_PERIODIC = "zsla_periodic"

    def __init__(
        self,
        hub: huey.Huey,
        evaluate: Evaluate,
        *,
        coalesce_seconds: float = 0.5,
        lock_retry_delay: float = 0.2,
        lock_retry_max_delay: float = 5.0,
        lock_lease_seconds: float = 15.0,
        retry_delay: float = 2.0,
        retry_max_delay: float = 300.0,
        max_retries: int = 8,
        min_check_delay: float = 1.0,
        delivery_ttl_seconds: float = 86400.0,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.huey = hub
        self._storage = atomic(hub)
        self._evaluate = evaluate
        self.coalesce_seconds = coalesce_seconds
        self.lock_retry_delay = lock_retry_delay
        self.lock_retry_max_delay = lock_retry_max_delay
        self.lock_lease_seconds = lock_lease_seconds
        self._heartbeat = _Heartbeat(interval=lock_lease_seconds / 3)
        self.retry_delay = retry_delay
        self.retry_max_delay = retry_max_delay
        self.max_retries = max_retries
        self.min_check_delay = min_check_delay
        self.delivery_ttl_seconds = delivery_ttl_seconds
        self.metrics = metrics
        self._clock = clock
        self._periodic: dict[str, _Periodic] = {}

        # evaluate() failures are retried by _evaluation_failed; huey's own retries
        # only cover the queue machinery failing mid-task (e.g. storage errors).
        self._evaluate_task = hub.task(name=self.TASK_EVALUATE, retries=3, retry_delay=2)(self._run_evaluation)
        self._check_task = hub.task(name=self.TASK_CHECK, retries=3, retry_delay=2)(self._run_check)
        self._periodic_task = hub.task(name=self.TASK_PERIODIC)(self._run_periodic)

    # -- submitting ----------------------------------------------------------
    def submit(self, ticket_id: int, delivery_id: str | None = None, *, force: bool = False) -> bool:
        """Queue an evaluation of `ticket_id` for one event; False if the delivery was seen before.

        Durable when this returns: the delivery id, the ticket's pending marker and
        the (coalesced) task are written in one transaction, so a crash leaves all or
        none of them. `force` queues a task even if one is pending (the reconcile:
        never held back by a marker, whatever state a crash left).
        """
        now = self._serialize(self._clock())
        dedupe = (f"delivery:{delivery_id}", now) if delivery_id is not None else None
        outcome = self._record(ticket_id, dedupe=dedupe, delay=self.coalesce_seconds, marked=not force, now=now)
        return outcome != DUPLICATE

    def _request_evaluation(self, ticket_id: int, *, delay: float) -> None:
        self._record(ticket_id, dedupe=None, delay=delay, marked=True)

    def _record(
        self, ticket_id: int, *, dedupe: tuple[str, bytes] | None, delay: float, marked: bool, now: bytes | None = None
    ) -> int:
        return self._storage.record_and_enqueue(*self._record_for(ticket_id, dedupe, delay, marked, now))

    def _record_for(
        self, ticket_id: int, dedupe: tuple[str, bytes] | None, delay: float, marked: bool, now: bytes | None
    ) -> Record:
        marker = (f"pending:{ticket_id}", now if now is not None else self._serialize(self._clock())) if marked else None

        def task() -> tuple[bytes, datetime | None]:
            # Built only when the event is not a duplicate and coalesces into no pending
            # task: under a burst, most events cost no task at all.
            evaluation = self._evaluate_task.s(ticket_id, 0, None, 0, delay=delay if delay > 0 else None)
            return self._serialize_task(evaluation), evaluation.eta

        return Record(dedupe, marker, task)

    def submit_many(self, events: list[tuple[int, str | None, float]]) -> list[bool | BaseException]:
        """`submit(ticket_id, delivery_id)` for each (ticket id, delivery id, time received)
        in order, in as few transactions as the storage allows.

        The delivery's first-seen time is the one given (when it was acknowledged), not
        now. One entry per event: False for a delivery seen before, else True, or the
        error that event alone raised.
        """
        records = []
        for ticket_id, delivery_id, received in events:
            now = self._serialize(received)
            dedupe = (f"delivery:{delivery_id}", now) if delivery_id is not None else None
            records.append(self._record_for(ticket_id, dedupe, self.coalesce_seconds, True, now))
        return [
            outcome if isinstance(outcome, BaseException) else outcome != DUPLICATE
            for outcome in self._storage.record_many(records)
        ]

    def deliveries_seen(self) -> Iterator[tuple[str, float]]:
        """(delivery id, first-seen time) of every delivery id the queue remembers."""
        for key, raw in self._storage.items_with_prefix("delivery:"):
            try:
                seen = float(self.huey.serializer.deserialize(raw))
            except Exception:
                seen = 0.0  # unreadable: as `prune` treats it
            yield key[len("delivery:"):], seen

    def _serialize(self, value: Any) -> bytes:
        return bytes(self.huey.serializer.serialize(value))

    def _serialize_task(self, task: Any) -> bytes:
        return bytes(self.huey.serialize_task(task))

    def _enqueue_evaluation(
        self, ticket_id: int, *, delay: float, attempt: int = 0, failed_at: float | None = None, lock_waits: int = 0
    ) -> None:
        args = (ticket_id, attempt, failed_at, lock_waits)
        if delay > 0:
            # Straight into the schedule: one write, no detour through the ready queue.
            self.huey.add_schedule(self._evaluate_task.s(*args, delay=delay))
        else:
            self._evaluate_task(*args)

    def recover_orphans(self) -> int:
        """Queue an evaluation for every ticket a dead process left half-done; returns the count.

        A process killed after taking a task off the queue leaves that ticket's pending
        marker (the task had not started) or its lease lock (it was evaluating) with no
        task behind it. Consumers call this at start and the reconcile on every run. A
        live process's in-flight task may be counted too; that costs one extra
        evaluation, never a lost one.
        """
        lock_prefix = f"{self.huey.name}.lock.ticket-"
        candidates: set[int] = set()
        for prefix in ("pending:", lock_prefix):
            for key, _ in self._storage.items_with_prefix(prefix):
                suffix = key[len(prefix):]
                if suffix.isdigit():
                    candidates.add(int(suffix))
        if not candidates:
            return 0
        queued = {
            int(task.args[0])
            for task in (*self.huey.pending(), *self.huey.scheduled())
            if task.name == self.TASK_EVALUATE and task.args
        }
        orphans = sorted(candidates - queued)
        for ticket_id in orphans:
            logger.warning("ticket %s: left unfinished by a stopped process, queueing it again", ticket_id)
            self._record(ticket_id, dedupe=None, delay=0, marked=False)
        return len(orphans)

    # -- evaluation task -------------------------------------------------------
    def _lock(self, name: str) -> LeaseLock:
        return LeaseLock(self.huey, name, self.lock_lease_seconds, self._clock)

    @contextmanager
    def _holding(self, lock: LeaseLock) -> Iterator[None]:
        """Keep `lock`'s lease renewed while the body runs, then release it."""
        self._heartbeat.hold(lock)
        try:
            yield
        finally:
            self._heartbeat.drop(lock)
            lock.release()

    def _run_evaluation(self, ticket_id: int, attempt: int, failed_at: float | None, lock_waits: int) -> None:
        owns_pending = failed_at is None  # tasks from submit(), not retries
        if not owns_pending:
            last_ok = self.huey.get(f"evaluated:{ticket_id}", peek=True)
            if last_ok is not None and last_ok > failed_at:
                logger.info("ticket %s: retry skipped, a later evaluation succeeded", ticket_id)
                return
        lock = self._lock(f"ticket-{ticket_id}")
        # The pending mark is cleared with the lock taken, before evaluating: an event
        # arriving from then on queues a new evaluation (which waits for this lock), so
        # none is lost.
        if not lock.acquire(clear=f"pending:{ticket_id}" if owns_pending else None):
            # Another worker evaluates this ticket: come back shortly, never drop.
            wait = min(self.lock_retry_delay * (2**lock_waits), self.lock_retry_max_delay)
            self._enqueue_evaluation(
                ticket_id, delay=wait, attempt=attempt, failed_at=failed_at, lock_waits=lock_waits + 1
            )
            return
        with self._holding(lock):
            started = self._clock()
            try:
                next_check = self._evaluate(ticket_id)
            except Exception as error:
                self._evaluation_failed(ticket_id, attempt, started, error)
                return
            # One read for both (a round trip each on Redis): the retry chain's mark and
            # the check already scheduled.
            retrying, scheduled = self._peek(f"retrying:{ticket_id}", f"nextcheck:{ticket_id}")
            if retrying is not None:
                # Only tickets with a retry chain need the success time (a read
                # costs far less than a write on the hot path).
                self.huey.put(f"evaluated:{ticket_id}", started)
                self.huey.delete(f"retrying:{ticket_id}")
            self._record_outcome("ok")
            self._schedule_check(ticket_id, next_check, scheduled)

    def _evaluation_failed(self, ticket_id: int, attempt: int, started: float, error: Exception) -> None:
        # One line per failure (an outage over many tickets must not flood the log);
        # the traceback only at debug level.
        reason = one_line(error)
        logger.debug("ticket %s: evaluation failed", ticket_id, exc_info=error)
        if attempt >= self.max_retries:
            logger.error(
                "ticket %s: evaluation failed (attempt %d): %s; giving up (reconcile will pick it up)",
                ticket_id, attempt + 1, reason,
            )  # fmt: skip
            self._record_outcome("gave_up")
            return
        self.huey.put(f"retrying:{ticket_id}", started)
        delay = min(self.retry_delay * (2**attempt), self.retry_max_delay)
        logger.warning(
            "ticket %s: evaluation failed (attempt %d): %s; retrying in %.1fs", ticket_id, attempt + 1, reason, delay
        )
        self._record_outcome("error")
        self._enqueue_evaluation(ticket_id, delay=delay, attempt=attempt + 1, failed_at=started)

    def _record_outcome(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.evaluation(outcome)

    # -- next checks -------------------------------------------------------------
    def _peek(self, *keys: str) -> list[Any]:
        """The values of `keys` in the key/value store (None where absent), in one read."""
        found = self.huey.storage.peek_many(list(keys))
        return [None if found.get(key, EmptyData) is EmptyData else self.huey.serializer.deserialize(found[key])
                for key in keys]

    def _schedule_check(self, ticket_id: int, when: datetime | None, scheduled: Any = EmptyData) -> None:
        """Schedule the check at `when` unless one is stored for that instant; `scheduled` is
        the stored instant (None: none) when the caller has read it already."""
        key = f"nextcheck:{ticket_id}"
        if scheduled is EmptyData:
            scheduled = self.huey.get(key, peek=True)
        if when is None:
            if scheduled is not None:
                self.huey.delete(key)  # any scheduled check becomes stale
            return
        if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
            logger.error("ticket %s: evaluate returned %r, not an aware datetime; no check scheduled", ticket_id, when)
            self._record_outcome("bad_next_check")
            return
        at = max(when.timestamp(), self._clock() + self.min_check_delay)
        if scheduled == at:
            return  # a check for exactly this instant is already scheduled
        self.huey.put(key, at)
        self.huey.add_schedule(self._check_task.s(ticket_id, at, eta=datetime.fromtimestamp(at, timezone.utc)))

    def _run_check(self, ticket_id: int, at: float) -> None:
        if self.huey.get(f"nextcheck:{ticket_id}", peek=True) != at:
            return  # superseded by a later evaluation
        self._request_evaluation(ticket_id, delay=0)

    def next_check(self, ticket_id: int) -> datetime | None:
        """The instant of the currently scheduled check of `ticket_id`, if any."""
        at = self.huey.get(f"nextcheck:{ticket_id}", peek=True)
        return datetime.fromtimestamp(at, timezone.utc) if at is not None else None

    # -- periodic jobs -------------------------------------------------------------
    def schedule_periodic(self, name: str, fn: Callable[[], Any], every_seconds: float, *, run_now: bool = True) -> None:
        """Run `fn` every `every_seconds` through the queue (a self-rescheduling task).

        Register the same job in every process that consumes. Calling this again
        (e.g. another replica starting) replaces the running chain, so exactly one
        chain survives; a run still going when the next is due is skipped.
        """
        if every_seconds <= 0:
            raise ValueError("every_seconds must be positive")
        self._periodic[name] = _Periodic(fn, every_seconds)
        token = uuid.uuid4().hex
        self.huey.put(f"periodic:{name}", token)
        self._schedule_periodic_run(name, token, 0 if run_now else every_seconds)

    def schedule_reconcile(self, fn: Callable[[], Any], every_seconds: float) -> None:
        """Run the reconcile hook `fn` every `every_seconds` (first run right away)."""
        self.schedule_periodic("reconcile", fn, every_seconds)

    def schedule_housekeeping(self, every_seconds: float = 3600.0) -> None:
        """Periodically prune expired delivery ids and lock take-over markers."""
        self.schedule_periodic("housekeeping", self.prune, every_seconds, run_now=False)

    def _schedule_periodic_run(self, name: str, token: str, delay: float) -> None:
        task = self._periodic_task.s(name, token, delay=max(delay, 0.001))
        self.huey.add_schedule(task)

    def _run_periodic(self, name: str, token: str) -> None:
        if self.huey.get(f"periodic:{name}", peek=True) != token:
            return  # a newer chain replaced this one
        job = self._periodic.get(name)
        if job is None:
            # Keep the chain alive for a process that has the job registered.
            logger.error("periodic job %r is not registered in this process; skipping this run", name)
            self._schedule_periodic_run(name, token, 60.0)
            return
        lock = self._lock(f"periodic-{name}")
        if not lock.acquire():
            # A run is still going, or its holder died: look again once the lease could
            # have expired rather than a whole period later.
            logger.warning("periodic job %r: previous run still going, trying again shortly", name)
            self._record_periodic(name, "skipped_locked")
            self._schedule_periodic_run(name, token, min(job.every_seconds, self.lock_lease_seconds / 2))
            return
        # Reschedule before running so a crash inside fn cannot end the chain.
        self._schedule_periodic_run(name, token, job.every_seconds)
        with self._holding(lock):
            try:
                job.fn()
            except Exception as error:
                logger.error("periodic job %r failed: %s", name, one_line(error))
                logger.debug("periodic job %r failed", name, exc_info=error)
                self._record_periodic(name, "error")
            else:
                self._record_periodic(name, "ok")

    def _record_periodic(self, name: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.periodic_run(name, outcome)

    def prune(self) -> int:
        """Delete delivery ids and success marks older than the TTL, and legacy lock
        take-over markers; returns the count."""
        now = self._clock()
        removed = 0
        horizons = {"delivery:": self.delivery_ttl_seconds, "evaluated:": self.delivery_ttl_seconds}
        for prefix, horizon in horizons.items():
            for key, raw in self._storage.items_with_prefix(prefix):
                try:
                    seen = float(self.huey.serializer.deserialize(raw))
                except Exception:
                    seen = 0.0  # unreadable: treat as ancient
                if now - seen > horizon and self.huey.delete(key):
                    removed += 1
        # Earlier versions marked lock take-overs with separate keys.
        for key, _ in self._storage.items_with_prefix(f"{self.huey.name}.lock."):
            if ".steal." in key and self.huey.delete(key):
                removed += 1
        return removed

    # -- introspection ---------------------------------------------------------------
    def depth(self) -> int:
        """Tasks in the queue ready to run (for the queue_depth gauge)."""
        return int(self.huey.pending_count())

    def scheduled(self) -> int:
        """Tasks waiting in the schedule (coalescing windows, retries, next checks)."""
        return int(self.huey.scheduled_count())

    def keys_with_prefix(self, prefix: str) -> Iterator[str]:
        """Keys of the key/value store starting with `prefix` (for pruning), read in batches."""
        return (key for key, _ in self._storage.items_with_prefix(prefix))

    def is_pending(self, ticket_id: int) -> bool:
        """Whether an evaluation of `ticket_id` is queued but not started."""
        return self.huey.get(f"pending:{ticket_id}", peek=True) is not None


# -- consumers -------------------------------------------------------------------------
def _make_consumer(
    hub: huey.Huey, workers: int, *, install_signals: bool, scheduler_tick: float, max_poll_delay: float,
    shutdown_timeout: float | None,
) -> Consumer:
    return Consumer(
        hub,
        install_signals=install_signals,
        scheduler_tick=scheduler_tick,
        workers=workers,
        periodic=False,  # our periodic jobs are self-rescheduling tasks
        initial_delay=0.05,
        backoff=1.5,
        max_delay=max_poll_delay,  # idle SQLite polling interval cap
        worker_type="thread",
        graceful_signal="TERM",  # `docker stop` lets running evaluations finish
        shutdown_timeout=shutdown_timeout,
    )


class ConsumerHandle:
    """A huey consumer running in background threads of this process."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self._thread = threading.Thread(target=self._supervise, name="huey-consumer", daemon=True)
        self._stopped = threading.Event()

    def _start(self) -> None:
        self.consumer.start()
        self._thread.start()

    def _supervise(self) -> None:
        self.consumer.run_until_stopped()
        self._stopped.set()

    def is_alive(self) -> bool:
        """Whether the consumer is still running."""
        return self._thread.is_alive()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop gracefully: running tasks finish (up to `timeout` seconds)."""
        self.consumer.stop_gracefully(timeout)
        self._thread.join(timeout)
        self.consumer.huey.notify_interrupted_tasks()

    def __enter__(self) -> "ConsumerHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_consumer(
    hub: huey.Huey, workers: int, *, scheduler_tick: float = 0.1, max_poll_delay: float = 0.5
) -> ConsumerHandle:
    """Run a huey consumer with `workers` threads in the background of this process.

    For `zammad-sla serve` (receiver and worker in one process); installs no signal
    handlers, so it works from any thread. Stop it with `handle.stop()`.
    """
    handle = ConsumerHandle(
        _make_consumer(
            hub, workers, install_signals=False, scheduler_tick=scheduler_tick, max_poll_delay=max_poll_delay,
            shutdown_timeout=None,
        )
    )
    handle._start()
    return handle


def run_consumer_forever(
    hub: huey.Huey, workers: int, *, scheduler_tick: float = 0.1, max_poll_delay: float = 0.5
) -> None:
    """Run the consumer in the main thread until SIGTERM (graceful) or SIGINT (immediate).

    For `zammad-sla worker`. SIGHUP restarts the process, as in huey's consumer.
    """
    consumer = _make_consumer(
        hub, workers, install_signals=True, scheduler_tick=scheduler_tick, max_poll_delay=max_poll_delay,
        shutdown_timeout=60.0,
    )
    consumer.run()
