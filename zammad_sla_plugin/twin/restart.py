"""The restart Zammad goes through after object manager migrations (lib/app_version.rb).

`AppVersion.trigger_restart`: with Setting `auto_shutdown` every Zammad process notices
within MAINTENANCE_THREAD_SLEEP (5 s) and exits; the service manager starts it again and
meanwhile nginx answers 502 Bad Gateway. Without it the UI is told "restart_manual" and the
running processes keep their old column list until an admin restarts them: a write to a new
column is dropped silently by `param_cleanup` (it only keeps the model's known attributes).

Waits use the real monotonic clock (the twin clock may be frozen) scaled by time_scale.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

# nginx's own error page when the upstream (Rails/puma) is not listening (contrib/nginx/zammad.conf
# proxies /api to puma; nginx renders this built-in page for a refused upstream).
BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


MIN_DOWN_SECONDS = 0.6
MIN_DELAY_SECONDS = 0.05


class RestartSimulator:
    """Tracks the down window after migrations and which columns the processes know."""

    def __init__(self, *, auto_shutdown: bool, restart_seconds: float, shutdown_delay_seconds: float,
                 time_scale: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.auto_shutdown = auto_shutdown
        # A real restart takes tens of seconds; however small the time scale, the window stays
        # long enough for a client polling every 0.25 s to see it (else it could not tell a
        # restart from none at all).
        self.restart_seconds = max(restart_seconds * time_scale, MIN_DOWN_SECONDS)
        self.shutdown_delay_seconds = max(shutdown_delay_seconds * time_scale, MIN_DELAY_SECONDS)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._down_from: float | None = None
        self._up_at: float | None = None
        self._restarts = 0
        self.manual_restart_pending = False
        # Columns created by migrations the running processes do not know yet (per object).
        self.stale_columns: dict[str, set[str]] = {}

    def migrated(self, new_columns: dict[str, list[str]]) -> str:
        """Called after execute_migrations; returns Zammad's broadcast type."""
        with self._lock:
            if self.auto_shutdown:
                now = self._monotonic()
                self._down_from = now + self.shutdown_delay_seconds
                self._up_at = self._down_from + self.restart_seconds
                for obj, names in new_columns.items():
                    self.stale_columns.setdefault(obj, set()).update(names)
                return "restart_auto"
            for obj, names in new_columns.items():
                self.stale_columns.setdefault(obj, set()).update(names)
            self.manual_restart_pending = bool(new_columns) or self.manual_restart_pending
            return "restart_manual"

    def _settle(self) -> None:
        # A finished down window counts as one restart: the new processes know every column.
        if self._up_at is not None and self._monotonic() >= self._up_at:
            self._down_from = self._up_at = None
            self._restarts += 1
            self.stale_columns.clear()
            self.manual_restart_pending = False

    def down(self) -> bool:
        """True while the processes are gone (requests get nginx's 502)."""
        with self._lock:
            self._settle()
            return self._down_from is not None and self._monotonic() >= self._down_from

    def restart_now(self) -> None:
        """The admin's manual restart (POST /_twin/restart): everything is known afterwards."""
        with self._lock:
            self._down_from = self._up_at = None
            self._restarts += 1
            self.stale_columns.clear()
            self.manual_restart_pending = False

    def stale(self, obj: str) -> set[str]:
        """Columns of `obj` the running processes do not know yet."""
        with self._lock:
            self._settle()
            return set(self.stale_columns.get(obj, set()))

    def status(self) -> dict[str, object]:
        """GET /_twin/restarts."""
        down = self.down()
        with self._lock:
            # A restart is scheduled (or under way) until the window has passed.
            pending = self._up_at is not None
            return {"restarts": self._restarts, "down": down, "restart_pending": pending, "auto_shutdown": self.auto_shutdown,
                    "manual_restart_pending": self.manual_restart_pending,
                    "stale_columns": {k: sorted(v) for k, v in self.stale_columns.items() if v}}
