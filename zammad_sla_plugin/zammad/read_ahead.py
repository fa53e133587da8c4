"""Read an iterable ahead in a background thread, a bounded number of items.

The report and the backfill page through Zammad's search (200 tickets a page, one slow
call each) while a thread pool works on the tickets. Paging in the consuming thread stalls
the pool for every page; reading ahead keeps the next page arriving while the current one
is worked on, and the bound keeps memory flat however many tickets there are.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1


@dataclass
class _End:
    error: BaseException | None = None


def read_ahead(items: Iterable[T], size: int, *, name: str = "read-ahead") -> Iterator[T]:
    """Yield `items` in order, produced by a daemon thread at most `size` items ahead.

    An exception raised while producing is raised here, after the items produced before
    it. Closing the returned generator early stops the producer at its next item (it is
    not waited for: it may be inside a slow call, which the caller ends by closing the
    client it reads through).
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    buffer: queue.Queue[T | _End] = queue.Queue(maxsize=size)
    stop = threading.Event()

    def put(item: T | _End) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, who decides
            put(_End(error))
            return
        put(_End())

    return _consume(buffer, stop, threading.Thread(target=produce, name=name, daemon=True))


def _consume(buffer: queue.Queue[T | _End], stop: threading.Event, producer: threading.Thread) -> Iterator[T]:
    producer.start()
    try:
        while True:
            item = buffer.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
