"""Webhook deliveries written to a journal file before they are acknowledged, queued behind.

Why: a delivery acknowledged only once its SQLite transaction commits waits for that
commit, and the commit runs among 32 request threads contending for the GIL: every SQLite
call gives the GIL up and waits to get it back, so a batch of 16 deliveries took ~3 ms and
~35 us of CPU per delivery, where the same batch alone takes ~7 us each (profiled with
benchmarks/bench_receiver.py, 2026-12-03). Appending a line to a file is one `write()`
call in the request thread; one background thread (the mover) then writes what
accumulated into the queue in large transactions.

Durability is the queue's own: SQLite in WAL mode with synchronous=NORMAL commits to the
OS's page cache, and so does `write()`. An acknowledged delivery survives the process being
killed (its line is in the file) but not a power cut of the host. When the queue fsyncs
every commit (ZAMMAD_SLA_QUEUE_FSYNC=on) or lives in Redis, the sidecar does not use a
journal: deliveries are written to the queue before the acknowledgement, as before.

- **Answer.** `submit` answers as `TicketQueue.submit` does: False for a delivery id seen
  in the last `ttl_seconds` (the queue's own de-duplication horizon), from an index of the
  ids this process journaled plus those the queue held when the journal opened (one
  receiver process per queue file, as with SQLite anyway). The queue still refuses a
  repeated id itself, so a second process on the same file may answer True for a
  duplicate but never queues it twice.
- **Files.** `<data dir>/journal/<ns>-<pid>.journal`, held under `flock` while open. A
  record is `\\n<ticket>\\t<delivery>\\t<received>\\t<crc32>;`: the leading newline keeps
  a record cut short by a failed write from swallowing the next one, and a record without
  its `;` or with a wrong checksum is skipped (its `write()` never returned, so it was not
  acknowledged). A segment is deleted once everything in it is in the queue.
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
import os
import queue as queue_module
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Protocol

logger = logging.getLogger(__name__)

JOURNAL_DIRNAME = "journal"
_SUFFIX = ".journal"
_MAX_MOVE = 128  # deliveries per pass of the mover
_SEGMENT_RECORDS = 100_000  # records per segment before the mover starts a new one
_STOP = None


class Queue(Protocol):
    """What the journal needs of `TicketQueue`."""

    def submit_many(self, events: list[tuple[int, str | None, float]]) -> list[bool | BaseException]: ...  # noqa: D102
    def deliveries_seen(self) -> Iterator[tuple[str, float]]: ...  # noqa: D102


def encode(ticket_id: int, delivery_id: str | None, received: float) -> bytes:
    """One journal record (see the module docstring)."""
    fields = f"{ticket_id}\t{delivery_id or ''}\t{received!r}"
    return f"\n{fields}\t{zlib.crc32(fields.encode()):08x};".encode()


def decode(data: bytes) -> tuple[list[tuple[int, str | None, float]], int]:
    """The complete records in a journal file's bytes, and how many pieces were skipped."""
    events: list[tuple[int, str | None, float]] = []
    skipped = 0
    for piece in data.decode("utf-8", "replace").split("\n"):
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
    """One journal file: its descriptor, and who is still writing to it or owes it a move."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live segment: not replayed by others
        self.guard = threading.Lock()
        self.sealed = False  # no new writer enters once set
        self.writers = 0  # requests between entering and handing their record to the mover
        self.handed = 0  # records handed to the mover
        self.moved = 0  # records the mover wrote into the queue (the mover's own counter)

    def done(self) -> bool:
        with self.guard:
            return self.sealed and self.writers == 0 and self.moved >= self.handed

    def remove(self) -> None:
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
        segment_records: int = _SEGMENT_RECORDS,
        retry_delay: float = 1.0,
    ) -> None:
        self._queue = queue
        self.directory = Path(directory)
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._segment_records = segment_records
        self._retry_delay = retry_delay
        self._room = threading.Semaphore(max_backlog)
        self._handoff: queue_module.SimpleQueue[tuple[_Segment, tuple[int, str | None, float]] | None] = (
            queue_module.SimpleQueue()
        )
        self._seen: dict[str, float] = {}  # delivery id -> first seen, oldest first
        self._seen_guard = threading.Lock()
        self._segment: _Segment | None = None
        self._sealed: list[_Segment] = []
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
        cutoff = self._clock() - self.ttl_seconds
        seen = sorted((at, delivery) for delivery, at in self._queue.deliveries_seen() if at >= cutoff)
        self._seen = {delivery: at for at, delivery in seen}
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
        with segment.guard:
            segment.sealed = True
        deadline = time.monotonic() + timeout
        # Requests that entered before the seal hand their records over before the STOP.
        while any(s.writers for s in [*self._sealed, segment]) and time.monotonic() < deadline:
            time.sleep(0.001)
        self._handoff.put(_STOP)  # after every record handed over: the mover moves them first
        mover.join(max(0.0, deadline - time.monotonic()))
        if mover.is_alive():
            return False
        for done in [*self._sealed, segment]:
            done.remove()
        self._sealed, self._segment, self._mover = [], None, None
        return True

    def backlog(self) -> int:
        """Deliveries journaled and not yet in the queue."""
        segments = [*self._sealed, *([self._segment] if self._segment else [])]
        return sum(max(0, s.handed - s.moved) for s in segments)

    def problem(self, after: float = 30.0) -> str | None:
        """Why deliveries are not reaching the queue, once they have failed for `after` s."""
        since = self.failing_since
        if since is None or self._clock() - since < after:
            return None
        return (
            f"{self.backlog()} acknowledged webhook deliveries not yet queued for {self._clock() - since:.0f}s "
            f"(they are kept in {self.directory}): {self.last_error}"
        )

    # -- the request side --------------------------------------------------------------
    def submit(self, ticket_id: int, delivery_id: str | None = None) -> bool:
        """Journal one delivery; False (nothing written) when its id was seen before."""
        if self._segment is None:
            raise RuntimeError("the delivery journal is not open (or closed)")
        received = self._clock()
        if delivery_id is not None and not self._first_sighting(delivery_id, received):
            return False
        record = encode(ticket_id, delivery_id, received)
        self._room.acquire()
        handed = False
        segment: _Segment | None = None
        try:
            segment = self._enter()
            written = os.write(segment.fd, record)
            if written != len(record):
                raise OSError(f"short write to {segment.path} ({written} of {len(record)} bytes)")
            self._handoff.put((segment, (ticket_id, delivery_id, received)))
            handed = True
        finally:
            if segment is not None:
                with segment.guard:
                    segment.writers -= 1
                    segment.handed += handed
            if not handed:
                self._room.release()
                if delivery_id is not None:
                    with self._seen_guard:  # not acknowledged: Zammad's retry is no duplicate
                        self._seen.pop(delivery_id, None)
        return True

    def _first_sighting(self, delivery_id: str, received: float) -> bool:
        with self._seen_guard:
            if delivery_id in self._seen:
                return False
            self._seen[delivery_id] = received
            # Forget ids past the horizon, oldest first (a couple per call keeps up).
            for _ in range(2):
                oldest = next(iter(self._seen))
                if self._seen[oldest] >= received - self.ttl_seconds:
                    break
                del self._seen[oldest]
            return True

    def _enter(self) -> _Segment:
        while True:
            segment = self._segment
            if segment is None or self._closing:
                raise RuntimeError("the delivery journal is closed")
            with segment.guard:
                if not segment.sealed:
                    segment.writers += 1
                    return segment

    # -- the mover ------------------------------------------------------------------------
    def _move_forever(self) -> None:
        while True:
            batch: list[tuple[_Segment, tuple[int, str | None, float]]] = []
            item = self._handoff.get()
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
                logger.exception("delivery journal: could not rotate or delete a segment")

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
        current = self._segment
        if current is not None and current.handed >= self._segment_records:
            self._segment = self._new_segment()
            with current.guard:
                current.sealed = True
            self._sealed.append(current)
        for segment in [s for s in self._sealed if s.done()]:
            self._sealed.remove(segment)
            segment.remove()

    def _new_segment(self) -> _Segment:
        return _Segment(self.directory / f"{time.time_ns():020d}-{os.getpid()}{_SUFFIX}")

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
