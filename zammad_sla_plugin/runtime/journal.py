"""Webhook deliveries written to a journal before they are acknowledged, queued behind.

Why (benchmarks/bench_receiver.py, 32 senders, profiled 2026-12-03): acknowledging after
the SQLite commit puts the commit on every request's path, among 32 request threads
contending for the GIL. Each SQLite call gives the GIL up and waits to get it back, so a
batch of 16 deliveries took ~3 ms and ~35 us of CPU per delivery where the same batch
alone takes ~7 us each, and the requests waiting for it held the throughput at 0.82x a
bare server's. Here the request thread copies a record into a memory-mapped file (no
system call, the GIL kept throughout: a `write()` per delivery measured 6-10 % slower),
and one background thread (the mover) writes what gathered into the queue, up to 128
deliveries a transaction: 0.94-1.00x.

Durability is the queue's own: SQLite in WAL mode with synchronous=NORMAL commits to the
OS's page cache, and a store into a shared file mapping is in the page cache too. An
acknowledged delivery survives the process being killed (the kernel writes the page back
to the file) but not a power cut of the host. When the queue fsyncs every commit
(ZAMMAD_SLA_QUEUE_FSYNC=on) or lives in Redis, the sidecar uses no journal: deliveries are
acknowledged after their write to the queue, as before.

- **Answer.** `submit` answers as `TicketQueue.submit` does: False for a delivery id seen
  in the last `ttl_seconds` (the queue's own de-duplication horizon), from an index of the
  ids this process journaled plus those the queue held when the journal opened
  (runtime/seen_deliveries.py; one receiver process per queue file, as with SQLite
  anyway). The queue still refuses a repeated id itself, so a second process on the same
  file may answer True for a duplicate but never queues it twice.
- **Files.** `<data dir>/journal/<ns>-<pid>.journal`, `SEGMENT_BYTES` each, allocated in
  full when created (so a full disk refuses a new segment, never a page being written) and
  held under `flock` while open. A record is `\\n<ticket>\\t<delivery>\\t<received>\\t<crc32>;`
  and the unused rest of a segment is zeros. A record without its `;` or with a wrong
  checksum (a process killed while copying it, before its acknowledgement) is skipped. A
  segment is deleted once everything in it is in the queue.
- **Recovery.** `open()` first writes into the queue every record of every segment no live
  process holds (a killed process's), then deletes those segments. A record the queue
  already has is a repeated delivery id and is dropped there, so replaying twice queues
  nothing twice; a record without a delivery id costs at most one extra evaluation.
- **Back-pressure.** At most `max_backlog` deliveries wait for the mover; more wait in
  `submit` (the request is answered later, nothing is refused).
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import queue as queue_module
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Protocol

from zammad_sla_plugin.runtime.seen_deliveries import SeenDeliveries

logger = logging.getLogger(__name__)

JOURNAL_DIRNAME = "journal"
_SUFFIX = ".journal"
_MAX_MOVE = 128  # deliveries per pass of the mover
SEGMENT_BYTES = 4 * 1024 * 1024  # 16k-60k records: a delivery id is at most 200 characters
_STOP = None


class Queue(Protocol):
    """What the journal needs of `TicketQueue`."""

    delivery_ttl_seconds: float

    def submit_many(self, events: list[tuple[int, str | None, float]]) -> list[bool | BaseException]: ...  # noqa: D102
    def deliveries_seen(self) -> Iterator[tuple[str, float]]: ...  # noqa: D102


def journal_for(queue: Queue, data_dir: str | os.PathLike[str]) -> DeliveryJournal:
    """The journal of the receiver writing into `queue`, in `data_dir` (not yet open)."""
    return DeliveryJournal(queue, Path(data_dir) / JOURNAL_DIRNAME, ttl_seconds=queue.delivery_ttl_seconds)


def encode(ticket_id: int, delivery_id: str | None, received: float) -> bytes:
    """One journal record (see the module docstring)."""
    fields = f"{ticket_id}\t{delivery_id or ''}\t{received!r}"
    return f"\n{fields}\t{zlib.crc32(fields.encode()):08x};".encode()


def decode(data: bytes) -> tuple[list[tuple[int, str | None, float]], int]:
    """The complete records in a journal file's bytes, and how many pieces were skipped."""
    events: list[tuple[int, str | None, float]] = []
    skipped = 0
    for piece in data.rstrip(b"\0").decode("utf-8", "replace").split("\n"):
        if not piece:
            continue
        fields, _, crc = piece.removesuffix(";").rpartition("\t")
        parts = fields.split("\t")
        try:
            valid = piece.endswith(";") and len(parts) == 3 and int(crc, 16) == zlib.crc32(fields.encode())
            event = (int(parts[0]), parts[1] or None, float(parts[2])) if valid else None
        except ValueError:
            event = None
        if event is None:
            skipped += 1
        else:
            events.append(event)
    return events, skipped


