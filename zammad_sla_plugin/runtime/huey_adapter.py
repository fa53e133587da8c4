"""Everything that reaches into huey beyond its documented API, in one module.

The queue needs four things huey does not offer: writes that must be atomic across
several keys (an event's delivery id, its pending marker and its task; moving due tasks
to the ready queue; compare-and-set of lease locks), a scheduler tick below huey's 1 s
minimum, a consumer that runs inside another server's process, and tasks run without
huey's revocation bookkeeping (nothing here revokes a task). They are built here
on huey's storage internals (table layout, connection and lock, Redis key names) and
private consumer hooks. `queue.py` and the rest of the package use only what this module
exports and huey's public API.

pyproject.toml pins `huey>=3.5,<4` (written and tested against 3.5). `INTERNALS` names
every private method and attribute used here with the shape relied on;
tests/test_huey_adapter.py checks each against the installed huey and fails, naming the
huey version, when an upgrade moves one.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Iterator
from typing import Any, Callable, NamedTuple, Protocol

import huey
from huey.consumer import Consumer as _HueyConsumer
from huey.consumer import ConsumerStopped
from huey.consumer import Scheduler as _HueyScheduler
from huey.storage import RedisStorage as _HueyRedisStorage
from huey.storage import SqliteStorage as _HueySqliteStorage

from zammad_sla_plugin.runtime.group_commit import GroupCommit

logger = logging.getLogger(__name__)

TESTED_HUEY = "3.5"
PREFIX_BATCH = 1000  # keys read per batch when scanning the key/value store by prefix

# record_and_enqueue outcomes
DUPLICATE, COALESCED, QUEUED = 0, 1, 2

# Builds a task when one is to be written: (serialized task, when due; None = ready now).
TaskFactory = Callable[[], "tuple[bytes, datetime | None]"]


@dataclass(frozen=True)
class Internal:
    """A private huey method or attribute this module relies on."""

    owner: str  # dotted path of the huey class
    name: str
    params: tuple[str, ...] | None  # a method's parameter names; None: an instance attribute
    why: str
    exact: bool = True  # False: called with these keywords only, so others may be added


INTERNALS: tuple[Internal, ...] = (
    Internal("huey.api.Huey", "_get_timestamp", ("self",), "the consumer's notion of now, for moving due tasks"),
    Internal("huey.consumer.Consumer", "_create_scheduler", ("self",), "install the sub-second scheduler"),
    Internal("huey.consumer.Consumer", "_set_signal_handlers", ("self",), "no signal handlers when embedded"),
    Internal(
        "huey.consumer.Consumer", "loop", ("self", "health_check_ts"), "run() without signals, restart or exec"
    ),
    Internal(
        "huey.consumer.Consumer", "__init__",
        ("self", "huey", "workers", "periodic", "initial_delay", "backoff", "max_delay", "worker_type",
         "shutdown_timeout", "graceful_signal"),
        "the options `queue._make_consumer` passes", exact=False,
    ),
    Internal("huey.consumer.Consumer", "stop_flag", None, "passed on to the scheduler"),
    Internal("huey.consumer.Consumer", "periodic", None, "passed on to the scheduler"),
    Internal("huey.consumer.Consumer", "shutdown_timeout", None, "bound a graceful stop"),
    Internal(
        "huey.consumer.Scheduler", "__init__", ("self", "huey", "stop_flag", "interval", "periodic"),
        "subclassed with a finer tick",
    ),
    Internal("huey.consumer.Scheduler", "loop", ("self", "now"), "replaced: one atomic move of due tasks"),
    Internal("huey.consumer.Scheduler", "_next_loop", None, "the tick bookkeeping the replaced loop keeps"),
    Internal("huey.consumer.Scheduler", "interval", None, "set below huey's 1 s minimum"),
    Internal("huey.consumer.Scheduler", "sleep_for_interval", ("self", "start_ts", "nseconds"), "tick pacing"),
    Internal("huey.storage.SqliteStorage", "_create_connection", ("self",), "set `synchronous` per connection"),
    Internal("huey.storage.SqliteStorage", "db", ("self", "commit", "close"), "a transaction under huey's lock"),
    Internal("huey.storage.SqliteStorage", "sql", ("self", "query", "params", "commit", "results"), "key ranges"),
    Internal("huey.storage.SqliteStorage", "to_blob", None, "values stored as huey stores them"),
    Internal("huey.storage.SqliteStorage", "filename", None, "the status store shares the file"),
    Internal("huey.storage.SqliteStorage", "_conn", None, "tests/test_queue.py wraps it to kill at a commit"),
    Internal("huey.storage.SqliteStorage", "lock", None, "db() holds it; tests hold it to pile submits up"),
    Internal("huey.storage.RedisStorage", "conn", None, "scripts on huey's own connection pool"),
    Internal("huey.storage.RedisStorage", "queue_key", None, "the ready list (huey pushes left, pops right)"),
    Internal("huey.storage.RedisStorage", "schedule_key", None, "the schedule sorted set"),
    Internal("huey.storage.RedisStorage", "result_key", None, "the key/value hash"),
    Internal("huey.storage.RedisStorage", "convert_ts", ("self", "ts"), "schedule scores as huey writes them"),
    Internal("huey.api.Huey", "_execute", ("self", "task", "timestamp"), "deletes task.revoke_id after every task"),
    Internal("huey.api.Task", "revoke_id", None, "the key huey's _execute deletes after every task"),
)

# The SQLite tables and columns our statements use (huey's schema).
SQLITE_COLUMNS = {
    "kv": ("queue", "key", "value"),
    "task": ("queue", "data", "priority"),
    "schedule": ("queue", "data", "timestamp"),
}


class AtomicStorage(Protocol):
    """What the queue needs from storage beyond huey's own operations."""

    def record_and_enqueue(
        self, dedupe: tuple[str, bytes] | None, marker: tuple[str, bytes] | None, task: TaskFactory
    ) -> int:
        """In one transaction: add `dedupe` if absent (else DUPLICATE, nothing written), add
        `marker` if absent (else COALESCED), then add the task `task()` builds to the
        schedule at its time (the ready queue if None) and return QUEUED."""

    def record_many(self, records: list[Record]) -> list[int | BaseException]:
        """`record_and_enqueue` for each (dedupe, marker, task) in order, in as few
        transactions as the storage allows: one outcome (or the error) per record."""

    def move_due(self, ts: datetime) -> int:
        """Move every task due at `ts` from the schedule to the ready queue, atomically."""

    def compare_and_set(self, key: str, expected: bytes, new: bytes | None) -> bool:
        """Replace (or delete, if `new` is None) `key` only if it still holds `expected`."""

    def put_if_empty_and_delete(self, key: str, value: bytes, delete: str) -> bool:
        """In one transaction: set `key` to `value` if it is absent and then delete `delete`;
        False (nothing written) when `key` was there."""

    def items_with_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        """(key, raw value) of every key/value entry whose key starts with `prefix`, read in
        batches so that 100k keys never sit in memory at once."""


