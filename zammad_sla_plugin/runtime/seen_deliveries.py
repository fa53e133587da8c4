"""The webhook delivery ids seen within the de-duplication horizon, compactly in memory.

The delivery journal answers "seen before?" without reading the queue. Held as a str and
a timestamp, an id costs ~150 bytes (a UUID string is 85); here it is a 128-bit digest in
a set per time bucket, ~70 bytes, and expiry drops whole buckets. An id is remembered for
at least `ttl_seconds` and at most one bucket longer (the queue's own prune runs
periodically, so it keeps ids at least as long). With 128 bits, two different ids
colliding among a billion has a probability below 1e-20.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Iterable

BUCKETS_PER_TTL = 4


def _digest(delivery_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(delivery_id.encode("utf-8", "surrogatepass"), digest_size=16).digest())


class SeenDeliveries:
    """Thread-safe set of delivery ids with a time horizon."""

    def __init__(self, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self.ttl_seconds = ttl_seconds
        self._bucket_seconds = ttl_seconds / BUCKETS_PER_TTL
        self._buckets: deque[tuple[int, set[int]]] = deque()  # (bucket number, digests), oldest first
        self._guard = threading.Lock()

    def load(self, seen: Iterable[tuple[str, float]], now: float) -> None:
        """Add (id, first seen) pairs, e.g. those the queue remembers, skipping expired ones."""
        for delivery_id, at in sorted(seen, key=lambda pair: pair[1]):
            if now - at <= self.ttl_seconds:
                self.add_if_new(delivery_id, at)

    def add_if_new(self, delivery_id: str, at: float) -> bool:
        """Remember `delivery_id` as seen at `at`; False if it was already remembered."""
        digest = _digest(delivery_id)
        number = int(at // self._bucket_seconds)
        with self._guard:
            self._expire(number)
            if any(digest in digests for _, digests in self._buckets):
                return False
            if self._buckets and self._buckets[-1][0] >= number:
                self._buckets[-1][1].add(digest)  # `at` out of order (clock step back): the newest bucket
            else:
                self._buckets.append((number, {digest}))
            return True

    def forget(self, delivery_id: str) -> None:
        """Drop `delivery_id` (its delivery was not acknowledged after all)."""
        digest = _digest(delivery_id)
        with self._guard:
            for _, digests in self._buckets:
                digests.discard(digest)

    def __len__(self) -> int:
        with self._guard:
            return sum(len(digests) for _, digests in self._buckets)

    def _expire(self, number: int) -> None:
        # Keep the buckets that can still hold an id younger than the horizon.
        oldest_kept = number - BUCKETS_PER_TTL
        while self._buckets and self._buckets[0][0] < oldest_kept:
            self._buckets.popleft()
