"""The production HTTP server of the receiver: waitress, configured against hostile traffic.

- Bodies larger than anything Zammad sends are refused from their headers
  (`max_request_body_size`), before waitress spools a byte to disk.
- Half-sent requests (slowloris) never hold a thread: waitress reads asynchronously
  and hands only complete requests to its threads. They are closed after
  `channel_timeout` seconds of silence, and up to `connection_limit` of them can hang
  at once without new deliveries being refused (waitress stops accepting at the limit).
- `poll()` instead of `select()`, so connections beyond file descriptor 1024 work.

Past the connection limit, or against a sender that trickles one byte at a time, put a
reverse proxy in front (deploy/nginx/zammad-sla.conf).
"""

from __future__ import annotations

import gc
import logging
import resource
import threading
import time
from typing import Any, Callable

from waitress.server import create_server

from webhooks.app import MAX_BODY_BYTES

# Where deliveries are acknowledged after their queue commit (ZAMMAD_SLA_QUEUE_FSYNC=on,
# Redis), handler threads mostly wait for it, and the threads waiting at the same moment
# share one (queue -> huey_adapter -> group_commit): with more threads, concurrent
# deliveries are acknowledged with fewer commits. (With the default delivery journal no
# handler waits: 8, 16 and 32 threads measured within noise of each other, 2026-12-03.) With 32 concurrent senders on a 2-core
# machine, 8 -> 24 threads took acks from ~1,370/s to ~1,670/s and p99 from ~54 to ~42 ms.
# 24 -> 32 (a thread for every sender, none waiting in waitress's queue behind a commit)
# took the p99 from 1.3-1.7x to 1.1-1.2x the bare server's and throughput from 0.64-0.69x
# to 0.72x of it (three runs each, same run as the peer); 48 or 64 gained nothing more
# (benchmarks/bench_receiver.py, --server-threads). Threads waiting for a commit hold no CPU.
THREADS = 32
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT = 30  # seconds without a byte; Zammad itself waits at most 30 s for our answer
MAX_HEADER_BYTES = 64 * 1024

logger = logging.getLogger(__name__)


def server_options(threads: int = THREADS, connection_limit: int = CONNECTION_LIMIT) -> dict[str, Any]:
    """waitress settings of the receiver (see the module docstring)."""
    return {
        "threads": threads,
        "connection_limit": connection_limit,
        "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": 5,  # how often idle channels are looked for (default 30 s)
        "max_request_body_size": MAX_BODY_BYTES,
        "max_request_header_size": MAX_HEADER_BYTES,
        "asyncore_use_poll": True,
        "backlog": 1024,
        "ident": "zammad-sla",
    }


def raise_file_limit(wanted: int) -> None:
    """Lift the soft open-files limit towards `wanted` (within the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def create_receiver_server(app: Any, host: str, port: int, **overrides: Any) -> Any:
    """A waitress server for `app` on host:port with `server_options()` (plus `overrides`)."""
    options = {**server_options(), **overrides}
    raise_file_limit(options["connection_limit"] + 64)
    return create_server(app, host=host, port=port, **options)


def freeze_startup_heap() -> None:
    """Exempt the objects alive at startup (modules, app, queue) from the cyclic GC.

    Call once everything is built, just before serving. Otherwise each full collection
    rescans them all while holding the GIL: 17-60 ms in which no request is answered
    (measured under load, benchmarks/bench_receiver.py). Collected first, so that no
    startup garbage is kept forever.
    """
    gc.collect()
    gc.freeze()


class RateLimitedLog(logging.Filter):
    """Let one record per `interval` seconds through (with a count of those held back).

    waitress warns "Task queue depth is N" for every request queued while its threads are
    busy: under a burst that is one line per request. One a minute says the same.
    """

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._next = 0.0
        self._suppressed = 0
        self._guard = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self._guard:
            now = self._clock()
            if now < self._next:
                self._suppressed += 1
                return False
            if self._suppressed:
                record.msg = f"{record.getMessage()} ({self._suppressed} similar messages suppressed)"
                record.args = ()
            self._next, self._suppressed = now + self.interval, 0
            return True
