"""Tests for zammad_sla_plugin.queue on real SQLite files (and Redis when available).

Consumers run in-process with a fast scheduler tick; waits poll for a condition
with a generous deadline, and "nothing more happened" checks wait a fixed,
small multiple of the relevant window.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import huey
import pytest

from zammad_sla_plugin.metrics import Metrics
from zammad_sla_plugin.queue import (
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
        handle = start_consumer(queue.huey, workers, **FAST) if consume else None
        if handle is not None:
            handles.append(handle)
        return queue, recorder, handle

    yield factory
    for handle in handles:
        handle.stop(timeout=5)


# -- build_huey -------------------------------------------------------------------
def test_build_huey_sqlite_creates_data_dir(tmp_path: Path) -> None:
    from zammad_sla_plugin.settings import load_settings

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
    time.sleep(0.6)  # two more windows: nothing else may run
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


def test_failed_enqueue_does_not_burn_the_delivery_id(make_queue, monkeypatch: pytest.MonkeyPatch) -> None:
    queue, rec, _ = make_queue(consume=False)

    def broken(ticket_id: int, *, delay: float) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(queue, "_request_evaluation", broken)
        with pytest.raises(OSError):
            queue.submit(8, "retried-by-zammad")
    # Zammad retries the unacknowledged delivery: it must be queued, not dropped.
    assert queue.submit(8, "retried-by-zammad") is True
    assert queue.is_pending(8)


def test_failed_enqueue_leaves_no_pending_marker(make_queue, monkeypatch: pytest.MonkeyPatch) -> None:
    queue, rec, _ = make_queue(consume=False)

    def broken(ticket_id: int, **kwargs: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(queue, "_enqueue_evaluation", broken)
        with pytest.raises(OSError):
            queue.submit(9, "d")
    assert not queue.is_pending(9)
    assert queue.submit(9, "d") is True
    assert queue.scheduled() == 1


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
    time.sleep(0.2)
    assert rec.count(42) == 3  # first attempt + 2 retries
    assert counter(m, "zammad_sla_evaluations_total", outcome="error") == 2
    assert any("giving up" in r.getMessage() for r in caplog.records)


def test_retry_skipped_when_a_later_evaluation_succeeded(make_queue) -> None:
    queue, rec, _ = make_queue(coalesce_seconds=0.0, retry_delay=0.5)
    rec.fail_times = 1
    queue.submit(43)
    assert wait_until(lambda: rec.count(43) == 1)
    queue.submit(43)  # a new event, evaluated before the retry is due
    assert wait_until(lambda: rec.count(43) == 2)
    time.sleep(0.8)  # the retry fires and sees the newer success
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
    assert queue.next_check(51) == eta["at"]
    assert wait_until(lambda: rec.count(51) == 2)
    fired = time.time()
    assert fired >= eta["at"].timestamp() - 0.01
    assert fired - eta["at"].timestamp() < 1.0
    time.sleep(0.3)
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


def test_stale_pending_marker_is_recovered(make_queue) -> None:
    now = [1000.0]
    queue, rec, _ = make_queue(consume=False, stale_pending_seconds=60, clock=lambda: now[0])
    # A crash between marking and enqueueing leaves a marker without a task.
    queue.huey.put("pending:71", 900.0)
    queue.submit(71)
    assert queue.scheduled() == 1
    queue.submit(71)  # marker is fresh now: coalesced
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
    time.sleep(1.05)
    # One chain: ~1 immediate run + 5 periods; two live chains would give ~12.
    assert 3 <= len(runs) <= 8, runs
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


def test_live_holder_keeps_its_lease_by_heartbeat(make_queue) -> None:
    # The lease is 0.3 s but the evaluation takes 1 s: the heartbeat must keep the lock,
    # so a second evaluation of the same ticket can never start meanwhile.
    queue, rec, _ = make_queue(lock_lease_seconds=0.3, coalesce_seconds=0)
    rec.hold = 1.0
    queue.submit(31)
    assert wait_until(lambda: rec.count(31) == 1)
    time.sleep(0.6)  # two leases later
    assert not LeaseLock(queue.huey, "ticket-31", 0.3).acquire()
    assert wait_until(lambda: LeaseLock(queue.huey, "ticket-31", 0.3).acquire(), 3)
    assert rec.max_in_flight == 1


def test_dead_holder_blocks_for_one_lease_only(make_queue) -> None:
    queue, rec, _ = make_queue(lock_lease_seconds=0.5, coalesce_seconds=0)
    assert LeaseLock(queue.huey, "ticket-32", 0.5).acquire()  # a holder that dies without releasing
    started = time.monotonic()
    queue.submit(32)
    assert wait_until(lambda: rec.count(32) == 1, 5)
    assert 0.4 <= rec.times(32)[0] - started < 3.0


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
    from zammad_sla_plugin.queue import TicketQueue, build_huey
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


CONSUMER_PROCESS = textwrap.dedent(
    """
    import json, os, sys, time
    from zammad_sla_plugin.queue import TicketQueue, build_huey, run_consumer_forever
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
