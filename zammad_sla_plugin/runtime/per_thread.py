"""One object per worker thread (e.g. a Zammad client, whose session is not shared across
threads), closed together when the pool is done. Used by the report and the backfill."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

S = TypeVar("S")


def close_if_closable(item: Any) -> None:
    """Call `item.close()` when it has one."""
    closer = getattr(item, "close", None)
    if callable(closer):
        closer()


class PerThread(Generic[S]):
    """One object per thread from `factory`; `close()` closes every one made (with `closer`,
    by default the object's own `close` method if it has one)."""

    def __init__(self, factory: Callable[[], S], closer: Callable[[S], None] = close_if_closable) -> None:
        self._factory = factory
        self._closer = closer
        self._local = threading.local()
        self._made: list[S] = []
        self._lock = threading.Lock()

    def get(self) -> S:
        """This thread's object."""
        item = getattr(self._local, "item", None)
        if item is None:
            item = self._local.item = self._factory()
            with self._lock:
                self._made.append(item)
        return item

    def close(self) -> None:
        """Close what was made."""
        with self._lock:
            made, self._made = self._made, []
        for item in made:
            self._closer(item)