# At most this many rows (or keys) per statement: 3 parameters a row stay below 999,
# the smallest bound on parameters any SQLite build has had.
_ROWS_PER_STATEMENT = 300


def _insert_rows(curs: Any, head: str, row: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` with one multi-row `INSERT ... VALUES` per `_ROWS_PER_STATEMENT` rows."""
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start:start + _ROWS_PER_STATEMENT]
        curs.execute(head + ", ".join([row] * len(chunk)), [value for values in chunk for value in values])


class Record(NamedTuple):
    """One event to record: its delivery id entry, its pending marker, its task factory."""

    dedupe: tuple[str, bytes] | None
    marker: tuple[str, bytes] | None
    task: TaskFactory


class SqliteStorage(_HueySqliteStorage):
    """huey's SQLite storage with a chosen `synchronous` level and atomic primitives.

    In WAL mode, NORMAL commits without an fsync: a committed job survives the
    process being killed (it is in the WAL file) but not a power cut of the host;
    FULL adds an fsync per commit. Concurrent `record_and_enqueue` calls (one per
    webhook acknowledged after its commit, with FULL) share transactions (`GroupCommit`):
    each returns once the commit holding its writes is done, at a fraction of a commit
    each. `record_many` (the delivery journal's mover) writes up to `MAX_BATCH` records
    per transaction.
    """

    MAX_BATCH = 256  # records per transaction

    def __init__(self, *args: Any, synchronous: str = "NORMAL", **kwargs: Any) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self._synchronous = synchronous
        self._records: GroupCommit[Record, int] = GroupCommit(self._write_records, max_batch=self.MAX_BATCH)
        super().__init__(*args, **kwargs)

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute(f"pragma synchronous={self._synchronous}")
        return conn

    def record_and_enqueue(
        self, dedupe: tuple[str, bytes] | None, marker: tuple[str, bytes] | None, task: TaskFactory
    ) -> int:
        return self._records(Record(dedupe, marker, task))

    def record_many(self, records: list[Record]) -> list[int | BaseException]:
        outcomes: list[int | BaseException] = []
        for start in range(0, len(records), self.MAX_BATCH):
            outcomes.extend(self._write_records(records[start:start + self.MAX_BATCH]))
        return outcomes

    def _write_records(self, records: list[Record]) -> list[int | BaseException]:
        try:
            with self.db(commit=True) as curs:
                written: list[int | BaseException] = list(self._write_batch(curs, records))
                return written
        except Exception:
            if len(records) == 1:
                raise
        # One record broke the shared transaction (all of it rolled back): write each
        # on its own, so that only its own caller fails.
        outcomes: list[int | BaseException] = []
        for record in records:
            try:
                with self.db(commit=True) as curs:
                    outcomes.extend(self._write_batch(curs, [record]))
            except Exception as error:
                outcomes.append(error)
        return outcomes

    def _write_batch(self, curs: Any, records: list[Record]) -> list[int]:
        """Write `records` as if one after another, in a handful of statements.

        Every statement releases the GIL, and under load each then waits to get it back
        behind the request threads: a statement per key made a batch of 16 take ~5 ms
        (benchmarks/bench_receiver.py). So one query tells which of the batch's keys
        exist (one JSON row, not a row per key), the outcomes are decided here, and one
        multi-row insert per table writes them. A key repeated within the batch behaves
        as in sequence: its first record writes it, the later ones find it.
        """
        keys = {entry[0] for record in records for entry in (record.dedupe, record.marker) if entry is not None}
        existing = self._existing_keys(curs, sorted(keys))
        kv_rows: list[tuple[Any, ...]] = []
        ready: list[tuple[Any, ...]] = []
        scheduled: list[tuple[Any, ...]] = []
        outcomes: list[int] = []
        for record in records:
            outcome = QUEUED
            for entry, held_back in ((record.dedupe, DUPLICATE), (record.marker, COALESCED)):
                if entry is None:
                    continue
                if entry[0] in existing:
                    outcome = held_back
                    break
                existing.add(entry[0])
                kv_rows.append((self.name, entry[0], self.to_blob(entry[1])))
            if outcome == QUEUED:
                data, ts = record.task()
                if ts is None:
                    ready.append((self.name, self.to_blob(data)))
                else:
                    scheduled.append((self.name, self.to_blob(data), ts.timestamp()))
            outcomes.append(outcome)
        _insert_rows(curs, "insert into kv (queue, key, value) values ", "(?, ?, ?)", kv_rows)
        _insert_rows(curs, "insert into task (queue, data, priority) values ", "(?, ?, 0)", ready)
        _insert_rows(curs, "insert into schedule (queue, data, timestamp) values ", "(?, ?, ?)", scheduled)
        return outcomes

    def _existing_keys(self, curs: Any, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), _ROWS_PER_STATEMENT):
            chunk = keys[start:start + _ROWS_PER_STATEMENT]
            curs.execute(
                f"select json_group_array(key) from kv where queue = ? and key in ({', '.join('?' * len(chunk))})",
                (self.name, *chunk),
            )
            found.update(json.loads(curs.fetchone()[0]))
        return found

    def move_due(self, ts: datetime) -> int:
        params = (self.name, ts.timestamp())
        with self.db(commit=True) as curs:
            curs.execute(
                "insert into task (queue, data, priority) select queue, data, 0 from schedule "
                "where queue = ? and timestamp <= ? order by timestamp, id",
                params,
            )
            moved = curs.rowcount
            if moved:
                curs.execute("delete from schedule where queue = ? and timestamp <= ?", params)
            return int(moved)

    def compare_and_set(self, key: str, expected: bytes, new: bytes | None) -> bool:
        with self.db(commit=True) as curs:
            if new is None:
                curs.execute("delete from kv where queue = ? and key = ? and value = ?", (self.name, key, expected))
            else:
                curs.execute(
                    "update kv set value = ? where queue = ? and key = ? and value = ?",
                    (self.to_blob(new), self.name, key, expected),
                )
            return bool(curs.rowcount == 1)

    def put_if_empty_and_delete(self, key: str, value: bytes, delete: str) -> bool:
        with self.db(commit=True) as curs:
            curs.execute("insert or ignore into kv (queue, key, value) values (?, ?, ?)",
                         (self.name, key, self.to_blob(value)))
            if curs.rowcount != 1:
                return False
            curs.execute("delete from kv where queue = ? and key = ?", (self.name, delete))
            return True

    def items_with_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        # A key range instead of LIKE: uses the primary key and no wildcard escaping; read
        # in keyset-paginated batches (key > the last one) so memory stays flat.
        after, end = prefix, prefix + "\U0010ffff"
        first = True
        while True:
            rows = self.sql(
                f"select key, value from kv where queue = ? and key {'>=' if first else '>'} ? and key < ? "
                "order by key limit ?",
                (self.name, after, end, PREFIX_BATCH),
                results=True,
            )
            for key, value in rows:
                yield key, bytes(value)
            if len(rows) < PREFIX_BATCH:
                return
            after, first = rows[-1][0], False


_RECORD_AND_ENQUEUE_LUA = """
if ARGV[1] ~= '' and redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if ARGV[3] ~= '' and redis.call('hsetnx', KEYS[1], ARGV[3], ARGV[4]) == 0 then return 1 end
if ARGV[6] == '' then redis.call('lpush', KEYS[3], ARGV[5]) else redis.call('zadd', KEYS[2], ARGV[6], ARGV[5]) end
return 2
"""

_MOVE_DUE_LUA = """
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1])
for _, item in ipairs(due) do redis.call('lpush', KEYS[2], item) end
if #due > 0 then redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1]) end
return #due
"""

_PUT_IF_EMPTY_AND_DELETE_LUA = """
if redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('hdel', KEYS[1], ARGV[3])
return 1
"""

_COMPARE_AND_SET_LUA = """
if redis.call('hget', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[4] == '1' then redis.call('hdel', KEYS[1], ARGV[1]) else redis.call('hset', KEYS[1], ARGV[1], ARGV[3]) end
return 1
"""


class RedisStorage(_HueyRedisStorage):
    """huey's Redis storage with the atomic primitives as server-side scripts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._record = self.conn.register_script(_RECORD_AND_ENQUEUE_LUA)
        self._move = self.conn.register_script(_MOVE_DUE_LUA)
        self._cas = self.conn.register_script(_COMPARE_AND_SET_LUA)
        self._put_and_delete = self.conn.register_script(_PUT_IF_EMPTY_AND_DELETE_LUA)

    def record_and_enqueue(
        self, dedupe: tuple[str, bytes] | None, marker: tuple[str, bytes] | None, task: TaskFactory
    ) -> int:
        # The script needs the task up front (a duplicate or coalesced event discards it).
        data, ts = task()
        args = [*(dedupe or ("", b"")), *(marker or ("", b"")), data, "" if ts is None else repr(self.convert_ts(ts))]
        keys = [self.result_key, self.schedule_key, self.queue_key]
        return int(self._record(keys=keys, args=args))

    def record_many(self, records: list[Record]) -> list[int | BaseException]:
        outcomes: list[int | BaseException] = []
        for record in records:  # one script call each: Redis is not where the receiver waits
            try:
                outcomes.append(self.record_and_enqueue(*record))
            except Exception as error:
                outcomes.append(error)
        return outcomes

    def move_due(self, ts: datetime) -> int:
        return int(self._move(keys=[self.schedule_key, self.queue_key], args=[repr(self.convert_ts(ts))]))

    def compare_and_set(self, key: str, expected: bytes, new: bytes | None) -> bool:
        args = [key, expected, new if new is not None else b"", "1" if new is None else "0"]
        return bool(self._cas(keys=[self.result_key], args=args))

    def put_if_empty_and_delete(self, key: str, value: bytes, delete: str) -> bool:
        return bool(self._put_and_delete(keys=[self.result_key], args=[key, value, delete]))

    def items_with_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in prefix) + "*"
        for key, value in self.conn.hscan_iter(self.result_key, match=pattern, count=PREFIX_BATCH):
            yield (key.decode() if isinstance(key, bytes) else key), value


REVOKE_PREFIX = "r:"  # huey.api.Task.revoke_id ("r:<task id>"); the queue's own keys never start with it


class NoRevocation:
    """Mixed into the queue's huey classes: tasks are never revoked here.

    huey reads a task's two revocation keys before running it (`is_revoked`) and deletes
    one after (`Huey._execute` clears `task.revoke_id`): two round trips to Redis for every
    evaluation, for a feature nothing here uses. So the check answers False without a read,
    the clearing is skipped, and revoking raises instead of being silently ignored.
    """

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        """Never revoked (nothing here revokes; see the class)."""
        return False

    def delete(self, key: str) -> Any:
        """huey's delete, except for the revocation key `_execute` clears after every task."""
        if key.startswith(REVOKE_PREFIX):
            return False
        return super().delete(key)  # type: ignore[misc]

    def _no_revocation(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the zammad-sla queue does not revoke tasks (see huey_adapter.NoRevocation)")

    revoke = revoke_all = revoke_by_id = _no_revocation


class RedisHuey(NoRevocation, huey.RedisHuey):
    """huey on Redis for the queue (see NoRevocation)."""


class SqliteHuey(NoRevocation, huey.SqliteHuey):
    """huey on SQLite for the queue (see NoRevocation)."""


def atomic(hub: huey.Huey) -> AtomicStorage:
    """`hub`'s storage, which must be one of ours (made by `queue.build_huey`)."""
    storage = hub.storage
    if not isinstance(storage, (SqliteStorage, RedisStorage)):
        raise TypeError("the queue needs a huey instance made by build_huey()")
    return storage  # type: ignore[return-value]


def redis_connection(hub: huey.Huey) -> Any | None:
    """The redis-py client of a Redis-backed huey (None for other storages)."""
    storage = hub.storage
    return storage.conn if isinstance(storage, _HueyRedisStorage) else None


def sqlite_filename(hub: huey.Huey) -> str | None:
    """The database file of a SQLite-backed huey (None for other storages)."""
    storage = hub.storage
    return str(storage.filename) if isinstance(storage, _HueySqliteStorage) else None


# -- consumer ----------------------------------------------------------------------------
class PreciseScheduler(_HueyScheduler):
    """huey's scheduler with a sub-second tick and an atomic move of due tasks.

    huey clamps the tick to >= 1 s (next checks and coalescing want finer), and it
    deletes due tasks from the schedule in one transaction, then queues them one by
    one: a crash in between loses them. Here one transaction does both.
    """

    tick_seconds = 0.1
    _next_loop: float  # set by huey's Scheduler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interval = self.tick_seconds

    def loop(self, now: datetime | None = None) -> None:
        current = self._next_loop
        self._next_loop += self.interval
        if self._next_loop < time.monotonic():
            self._next_loop = time.monotonic()  # fell behind: skip ahead, as huey does
            return
        try:
            atomic(self.huey).move_due(now or self.huey._get_timestamp())
        except Exception as error:
            # One line: the next tick retries, so this can repeat while storage is down.
            logger.error("could not move due tasks to the queue: %s: %s", type(error).__name__, " ".join(str(error).split()))
        self.sleep_for_interval(current, self.interval)


class Consumer(_HueyConsumer):
    """huey Consumer with a sub-second scheduler tick that can run embedded in another
    server's process (no signal handlers there: signal.signal() only works in the main
    thread, and the host, e.g. waitress in `zammad-sla serve`, owns the signals)."""

    def __init__(self, hub: huey.Huey, *, install_signals: bool, scheduler_tick: float, **options: Any) -> None:
        self._install_signals = install_signals
        self._scheduler_tick = scheduler_tick
        super().__init__(hub, **options)

    def _create_scheduler(self) -> _HueyScheduler:
        scheduler_class = type("_Tick", (PreciseScheduler,), {"tick_seconds": self._scheduler_tick})
        return scheduler_class(huey=self.huey, stop_flag=self.stop_flag, interval=1, periodic=self.periodic)

    def _set_signal_handlers(self) -> None:
        if self._install_signals:
            super()._set_signal_handlers()

    def run_until_stopped(self) -> None:
        """huey's `run()` minus signals and restarts: supervise (restart dead workers)
        until `stop()` is called. Call `start()` first."""
        health_ts = time.monotonic()
        while True:
            try:
                health_ts = self.loop(health_ts)
            except ConsumerStopped:
                return

    def stop_gracefully(self, timeout: float | None) -> None:
        """Let running tasks finish (up to `timeout` seconds), then stop."""
        self.shutdown_timeout = timeout
        self.stop(graceful=True)
