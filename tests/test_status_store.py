"""Ticket statuses for `tickets_by_status`: bounded in memory, shared through the queue's storage."""

from __future__ import annotations

from pathlib import Path

from zammad_sla_plugin.runtime.metrics import Metrics
from zammad_sla_plugin.runtime.queue import build_huey
from zammad_sla_plugin.runtime.status_store import (
    MemoryStatusStore, RedisStatusStore, SqliteStatusStore, StatusStore, status_store_for,
)


def _exercise(first: StatusStore, second: StatusStore) -> None:
    """Two processes' stores on one storage: each ticket counted once, moves counted right."""
    first.set(1, "on_track")
    second.set(2, "on_track")
    second.set(1, "breached")  # another worker evaluated ticket 1 later
    first.set(3, "paused")
    first.set(3, None)  # ticket 3 was deleted in Zammad
    for store in (first, second):
        counts = {k: v for k, v in store.counts().items() if v}
        assert counts == {"on_track": 1, "breached": 1}


def test_sqlite_store_in_the_queue_file(tmp_path: Path) -> None:
    hub = build_huey(data_dir=tmp_path)
    first, second = status_store_for(hub), status_store_for(build_huey(data_dir=tmp_path))
    assert isinstance(first, SqliteStatusStore)
    _exercise(first, second)


def test_redis_store_shared_by_workers(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    first, second = status_store_for(build_huey(redis_url=redis_url)), status_store_for(build_huey(redis_url=redis_url))
    assert isinstance(first, RedisStatusStore)
    _exercise(first, second)


def test_memory_store_is_bounded() -> None:
    store = MemoryStatusStore(limit=100)
    for ticket_id in range(1000):
        store.set(ticket_id, "on_track" if ticket_id % 2 else "breached")
    assert sum(store.counts().values()) == 100
    assert store.counts() == {"on_track": 50, "breached": 50}
    store.set(999, None)
    assert store.counts()["on_track"] == 49


def test_metrics_scrape_the_store(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.set_status_store(status_store_for(build_huey(data_dir=tmp_path)))
    for ticket_id in range(5):
        metrics.set_ticket_status(ticket_id, "at_risk")
    metrics.set_ticket_status(0, "met")
    assert metrics.registry.get_sample_value("zammad_sla_tickets_by_status", {"status": "at_risk"}) == 4
    assert metrics.registry.get_sample_value("zammad_sla_tickets_by_status", {"status": "met"}) == 1


def test_a_failing_store_does_not_fail_the_scrape() -> None:
    class Broken(MemoryStatusStore):
        def counts(self) -> dict[str, int]:
            raise OSError("disk gone")

    metrics = Metrics()
    metrics.set_status_store(Broken())
    assert b"zammad_sla_events_received_total" in metrics.render()

