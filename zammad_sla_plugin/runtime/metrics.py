"""Prometheus metrics of one sidecar process.

Each `Metrics` object owns its own `CollectorRegistry` (never the global one), so
tests and several apps in one process do not collide. All names carry the
`zammad_sla_` prefix.

`tickets_by_status` is read at scrape time from a `StatusStore`: the sidecar points it at
the queue's storage (Redis or the SQLite file, see `status_store`), so every process
reports the same, right counts and none holds every ticket in memory.
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from zammad_sla_plugin.runtime.status_store import MemoryStatusStore, StatusStore

PREFIX = "zammad_sla_"

# Numeric path segments would explode label cardinality: /tickets/42 -> /tickets/:id
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")

logger = logging.getLogger(__name__)


def normalize_endpoint(endpoint: str) -> str:
    """Strip the query string and replace numeric path segments with `:id`."""
    return _ID_SEGMENT.sub("/:id", endpoint.split("?", 1)[0])


class Metrics:
    """The sidecar's counters, histogram and gauges, with small recording helpers."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, *, queue_depth: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events_received = Counter(
            PREFIX + "events_received", "Webhook deliveries received (before any check).", registry=r
        )
        self.events_rejected = Counter(
            PREFIX + "events_rejected", "Webhook deliveries rejected, by reason.", ["reason"], registry=r
        )
        self.events_duplicate = Counter(
            PREFIX + "events_duplicate", "Valid webhook deliveries acknowledged as already seen.", registry=r
        )
        self.evaluations = Counter(
            PREFIX + "evaluations", "Ticket evaluations, by outcome.", ["outcome"], registry=r
        )
        self.api_calls = Counter(
            PREFIX + "zammad_api_calls",
            "Calls to the Zammad REST API.",
            ["method", "endpoint", "status"],
            registry=r,
        )
        self.api_errors = Counter(
            PREFIX + "zammad_api_errors",
            "Failed calls to the Zammad REST API (transport error or non-2xx).",
            ["endpoint"],
            registry=r,
        )
        self.api_seconds = Histogram(
            PREFIX + "zammad_api_seconds", "Latency of Zammad REST API calls.", ["endpoint"], registry=r
        )
        self.periodic_runs = Counter(
            PREFIX + "periodic_runs", "Runs of periodic queue jobs, by job and outcome.", ["job", "outcome"], registry=r
        )
        self.queue_depth = Gauge(PREFIX + "queue_depth", "Tasks waiting in the queue, ready to run.", registry=r)
        self.status_store: StatusStore = MemoryStatusStore()
        r.register(_StatusCollector(self))
        self.set_queue_depth_source(queue_depth)

    # -- receiver ---------------------------------------------------------
    def event_received(self) -> None:
        """Count one incoming webhook delivery."""
        self.events_received.inc()

    def event_rejected(self, reason: str) -> None:
        """Count one rejected delivery (reason e.g. "signature_invalid")."""
        self.events_rejected.labels(reason=reason).inc()

    def event_duplicate(self) -> None:
        """Count one valid delivery whose delivery id was seen before."""
        self.events_duplicate.inc()

    # -- evaluation / Zammad API -----------------------------------------
    def evaluation(self, outcome: str) -> None:
        """Count one evaluation outcome (the queue records "ok", "error", "gave_up")."""
        self.evaluations.labels(outcome=outcome).inc()

    def api_call(self, method: str, endpoint: str, status: int | str, seconds: float) -> None:
        """Record one Zammad API call; `status` is the HTTP status or e.g. "error".

        Anything but a 2xx/3xx status counts as an API error too.
        """
        endpoint = normalize_endpoint(endpoint)
        self.api_calls.labels(method=method.upper(), endpoint=endpoint, status=str(status)).inc()
        self.api_seconds.labels(endpoint=endpoint).observe(seconds)
        if not (isinstance(status, int) and 200 <= status < 400):
            self.api_errors.labels(endpoint=endpoint).inc()

    def periodic_run(self, job: str, outcome: str) -> None:
        """Count one run of a periodic job ("ok", "error", "skipped_locked", ...)."""
        self.periodic_runs.labels(job=job, outcome=outcome).inc()

    # -- gauges ------------------------------------------------------------
    def set_queue_depth_source(self, source: Callable[[], float] | None) -> None:
        """Make the queue_depth gauge call `source` at scrape time (NaN if it fails)."""

        def read() -> float:
            if source is None:
                return float("nan")
            try:
                return float(source())
            except Exception:  # a scrape must not fail because the queue is busy
                logger.warning("queue depth unavailable", exc_info=True)
                return float("nan")

        self.queue_depth.set_function(read)

    def set_status_store(self, store: StatusStore) -> None:
        """Keep ticket statuses in `store` (the queue's storage, shared by every process)."""
        self.status_store = store

    def set_ticket_status(self, ticket_id: int, status: str | None) -> None:
        """Record `ticket_id`'s current status (None forgets it) for `tickets_by_status`."""
        self.status_store.set(ticket_id, status)

    # -- exposition --------------------------------------------------------
    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)


class _StatusCollector(Collector):
    """`tickets_by_status{status}`, counted by the status store at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(PREFIX + "tickets_by_status", "Tracked tickets by current SLA status.",
                                   labels=["status"])
        try:
            counts = self._metrics.status_store.counts()
        except Exception:  # a scrape must not fail because the store is busy or down
            logger.warning("ticket statuses unavailable", exc_info=True)
            counts = {}
        for status, count in sorted(counts.items()):
            family.add_metric([status], count)
        yield family
