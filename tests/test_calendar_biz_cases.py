"""Peer suite: the 57 calendar assertions transcribed from zendesk/biz 1.8.2 (Zammad's own library).

Data: ``shared/calendar-cases/biz-spec-cases.json`` (see its README). Where biz's conventions
differ from ours, we compare in working time rather than wall time:

* ``after`` with a budget that runs out exactly at a closing time (and ``amount == 0`` outside
  hours): biz reports the next opening, we report the closing time / the start itself. Those
  instants are equal in working time, so a case passes when our result equals biz's, or lies
  before it with no working time in between. In every case our result must use exactly the
  budget: ``working_time_between(start, ours) == amount``.
* ``days`` units are skipped: biz keeps the time of day on the Nth business date, our calendar
  counts working time only (5 working days = 45 working hours).
* DST-gap ranges: none of the 57 cases has one. Our documented choice (a range starting inside a
  spring-forward gap begins at the transition instant, agreeing with biz' ``in_hours?``) is
  tested in tests/test_calendar.py.
* ``on_holiday``: biz holidays are whole local dates, given to us as ``closed_dates``; an instant
  is "on holiday" when ``holiday_name`` of its local date (calendar zone) is not None.

The shared folder is found at ``<repo>/../shared`` (CI puts ``shared/`` beside the clone) or at
``$ZAMMAD_SLA_SHARED_DIR``; without it the module is skipped.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from zammad_sla_plugin.calendar import WorkingCalendar

SHARED_DIR = Path(os.environ.get("ZAMMAD_SLA_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
CASES_FILE = SHARED_DIR / "calendar-cases" / "biz-spec-cases.json"
UNITS = {"seconds": timedelta(seconds=1), "minutes": timedelta(minutes=1), "hours": timedelta(hours=1)}


def _load_cases() -> list[dict[str, Any]]:
    if not CASES_FILE.is_file():
        return []
    return json.loads(CASES_FILE.read_text(encoding="utf-8"))


CASES = _load_cases()
if not CASES:
    pytest.skip(
        f"biz peer cases not found at {CASES_FILE} (set ZAMMAD_SLA_SHARED_DIR to the shared/ folder)",
        allow_module_level=True,
    )

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
    assert len(CASES) == 57
    assert {c["kind"] for c in CASES} == {"after", "within", "in_hours", "on_holiday"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_biz_case(case: dict[str, Any]) -> None:
    cal = calendar_for(case["schedule"])
    start = datetime.fromisoformat(case["start"])
    kind = case["kind"]
    if kind == "after":
        if case["unit"] not in UNITS:
            pytest.skip(f"biz '{case['unit']}' units keep the time of day on the Nth business date; "
                        "our calendar counts working time only")
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
