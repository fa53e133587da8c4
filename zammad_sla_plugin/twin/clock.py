"""The twin's controllable clock: real time unless a test sets, advances or freezes it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Callable


class TwinClock:
    """A wall clock with an adjustable offset and an optional freeze.

    `now()` is real UTC time plus an offset. `set()` and `advance()` move the offset, after
    which the clock keeps ticking at real speed from the new point unless it is frozen;
    while frozen, `now()` returns the same instant until moved or unfrozen.
    """

    def __init__(
        self,
        start: datetime | None = None,
        frozen: bool = False,
        source: Callable[[], datetime] | None = None,
    ) -> None:
        self._source = source or (lambda: datetime.now(timezone.utc))
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        if start is not None:
            self.set(start, frozen=frozen)
        elif frozen:
            self.freeze()

    def now(self) -> datetime:
        """Current twin time (timezone-aware UTC)."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self._source() + self._offset

    @property
    def frozen(self) -> bool:
        """True while the clock stands still."""
        with self._lock:
            return self._frozen_at is not None

    def set(self, when: datetime, frozen: bool | None = None) -> datetime:
        """Jump to `when`; `frozen` True/False freezes/unfreezes, None keeps the mode."""
        if when.tzinfo is None:
            raise ValueError("clock time must be timezone-aware")
        when = when.astimezone(timezone.utc)
        with self._lock:
            keep_frozen = self._frozen_at is not None if frozen is None else frozen
            self._offset = when - self._source()
            self._frozen_at = when if keep_frozen else None
        return when

    def advance(self, seconds: float, frozen: bool | None = None) -> datetime:
        """Move the clock forward (or back, if negative) by `seconds`."""
        return self.set(self.now() + timedelta(seconds=seconds), frozen=frozen)

    def freeze(self) -> datetime:
        """Stop the clock at the current instant."""
        return self.set(self.now(), frozen=True)

    def unfreeze(self) -> datetime:
        """Let the clock tick again from where it stands."""
        return self.set(self.now(), frozen=False)
