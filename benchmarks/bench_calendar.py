"""Benchmark: WorkingCalendar.add_working_time vs pandas' CustomBusinessHour, same random cases.

    python benchmarks/bench_calendar.py [--cases 20000] [--seed N]

Calendar: America/Argentina/Buenos_Aires, Mon-Fri 09:00-18:00, AR public holidays. pandas works in
naive local time (Argentina has had no DST since 2009, so that is exact) with the same holiday
dates. Starts are anywhere in 2025-2026 (nights, weekends and holidays included); durations are on
a minute grid, from minutes to several working days.

pandas' CustomBusinessHour only adds whole hours (``n`` is an int), so a duration of
``h`` hours and ``m`` minutes is run in pandas as: the ``m`` minutes with pandas' own business-hour
primitives (rollforward / closing time / next opening; a remainder that ends exactly at closing time
moves to the next opening, like pandas does), then ``+ CustomBusinessHour(n=h)``. The hour-only
subset (m == 0) is pure ``ts + CustomBusinessHour(n=h)`` and gets its own speed line.

Agreement: equal local wall times. A "closing-time convention" case is one where ours ends exactly
at a closing time and pandas reports the following opening with no working time in between
(same point in working time; not a disagreement).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from zammad_sla_plugin.core.calendar import WorkingCalendar  # noqa: E402

TZ_NAME = "America/Argentina/Buenos_Aires"
TZ = ZoneInfo(TZ_NAME)
HOURS = {k: [("09:00", "18:00")] for k in ("mon", "tue", "wed", "thu", "fri")}
RANGE_START = datetime(2025, 1, 1, tzinfo=TZ)
RANGE_MINUTES = 2 * 365 * 24 * 60
GOAL = 25.0


def make_cases(n: int, seed: int) -> list[tuple[datetime, timedelta]]:
    """n (aware UTC start, duration) pairs on a minute grid."""
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        start = (RANGE_START + timedelta(minutes=rng.randrange(RANGE_MINUTES))).astimezone(timezone.utc)
        kind = rng.random()
        if kind < 0.35:
            minutes = rng.randint(1, 120)  # first-response style: minutes
        elif kind < 0.65:
            minutes = 60 * rng.randint(1, 9)  # whole working hours
        else:
            minutes = rng.randint(9 * 60, 5 * 9 * 60)  # one to five working days
        cases.append((start, timedelta(minutes=minutes)))
    return cases


def ar_holidays(years: range) -> list[date]:
    import holidays

    return sorted(holidays.country_holidays("AR", years=list(years)).keys())


def pandas_runner(holiday_dates: list[date]) -> Any:
    """Return add(ts: pd.Timestamp, minutes: int) -> pd.Timestamp using CustomBusinessHour."""
    import pandas as pd

    cbh = pd.offsets.CustomBusinessHour(start="09:00", end="18:00", holidays=holiday_dates)
    by_n: dict[int, Any] = {}

    def add(ts: Any, minutes: int) -> Any:
        hours, rest = divmod(minutes, 60)
        if rest:
            # pandas cannot add sub-hour business time; use its own primitives for the remainder
            ts = cbh.rollforward(ts)
            if ts.time() == cbh.end[0]:
                ts = cbh._next_opening_time(ts)
            closing = cbh._get_closing_time(cbh._prev_opening_time(ts))
            left = closing - ts
            step = pd.Timedelta(minutes=rest)
            if step < left:
                ts = ts + step
            else:
                ts = cbh._next_opening_time(closing) + (step - left)
        if hours:
            off = by_n.get(hours)
            if off is None:
                off = by_n[hours] = pd.offsets.CustomBusinessHour(
                    n=hours, start="09:00", end="18:00", holidays=holiday_dates
                )
            ts = ts + off
        return ts

    return add


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20260601)
    args = parser.parse_args(argv)

    import pandas as pd

    cases = make_cases(args.cases, args.seed)
    holiday_dates = ar_holidays(range(2024, 2029))
    pd_inputs = [pd.Timestamp(s.astimezone(TZ).replace(tzinfo=None)) for s, _ in cases]
    minutes = [int(d.total_seconds()) // 60 for _, d in cases]

    # ours: construction and first-use table building are inside the timing
    t0 = time.perf_counter()
    cal = WorkingCalendar(timezone=TZ_NAME, hours=HOURS, holidays_country="AR")
    ours = [cal.add_working_time(s, d) for s, d in cases]
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    add = pandas_runner(holiday_dates)
    theirs = [add(ts, m) for ts, m in zip(pd_inputs, minutes)]
    t_pd = time.perf_counter() - t0

    hour_idx = [i for i, m in enumerate(minutes) if m % 60 == 0]
    t0 = time.perf_counter()
    for i in hour_idx:
        cal.add_working_time(cases[i][0], cases[i][1])
    t_ours_h = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in hour_idx:
        add(pd_inputs[i], minutes[i])
    t_pd_h = time.perf_counter() - t0

    agree, convention, disagreements = 0, 0, []
    for (start, dur), mine, pd_ts in zip(cases, ours, theirs):
        mine_local = mine.astimezone(TZ).replace(tzinfo=None)
        pd_local = pd.Timestamp(pd_ts).to_pydatetime()
        if mine_local == pd_local:
            agree += 1
            continue
        pd_aware = pd_local.replace(tzinfo=TZ)
        if mine < pd_aware and not cal.is_open(mine) and cal.working_time_between(mine, pd_aware) == timedelta(0):
            convention += 1
        else:
            disagreements.append((start.astimezone(TZ), dur, mine_local, pd_local))

    n = len(cases)
    print(f"cases: {n} (seed {args.seed}), calendar: {cal.describe()}")
    print(f"ours   WorkingCalendar.add_working_time : {t_ours:8.3f} s  ({t_ours / n * 1e6:7.2f} us/case)")
    print(f"pandas CustomBusinessHour              : {t_pd:8.3f} s  ({t_pd / n * 1e6:7.2f} us/case)")
    speedup = t_pd / t_ours
    print(f"speedup vs pandas CustomBusinessHour: {speedup:.1f}x (goal >= {GOAL:g}x)")
    if hour_idx:
        print(
            f"  whole-hour subset ({len(hour_idx)} cases, pure ts + CustomBusinessHour(n)): "
            f"{t_pd_h / t_ours_h:.1f}x ({t_ours_h / len(hour_idx) * 1e6:.2f} vs {t_pd_h / len(hour_idx) * 1e6:.2f} us/case)"
        )
    print(f"agreements: {agree}")
    print(f"closing-time convention cases (pandas moved a deadline at closing time to the next opening): {convention}")
    print(f"disagreements: {len(disagreements)}")
    for start, dur, mine_local, pd_local in disagreements[:5]:
        print(f"  start {start.isoformat()} + {dur}: ours {mine_local} local, pandas {pd_local}")
    ok = not disagreements and speedup >= GOAL
    print("RESULT:", "OK" if ok else "GOAL NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