class _Segment:
    """One journal file, mapped into memory, and how many of its records are in the queue."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live segment: not replayed by others
            os.posix_fallocate(fd, 0, size)  # ENOSPC here, not SIGBUS when a page is first written
            self.map = mmap.mmap(fd, size)  # MAP_SHARED: stores reach the file through the page cache
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        self.fd = fd
        self.guard = threading.Lock()  # held to append: a record's bytes and its hand-over together
        self.offset = 0
        self.sealed = False  # nothing more is appended once set
        self.handed = 0  # records appended and handed to the mover
        self.moved = 0  # records the mover wrote into the queue (the mover's own counter)

    def append(self, record: bytes) -> bool:
        """Copy `record` in after the last one (call with `guard` held); False when full."""
        end = self.offset + len(record)
        if end > len(self.map):
            return False
        self.map[self.offset:end] = record
        self.offset = end
        return True

    def done(self) -> bool:
        with self.guard:
            return self.sealed and self.moved >= self.handed

    def remove(self) -> None:
        self.map.close()
        os.close(self.fd)
        self.path.unlink(missing_ok=True)


class DeliveryJournal:
    """`submit(ticket_id, delivery_id)` for the receiver: journaled on return, queued behind."""

    def __init__(
        self,
        queue: Queue,
        directory: str | os.PathLike[str],
        *,
        ttl_seconds: float,
        max_backlog: int = 10_000,
        clock: Callable[[], float] = time.time,
        segment_bytes: int = SEGMENT_BYTES,
        retry_delay: float = 1.0,
        gather_seconds: float = 0.005,
    ) -> None:
        self._queue = queue
        self.directory = Path(directory)
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._segment_bytes = segment_bytes
        self._retry_delay = retry_delay
        self._gather_seconds = gather_seconds
        self._room = threading.Semaphore(max_backlog)
        self._handoff: queue_module.SimpleQueue[tuple[_Segment, tuple[int, str | None, float]] | None] = (
            queue_module.SimpleQueue()
        )
        self.seen = SeenDeliveries(ttl_seconds)
        self._segment: _Segment | None = None
        self._sealed: list[_Segment] = []  # full segments not yet all in the queue
        self._rotation = threading.Lock()  # one new segment at a time; guards `_sealed`
        self._mover: threading.Thread | None = None
        self._closing = False
        self.failing_since: float | None = None  # when the mover's writes started failing
        self.last_error: str | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def open(self) -> int:
        """Queue what killed processes left in the journal, then start taking deliveries.

        Returns how many journaled deliveries were replayed into the queue.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        replayed = self._replay()
        self.seen.load(self._queue.deliveries_seen(), self._clock())
        self._segment = self._new_segment()
        self._mover = threading.Thread(target=self._move_forever, name="delivery-journal", daemon=True)
        self._mover.start()
        return replayed

    def close(self, timeout: float = 10.0) -> bool:
        """Stop taking deliveries, queue everything journaled and delete the journal's files.

        Call once the server stopped answering; a `submit` after this raises. False when
        the mover did not finish within `timeout` (the files stay, replayed at the next
        start).
        """
        segment, mover = self._segment, self._mover
        if segment is None or mover is None:
            return True
        self._closing = True
        with segment.guard:  # appends and hand-overs happen under it: all are before the STOP
            segment.sealed = True
        self._handoff.put(_STOP)
        mover.join(timeout)
        if mover.is_alive():
            return False
        with self._rotation:
            for done in [*self._sealed, segment]:
                done.remove()
            self._sealed, self._segment, self._mover = [], None, None
        return True

    def backlog(self) -> int:
        """Deliveries journaled and not yet in the queue."""
        with self._rotation:
            segments = [*self._sealed, *([self._segment] if self._segment else [])]
        return sum(max(0, s.handed - s.moved) for s in segments)

    def problem(self, after: float = 30.0) -> str | None:
        """Why deliveries are not reaching the queue, once they have failed for `after` s."""
        since = self.failing_since
        if since is None or self._clock() - since < after:
            return None
        return (
            f"webhook deliveries acknowledged but not queued for {self._clock() - since:.0f}s: {self.backlog()} "
            f"(kept in {self.directory}); last error: {self.last_error}"
        )

    # -- the request side --------------------------------------------------------------
    def submit(self, ticket_id: int, delivery_id: str | None = None) -> bool:
        """Journal one delivery; False (nothing written) when its id was seen before."""
        if self._segment is None:
            raise RuntimeError("the delivery journal is not open (or closed)")
        received = self._clock()
        if delivery_id is not None and not self.seen.add_if_new(delivery_id, received):
            return False
        record = encode(ticket_id, delivery_id, received)
        self._room.acquire()
        try:
            self._append(record, (ticket_id, delivery_id, received))
        except BaseException:
            self._room.release()
            if delivery_id is not None:
                self.seen.forget(delivery_id)  # not acknowledged: Zammad's retry is no duplicate
            raise
        return True

    def _append(self, record: bytes, event: tuple[int, str | None, float]) -> None:
        if len(record) > self._segment_bytes:  # would never fit: refuse rather than rotate forever
            raise ValueError(f"journal record of {len(record)} bytes exceeds the segment size")
        while True:
            segment = self._segment
            if segment is None or self._closing:
                raise RuntimeError("the delivery journal is closed")
            with segment.guard:
                if not segment.sealed:
                    if segment.append(record):
                        self._handoff.put((segment, event))
                        segment.handed += 1
                        return
                    segment.sealed = True  # full
            self._rotate(segment)

    def _rotate(self, full: _Segment) -> None:
        with self._rotation:
            if self._segment is full and not self._closing:
                self._segment = self._new_segment()  # OSError (a full disk): this request is refused
                self._sealed.append(full)

    # -- the mover ------------------------------------------------------------------------
    def _move_forever(self) -> None:
        while True:
            batch: list[tuple[_Segment, tuple[int, str | None, float]]] = []
            item = self._handoff.get()
            if self._gather_seconds:
                time.sleep(self._gather_seconds)  # let a burst gather: one transaction, one wake-up
            while item is not _STOP:
                batch.append(item)
                if len(batch) >= _MAX_MOVE:
                    break
                try:
                    item = self._handoff.get_nowait()
                except queue_module.Empty:
                    break
            while batch:
                try:
                    self._move(batch)
                    batch = []
                except Exception:  # a bug, not the queue: never let the mover die; moving again is safe
                    logger.exception("delivery journal: moving %d deliveries failed; retrying", len(batch))
                    time.sleep(self._retry_delay)
            if item is _STOP:
                return
            try:
                self._tidy()
            except OSError:
                logger.exception("delivery journal: could not delete a segment")

    def _move(self, batch: list[tuple[_Segment, tuple[int, str | None, float]]]) -> None:
        events = [event for _, event in batch]
        while True:
            try:
                outcomes = self._queue.submit_many(events)
            except Exception as error:  # the queue is unavailable: keep the batch, try again
                if self.failing_since is None:
                    self.failing_since = self._clock()
                    logger.exception("could not queue %d journaled deliveries; retrying", len(events))
                self.last_error = f"{type(error).__name__}: {error}"
                time.sleep(self._retry_delay)
                continue
            break
        self.failing_since, self.last_error = None, None
        for (ticket_id, delivery_id, _), outcome in zip(events, outcomes):
            if isinstance(outcome, BaseException):
                # Only this event's own write failed (it stays in the journal file until
                # its segment is done): say so loudly, the ticket waits for a reconcile.
                logger.error("journaled delivery %s of ticket %s could not be queued: %s", delivery_id, ticket_id,
                             outcome)
        for segment, _ in batch:
            segment.moved += 1
        for _ in batch:
            self._room.release()

    def _tidy(self) -> None:
        with self._rotation:
            done = [segment for segment in self._sealed if segment.done()]
            for segment in done:
                self._sealed.remove(segment)
                segment.remove()

    def _new_segment(self) -> _Segment:
        return _Segment(self.directory / f"{time.time_ns():020d}-{os.getpid()}{_SUFFIX}", self._segment_bytes)

    # -- recovery -----------------------------------------------------------------------
    def _replay(self) -> int:
        replayed = 0
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # its process finished it meanwhile
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # a live process's segment
                    continue
                with os.fdopen(os.dup(fd), "rb") as stream:
                    events, skipped = decode(stream.read())
                if skipped:
                    logger.warning("%s: skipped %d incomplete journal records (never acknowledged)", path, skipped)
                for start in range(0, len(events), _MAX_MOVE):
                    outcomes = self._queue.submit_many(events[start:start + _MAX_MOVE])
                    failed = [o for o in outcomes if isinstance(o, BaseException)]
                    if failed:
                        raise failed[0]
                replayed += len(events)
                path.unlink()
            finally:
                os.close(fd)
        if replayed:
            logger.warning("queued %d webhook deliveries journaled by a process that stopped abruptly", replayed)
        return replayed
