"""Readiness that always answers in time: the last known state, refreshed in the background.

Kubernetes gives `/readyz` one second (`timeoutSeconds: 1`, its default). The check behind
it asks Zammad, which can hang (accepting connections, never answering) for as long as the
client's read timeout. So a probe never runs the check itself: it starts one background
refresh when the known state is older than `ttl` (never two at once), waits at most
`answer_within` seconds for it, and answers with whatever state is known then.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from zammad_sla_plugin.runtime.queue import one_line

IN_PROGRESS = "readiness check in progress"


class CachedCheck:
    """`check()` problems (empty = ready), cached for `ttl` s and refreshed by one thread at a time.

    A call returns within about `answer_within` seconds whatever the check does: the call
    that starts a refresh waits that long for it (so a healthy sidecar reports ready on
    its first probe), calls meanwhile do not wait; a slow check keeps running in its own
    daemon thread while callers get the last known result, or `IN_PROGRESS` before the
    first check has finished.
    """

    def __init__(
        self,
        check: Callable[[], list[str]],
        ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        answer_within: float = 0.5,
    ) -> None:
        self._check, self._ttl, self._clock = check, ttl, clock
        self._answer_within = answer_within
        self._done = threading.Condition()
        self._result: list[str] | None = None
        self._checked_at = float("-inf")
        self._generation = 0  # finished refreshes, so a waiter knows when "its" refresh ended
        self._running = False

    @property
    def ttl(self) -> float:
        """Seconds an answer is served before the next call refreshes it."""
        return self._ttl

    @property
    def refreshing(self) -> bool:
        """Whether a background check is running now."""
        with self._done:
            return self._running

    def __call__(self) -> list[str]:
        with self._done:
            if not self._running and self._clock() - self._checked_at >= self._ttl:
                self._running = True
                threading.Thread(target=self._refresh, name="readiness-check", daemon=True).start()
                # Only the caller that started the refresh waits (briefly) for it: probes
                # arriving meanwhile answer at once, so they cannot pile up on the
                # receiver's threads, which webhook deliveries share.
                generation = self._generation
                self._done.wait_for(lambda: self._generation != generation, timeout=self._answer_within)
            return list(self._result) if self._result is not None else [IN_PROGRESS]

    def _refresh(self) -> None:
        try:
            result = [str(p) for p in self._check()]
        except Exception as error:  # a crashing check means "not ready", with its reason
            result = [f"readiness check failed: {one_line(error)}"]
        with self._done:
            self._result, self._checked_at, self._running = result, self._clock(), False
            self._generation += 1
            self._done.notify_all()
