"""runtime/journal.py: acknowledged deliveries reach the queue, across kill -9 and failures."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zammad_sla_plugin.runtime.journal import JOURNAL_DIRNAME, DeliveryJournal, decode, encode
from zammad_sla_plugin.runtime.queue import TicketQueue, build_huey

REPO_ROOT = Path(__file__).resolve().parent.parent


def wait_until(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return bool(condition())


def make_queue(data_dir: Path) -> TicketQueue:
    return TicketQueue(build_huey(data_dir=data_dir), lambda ticket_id: None, coalesce_seconds=60)


def journal_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / JOURNAL_DIRNAME).glob("*.journal"))


@pytest.fixture
def queue(tmp_path: Path) -> TicketQueue:
    return make_queue(tmp_path)


def open_journal(queue: TicketQueue, data_dir: Path, **options: Any) -> DeliveryJournal:
    journal = DeliveryJournal(queue, data_dir / JOURNAL_DIRNAME, ttl_seconds=queue.delivery_ttl_seconds, **options)
    journal.open()
    return journal


def test_a_journaled_delivery_reaches_the_queue_and_duplicates_are_refused(queue: TicketQueue, tmp_path: Path) -> None:
    journal = open_journal(queue, tmp_path)
    try:
        assert journal.submit(7, "d-1") is True
        assert journal.submit(7, "d-1") is False  # answered from the journal's index
        assert journal.submit(8, None) is True
        assert wait_until(lambda: journal.backlog() == 0)
        assert queue.scheduled() == 2  # one coalesced evaluation per ticket
        assert queue.submit(7, "d-1") is False  # the queue knows the delivery id too
    finally:
        assert journal.close()
    assert journal_files(tmp_path) == []  # closed: everything is in the queue, the files are gone


def test_close_queues_what_is_journaled_and_later_submits_are_refused(queue: TicketQueue, tmp_path: Path) -> None:
    journal = open_journal(queue, tmp_path)
    for ticket in range(1, 201):
        journal.submit(ticket, f"d-{ticket}")
    assert journal.close()
    assert queue.scheduled() == 200
    with pytest.raises(RuntimeError, match="closed"):
        journal.submit(1, "late")


KILLED_AFTER_ACK = textwrap.dedent(
    """
    import os, signal, sys, threading
    from pathlib import Path
    from zammad_sla_plugin.runtime.journal import JOURNAL_DIRNAME, DeliveryJournal
    from zammad_sla_plugin.runtime.queue import TicketQueue, build_huey
    data_dir = Path(sys.argv[1])
    queue = TicketQueue(build_huey(data_dir=data_dir), lambda t: None, coalesce_seconds=60)
    never = threading.Event()
    queue.submit_many = lambda events: never.wait()  # the mover never gets anything into the queue
    journal = DeliveryJournal(queue, data_dir / JOURNAL_DIRNAME, ttl_seconds=86400)
    journal.open()
    for ticket in range(1, 51):
        assert journal.submit(ticket, f"delivery-{ticket}")
    journal.submit(99, None)
    print("acknowledged", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_kill_9_after_the_acknowledgement_loses_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_ACK, str(tmp_path)], capture_output=True, text=True, cwd=REPO_ROOT,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL and proc.stdout.strip() == "acknowledged", proc.stderr
    queue = make_queue(tmp_path)
    assert queue.scheduled() == 0 and len(journal_files(tmp_path)) == 1  # only in the journal
    journal = DeliveryJournal(queue, tmp_path / JOURNAL_DIRNAME, ttl_seconds=86400)
    assert journal.open() == 51
    try:
        assert queue.scheduled() == 51  # every acknowledged delivery, queued
        assert all(queue.submit(ticket, f"delivery-{ticket}") is False for ticket in range(1, 51))
        assert journal.submit(3, "delivery-3") is False  # Zammad retrying: still a duplicate
    finally:
        journal.close()
    # Replaying the same file again (a crash during the replay) queues nothing twice.
    (tmp_path / JOURNAL_DIRNAME / "0-1.journal").write_bytes(
        b"".join(encode(ticket, f"delivery-{ticket}", time.time()) for ticket in range(1, 51))
    )
    again = DeliveryJournal(queue, tmp_path / JOURNAL_DIRNAME, ttl_seconds=86400)
    assert again.open() == 50
    again.close()
    assert queue.scheduled() == 51


def test_a_torn_record_is_skipped_and_the_next_one_kept(queue: TicketQueue, tmp_path: Path) -> None:
    directory = tmp_path / JOURNAL_DIRNAME
    directory.mkdir()
    whole, torn, after = encode(1, "a", 1.5), encode(2, "b", 2.5), encode(3, "c;d", 3.5)
    (directory / "0-1.journal").write_bytes(whole + torn[:-4] + after + b"\n12\tx\t1.0\tdeadbeef;")
    journal = DeliveryJournal(queue, directory, ttl_seconds=1e12)
    assert journal.open() == 2  # the torn one and the one with a wrong checksum are skipped
    journal.close()
    assert queue.submit(1, "a") is False and queue.submit(3, "c;d") is False and queue.submit(2, "b") is True


