"""Tests for zammad_sla_plugin.runtime.queue on real SQLite files (and Redis when available).

Consumers run in-process with a fast scheduler tick; waits poll for a condition
with a generous deadline, and "nothing more happened" checks wait until the queue
is idle (`Activity`): nothing scheduled, nothing ready, nothing running.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import huey
import pytest

from zammad_sla_plugin.runtime.metrics import Metrics
from zammad_sla_plugin.runtime.queue import (
    QUEUE_FILENAME,
    ConsumerHandle,
    LeaseLock,
    TicketQueue,
    build_huey,
    start_consumer,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
TICK = 0.02  # scheduler tick in tests
FAST = {"scheduler_tick": TICK, "max_poll_delay": 0.05}


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def counter(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels or None) or 0.0


class Recorder:
    """An `evaluate` that records calls and can fail, block or return next checks."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []
        self.lock = threading.Lock()
        self.fail_times = 0
        self.next_check: Callable[[int, int], datetime | None] = lambda ticket, n: None
        self.hold = 0.0
        self.in_flight: dict[int, int] = {}
        self.max_in_flight = 0

    def __call__(self, ticket_id: int) -> datetime | None:
        with self.lock:
            self.calls.append((ticket_id, time.monotonic()))
            n = len([c for c in self.calls if c[0] == ticket_id])
            self.in_flight[ticket_id] = self.in_flight.get(ticket_id, 0) + 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight[ticket_id])
            fail = self.fail_times > 0
            if fail:
                self.fail_times -= 1
        try:
            if self.hold:
                time.sleep(self.hold)
            if fail:
                raise ConnectionError("zammad down")
            return self.next_check(ticket_id, n)
        finally:
            with self.lock:
                self.in_flight[ticket_id] -= 1

    def count(self, ticket_id: int | None = None) -> int:
        with self.lock:
            return len([c for c in self.calls if ticket_id is None or c[0] == ticket_id])

    def times(self, ticket_id: int) -> list[float]:
        with self.lock:
            return [t for tid, t in self.calls if tid == ticket_id]


class Activity:
    """Counts tasks a consumer took off the queue and finished (hooks on the huey instance)."""

    def __init__(self, hub: huey.Huey) -> None:
        self.hub = hub
        self.started = self.finished = 0
        self._lock = threading.Lock()
        dequeue, execute = hub.dequeue, hub.execute

        def counted_dequeue() -> object:
            task = dequeue()
            if task is not None:
                with self._lock:
                    self.started += 1
            return task

        def counted_execute(task: object, *args: object, **kwargs: object) -> object:
            try:
                return execute(task, *args, **kwargs)
            finally:
                with self._lock:
                    self.finished += 1

        hub.dequeue, hub.execute = counted_dequeue, counted_execute  # type: ignore[method-assign]

    def idle(self) -> bool:
        """Nothing scheduled, ready or running. Counters are read before and after the
        storage, so a task created by a task finishing meanwhile cannot slip through."""
        with self._lock:
            before = (self.started, self.finished)
        scheduled, ready = self.hub.scheduled_count(), self.hub.pending_count()
        with self._lock:
            after = (self.started, self.finished)
        return before == after and before[0] == before[1] and scheduled == 0 and ready == 0


def wait_idle(queue: TicketQueue, timeout: float = 5.0) -> None:
    activity: Activity = queue.activity  # type: ignore[attr-defined]
    assert wait_until(activity.idle, timeout), "the queue did not become idle"


