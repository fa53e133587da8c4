"""`collect.iter_records`: bounded parallel history fetching that streams, and its counter."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest

from zammad_sla_plugin.report.collect import READ_AHEAD, iter_records
from zammad_sla_plugin.report.outcome import ReportPeriod

PERIOD = ReportPeriod(date(2026, 3, 1), date(2026, 4, 1), ZoneInfo("America/Argentina/Buenos_Aires"))
START = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)


class FakeZammad:
    """Search answers `count` tickets created in March (lazily); histories take a moment."""

    def __init__(self, count: int, fail_on: int | None = None) -> None:
        self.count, self.fail_on = count, fail_on
        self.yielded = 0
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0
        self.sources: list[FakeSource] = []

    def source(self) -> "FakeSource":
        made = FakeSource(self)
        self.sources.append(made)
        return made


class FakeSource:
    """One connection: remembers the threads that used it."""

    def __init__(self, zammad: FakeZammad) -> None:
        self.zammad = zammad
        self.threads: set[int] = set()
        self.closed = False

    def search_tickets(self, condition: dict[str, Any], **options: Any) -> Iterator[dict[str, Any]]:
        if "ticket.updated_at" in condition:
            return
        for n in range(1, self.zammad.count + 1):
            if self is self.zammad.sources[0]:
                self.zammad.yielded = n
            created = START + timedelta(minutes=n)
            yield {"id": n, "created_at": created.isoformat(), "organization_id": None}

    def ticket_history(self, ticket_id: int) -> dict[str, Any]:
        self.threads.add(threading.get_ident())
        zammad = self.zammad
        with zammad.lock:
            zammad.in_flight += 1
            zammad.max_in_flight = max(zammad.max_in_flight, zammad.in_flight)
        time.sleep(0.002)
        with zammad.lock:
            zammad.in_flight -= 1
        if ticket_id == zammad.fail_on:
            raise RuntimeError(f"history {ticket_id} failed")
        return {"history": [], "ticket_id": ticket_id}

    def get_organization(self, org_id: int) -> dict[str, Any]:
        raise AssertionError("no organizations here")

    def close(self) -> None:
        self.closed = True


def test_streams_with_bounded_work_in_flight_one_source_per_thread() -> None:
    zammad = FakeZammad(1000)
    main = zammad.source()
    seen = []
    for record in iter_records(main, PERIOD, make_source=zammad.source, concurrency=3, progress=False):
        # Never more than the read-ahead plus 2 x concurrency tickets between the search and the caller.
        assert zammad.yielded - len(seen) <= READ_AHEAD + 2 * 3 + 2
        assert record.history["ticket_id"] == record.ticket["id"]
        seen.append(record.ticket["id"])
    assert sorted(seen) == list(range(1, 1001))
    assert zammad.max_in_flight <= 3
    workers = [s for s in zammad.sources[1:] if s.threads]
    assert 1 <= len(workers) <= 3
    assert all(len(s.threads) == 1 and s.closed for s in workers)
    assert not main.threads and not main.closed  # the caller's source only searched


def test_a_failed_history_fails_the_run_and_stops_the_pool() -> None:
    zammad = FakeZammad(100, fail_on=40)
    with pytest.raises(RuntimeError, match="history 40 failed"):
        list(iter_records(zammad.source(), PERIOD, make_source=zammad.source, concurrency=4, progress=False))
    assert all(s.closed for s in zammad.sources[1:])


def test_progress_bar_gets_its_total_from_the_counter(capsys: pytest.CaptureFixture[str]) -> None:
    zammad = FakeZammad(30)
    records = list(iter_records(zammad.source(), PERIOD, make_source=zammad.source, concurrency=2, progress=True))
    assert len(records) == 30
    assert "/30 [" in capsys.readouterr().err  # the counter (an own source) gave the total: ETA shown


def test_concurrency_is_bounded() -> None:
    zammad = FakeZammad(1)
    for bad in (0, 33):
        with pytest.raises(ValueError, match="concurrency"):
            list(iter_records(zammad.source(), PERIOD, concurrency=bad, progress=False))
