"""`read_ahead`: order kept, bounded, errors handed over, an early stop stops the producer."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import pytest

from zammad_sla_plugin.zammad.read_ahead import read_ahead


class Source:
    """Counts what it produced; optionally fails at one item or waits on a gate."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.produced = 0
        self.finished = threading.Event()

    def __iter__(self) -> Iterator[int]:
        try:
            for n in range(self.count):
                if n == self.fail_at:
                    raise RuntimeError(f"page {n} failed")
                self.produced += 1
                yield n
        finally:
            self.finished.set()


def _wait_for(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_keeps_order_and_stays_within_its_bound() -> None:
    source = Source(100)
    items = read_ahead(source, 5)
    assert next(items) == 0
    _wait_for(lambda: source.produced >= 6)  # the thread reads ahead...
    time.sleep(0.05)
    assert source.produced <= 1 + 5 + 1  # ...up to the bound (plus the item it holds, waiting for room)
    assert list(items) == list(range(1, 100))


def test_an_error_comes_after_the_items_before_it() -> None:
    received = []
    with pytest.raises(RuntimeError, match="page 7 failed"):
        for item in read_ahead(Source(20, fail_at=7), 3):
            received.append(item)
    assert received == list(range(7))


def test_closing_early_stops_the_producer() -> None:
    source = Source(10_000)
    items = read_ahead(source, 4)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    _wait_for(source.finished.is_set)
    assert source.produced < 20


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size"):
        read_ahead([1], 0)
