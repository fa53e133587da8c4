"""Brute-force oracle for the working-time calendar (tests only).

It applies the definition of an open instant directly, one instant at a time: convert the instant
to local wall time in the zone, look up that local date's weekday ranges and holidays. It shares no
code with ``zammad_sla_plugin.core.calendar`` (no day tables, no offset transitions, no prefix sums).

Durations are measured by stepping through time on a grid (default 1 minute). The result is exact
when every opening/closing instant lies on the grid: true for minute-aligned starts with "HH:MM"
ranges and whole-minute UTC offsets/transitions (Europe/Madrid, America/Argentina/Buenos_Aires).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _seconds(text: str) -> int:
    hh, mm = text.split(":")
    return int(hh) * 3600 + int(mm) * 60


class OracleCalendar:
    """Definition-level working calendar: slow, obvious, independent."""

    def __init__(
        self,
        timezone: str,
        hours: Mapping[str, Sequence[Sequence[str]]],
        holidays_country: str | None = None,
        holidays_subdiv: str | None = None,
        closed_dates: Iterable[date] = (),
    ) -> None:
        self.tz = ZoneInfo(timezone)
        self.ranges = {
            _KEYS.index(k): [(_seconds(a), _seconds(b)) for a, b in v] for k, v in hours.items()
        }
        self.holidays = (
            holidays.country_holidays(holidays_country, subdiv=holidays_subdiv)
            if holidays_country
            else {}
        )
        self.closed = set(closed_dates)

    def is_open(self, t: datetime) -> bool:
        """An instant is open iff its local wall time is inside a range of its non-holiday local date."""
        local = t.astimezone(self.tz)
        day = local.date()
        if day in self.closed or day in self.holidays:
            return False
        sod = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return any(a <= sod < b for a, b in self.ranges.get(local.weekday(), ()))

    def working_time_between(
        self, start: datetime, end: datetime, step: timedelta = timedelta(minutes=1)
    ) -> timedelta:
        """Open time in [start, end), counting whole grid cells [t, t+step) by their first instant."""
        total = timedelta(0)
        t = start
        while t < end:
            if self.is_open(t):
                total += min(step, end - t)
            t += step
        return total

    def add_working_time(
        self,
        start: datetime,
        duration: timedelta,
        step: timedelta = timedelta(minutes=1),
        limit: timedelta = timedelta(days=60),
    ) -> datetime:
        """Earliest t >= start with working_time_between(start, t) >= duration, by stepping."""
        if duration == timedelta(0):
            return start
        acc = timedelta(0)
        t = start
        while t - start < limit:
            if self.is_open(t):
                acc += step
                if acc >= duration:
                    return t + step - (acc - duration)
            t += step
        raise AssertionError(f"oracle found no result within {limit}")
