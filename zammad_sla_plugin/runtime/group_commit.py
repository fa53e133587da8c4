"""Group commit: concurrent callers share one storage transaction, each waits for its commit.

Where a webhook is acknowledged only once queued (a queue that fsyncs every commit: see
runtime/journal.py for the default), every receiver thread needs a commit. One transaction per request makes the threads queue one behind another
on the single SQLite connection (and its write lock), each paying a whole transaction.
Here the first caller to arrive while no batch is running becomes the leader: it takes
every request waiting at that moment (its own included), runs them all in one
transaction, and hands each caller its own result. Callers arriving meanwhile form the
next batch. Nothing waits on a timer: a lone caller commits at once, and batches grow
only as load does. Durability is unchanged: a caller returns only after the commit that
holds its writes.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Slot(Generic[Item, Result]):
    """One caller's item, its outcome, and the lock its thread sleeps on until woken."""

    __slots__ = ("item", "result", "error", "lead", "wake")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.lead = False  # woken to lead the next batch rather than with an outcome
        self.wake = threading.Lock()
        self.wake.acquire()  # held until this caller is woken: a one-shot signal


class GroupCommit(Generic[Item, Result]):
    """Run `write_batch(items)` for whatever callers are waiting, one batch at a time.

    `write_batch` gets a list of items and returns one entry per item: its result, or the
    exception that item raised (it is raised in that caller only). An exception from
    `write_batch` itself fails every caller of the batch. `max_batch` bounds a batch, so
    a long queue of callers does not make one transaction arbitrarily long.

    Each waiting caller sleeps on its own lock and is woken exactly once: with its
    outcome, or to lead the next batch (the leader of a batch hands over to the caller
    waiting longest), so a batch wakes only the threads it concerns.
    """

    def __init__(
        self, write_batch: Callable[[list[Item]], list[Result | BaseException]], *, max_batch: int = 256
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._mutex = threading.Lock()
        self._waiting: list[_Slot[Item, Result]] = []
        self._busy = False  # a batch is being written; its leader hands over or clears this
        self.batches = 0  # counts for tests and benchmarks
        self.items = 0

    def __call__(self, item: Item) -> Result:
        """Write `item` in the next batch and return its result once that batch committed."""
        slot: _Slot[Item, Result] = _Slot(item)
        with self._mutex:
            if self._busy:
                self._waiting.append(slot)
                batch = None
            else:
                self._busy = True
                batch = [slot]
        if batch is None:
            slot.wake.acquire()
            if slot.lead:
                with self._mutex:  # this caller is the first waiting: its batch starts with it
                    batch = self._waiting[: self._max_batch]
                    del self._waiting[: self._max_batch]
        if batch is not None:
            self._lead(batch)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set before the caller was woken

    def waiting(self) -> int:
        """Callers waiting for a batch to start (for tests and diagnostics)."""
        with self._mutex:
            return len(self._waiting)

    def _lead(self, batch: list[_Slot[Item, Result]]) -> None:
        outcomes = self._write(batch)
        for slot, outcome in zip(batch, outcomes):
            if isinstance(outcome, BaseException):
                slot.error = outcome
            else:
                slot.result = outcome
        with self._mutex:
            self.batches += 1
            self.items += len(batch)
            successor = self._waiting[0] if self._waiting else None
            if successor is None:
                self._busy = False
            else:
                successor.lead = True
        for slot in batch[1:]:  # the first one is this thread
            slot.wake.release()
        if successor is not None:
            successor.wake.release()

    def _write(self, batch: list[_Slot[Item, Result]]) -> list[Result | BaseException]:
        try:
            outcomes = self._write_batch([slot.item for slot in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"write_batch returned {len(outcomes)} results for {len(batch)} items")
        except BaseException as error:  # every caller must learn that its write failed
            return [error] * len(batch)
        return outcomes
