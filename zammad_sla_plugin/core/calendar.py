"""Working-time calendar: opening hours per weekday in a time zone, minus holidays.

The SLA engine measures deadlines in *working time*: a ticket with 8 working hours to its first
response that arrives Tuesday 10:00 on a 09:00-18:00 schedule is due Tuesday 18:00.

Semantics (the single source of truth; everything below follows from it)
-----------------------------------------------------------------------
* **Open instants.** An instant ``t`` is open iff its LOCAL wall-clock time in the calendar's zone
  lies inside one of the ranges ``[open, close)`` configured for that local weekday, and that local
  date is neither a holiday (``holidays`` package, country/subdivision) nor one of the extra
  ``closed_dates``. ``"24:00"`` is allowed as a closing time and means the end of the local day.
* **DST.** Because openness is defined on wall time, daylight-saving transitions need no special
  rules: a range that starts inside a spring-forward gap effectively begins at the transition
  instant (the first wall time that exists after the gap); a range entirely inside the gap is
  empty; in a fall-back overlap the repeated wall hour counts twice, so a day's open set may even
  be two disjoint UTC intervals (``02:30-03:00`` on a fall-back night is open 30 min, then 30 min
  more an hour later). Each day's UTC intervals are built exactly by splitting at the zone's
  offset transitions (found from ``zoneinfo`` and pinned to the second), never approximated.
  This matches what biz' ``in_hours?`` says inside a gap (open); biz' duration arithmetic
  instead shifts such a range one hour later and may drop it - we deliberately do not.
* **Working time between** ``start`` and ``end`` is the measure of the open instants in
  ``[start, end)``; zero when ``end <= start``.
* **add_working_time(start, d)** is the EARLIEST instant ``t >= start`` with
  ``working_time_between(start, t) >= d``. Hence a budget that runs out exactly at a closing time
  ends AT the closing time (Tue 10:00 + 8 h on 09:00-18:00 = Tue 18:00, not Wed 09:00; biz and
  pandas report the next opening, which is the same point in working time), and ``d == 0``
  returns ``start`` itself even when the calendar is closed. Negative durations raise ValueError.
* All results are aware UTC datetimes. Naive datetimes are rejected with ValueError (never
  guessed). Arithmetic is exact to the microsecond: inputs keep their seconds and microseconds.
* ``WorkingCalendar.always_open()`` is the 24x7 clock: every instant open, no holidays,
  ``add_working_time`` is plain addition.

Performance
-----------
Each local date's open UTC intervals are computed once (cached per ordinal). The calendar keeps a
lazily extended table of all open intervals over a contiguous range of local dates, sorted in UTC,
with prefix sums of open microseconds. ``W(u)`` (open time from the table origin up to ``u``) is a
bisect plus arithmetic, so ``working_time_between`` is ``W(end) - W(start)`` and
``add_working_time`` bisects the prefix sums for ``W(start) + d``: cost does not depend on the span
(after the first touch of a range of dates, which builds it once). Holidays are loaded lazily per
year and cached. A calendar without any open time raises ValueError instead of looping: nothing
open within a 10-year horizon means "never".
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone as dt_timezone
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["WorkingCalendar", "DAY_KEYS"]

DAY_KEYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_US = 1_000_000
_HOUR_US = 3600 * _US
_DAY_US = 86_400 * _US
_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
_EPOCH_ORD = date(1970, 1, 1).toordinal()
# UTC offsets are strictly below 24 h (zoneinfo enforces it); 26 h is a safe bound for windows.
_MAX_OFFSET_US = 26 * _HOUR_US
# Instants this far inside the table's date range are guaranteed to have their local date (and
# that of every instant within _MAX_OFFSET_US of them) inside the table.
_SAFE_MARGIN_US = 3 * _DAY_US
_CHUNK_DAYS = 366
_HORIZON_US = 3653 * _DAY_US  # ~10 years without any open time = "never open"
_MIN_ORD = date(1, 1, 1).toordinal() + 7
_MAX_ORD = date(9999, 12, 31).toordinal() - 7
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_LABELS = tuple(key.title() for key in DAY_KEYS)  # "Mon", ... for describe()


def _to_us(value: datetime, name: str) -> int:
    """Exact microseconds since the Unix epoch of an aware datetime; ValueError if naive."""
    try:
        delta = value - _EPOCH
    except TypeError:
        raise ValueError(
            f"{name} must be a timezone-aware datetime, got {value!r} (naive datetimes are "
            "ambiguous and never guessed)"
        ) from None
    if not isinstance(delta, timedelta):  # e.g. an exotic type with its own __sub__
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _from_us(us: int) -> datetime:
    """Aware UTC datetime for microseconds since the epoch."""
    sec, micro = divmod(us, _US)  # positional timedelta(0, s, µs) is the fast constructor path
    return _EPOCH + timedelta(0, sec, micro)


def _td_us(value: timedelta | None) -> int:
    """Exact microseconds of a timedelta (None, a missing UTC offset, counts as 0)."""
    if value is None:
        return 0
    return (value.days * 86_400 + value.seconds) * _US + value.microseconds


def _duration_us(duration: timedelta) -> int:
    if not isinstance(duration, timedelta):
        raise TypeError(f"duration must be a datetime.timedelta, got {duration!r}")
    us = (duration.days * 86_400 + duration.seconds) * _US + duration.microseconds
    if us < 0:
        raise ValueError(f"duration must not be negative, got {duration!r}")
    return us


def _parse_time(text: Any, *, day: str, is_end: bool) -> int:
    """'HH:MM' -> microseconds after local midnight ('24:00' only as a closing time)."""
    if not isinstance(text, str):
        raise ValueError(f"hours[{day!r}]: time {text!r} must be a string 'HH:MM'")
    m = _TIME_RE.match(text.strip())
    if not m:
        raise ValueError(f"hours[{day!r}]: time {text!r} is not in 'HH:MM' format")
    hh, mm = int(m.group(1)), int(m.group(2))
    if hh == 24 and mm == 0:
        if not is_end:
            raise ValueError(f"hours[{day!r}]: '24:00' is only allowed as a closing time")
        return _DAY_US
    if hh > 23 or mm > 59:
        raise ValueError(f"hours[{day!r}]: time {text!r} is out of range (00:00-23:59, or 24:00)")
    return (hh * 3600 + mm * 60) * _US


def _fmt_time(us: int) -> str:
    minutes = us // (60 * _US)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_hours(hours: Mapping[str, Any]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Validate the hours mapping; returns per weekday (Mon=0) sorted (open_us, close_us) ranges."""
    if not isinstance(hours, Mapping):
        raise ValueError(f"hours must be a mapping of weekday -> ranges, got {type(hours).__name__}")
    week: list[list[tuple[int, int]]] = [[] for _ in DAY_KEYS]
    seen: set[str] = set()
    for raw_key, ranges in hours.items():
        key = raw_key.lower() if isinstance(raw_key, str) else raw_key
        if key not in DAY_KEYS:
            raise ValueError(f"hours: unknown weekday key {raw_key!r} (expected one of {', '.join(DAY_KEYS)})")
        if key in seen:
            raise ValueError(f"hours: weekday {key!r} given twice")
        seen.add(key)
        if ranges is None:
            continue
        if isinstance(ranges, (str, bytes)) or not isinstance(ranges, Iterable):
            raise ValueError(f"hours[{key!r}] must be a list of ('HH:MM', 'HH:MM') ranges, got {ranges!r}")
        parsed: list[tuple[int, int]] = []
        for rng in ranges:
            if isinstance(rng, (str, bytes)) or not isinstance(rng, Sequence) or len(rng) != 2:
                raise ValueError(f"hours[{key!r}]: range {rng!r} must be a pair ('HH:MM', 'HH:MM')")
            start = _parse_time(rng[0], day=key, is_end=False)
            end = _parse_time(rng[1], day=key, is_end=True)
            if end <= start:
                raise ValueError(
                    f"hours[{key!r}]: range {rng[0]}-{rng[1]} is reversed or empty (close must be after open)"
                )
            parsed.append((start, end))
        parsed.sort()
        for (a0, a1), (b0, b1) in zip(parsed, parsed[1:]):
            if b0 < a1:
                raise ValueError(
                    f"hours[{key!r}]: ranges {_fmt_time(a0)}-{_fmt_time(a1)} and "
                    f"{_fmt_time(b0)}-{_fmt_time(b1)} overlap"
                )
        week[DAY_KEYS.index(key)] = parsed
    return tuple(tuple(r) for r in week)