# -- backends (the redis_url fixture lives in conftest.py) ---------------------------
@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Where the queue lives: {"data_dir": ...} or {"redis_url": ...}."""
    if request.param == "sqlite":
        return {"data_dir": str(tmp_path / "data")}
    url = request.getfixturevalue("redis_url")
    import redis

    redis.Redis.from_url(url).flushdb()
    return {"redis_url": url}


def make_huey(backend: dict[str, str]) -> huey.Huey:
    hub = build_huey(**backend)  # type: ignore[arg-type]
    if "redis_url" in backend:
        hub.storage.read_timeout = 0.1  # quick consumer shutdown in tests
    return hub


@pytest.fixture
def make_queue(backend: dict[str, str]) -> Iterator[Callable[..., tuple[TicketQueue, Recorder, ConsumerHandle | None]]]:
    handles: list[ConsumerHandle] = []

    def factory(*, consume: bool = True, workers: int = 2, **options: object):
        recorder = Recorder()
        options.setdefault("coalesce_seconds", 0.2)
        options.setdefault("metrics", Metrics())
        queue = TicketQueue(make_huey(backend), recorder, **options)  # type: ignore[arg-type]
        queue.activity = Activity(queue.huey)  # type: ignore[attr-defined]
        handle = start_consumer(queue.huey, workers, **FAST) if consume else None
        if handle is not None:
            handles.append(handle)
        return queue, recorder, handle

    yield factory
    for handle in handles:
        handle.stop(timeout=5)


# -- build_huey -------------------------------------------------------------------
def test_build_huey_sqlite_creates_data_dir(tmp_path: Path) -> None:
    from zammad_sla_plugin.runtime.settings import load_settings

    settings = load_settings({"ZAMMAD_SLA_DATA_DIR": str(tmp_path / "a" / "b")}, require_zammad=False)
    hub = build_huey(settings)
    assert isinstance(hub, huey.SqliteHuey)
    assert hub.name == "zammad-sla" and hub.immediate is False
    assert Path(hub.storage.filename) == tmp_path / "a" / "b" / QUEUE_FILENAME
    assert (tmp_path / "a" / "b").is_dir()


def test_build_huey_redis_from_url() -> None:
    hub = build_huey(data_dir="/nonexistent", redis_url="redis://127.0.0.1:1/3")  # no connection yet
    assert isinstance(hub, huey.RedisHuey)
    assert hub.storage.pool.connection_kwargs["db"] == 3
    assert hub.name == "zammad-sla" and hub.immediate is False


# -- behaviour, on every backend ---------------------------------------------------------
def test_coalescing_many_events_one_evaluation(make_queue) -> None:
    queue, rec, _ = make_queue(coalesce_seconds=0.3)
    results = [queue.submit(11, f"d{i}") for i in range(10)]
    assert results == [True] * 10
    assert queue.is_pending(11)
    assert wait_until(lambda: rec.count(11) >= 1)
    wait_idle(queue)  # nothing else may run
    assert rec.count() == 1
    assert not queue.is_pending(11)
    assert counter(queue.metrics, "zammad_sla_evaluations_total", outcome="ok") == 1


def test_coalescing_window_delays_evaluation(make_queue) -> None:
    queue, rec, _ = make_queue(coalesce_seconds=0.3)
    start = time.monotonic()
    queue.submit(12)
    assert wait_until(lambda: rec.count(12) == 1)
    assert rec.times(12)[0] - start >= 0.3 - 0.01


def test_duplicate_delivery_is_ignored(make_queue) -> None:
    queue, rec, _ = make_queue(consume=False)
    assert queue.submit(5, "delivery-a") is True
    assert queue.submit(5, "delivery-a") is False
    assert queue.submit(6, "delivery-a") is False  # the id, not the ticket, is the key
    assert queue.submit(5, "delivery-b") is True
    assert queue.scheduled() == 1  # ticket 5's events coalesced; 6 never queued
    assert not queue.is_pending(6)


def test_failed_submit_writes_nothing(tmp_path: Path) -> None:
    queue = TicketQueue(build_huey(data_dir=tmp_path), lambda t: None, coalesce_seconds=0.2)
    conn = queue.huey.storage.conn
    conn.execute("create temp trigger full before insert on schedule begin select raise(abort, 'disk full'); end")
    with pytest.raises(sqlite3.DatabaseError):
        queue.submit(8, "retried-by-zammad")
    assert not queue.is_pending(8) and queue.huey.get("delivery:retried-by-zammad", peek=True) is None
    conn.execute("drop trigger full")
    # Zammad retries the unacknowledged delivery: it must be queued, not dropped.
    assert queue.submit(8, "retried-by-zammad") is True
    assert queue.is_pending(8) and queue.scheduled() == 1


def test_coalesced_and_duplicate_events_build_no_task(tmp_path: Path) -> None:
    queue = TicketQueue(build_huey(data_dir=tmp_path), lambda t: None, coalesce_seconds=30)
    built: list[object] = []
    serialize_task = queue.huey.serialize_task
    queue.huey.serialize_task = lambda task: built.append(task) or serialize_task(task)  # type: ignore[method-assign]
    assert queue.submit(5, "a") and queue.submit(5, "b") and not queue.submit(5, "a")
    assert len(built) == 1 and queue.scheduled() == 1


def test_concurrent_submits_share_commits_and_keep_their_own_outcomes(tmp_path: Path) -> None:
    queue = TicketQueue(build_huey(data_dir=tmp_path), lambda t: None, coalesce_seconds=30)
    storage = queue.huey.storage
    storage.conn.execute(
        "create temp trigger refuse before insert on kv when new.key = 'delivery:bad' "
        "begin select raise(abort, 'disk full'); end"
    )
    submits = [(1, "d1"), (1, "d2"), (2, "d3"), (2, "d3"), (3, "bad")]
    outcomes: dict[int, bool | Exception] = {}

    def submit(index: int) -> None:
        try:
            outcomes[index] = queue.submit(*submits[index])
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(submits))]
    with storage.lock:  # hold the connection: the submits pile up behind the first one
        for thread in threads:
            thread.start()
        assert wait_until(lambda: storage._records.waiting() == len(submits) - 1)
    for thread in threads:
        thread.join(10)
    assert storage._records.batches == 2  # the first submit alone, then the four others together
    assert outcomes[0] is True and outcomes[1] is True  # coalesced into one task for ticket 1
    assert sorted([outcomes[2], outcomes[3]]) == [False, True]  # the same delivery twice: one duplicate
    assert isinstance(outcomes[4], sqlite3.DatabaseError)  # only its own caller fails...
    assert queue.huey.get("delivery:bad", peek=True) is None and not queue.is_pending(3)  # ...and it wrote nothing
    assert queue.is_pending(1) and queue.is_pending(2) and queue.scheduled() == 2


def test_event_during_evaluation_triggers_another(make_queue) -> None:
    queue, rec, _ = make_queue(coalesce_seconds=0.05)
    rec.hold = 0.4
    queue.submit(21, "first")
    assert wait_until(lambda: rec.count(21) == 1)
    queue.submit(21, "second")  # arrives while the evaluation runs
    assert wait_until(lambda: rec.count(21) == 2)
    first, second = rec.times(21)
    assert second - first >= 0.4 - 0.01  # waited for the lock, then ran
    assert rec.max_in_flight == 1


def test_lock_prevents_concurrent_evaluation(make_queue) -> None:
    queue, rec, _ = make_queue(coalesce_seconds=0.0, lock_retry_delay=0.02, workers=2)
    rec.hold = 0.3
    # Two ready tasks for one ticket, two worker threads: they would overlap without the lock.
    queue._enqueue_evaluation(31, delay=0)
    queue._enqueue_evaluation(31, delay=0)
    assert wait_until(lambda: rec.count(31) == 2)
    assert wait_until(lambda: rec.in_flight.get(31) == 0)
    assert rec.max_in_flight == 1
    first, second = rec.times(31)
    assert second - first >= 0.3 - 0.01


def test_failure_is_retried_with_backoff_then_succeeds(make_queue) -> None:
    queue, rec, _ = make_queue(coalesce_seconds=0.0, retry_delay=0.1)
    rec.fail_times = 2
    queue.submit(41)
    assert wait_until(lambda: rec.count(41) == 3)
    t0, t1, t2 = rec.times(41)
    assert t1 - t0 >= 0.1 - 0.01  # retry_delay
    assert t2 - t1 >= 0.2 - 0.01  # doubled
    m = queue.metrics
    assert counter(m, "zammad_sla_evaluations_total", outcome="error") == 2
    assert wait_until(lambda: counter(m, "zammad_sla_evaluations_total", outcome="ok") == 1)


def test_failure_gives_up_after_max_retries(make_queue, caplog: pytest.LogCaptureFixture) -> None:
    queue, rec, _ = make_queue(coalesce_seconds=0.0, retry_delay=0.02, max_retries=2)
    rec.fail_times = 100
    queue.submit(42)
    m = queue.metrics
    assert wait_until(lambda: counter(m, "zammad_sla_evaluations_total", outcome="gave_up") == 1)
    wait_idle(queue)
    assert rec.count(42) == 3  # first attempt + 2 retries
    assert counter(m, "zammad_sla_evaluations_total", outcome="error") == 2
    failures = [r for r in caplog.records if r.name == "zammad_sla_plugin.runtime.queue" and "evaluation failed" in r.getMessage()]
    # One line per failed attempt, with ticket, attempt and reason; no traceback above debug.
    assert [r.getMessage() for r in failures if r.levelno > logging.DEBUG] == [
        "ticket 42: evaluation failed (attempt 1): ConnectionError: zammad down; retrying in 0.0s",
        "ticket 42: evaluation failed (attempt 2): ConnectionError: zammad down; retrying in 0.0s",
        "ticket 42: evaluation failed (attempt 3): ConnectionError: zammad down; giving up (reconcile will pick it up)",
    ]
    assert all(r.exc_info is None for r in failures if r.levelno > logging.DEBUG)


def test_retry_skipped_when_a_later_evaluation_succeeded(make_queue) -> None:
    queue, rec, _ = make_queue(coalesce_seconds=0.0, retry_delay=0.5)
    rec.fail_times = 1
    queue.submit(43)
    assert wait_until(lambda: rec.count(43) == 1)
    queue.submit(43)  # a new event, evaluated before the retry is due
    assert wait_until(lambda: rec.count(43) == 2)
    wait_idle(queue)  # the retry fires and sees the newer success
    assert rec.count(43) == 2


def test_next_check_fires_at_eta(make_queue) -> None:
    queue, rec, _ = make_queue(coalesce_seconds=0.0, min_check_delay=0.0)
    eta: dict[str, datetime] = {}

    def next_check(ticket: int, n: int) -> datetime | None:
        if n == 1:
            eta["at"] = datetime.now(timezone.utc) + timedelta(seconds=0.3)
            return eta["at"]
        return None

    rec.next_check = next_check
    queue.submit(51)
    assert wait_until(lambda: rec.count(51) == 1)
    # The check is scheduled just after the evaluation returns: wait for it, not a moment.
    assert wait_until(lambda: queue.next_check(51) is not None)
    assert queue.next_check(51) == eta["at"]
    assert wait_until(lambda: rec.count(51) == 2)
    fired = time.time()
    assert fired >= eta["at"].timestamp() - 0.01
    assert fired - eta["at"].timestamp() < 1.0
    wait_idle(queue)
    assert rec.count(51) == 2
    assert queue.next_check(51) is None  # the second evaluation wanted no check


def test_next_checks_are_deduplicated_and_superseded(make_queue) -> None:
    queue, rec, _ = make_queue(consume=False, coalesce_seconds=0.0, min_check_delay=0.0)
    at = datetime.now(timezone.utc) + timedelta(seconds=30)
    queue._schedule_check(61, at)
    queue._schedule_check(61, at)
    queue._schedule_check(61, at)
    assert queue.scheduled() == 1  # the same instant is scheduled once
    later = at + timedelta(seconds=5)
    queue._schedule_check(61, later)
    assert queue.scheduled() == 2 and queue.next_check(61) == later
    # The superseded check exits without queueing an evaluation.
    queue._run_check(61, at.timestamp())
    assert not queue.is_pending(61)
    queue._run_check(61, later.timestamp())
    assert queue.is_pending(61)


def test_naive_next_check_is_reported_not_scheduled(make_queue) -> None:
    queue, rec, _ = make_queue(consume=False)
    queue._schedule_check(62, datetime(2030, 1, 1))  # naive
    assert queue.scheduled() == 0
    assert counter(queue.metrics, "zammad_sla_evaluations_total", outcome="bad_next_check") == 1


def test_orphaned_marker_and_lock_are_recovered_at_start(make_queue) -> None:
    queue, rec, _ = make_queue(consume=False, lock_lease_seconds=0.3)
    # A process killed after taking tasks off the queue: ticket 71 had not started
    # (marker left), ticket 72 was being evaluated (its lease lock left).
    queue.huey.put("pending:71", 900.0)
    assert LeaseLock(queue.huey, "ticket-72", 0.3).acquire()
    queue.submit(73)  # a healthy pending ticket with its task
    assert queue.submit(71) is True and queue.scheduled() == 1  # coalesced into the (lost) task
    assert queue.recover_orphans() == 2
    assert queue.recover_orphans() == 0  # their tasks exist now
    handle = start_consumer(queue.huey, 2, **FAST)
    try:
        assert wait_until(lambda: rec.count(71) == 1 and rec.count(72) == 1 and rec.count(73) == 1)
        assert not queue.is_pending(71)
    finally:
        handle.stop(timeout=5)


def test_forced_submit_is_never_held_back_by_a_marker(make_queue) -> None:
    queue, rec, _ = make_queue(consume=False)
    queue.huey.put("pending:74", 900.0)  # whatever a crash left behind
    assert queue.submit(74, force=True) is True
    assert queue.scheduled() == 1


def test_depth_counts_ready_tasks(make_queue) -> None:
    queue, rec, _ = make_queue(consume=False, coalesce_seconds=0.0)
    metrics = Metrics(queue_depth=queue.depth)
    queue.submit(81)
    queue.submit(82)
    assert queue.depth() == 2
    assert counter(metrics, "zammad_sla_queue_depth") == 2


def test_periodic_job_runs_and_restart_replaces_chain(make_queue) -> None:
    queue, rec, _ = make_queue()
    runs: list[float] = []
    queue.schedule_reconcile(lambda: runs.append(time.monotonic()), 0.2)
    queue.schedule_reconcile(lambda: runs.append(time.monotonic()), 0.2)  # e.g. a restart
    assert wait_until(lambda: len(runs) >= 4)
    # One chain: runs a period apart (two live chains would interleave closer).
    gaps = [b - a for a, b in zip(runs[1:], runs[2:])]
    assert all(gap >= 0.2 - 0.02 for gap in gaps), gaps
    live = [t for t in (*queue.huey.scheduled(), *queue.huey.pending()) if t.name == TicketQueue.TASK_PERIODIC]
    assert len(live) <= 1
    assert counter(queue.metrics, "zammad_sla_periodic_runs_total", job="reconcile", outcome="ok") == len(runs)


def test_periodic_job_failure_is_counted_and_chain_survives(make_queue) -> None:
    queue, rec, _ = make_queue()
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    queue.schedule_periodic("flaky", flaky, 0.1)
    assert wait_until(lambda: len(calls) >= 3)
    assert counter(queue.metrics, "zammad_sla_periodic_runs_total", job="flaky", outcome="error") >= 3


def test_prune_drops_expired_delivery_ids(make_queue) -> None:
    now = [1000.0]
    queue, rec, _ = make_queue(consume=False, delivery_ttl_seconds=100, clock=lambda: now[0])
    assert queue.submit(91, "old")
    now[0] = 1050.0
    assert queue.submit(91, "recent")
    now[0] = 1120.0
    assert queue.prune() == 1
    assert queue.submit(91, "old") is True  # forgotten after the TTL
    assert queue.submit(91, "recent") is False


def test_lease_lock(make_queue) -> None:
    now = [0.0]
    queue, _, _ = make_queue(consume=False)
    hub = queue.huey
    a = LeaseLock(hub, "t", 10, clock=lambda: now[0])
    b = LeaseLock(hub, "t", 10, clock=lambda: now[0])
    c = LeaseLock(hub, "t", 10, clock=lambda: now[0])
    assert a.acquire() and not b.acquire()
    assert hub.is_locked("t")  # same key scheme as huey.lock_task
    b.release()  # not the owner: no effect
    assert not c.acquire()
    now[0] = 11.0  # a's lease expired (holder died)
    assert b.acquire()
    assert not c.acquire()  # b holds a fresh lease; the dead owner's take-over is spent
    a.release()  # the old owner cannot release b's lock
    assert not c.acquire()
    b.release()
    assert c.acquire()


def test_lease_lock_clears_a_key_only_when_taken(make_queue) -> None:
    # The evaluation clears its ticket's pending mark with the lock: never when another
    # holder has it, also when a dead holder's lease is taken over.
    now = [0.0]
    queue, _, _ = make_queue(consume=False)
    hub = queue.huey
    a = LeaseLock(hub, "ticket-5", 10, clock=lambda: now[0])
    b = LeaseLock(hub, "ticket-5", 10, clock=lambda: now[0])
    hub.put("pending:5", 1)
    assert a.acquire(clear="pending:5") and hub.get("pending:5", peek=True) is None
    hub.put("pending:5", 2)
    assert not b.acquire(clear="pending:5") and hub.get("pending:5", peek=True) == 2
    now[0] = 11.0  # a died holding it
    assert b.acquire(clear="pending:5") and hub.get("pending:5", peek=True) is None


def test_live_holder_keeps_its_lease_by_heartbeat(make_queue) -> None:
    # The lease is 0.3 s but the evaluation takes 1 s: the heartbeat must keep the lock,
    # so a second evaluation of the same ticket can never start meanwhile.
    queue, rec, _ = make_queue(lock_lease_seconds=0.3, coalesce_seconds=0)
    rec.hold = 1.0
    queue.submit(31)
    assert wait_until(lambda: rec.count(31) == 1)
    first = lease_end(queue, "ticket-31")
    assert wait_until(lambda: (lease_end(queue, "ticket-31") or 0) > first + 0.3)  # renewed past its first lease
    assert time.time() > first  # the first lease is over, the lock is still held
    assert not LeaseLock(queue.huey, "ticket-31", 0.3).acquire()
    assert wait_until(lambda: LeaseLock(queue.huey, "ticket-31", 0.3).acquire(), 3)
    assert rec.max_in_flight == 1


def lease_end(queue: TicketQueue, name: str) -> float | None:
    value = queue.huey.get(f"{queue.huey.name}.lock.{name}", peek=True)
    return value["expires"] if value else None


def test_renew_after_release_never_recreates_the_lock(make_queue, caplog: pytest.LogCaptureFixture) -> None:
    queue, _, _ = make_queue(consume=False)
    hub = queue.huey
    lock = LeaseLock(hub, "ticket-33", 10)
    assert lock.acquire()
    # The race: the heartbeat read the lock as ours, then the holder released it.
    real_get, raced = hub.get, []

    def racing_get(key: str, peek: bool = False) -> object:
        value = real_get(key, peek=peek)
        if key == lock.key and not raced:
            raced.append(1)
            lock.release()
        return value

    hub.get = racing_get  # type: ignore[method-assign]
    try:
        lock.renew()
    finally:
        hub.get = real_get  # type: ignore[method-assign]
    if not raced:  # renew did not read the lock: release once, as the holder does
        lock.release()
    assert not hub.is_locked("ticket-33")
    assert LeaseLock(hub, "ticket-33", 10).acquire()  # the next evaluation does not wait for a lease


def test_renew_and_release_race_across_threads(make_queue, caplog: pytest.LogCaptureFixture) -> None:
    queue, _, _ = make_queue(consume=False)
    locks = [LeaseLock(queue.huey, "ticket-34", 10) for _ in range(50)]
    stop = threading.Event()
    current: list[LeaseLock] = []
    lost: list[str] = []

    def heartbeat() -> None:
        while not stop.is_set():
            for lock in list(current):
                if not lock.renew():
                    lost.append(lock.name)

    thread = threading.Thread(target=heartbeat)
    thread.start()
    try:
        for lock in locks:  # each taken right after the previous one's release: never blocked
            assert lock.acquire()
            current[:] = [lock]
            lock.release()
    finally:
        stop.set()
        thread.join()
    assert not queue.huey.is_locked("ticket-34") and lost == []
    assert not [r for r in caplog.records if "taken over" in r.getMessage()]


def test_dead_holder_blocks_for_one_lease_only(make_queue) -> None:
    queue, rec, _ = make_queue(lock_lease_seconds=0.5, coalesce_seconds=0)
    assert LeaseLock(queue.huey, "ticket-32", 0.5).acquire()  # a holder that dies without releasing
    started = time.monotonic()
    queue.submit(32)
    assert wait_until(lambda: rec.count(32) == 1, 5)
    assert 0.4 <= rec.times(32)[0] - started < 3.0


def test_queue_fsync_setting_chooses_sqlite_synchronous(tmp_path: Path) -> None:
    from zammad_sla_plugin.runtime.settings import load_settings

    for value, level in (("on", 2), ("off", 1), (None, 1)):  # FULL = 2, NORMAL = 1
        env = {"ZAMMAD_SLA_DATA_DIR": str(tmp_path / str(value))}
        if value is not None:
            env["ZAMMAD_SLA_QUEUE_FSYNC"] = value
        hub = build_huey(load_settings(env, require_zammad=False))
        assert hub.storage.conn.execute("pragma synchronous").fetchone()[0] == level


# -- in-process consumer --------------------------------------------------------------------
def test_start_consumer_from_non_main_thread(tmp_path: Path) -> None:
    rec = Recorder()
    queue = TicketQueue(build_huey(data_dir=tmp_path), rec, coalesce_seconds=0)
    handles: list[ConsumerHandle] = []
    thread = threading.Thread(target=lambda: handles.append(start_consumer(queue.huey, 1, **FAST)))
    thread.start()
    thread.join()
    try:
        queue.submit(3)
        assert wait_until(lambda: rec.count(3) == 1)
    finally:
        handles[0].stop(timeout=5)
    assert not handles[0].is_alive()


# -- durability and multi-process -------------------------------------------------------------
SUBMIT_THEN_HANG = textwrap.dedent(
    """
    import sys, time
    from zammad_sla_plugin.runtime.queue import TicketQueue, build_huey
    queue = TicketQueue(build_huey(data_dir=sys.argv[1]), lambda t: None, coalesce_seconds=0.2)
    assert queue.submit(4242, "delivery-x")
    print("submitted", flush=True)
    time.sleep(60)
    """
)


def test_enqueued_job_survives_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", SUBMIT_THEN_HANG, str(data_dir)], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "submitted"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    rec = Recorder()
    queue = TicketQueue(build_huey(data_dir=data_dir), rec, coalesce_seconds=0.2)
    assert queue.submit(4242, "delivery-x") is False  # the delivery id survived too
    handle = start_consumer(queue.huey, 1, **FAST)
    try:
        assert wait_until(lambda: rec.count(4242) == 1)
    finally:
        handle.stop(timeout=5)


# Runs in a subprocess: SIGKILL itself at the commit of the first transaction that
# writes a task (`target`: "schedule" for a submit, "task" for the scheduler's move).
KILL_AT_COMMIT = textwrap.dedent(
    """
    import os, signal, sys, time
    from zammad_sla_plugin.runtime.huey_adapter import PreciseScheduler
    from zammad_sla_plugin.runtime.queue import TicketQueue, build_huey
    data_dir, step, target = sys.argv[1], sys.argv[2], sys.argv[3]

    class Cursor:
        def __init__(self, cursor, conn):
            self._cursor, self._conn = cursor, conn
        def execute(self, sql, *args):
            if sql.lstrip().lower().startswith("insert into " + target):
                self._conn.armed = True
            return self._cursor.execute(sql, *args)
        def __getattr__(self, name):
            return getattr(self._cursor, name)

    class Connection:
        armed = False
        def __init__(self, conn):
            self._conn = conn
        def cursor(self):
            return Cursor(self._conn.cursor(), self)
        def commit(self):
            if self.armed:
                os.kill(os.getpid(), signal.SIGKILL)
            return self._conn.commit()
        def __getattr__(self, name):
            return getattr(self._conn, name)

    queue = TicketQueue(build_huey(data_dir=data_dir), lambda t: None, coalesce_seconds=0.01)
    if step == "submit":
        queue.huey.storage._conn = Connection(queue.huey.storage.conn)
        queue.submit(4243, "delivery-y")
    else:
        for ticket in range(1, 6):
            queue.submit(ticket)
        time.sleep(0.05)
        queue.huey.storage._conn = Connection(queue.huey.storage.conn)
        scheduler = PreciseScheduler(huey=queue.huey, stop_flag=None, interval=1, periodic=False)
        scheduler.loop()
    print("not killed", flush=True)
    """
)


def _killed_at_commit(data_dir: Path, step: str, target: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_COMMIT, str(data_dir), step, target], capture_output=True, text=True,
        cwd=REPO_ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr


def test_kill_9_inside_a_submit_leaves_no_orphaned_marker(tmp_path: Path) -> None:
    _killed_at_commit(tmp_path, "submit", "schedule")
    rec = Recorder()
    queue = TicketQueue(build_huey(data_dir=tmp_path), rec, coalesce_seconds=0.01)
    # Not acknowledged, so Zammad retries the delivery: it must queue a task, not
    # coalesce into a marker whose task never got written.
    assert queue.submit(4243, "delivery-y") is True
    handle = start_consumer(queue.huey, 1, **FAST)
    try:
        assert wait_until(lambda: rec.count(4243) == 1, 3)
    finally:
        handle.stop(timeout=5)


def test_kill_9_while_moving_due_tasks_loses_none(tmp_path: Path) -> None:
    _killed_at_commit(tmp_path, "schedule", "task")
    hub = build_huey(data_dir=tmp_path)
    TicketQueue(hub, lambda t: None)
    tickets = sorted(task.args[0] for task in (*hub.scheduled(), *hub.pending()))
    assert tickets == [1, 2, 3, 4, 5]


CONSUMER_PROCESS = textwrap.dedent(
    """
    import json, os, sys, time
    from zammad_sla_plugin.runtime.queue import TicketQueue, build_huey, run_consumer_forever
    backend, log_path = json.loads(sys.argv[1]), sys.argv[2]

    def evaluate(ticket_id):
        start = time.time()
        time.sleep(0.15)
        with open(log_path, "a") as log:
            log.write(f"{ticket_id} {start} {time.time()} {os.getpid()}\\n")

    hub = build_huey(**backend)
    queue = TicketQueue(hub, evaluate, coalesce_seconds=0.0, lock_retry_delay=0.02)
    print("ready", flush=True)
    run_consumer_forever(hub, 2, scheduler_tick=0.02, max_poll_delay=0.05)
    """
)


def test_two_consumer_processes_never_overlap_on_a_ticket(backend: dict[str, str], tmp_path: Path) -> None:
    log_path = tmp_path / "evaluations.log"
    import json

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONSUMER_PROCESS, json.dumps(backend), str(log_path)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        queue = TicketQueue(make_huey(backend), lambda t: None, coalesce_seconds=0.0)
        # Bypass coalescing: 4 ready tasks per ticket, 4 worker threads in 2 processes.
        for _ in range(4):
            for ticket in (1, 2):
                queue._enqueue_evaluation(ticket, delay=0)

        def lines() -> list[list[str]]:
            return [line.split() for line in log_path.read_text().splitlines()] if log_path.exists() else []

        assert wait_until(lambda: len(lines()) == 8, timeout=15), lines()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(15)
    for ticket in ("1", "2"):
        spans = sorted((float(start), float(end)) for tid, start, end, _ in lines() if tid == ticket)
        assert len(spans) == 4
        for (_, end), (next_start, _) in zip(spans, spans[1:]):
            assert next_start >= end - 0.005, spans  # never two at once
    assert all(proc.returncode == 0 for proc in procs)
