"""Twin-only test aids: fault injection for /api/v1 and the API request log."""

from __future__ import annotations

import itertools
import random
import re
import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Faults:
    """Active fault configuration (POST /_twin/faults)."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    status: int = 500
    outage: bool = False
    paths: str | None = None
    retry_after: int | None = None
    methods: tuple[str, ...] = ()  # empty: every method

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Faults":
        """Validate and build from a request body; raises ValueError on bad input."""
        faults = cls(
            latency_ms=float(data.get("latency_ms") or 0),
            error_rate=float(data.get("error_rate") or 0),
            status=int(data.get("status") or 500),
            outage=bool(data.get("outage", False)),
            paths=data.get("paths") or None,
            retry_after=None if data.get("retry_after") is None else int(data["retry_after"]),
            methods=tuple(str(m).upper() for m in data.get("methods") or ()),
        )
        if not 0 <= faults.error_rate <= 1:
            raise ValueError("error_rate must be between 0 and 1")
        if faults.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if faults.paths is not None:
            re.compile(faults.paths)
        return faults

    def to_json(self) -> dict[str, Any]:
        """The configuration as JSON."""
        return {"latency_ms": self.latency_ms, "error_rate": self.error_rate, "status": self.status,
                "outage": self.outage, "paths": self.paths, "retry_after": self.retry_after, "methods": list(self.methods)}

    def applies_to(self, path: str, method: str = "GET") -> bool:
        """Whether this configuration targets `method` `path`."""
        if self.methods and method.upper() not in self.methods:
            return False
        return self.paths is None or re.search(self.paths, path) is not None


class FaultInjector:
    """Holds the current faults; `seed` makes error_rate draws reproducible."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.faults = Faults()

    def set(self, faults: Faults, seed: int | None = None) -> None:
        """Replace the configuration."""
        with self._lock:
            self.faults = faults
            if seed is not None:
                self._random.seed(seed)

    def clear(self) -> None:
        """No faults."""
        with self._lock:
            self.faults = Faults()

    def draw_error(self) -> bool:
        """True when this request should fail by error_rate."""
        with self._lock:
            rate = self.faults.error_rate
            return rate > 0 and self._random.random() < rate


class RequestLog:
    """Log of /api/v1 calls with a monotonically increasing cursor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._entries: list[dict[str, Any]] = []

    def add(self, **entry: Any) -> None:
        """Append one call."""
        with self._lock:
            self._entries.append({"id": next(self._ids), **entry})

    def since(self, cursor: int) -> list[dict[str, Any]]:
        """Entries with id > cursor."""
        with self._lock:
            return [dict(e) for e in self._entries if e["id"] > cursor]

    def clear(self) -> None:
        """Forget all entries (the cursor keeps counting)."""
        with self._lock:
            self._entries.clear()
