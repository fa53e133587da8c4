"""Tests for zammad_sla_plugin.runtime.group_commit: concurrent callers share batches, each gets its own result."""

from __future__ import annotations

import threading
import time
from typing import Callable

import pytest

from zammad_sla_plugin.runtime.group_commit import GroupCommit


class Gate:
    """A write_batch that records its batches and holds the first one until released."""

    def __init__(self, fail: Callable[[int], BaseException | None] = lambda item: None) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.release.wait(5)
        return [self.fail(item) or item * 10 for item in items]


def call_all(group: GroupCommit[int, int], items: list[int]) -> tuple[dict[int, int | BaseException], list[threading.Thread]]:
    """Call `group` with each item from its own thread (started, not joined)."""
    results: dict[int, int | BaseException] = {}

    def run(item: int) -> None:
        try:
            results[item] = group(item)
        except Exception as error:
            results[item] = error

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return results, threads


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def behind_a_held_batch(gate: Gate, group: GroupCommit[int, int], items: list[int]) -> dict[int, int | BaseException]:
    """Item 0 starts a batch the gate holds; `items` all arrive meanwhile; then it is released.
    Returns the outcome of every item (0 included)."""
    first, first_threads = call_all(group, [0])
    assert gate.entered.wait(5)
    results, threads = call_all(group, items)
    wait_for(lambda: group.waiting() == len(items))
    gate.release.set()
    for thread in first_threads + threads:
        thread.join(5)
    return {**first, **results}


def test_a_lone_caller_commits_at_once() -> None:
    batches: list[list[int]] = []
    group: GroupCommit[int, int] = GroupCommit(lambda items: batches.append(items) or [i + 1 for i in items])
    assert group(1) == 2 and group(5) == 6
    assert batches == [[1], [5]]


def test_callers_arriving_during_a_commit_share_the_next_one() -> None:
    gate = Gate()
    group: GroupCommit[int, int] = GroupCommit(gate)
    assert behind_a_held_batch(gate, group, list(range(1, 9))) == {item: item * 10 for item in range(9)}
    assert gate.batches[0] == [0] and sorted(gate.batches[1]) == list(range(1, 9)) and len(gate.batches) == 2
    assert (group.batches, group.items) == (2, 9)


def test_an_item_that_fails_fails_only_its_own_caller() -> None:
    gate = Gate(fail=lambda item: ValueError(f"bad {item}") if item == 3 else None)
    results = behind_a_held_batch(gate, GroupCommit(gate), [1, 2, 3, 4])
    assert isinstance(results[3], ValueError) and str(results[3]) == "bad 3"
    assert {k: v for k, v in results.items() if k != 3} == {0: 0, 1: 10, 2: 20, 4: 40}


def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs() -> None:
    calls = 0

    def write(items: list[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(write)
    with pytest.raises(OSError, match="disk full"):
        group(1)
    assert group(2) == 2


def test_a_wrong_result_count_is_an_error_for_every_caller() -> None:
    group: GroupCommit[int, int] = GroupCommit(lambda items: [])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        group(1)


def test_batches_are_bounded_and_every_caller_is_served() -> None:
    gate = Gate()
    group: GroupCommit[int, int] = GroupCommit(gate, max_batch=3)
    assert behind_a_held_batch(gate, group, list(range(1, 8))) == {item: item * 10 for item in range(8)}
    assert all(len(batch) <= 3 for batch in gate.batches)
    assert sorted(item for batch in gate.batches[1:] for item in batch) == list(range(1, 8))


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        GroupCommit(lambda items: list(items), max_batch=0)