class _OffsetIndex:
    """Piecewise-constant UTC offset of a zone over a covered UTC range, split at transitions.

    ``ts[k]`` is the first instant (µs) of segment k, ``offs[k]`` its offset (µs); the last segment
    runs to ``hi``. Transitions are found by sampling every 12 hours and bisecting to the second
    (tz data transitions fall on whole seconds). Sampling could only miss two transitions less
    than 12 h apart; the closest pair in the whole tz database is about 4 days apart (Africa/
    Freetown, 1939), so this is exact for every real zone.
    """

    _STEP_S = 12 * 3600

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.ts: list[int] = []
        self.offs: list[int] = []
        self.lo = 0
        self.hi = 0

    def _offset(self, sec: int) -> timedelta | None:
        # fromtimestamp(sec, tz) is one C call (tz.fromutc): the fastest exact offset lookup
        return datetime.fromtimestamp(sec, self.tz).utcoffset()

    def _scan(self, lo: int, hi: int) -> tuple[list[int], list[int]]:
        """Segments of [lo, hi) (µs, whole seconds): start instants and offsets in µs."""
        lo_s, hi_s = lo // _US, hi // _US
        first = self._offset(lo_s)
        ts, offs = [lo], [_td_us(first)]
        cur, cur_off = lo_s, first
        while cur < hi_s:
            nxt = min(cur + self._STEP_S, hi_s)
            nxt_off = self._offset(nxt)
            if nxt_off == cur_off:
                cur = nxt
                continue
            a, b = cur, nxt  # offset(a) == cur_off != offset(b): bisect for the first new second
            while b - a > 1:
                mid = (a + b) // 2
                if self._offset(mid) == cur_off:
                    a = mid
                else:
                    b = mid
            cur, cur_off = b, self._offset(b)
            ts.append(b * _US)
            offs.append(_td_us(cur_off))
        return ts, offs

    def ensure(self, lo: int, hi: int) -> None:
        """Make the index cover [lo, hi) (µs), extending in whole hours."""
        lo = (lo // _HOUR_US) * _HOUR_US
        hi = -(-hi // _HOUR_US) * _HOUR_US
        if not self.ts:
            self.ts, self.offs = self._scan(lo, hi)
            self.lo, self.hi = lo, hi
            return
        if hi > self.hi:
            ts, offs = self._scan(self.hi, hi)
            if offs[0] == self.offs[-1]:
                ts, offs = ts[1:], offs[1:]
            self.ts += ts
            self.offs += offs
            self.hi = hi
        if lo < self.lo:
            ts, offs = self._scan(lo, self.lo)
            if self.offs[0] == offs[-1]:
                self.ts, self.offs = self.ts[1:], self.offs[1:]
            self.ts = ts + self.ts
            self.offs = offs + self.offs
            self.lo = lo

    def segments(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """(seg_start, seg_end, offset) for the segments overlapping [lo, hi) (must be covered)."""
        k = max(bisect_right(self.ts, lo) - 1, 0)
        out: list[tuple[int, int, int]] = []
        n = len(self.ts)
        while k < n and self.ts[k] < hi:
            end = self.ts[k + 1] if k + 1 < n else self.hi
            out.append((self.ts[k], end, self.offs[k]))
            k += 1
        return out


class _Table(NamedTuple):
    """Immutable snapshot of all open UTC intervals (µs) of a contiguous range of local dates."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    cum: tuple[int, ...]  # open µs before interval i
    cumend: tuple[int, ...]  # open µs up to the end of interval i
    safe_lo: int  # instants in [safe_lo, safe_hi) are safely covered
    safe_hi: int

    def w(self, us: int) -> int:
        """Open µs in the table before instant ``us``."""
        i = bisect_right(self.starts, us) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(us, self.ends[i]) - self.starts[i]


class WorkingCalendar:
    """Opening hours per weekday in one time zone, minus holidays and extra closed dates.

    See the module docstring for the exact semantics (open instants, DST, closing-time rule).
    """

    def __init__(
        self,
        timezone: str | ZoneInfo = "UTC",
        hours: Mapping[str, Any] | None = None,
        holidays_country: str | None = None,
        holidays_subdiv: str | None = None,
        closed_dates: Iterable[date] = (),
    ) -> None:
        """Validate the configuration; raises ValueError with a clear message when it is invalid."""
        self.timezone: ZoneInfo = self._load_zone(timezone)
        self._week = _parse_hours(hours if hours is not None else {})
        self._holidays_country, self._holidays_subdiv = self._check_holidays(holidays_country, holidays_subdiv)
        self._closed: frozenset[date] = self._check_closed_dates(closed_dates)
        self._always = False
        self._lock = threading.Lock()
        self._holiday_years: dict[int, dict[date, str]] = {}
        self._holiday_names: dict[tuple[str, int], dict[date, str]] = {}  # (language, year): localized names
        self._languages: tuple[str, ...] | None = None  # holiday_languages, asked once
        self._day_cache: dict[int, list[tuple[int, int]]] = {}
        self._offsets = _OffsetIndex(self.timezone)
        # The interval table covers local dates [_d0, _d1). It is published as one immutable
        # snapshot so readers need no lock; only growing it (rare) takes the lock.
        self._d0 = 0
        self._d1 = 0
        self._tbl = _Table((), (), (), (), 1, 0)  # empty: nothing is safely covered

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _load_zone(tz: str | ZoneInfo) -> ZoneInfo:
        if isinstance(tz, ZoneInfo):
            return tz
        if not isinstance(tz, str) or not tz:
            raise ValueError(f"timezone must be an IANA zone name such as 'Europe/Madrid', got {tz!r}")
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown timezone {tz!r}: {exc}") from None

    @staticmethod
    def _check_holidays(country: str | None, subdiv: str | None) -> tuple[str | None, str | None]:
        if country is None:
            if subdiv is not None:
                raise ValueError("holidays_subdiv given without holidays_country")
            return None, None
        if not isinstance(country, str) or not country:
            raise ValueError(f"holidays_country must be an ISO country code such as 'AR', got {country!r}")
        import holidays  # lazily: only calendars with holidays pay for the import

        try:
            holidays.country_holidays(country, subdiv=subdiv)
        except NotImplementedError as exc:
            raise ValueError(f"unknown holiday country/subdivision {country!r}/{subdiv!r}: {exc}") from None
        return country, subdiv

    @staticmethod
    def _check_closed_dates(closed_dates: Iterable[date]) -> frozenset[date]:
        out: set[date] = set()
        for d in closed_dates:
            if isinstance(d, datetime) or not isinstance(d, date):
                raise ValueError(f"closed_dates must contain datetime.date objects, got {d!r}")
            out.add(d)
        return frozenset(out)

    @classmethod
    def always_open(cls, timezone: str | ZoneInfo = "UTC") -> WorkingCalendar:
        """The 24x7 clock: every instant is open, no holidays; add_working_time is plain addition.

        `timezone` only names the zone local times are shown in (a 24x7 contract's office).
        """
        cal = cls(timezone=timezone, hours={k: [("00:00", "24:00")] for k in DAY_KEYS})
        cal._always = True
        return cal

    # ------------------------------------------------------------------ holidays
    def _holidays_for_year(self, year: int) -> dict[date, str]:
        cached = self._holiday_years.get(year)
        if cached is None:
            cached = {}
            if self._holidays_country is not None:
                import holidays

                table = holidays.country_holidays(
                    self._holidays_country, subdiv=self._holidays_subdiv, years=year
                )
                cached = {d: str(name) for d, name in table.items() if d.year == year}
            self._holiday_years[year] = cached
        return cached

    @property
    def holiday_languages(self) -> tuple[str, ...]:
        """The languages the `holidays` package names this calendar's holidays in (e.g. en_US, es)."""
        if self._holidays_country is None:
            return ()
        if self._languages is None:
            import holidays

            table = holidays.country_holidays(self._holidays_country, subdiv=self._holidays_subdiv)
            self._languages = tuple(getattr(table, "supported_languages", ()))
        return self._languages

    def _localized_names(self, year: int, language: str) -> dict[date, str]:
        """The holidays of `year` named in `language` (one of `holiday_languages`), cached."""
        names = self._holiday_names.get((language, year))
        if names is None and self._holidays_country is not None:
            import holidays

            table = holidays.country_holidays(
                self._holidays_country, subdiv=self._holidays_subdiv, years=year, language=language
            )
            names = {d: str(name) for d, name in table.items() if d.year == year}
            self._holiday_names[(language, year)] = names
        return names or {}

    def holiday_name(self, d: date, language: str | None = None) -> str | None:
        """Holiday name of local date ``d``, "closed date" for an extra closed date, else None.

        ``language`` (one of `holiday_languages`) names it in that language; None: the
        package's default names.
        """
        if isinstance(d, datetime) or not isinstance(d, date):
            raise ValueError(f"holiday_name expects a datetime.date, got {d!r} (use holiday_name_at for instants)")
        if self._always:
            return None
        with self._lock:
            name = self._holidays_for_year(d.year).get(d)
            if name is not None and language is not None:
                name = self._localized_names(d.year, language).get(d, name)
        if name is not None:
            return name
        return "closed date" if d in self._closed else None

    def holiday_name_at(self, t: datetime) -> str | None:
        """holiday_name() of the local date (in the calendar's zone) of instant ``t``."""
        us = _to_us(t, "t")
        return self.holiday_name(_from_us(us).astimezone(self.timezone).date())

    # ------------------------------------------------------------------ day table
    def _day_intervals(self, ordinal: int) -> list[tuple[int, int]]:
        """Open UTC intervals (µs, sorted, merged) of one local date; cached."""
        cached = self._day_cache.get(ordinal)
        if cached is not None:
            return cached
        d = date.fromordinal(ordinal)
        ranges = self._week[d.weekday()]
        pieces: list[tuple[int, int]] = []
        if ranges and d not in self._closed and d not in self._holidays_for_year(d.year):
            wall0 = (ordinal - _EPOCH_ORD) * _DAY_US  # local midnight as if the zone were UTC
            for a, b in ranges:
                wall_a, wall_b = wall0 + a, wall0 + b
                # t is open for this range iff wall(t) = t + offset(t) lies in [wall_a, wall_b)
                for seg_lo, seg_hi, off in self._offsets.segments(wall_a - _MAX_OFFSET_US, wall_b + _MAX_OFFSET_US):
                    lo = max(wall_a - off, seg_lo)
                    hi = min(wall_b - off, seg_hi)
                    if lo < hi:
                        pieces.append((lo, hi))
            pieces = _merge(pieces)
        self._day_cache[ordinal] = pieces
        return pieces

    def _extend(self, lo_ord: int, hi_ord: int) -> None:
        """Grow the table to cover local dates [lo_ord, hi_ord) (plus slack) and rebuild it."""
        if self._d1 > self._d0:
            if lo_ord < self._d0:
                lo_ord = min(lo_ord, self._d0 - max(_CHUNK_DAYS, (self._d1 - self._d0) // 2))
            else:
                lo_ord = self._d0
            if hi_ord > self._d1:
                hi_ord = max(hi_ord, self._d1 + max(_CHUNK_DAYS, (self._d1 - self._d0) // 2))
            else:
                hi_ord = self._d1
        lo_ord = max(lo_ord, _MIN_ORD)
        hi_ord = min(hi_ord, _MAX_ORD)
        if hi_ord <= lo_ord:
            raise ValueError("instant outside the supported date range (years 1-9999)")
        wall_lo = (lo_ord - _EPOCH_ORD) * _DAY_US
        wall_hi = (hi_ord - _EPOCH_ORD) * _DAY_US
        self._offsets.ensure(wall_lo - 2 * _MAX_OFFSET_US, wall_hi + 2 * _MAX_OFFSET_US)
        pieces: list[tuple[int, int]] = []
        for ordinal in range(lo_ord, hi_ord):
            pieces.extend(self._day_intervals(ordinal))
        # Days are disjoint in UTC but not always ordered by date (a fall-back at midnight repeats
        # the previous date), so sort globally before the prefix sums.
        pieces = _merge(pieces)
        starts, ends, cum, cumend = [], [], [], []
        total = 0
        for s, e in pieces:
            starts.append(s)
            ends.append(e)
            cum.append(total)
            total += e - s
            cumend.append(total)
        self._d0, self._d1 = lo_ord, hi_ord
        self._tbl = _Table(
            tuple(starts), tuple(ends), tuple(cum), tuple(cumend),
            wall_lo + _SAFE_MARGIN_US, wall_hi - _SAFE_MARGIN_US,
        )

    def _table_for(self, *instants: int) -> _Table:
        """A table snapshot safely covering all ``instants`` (grown under the lock if needed)."""
        tbl = self._tbl
        if all(tbl.safe_lo <= us < tbl.safe_hi for us in instants):
            return tbl
        with self._lock:
            for us in instants:
                self._ensure(us)
            return self._tbl

    def _ensure(self, us: int) -> None:
        """Grow the table so ``us`` is safely covered (caller holds the lock)."""
        tbl = self._tbl
        if tbl.safe_lo <= us < tbl.safe_hi:
            return
        ordinal = us // _DAY_US + _EPOCH_ORD
        if not _MIN_ORD + 4 <= ordinal < _MAX_ORD - 4:
            raise ValueError("instant outside the supported date range (years 1-9999)")
        if self._d1 <= self._d0:
            self._extend(ordinal - 7, ordinal + _CHUNK_DAYS)
        else:
            self._extend(min(ordinal - 4, self._d0), max(ordinal + 4, self._d1))
        tbl = self._tbl
        if not tbl.safe_lo <= us < tbl.safe_hi:
            raise ValueError("instant outside the supported date range (years 1-9999)")

    # ------------------------------------------------------------------ public API
    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """Earliest instant t >= start with working_time_between(start, t) >= duration (UTC).

        ``duration == 0`` returns ``start``; a budget that ends exactly at a closing time ends
        at the closing time. ValueError for naive ``start``, negative ``duration`` or a calendar
        with no working time within 10 years.
        """
        us = _to_us(start, "start")
        d = _duration_us(duration)
        if d == 0 or self._always:
            return _from_us(us + d)
        tbl = self._tbl
        if not tbl.safe_lo <= us < tbl.safe_hi:
            tbl = self._table_for(us)
        while True:
            starts = tbl.starts
            i = bisect_right(starts, us) - 1
            target = d if i < 0 else tbl.cum[i] + min(us, tbl.ends[i]) - starts[i] + d
            cumend = tbl.cumend
            if cumend and cumend[-1] >= target:
                j = bisect_left(cumend, target)
                t = starts[j] + (target - tbl.cum[j])
                if t < tbl.safe_hi:
                    return _from_us(t)
                tbl = self._table_for(us, t)  # close to the table end: grow and recompute
                continue
            with self._lock:
                tbl = self._tbl
                if tbl.cumend and tbl.cumend[-1] >= target:
                    continue  # another thread grew it meanwhile
                last_open = max(us, tbl.ends[-1]) if tbl.ends else us
                if tbl.safe_hi - last_open > _HORIZON_US or not any(self._week):
                    raise ValueError(
                        f"calendar ({self.describe()}) has no working time within 10 years after "
                        f"{_from_us(last_open).isoformat()}; cannot add {duration}"
                    )
                self._extend(self._d0, self._d1 + 1)
                tbl = self._tbl

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Open time in [start, end); timedelta(0) if end <= start."""
        a = _to_us(start, "start")
        b = _to_us(end, "end")
        if b <= a:
            return timedelta(0)
        if self._always:
            return timedelta(microseconds=b - a)
        tbl = self._table_for(a, b)
        return timedelta(microseconds=tbl.w(b) - tbl.w(a))

    def is_open(self, t: datetime) -> bool:
        """True iff instant ``t`` is open (see the module docstring)."""
        us = _to_us(t, "t")
        if self._always:
            return True
        tbl = self._table_for(us)
        i = bisect_right(tbl.starts, us) - 1
        return i >= 0 and us < tbl.ends[i]

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """UTC open intervals clipped to [start, end), in order (explains which time counted)."""
        a = _to_us(start, "start")
        b = _to_us(end, "end")
        if b <= a:
            return []
        if self._always:
            return [(_from_us(a), _from_us(b))]
        tbl = self._table_for(a, b)
        starts, ends = tbl.starts, tbl.ends
        i = max(bisect_right(starts, a) - 1, 0)
        out: list[tuple[datetime, datetime]] = []
        while i < len(starts) and starts[i] < b:
            lo, hi = max(starts[i], a), min(ends[i], b)
            if lo < hi:
                out.append((_from_us(lo), _from_us(hi)))
            i += 1
        return out

    @property
    def is_always_open(self) -> bool:
        """Whether this is the 24x7 clock."""
        return self._always

    @property
    def holidays_region(self) -> str | None:
        """'AR', 'DE-BY': the holidays' country and subdivision, None without public holidays."""
        if not self._holidays_country:
            return None
        return self._holidays_country + (f"-{self._holidays_subdiv}" if self._holidays_subdiv else "")

    @property
    def closed_date_count(self) -> int:
        """How many extra closed dates the calendar has."""
        return len(self._closed)

    def weekly_groups(self) -> list[tuple[int, int, list[str]]]:
        """Runs of weekdays (Mon=0) with the same hours: (first, last, ['09:00-18:00', ...])."""
        groups: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
        for idx, ranges in enumerate(self._week):
            if not ranges:
                continue
            if groups and groups[-1][1] == idx - 1 and groups[-1][2] == ranges:
                groups[-1] = (groups[-1][0], idx, ranges)
            else:
                groups.append((idx, idx, ranges))
        return [(first, last, [f"{_fmt_time(a)}-{_fmt_time(b)}" for a, b in ranges]) for first, last, ranges in groups]

    def describe(self) -> str:
        """Short human description, e.g. 'Mon-Fri 09:00-18:00 America/Argentina/Buenos_Aires, holidays AR'."""
        if self._always:
            return "24x7 (always open)"
        parts = []
        for first, last, ranges in self.weekly_groups():
            days = _DAY_LABELS[first] if first == last else f"{_DAY_LABELS[first]}-{_DAY_LABELS[last]}"
            parts.append(days + " " + ",".join(ranges))
        text = ("; ".join(parts) if parts else "never open (no hours)") + f" {self.timezone.key}"
        if self._holidays_country:
            sub = f"-{self._holidays_subdiv}" if self._holidays_subdiv else ""
            text += f", holidays {self._holidays_country}{sub}"
        if self._closed:
            n = len(self._closed)
            text += f", {n} closed date{'s' if n != 1 else ''}"
        return text

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.describe()!r})"


def _merge(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort intervals and merge overlapping or touching ones."""
    if len(pieces) <= 1:
        return list(pieces)
    pieces = sorted(pieces)
    out = [pieces[0]]
    for s, e in pieces[1:]:
        ps, pe = out[-1]
        if s <= pe:
            if e > pe:
                out[-1] = (ps, e)
        else:
            out.append((s, e))
    return out
