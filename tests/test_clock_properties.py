"""Property tests: the SLA clock against a minute-by-minute brute-force oracle.

Random ticket lives (state changes, pauses, closes, reopens, an assignment) on a minute grid
in Buenos Aires around the March 2026 holidays; the oracle walks every minute, asking only
the calendar whether that minute is open, so it shares no arithmetic with the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sla_builders import history, owner_change, state_change, ticket
from zammad_sla_plugin.core.clock import evaluate
from zammad_sla_plugin.core.policy import load_policy

POLICY = load_policy()
CAL = POLICY.business_calendar
MINUTE = timedelta(minutes=1)
BASE = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)  # Mon 16 March 00:00 local; 23/24 are holidays
STOPPED = {"pending reminder": "pause", "pending close": "pause", "closed": "stop"}
TARGETS = {"3 high": (120, 480), "2 normal": (240, 2700)}


def iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def state_at(minute: datetime, created: datetime, changes: list[tuple[datetime, str]]) -> str:
    state = "new"
    for at, to in changes:
        if at <= minute:
            state = to
    return state


def oracle_resolution(created: datetime, changes: list[tuple[datetime, str]], now: datetime, target: int):
    """(counted, paused, instant the budget ran out or None), minute by minute."""
    counted = paused = 0
    exhausted = None
    minute = created
    while minute < now:
        if CAL.is_open(minute):
            kind = STOPPED.get(state_at(minute, created, changes))
            if kind is None:
                counted += 1
                if counted == target and exhausted is None:
                    exhausted = minute + MINUTE
            elif kind == "pause":
                paused += 1
        minute += MINUTE
    return counted, paused, exhausted


def oracle_add(start: datetime, minutes: int) -> datetime:
    """The earliest instant with `minutes` open minutes since `start` (minute grid)."""
    instant, left = start, minutes
    while left > 0:
        if CAL.is_open(instant):
            left -= 1
        instant += MINUTE
    return instant


lives = st.fixed_dictionaries(
    {
        "start": st.integers(0, 11 * 24 * 60),  # minutes after BASE
        "priority": st.sampled_from(sorted(TARGETS)),
        "steps": st.lists(
            st.tuples(st.integers(1, 1500), st.sampled_from(["open", "pending reminder", "pending close", "closed"])),
            max_size=5,
        ),
        "assign_after": st.one_of(st.none(), st.integers(0, 900)),
        "tail": st.integers(0, 1500),
    }
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(lives)
def test_clock_matches_the_minute_oracle(life: dict) -> None:
    created = BASE + timedelta(minutes=life["start"])
    changes: list[tuple[datetime, str]] = []
    entries = []
    at, previous = created, "new"
    for gap, to in life["steps"]:
        at += timedelta(minutes=gap)
        if to != previous:
            changes.append((at, to))
            entries.append(state_change(iso(at), previous, to))
            previous = to
    now = at + timedelta(minutes=life["tail"])
    owner = 1
    if life["assign_after"] is not None and created + timedelta(minutes=life["assign_after"]) <= now:
        assigned = created + timedelta(minutes=life["assign_after"])
        entries.append(owner_change(iso(assigned), 1, 5))
        owner = 5
    entries.sort(key=lambda entry: entry["created_at"])
    first_target, target = TARGETS[life["priority"]]

    result = evaluate(ticket(iso(created), life["priority"], previous, owner), history(*entries), None, now, POLICY)
    counted, paused, exhausted = oracle_resolution(created, changes, now, target)
    res = result.resolution
    assert res.consumed == timedelta(minutes=counted)
    assert res.paused == timedelta(minutes=paused)

    kind = STOPPED.get(previous)
    if kind == "stop":
        closed_at = changes[-1][0]
        assert res.met_at == closed_at
        assert res.state == ("met" if counted <= target else "breached")
        if counted <= target:
            assert res.due_at == oracle_add(closed_at, target - counted)  # where it would have run out
            assert closed_at <= res.due_at
        else:
            assert res.due_at == exhausted < closed_at
    elif counted >= target:
        assert (res.state, res.due_at) == ("breached", exhausted)
    elif kind == "pause":
        assert (res.state, res.due_at) == ("paused", None)
    else:
        assert res.state == "running"
        assert res.due_at == oracle_add(now, target - counted)

    fr = result.first_response
    assert fr.due_at == oracle_add(created, first_target)
    if owner == 5:
        assert fr.state == ("met" if fr.met_at <= fr.due_at else "breached")
    else:
        assert fr.state == ("breached" if now >= fr.due_at else "running")


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(0, 11 * 24 * 60), st.integers(0, 4000))
def test_next_check_is_when_the_result_changes(start: int, elapsed: int) -> None:
    created = BASE + timedelta(minutes=start)
    now = created + timedelta(minutes=elapsed)
    tk = ticket(iso(created), "3 high")
    before = evaluate(tk, history(), None, now, POLICY)
    if before.next_check_at is None:
        assert before.status == "breached" and before.resolution.state == "breached"
        return
    just_before = evaluate(tk, history(), None, before.next_check_at - timedelta(microseconds=1), POLICY)
    at_check = evaluate(tk, history(), None, before.next_check_at, POLICY)
    def shown(result):  # what the result says, apart from the counters
        return (result.status, result.first_response.state, result.resolution.state,
                result.first_response.due_at, result.resolution.due_at)  # fmt: skip

    assert shown(just_before) == shown(before)  # nothing changes before next_check_at...
    assert shown(at_check) != shown(before)  # ...and something does at it