def test_a_live_processes_segment_is_not_replayed(tmp_path: Path) -> None:
    first_queue = make_queue(tmp_path)
    never = threading.Event()
    real = first_queue.submit_many
    first_queue.submit_many = lambda events: (never.wait(), real(events))[1]  # type: ignore[method-assign]
    first = open_journal(first_queue, tmp_path)
    first.submit(5, "live")
    second = DeliveryJournal(make_queue(tmp_path), tmp_path / JOURNAL_DIRNAME, ttl_seconds=86400)
    assert second.open() == 0  # the first one's segment is locked: it is still at work
    second.close()
    assert len(journal_files(tmp_path)) == 1
    never.set()
    assert first.close() and journal_files(tmp_path) == []


def test_delivery_ids_the_queue_already_has_are_duplicates(queue: TicketQueue, tmp_path: Path) -> None:
    assert queue.submit(1, "before-restart") is True
    journal = open_journal(queue, tmp_path)
    try:
        assert journal.submit(1, "before-restart") is False
    finally:
        journal.close()


def test_ids_past_the_horizon_are_forgotten(queue: TicketQueue, tmp_path: Path) -> None:
    now = [1000.0]
    journal = DeliveryJournal(queue, tmp_path / JOURNAL_DIRNAME, ttl_seconds=60, clock=lambda: now[0])
    journal.open()
    try:
        assert journal.submit(1, "old") is True
        now[0] += 59
        assert journal.submit(1, "old") is False  # within the horizon
        now[0] += 30
        assert journal.submit(1, "new") is True  # "old" is 89 s old: at most 60 + 15 s are kept
        assert len(journal.seen) == 1
    finally:
        journal.close()


def test_a_failing_queue_is_retried_and_reported(queue: TicketQueue, tmp_path: Path) -> None:
    real = queue.submit_many
    healed = threading.Event()
    attempts = [0]

    def flaky(events: list[tuple[int, str | None, float]]) -> list[bool | BaseException]:
        attempts[0] += 1
        if not healed.is_set():
            raise OSError("database is locked")
        return real(events)

    queue.submit_many = flaky  # type: ignore[method-assign]
    journal = open_journal(queue, tmp_path, retry_delay=0.01)
    try:
        journal.submit(4, "d")
        assert wait_until(lambda: attempts[0] >= 3)  # retried, not dropped
        assert journal.backlog() == 1
        assert "database is locked" in str(journal.problem(after=0.0))
        assert journal.problem(after=3600) is None  # not yet worth a readiness failure
        healed.set()
        assert wait_until(lambda: journal.backlog() == 0)
        assert journal.problem(after=0.0) is None and queue.scheduled() == 1
    finally:
        journal.close()


def test_a_full_backlog_makes_submit_wait_not_fail(queue: TicketQueue, tmp_path: Path) -> None:
    gate = threading.Event()
    real = queue.submit_many
    queue.submit_many = lambda events: (gate.wait(), real(events))[1]  # type: ignore[method-assign]
    journal = open_journal(queue, tmp_path, max_backlog=2)
    try:
        journal.submit(1, "a")
        journal.submit(2, "b")
        third = threading.Thread(target=journal.submit, args=(3, "c"))
        third.start()
        third.join(0.2)
        assert third.is_alive()  # waiting for room, not refused
        gate.set()
        third.join(5)
        assert not third.is_alive()
    finally:
        journal.close()
    assert queue.scheduled() == 3


def test_a_full_disk_refuses_the_delivery_and_forgets_its_id(
    queue: TicketQueue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_size = len(encode(1, "retried", time.time()))
    journal = open_journal(queue, tmp_path, segment_bytes=record_size + 8)  # room for one record
    try:
        assert journal.submit(1, "first") is True
        import zammad_sla_plugin.runtime.journal as module

        def disk_full(fd: int, offset: int, length: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(module.os, "posix_fallocate", disk_full)
        with pytest.raises(OSError, match="No space"):  # a 503: Zammad retries later
            journal.submit(1, "retried")
        monkeypatch.undo()
        assert journal.submit(1, "retried") is True  # the retry is not a duplicate
        assert wait_until(lambda: journal.backlog() == 0)
    finally:
        journal.close()
    assert queue.submit(1, "first") is False and queue.submit(1, "retried") is False
    assert journal_files(tmp_path) == []


def test_segments_rotate_and_are_deleted_once_queued(queue: TicketQueue, tmp_path: Path) -> None:
    journal = open_journal(queue, tmp_path, segment_bytes=5 * len(encode(10, "d-10", time.time())))
    try:
        for ticket in range(1, 23):
            journal.submit(ticket, f"d-{ticket}")
            time.sleep(0.002)
        assert wait_until(lambda: journal.backlog() == 0 and len(journal_files(tmp_path)) == 1)
    finally:
        journal.close()
    assert queue.scheduled() == 22 and journal_files(tmp_path) == []


delivery_ids = st.one_of(st.none(), st.text(st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1))


@given(st.lists(st.tuples(st.integers(1, 2**63 - 1), delivery_ids, st.floats(0, 4e9)), max_size=20))
def test_records_read_back_as_written(events: list[tuple[int, str | None, float]]) -> None:
    data = b"".join(encode(*event) for event in events)
    assert decode(data) == (events, 0)
