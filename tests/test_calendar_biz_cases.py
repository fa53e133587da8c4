"""Peer suite: the 57 calendar assertions transcribed from zendesk/biz 1.8.2 (Zammad's own library).

Data: ``tests/fixtures/calendar-cases/biz-spec-cases.json`` (see its README). Where biz's conventions
differ from ours, we compare in working time rather than wall time:

* ``after`` with a budget that runs out exactly at a closing time (and ``amount == 0`` outside
  hours): biz reports the next opening, we report the closing time / the start itself. Those
  instants are equal in working time, so a case passes when our result equals biz's, or lies
  before it with no working time in between. In every case our result must use exactly the
  budget: ``working_time_between(start, ours) == amount``.
* ``days`` units are tested apart: biz keeps the time of day on the Nth business date, while our
  calendar counts working time only (5 working days = 45 working hours). We rebuild biz's rule
  from our calendar's open intervals (a business date is one with any open time; the result is
  the same local time on the Nth business date, moved to the next opening if closed there).
* DST-gap ranges: none of the 57 cases has one. Our documented choice (a range starting inside a
  spring-forward gap begins at the transition instant, agreeing with biz' ``in_hours?``) is
  tested in tests/test_calendar.py.
* ``on_holiday``: biz holidays are whole local dates, given to us as ``closed_dates``; an instant
  is "on holiday" when ``holiday_name`` of its local date (calendar zone) is not None.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from zammad_sla_plugin.core.calendar import WorkingCalendar

CASES_FILE = Path(__file__).resolve().parent / "fixtures" / "calendar-cases" / "biz-spec-cases.json"
UNITS = {"seconds": timedelta(seconds=1), "minutes": timedelta(minutes=1), "hours": timedelta(hours=1)}

ALL_CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
DAY_CASES = [c for c in ALL_CASES if c["kind"] == "after" and c["unit"] == "days"]
CASES = [c for c in ALL_CASES if c not in DAY_CASES]

_calendars: dict[str, WorkingCalendar] = {}


def calendar_for(schedule: dict[str, Any]) -> WorkingCalendar:
    """One WorkingCalendar per distinct biz schedule (holidays become closed dates)."""
    key = json.dumps(schedule, sort_keys=True)
    if key not in _calendars:
        _calendars[key] = WorkingCalendar(
            timezone=schedule["time_zone"],
            hours={day: [tuple(r) for r in ranges] for day, ranges in schedule["hours"].items()},
            closed_dates=[date.fromisoformat(d) for d in schedule["holidays"]],
        )
    return _calendars[key]


def test_case_file_is_complete() -> None:
    assert len(ALL_CASES) == 57
    assert {c["kind"] for c in ALL_CASES} == {"after", "within", "in_hours", "on_holiday"}
    assert len(DAY_CASES) == 5 and {c["unit"] for c in CASES if c["kind"] == "after"} <= set(UNITS)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_biz_case(case: dict[str, Any]) -> None:
    cal = calendar_for(case["schedule"])
    start = datetime.fromisoformat(case["start"])
    kind = case["kind"]
    if kind == "after":
        budget = case["amount"] * UNITS[case["unit"]]
        expected = datetime.fromisoformat(case["expected"])
        ours = cal.add_working_time(start, budget)
        assert cal.working_time_between(start, ours) == budget
        if ours != expected:
            # closing-time / zero-budget convention: same point in working time, ours earlier
            assert ours < expected, (ours, expected)
            assert cal.working_time_between(ours, expected) == timedelta(0), (ours, expected)
            assert not cal.is_open(ours), "ours may differ from biz only when it is not open"
    elif kind == "within":
        end = datetime.fromisoformat(case["end"])
        assert cal.working_time_between(start, end) == timedelta(seconds=case["expected"])
    elif kind == "in_hours":
        assert cal.is_open(start) is case["expected"]
    elif kind == "on_holiday":
        assert (cal.holiday_name_at(start) is not None) is case["expected"]
    else:  # pragma: no cover - a new kind in the data must be handled explicitly
        pytest.fail(f"unknown case kind {kind!r}")


def _is_business_date(cal: WorkingCalendar, day: date, zone: ZoneInfo) -> bool:
    midnight = datetime.combine(day, time(0), zone)
    return bool(cal.open_intervals(midnight, datetime.combine(day + timedelta(days=1), time(0), zone)))


@pytest.mark.parametrize("case", DAY_CASES, ids=[c["id"] for c in DAY_CASES])
def test_biz_business_days_rule_from_our_open_intervals(case: dict[str, Any]) -> None:
    """biz's `N days after`: same local time on the Nth business date, then the next opening."""
    cal = calendar_for(case["schedule"])
    zone = ZoneInfo(case["schedule"]["time_zone"])
    start = datetime.fromisoformat(case["start"]).astimezone(zone)
    day, remaining = start.date(), case["amount"]
    while remaining:
        day += timedelta(days=1)
        remaining -= _is_business_date(cal, day, zone)
    target = datetime.combine(day, start.timetz().replace(tzinfo=None), zone)
    if not cal.is_open(target):
        target = cal.open_intervals(target, target + timedelta(days=14))[0][0]
    assert target == datetime.fromisoformat(case["expected"])
