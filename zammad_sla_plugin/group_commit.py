"""Group commit: concurrent callers share one storage transaction, each waits for its commit.

A webhook must be durably queued before it is acknowledged, so every receiver thread
needs a commit. One transaction per request makes the threads queue one behind another
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
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    """Run `write_batch(items)` for whatever callers are waiting, one batch at a time.

    `write_batch` gets a list of items and returns one entry per item: its result, or the
    exception that item raised (it is raised in that caller only). An exception from
    `write_batch` itself fails every caller of the batch. `max_batch` bounds a batch, so
    a long queue of callers does not make one transaction arbitrarily long.
    """

    def __init__(
        self, write_batch: Callable[[list[Item]], list[Result | BaseException]], *, max_batch: int = 256
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._cond = threading.Condition(threading.Lock())
        self._waiting: list[_Slot[Item, Result]] = []
        self._busy = False
        self.batches = 0  # counts for tests and benchmarks
        self.items = 0

    def __call__(self, item: Item) -> Result:
        """Write `item` in the next batch and return its result once that batch committed."""
        slot: _Slot[Item, Result] = _Slot(item)
        with self._cond:
            self._waiting.append(slot)
            while not slot.done:
                if self._busy:
                    self._cond.wait()
                    continue
                # Lead: take the callers waiting longest (normally this one among them).
                self._busy = True
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                self._cond.release()
                try:
                    outcomes = self._write(batch)
                finally:
                    self._cond.acquire()
                self._publish(batch, outcomes)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set together with done

    def waiting(self) -> int:
        """Callers waiting for a batch to start (for tests and diagnostics)."""
        with self._cond:
            return len(self._waiting)

    def _write(self, batch: list[_Slot[Item, Result]]) -> list[Result | BaseException]:
        try:
            outcomes = self._write_batch([slot.item for slot in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"write_batch returned {len(outcomes)} results for {len(batch)} items")
        except BaseException as error:  # every caller must learn that its write failed
            return [error] * len(batch)
        return outcomes

    def _publish(self, batch: list[_Slot[Item, Result]], outcomes: list[Result | BaseException]) -> None:
        # Called with the condition held.
        for slot, outcome in zip(batch, outcomes):
            if isinstance(outcome, BaseException):
                slot.error = outcome
            else:
                slot.result = outcome
            slot.done = True
        self.batches += 1
        self.items += len(batch)
        self._busy = False
        self._cond.notify_all()
