"""Where the current SLA status of every evaluated ticket is kept, for `tickets_by_status`.

The gauge must count each ticket once however many processes evaluate tickets (several
`worker`s on one Redis queue), and a process must not hold every ticket it ever saw. So
the statuses live beside the queue, in the queue's own storage:

- Redis: a hash ticket -> status and a hash status -> count, updated together by one Lua
  script (atomic across processes); a scrape reads the small count hash.
- SQLite: a table ticket -> status (indexed by status) in the queue's database file; a
  scrape counts by status on the index. SQLite queues belong to one process anyway.

`MemoryStatusStore` is the fallback for a `Metrics` used without a queue (tests, the
receiver benchmark): exact up to `limit` tickets, then it forgets the least recently
evaluated ones, so its memory stays bounded.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from typing import Any, Protocol


class StatusStore(Protocol):
    """Per-ticket current status, and how many tickets have each status."""

    def set(self, ticket_id: int, status: str | None) -> None:
        """Record `ticket_id`'s status (None forgets the ticket)."""

    def counts(self) -> dict[str, int]:
        """Tickets per status (a status whose tickets all moved on may stay with 0)."""


class MemoryStatusStore:
    """In-process and bounded: exact for at most `limit` tickets."""

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._status: OrderedDict[int, str] = OrderedDict()
        self._counts: dict[str, int] = {}

    def set(self, ticket_id: int, status: str | None) -> None:  # noqa: D102
        with self._lock:
            self._forget(ticket_id)
            if status is not None:
                self._status[ticket_id] = status
                self._counts[status] = self._counts.get(status, 0) + 1
                while len(self._status) > self.limit:
                    self._forget(next(iter(self._status)))

    def _forget(self, ticket_id: int) -> None:
        previous = self._status.pop(ticket_id, None)
        if previous is not None:
            self._counts[previous] -= 1

    def counts(self) -> dict[str, int]:  # noqa: D102
        with self._lock:
            return dict(self._counts)


_REDIS_SET = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then redis.call('HINCRBY', KEYS[2], old, -1) end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
end
"""


class RedisStatusStore:
    """Statuses in two Redis hashes, kept in step atomically (one Lua script per change)."""

    def __init__(self, conn: Any, namespace: str) -> None:
        self._conn = conn
        self._keys = [f"{namespace}:ticket-status", f"{namespace}:status-counts"]
        self._script = conn.register_script(_REDIS_SET)

    def set(self, ticket_id: int, status: str | None) -> None:  # noqa: D102
        self._script(keys=self._keys, args=[int(ticket_id), status or ""])

    def counts(self) -> dict[str, int]:  # noqa: D102
        raw = self._conn.hgetall(self._keys[1])
        return {_text(k): int(v) for k, v in raw.items()}


class SqliteStatusStore:
    """Statuses in a table of the queue's SQLite file."""

    def __init__(self, filename: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(filename, timeout=30, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.execute("create table if not exists zsla_ticket_status "
                             "(ticket_id integer primary key, status text not null)")
            self._db.execute("create index if not exists zsla_ticket_status_status on zsla_ticket_status (status)")

    def set(self, ticket_id: int, status: str | None) -> None:  # noqa: D102
        with self._lock:
            if status is None:
                self._db.execute("delete from zsla_ticket_status where ticket_id = ?", (int(ticket_id),))
            else:
                self._db.execute("insert into zsla_ticket_status (ticket_id, status) values (?, ?) "
                                 "on conflict (ticket_id) do update set status = excluded.status",
                                 (int(ticket_id), status))

    def counts(self) -> dict[str, int]:  # noqa: D102
        with self._lock:
            rows = self._db.execute("select status, count(*) from zsla_ticket_status group by status").fetchall()
        return {status: count for status, count in rows}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def status_store_for(hub: Any) -> StatusStore:
    """The store that lives in `hub`'s (huey) storage: Redis or the SQLite file."""
    # Imported here: metrics imports this module, and needs no huey without a queue.
    from zammad_sla_plugin.runtime.huey_adapter import redis_connection, sqlite_filename

    conn = redis_connection(hub)
    if conn is not None:
        return RedisStatusStore(conn, f"zammad-sla:{hub.name}")
    filename = sqlite_filename(hub)
    if filename:
        return SqliteStatusStore(filename)
    return MemoryStatusStore()
