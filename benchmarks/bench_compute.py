"""Offline evaluation benchmark: `compute`'s evaluations per second on tickets with 50-entry
histories, one core, against a straightforward minute-stepping evaluator.

    python benchmarks/bench_compute.py [--tickets 5000] [--peer-tickets 100] [--quick]

Tickets come from the twin's bulk loader (no server: its tables are rendered in place as
`GET /tickets/:id?expand=true` and `GET /ticket_history/:id`): created over the last 14
days, 50 history rows each (owner changes, waits on the customer and back, priority
changes; 70 % end closed). Each is evaluated as of the twin's now, in this one process
and thread:
- ours: `clock.evaluate`, what `zammad-sla compute` runs per line (JSON parsing excluded);
- the peer: the textbook way, stepping minute by minute from creation, asking the calendar
  whether each minute is working time and replaying the state history to know whether the
  clock runs, until each target's minutes are used up (beyond now if needed).
Both results are compared (due times within a minute per clock stop/start: the peer only
sees whole minutes).
Goal: at least 2,000 evaluations per second.
"""

from __future__ import annotations

import argparse
import bisect
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from _support import REPO_ROOT  # noqa: F401  (puts the checkout on sys.path)

from zammad_sla_plugin.core.clock import applicable_targets, evaluate, ticket_facts
from zammad_sla_plugin.core.policy import Policy, load_policy
from zammad_sla_plugin.core.times import parse_time
from zammad_sla_plugin.twin.bulk import BulkSpec, bulk_load
from zammad_sla_plugin.twin.clock import TwinClock
from zammad_sla_plugin.twin.seed import API_USER_ID, seed_base
from zammad_sla_plugin.twin.state import TwinState

NOW = datetime(2026, 3, 11, 15, 0, tzinfo=timezone.utc)
GOAL = 2000.0
MINUTE = timedelta(minutes=1)
HORIZON = timedelta(days=60)  # the peer gives up stepping after this


def workload(count: int, seed: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(ticket, history) pairs as the REST API renders them."""
    state = TwinState(TwinClock(NOW, frozen=True))
    seed_base(state, "bench@example.com")
    assert API_USER_ID
    loaded = bulk_load(state, BulkSpec(tickets=count, closed_fraction=0.7, history_entries=50, days=14, seed=seed))
    pairs = []
    for ticket_id in loaded:
        rows = state.history.rows("Ticket", ticket_id, ("Ticket::Article",))
        pairs.append((state.ticket_with_names(state.tables["tickets"][ticket_id]),
                      {"history": [state.history.render(r) for r in rows]}))
    return pairs


def minute_stepping(ticket: dict[str, Any], history: dict[str, Any], now: datetime, policy: Policy) -> dict[str, Any]:
    """The peer: due times by walking the clock one minute at a time."""
    facts = ticket_facts(ticket, None, policy)
    targets, _ = applicable_targets(facts, policy.severity_for_priority(facts.priority), policy)
    calendar = policy.calendar_for(targets.clock)
    stopped = set(policy.states.pause) | set(policy.states.closed) | set(policy.states.merged)
    changes = sorted((parse_time(e["created_at"], "created_at"), e) for e in history["history"]
                     if e.get("type") == "updated" and e.get("attribute") in ("state", "owner"))
    state_at = [(when, e["value_to"]) for when, e in changes if e["attribute"] == "state"]
    state_times = [when for when, _ in state_at]
    initial = next((e["value_from"] for _, e in changes if e["attribute"] == "state"), facts.state)
    fr_due = res_due = None
    fr_used = res_used = 0
    t = facts.created_at
    while t < facts.created_at + HORIZON and (fr_due is None or res_due is None):
        index = bisect.bisect_right(state_times, t)
        state = state_at[index - 1][1] if index else initial
        if t >= now and state in policy.states.pause:
            break  # waiting on the customer now: no resolution deadline
        if index == len(state_at) and state in policy.states.closed:
            state = "(deadline as if still running)"  # a closed ticket is judged against its projected deadline
        working = calendar.is_open(t)
        if working and fr_due is None:  # first response never pauses
            fr_used += 1
            if fr_used >= targets.first_response_minutes:
                fr_due = t + MINUTE
        if working and res_due is None and state not in stopped:
            res_used += 1
            if res_used >= targets.resolution_minutes:
                res_due = t + MINUTE
        t += MINUTE
    return {"first_response_due_at": fr_due, "resolution_due_at": res_due}


def close_enough(ours: datetime | None, theirs: datetime | None, transitions: int) -> bool:
    """Due times agree to the minute per clock stop or start (or both are absent).

    The peer sees whole minutes from creation, so each pause boundary inside a minute can
    shift its answer by up to one minute."""
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return abs(ours - theirs) <= MINUTE * (1 + transitions)


def main() -> None:
    """Time both evaluators on the same tickets and compare their answers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--peer-tickets", type=int, default=100, help="tickets the (slow) peer evaluates")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1000 tickets, 30 for the peer")
    args = parser.parse_args()
    count, peer_count = (1000, 30) if args.quick else (args.tickets, args.peer_tickets)
    policy = load_policy()
    pairs = workload(count, args.seed)
    entries = sum(len(h["history"]) for _, h in pairs) / len(pairs)
    evaluate(pairs[0][0], pairs[0][1], None, NOW, policy)  # warm the calendar tables, like a running process

    started = time.perf_counter()
    results = [evaluate(ticket, history, None, NOW, policy) for ticket, history in pairs]
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    peer = [minute_stepping(ticket, history, NOW, policy) for ticket, history in pairs[:peer_count]]
    peer_s = time.perf_counter() - started

    agree = 0
    for (_, history), r, p in zip(pairs, results, peer):
        transitions = sum(1 for e in history["history"] if e.get("attribute") == "state")
        agree += close_enough(r.first_response.due_at, p["first_response_due_at"], 0) and close_enough(
            r.resolution.due_at, p["resolution_due_at"], transitions)
    ours_rate, peer_rate = count / ours_s, peer_count / peer_s
    print(f"{count} tickets, {entries:.0f} history entries each on average, evaluated as of {NOW:%Y-%m-%d %H:%M}Z "
          f"on one core")
    print(f"ours   clock.evaluate       : {ours_s:7.2f} s for {count:>5} = {ours_rate:8.0f} evaluations/s "
          f"({ours_s / count * 1e6:6.0f} us each)")
    print(f"peer   minute-stepping      : {peer_s:7.2f} s for {peer_count:>5} = {peer_rate:8.1f} evaluations/s "
          f"({peer_s / peer_count * 1e3:6.1f} ms each)")
    print(f"speedup vs minute-stepping: {ours_rate / peer_rate:.0f}x; due times agree (minute grid) on "
          f"{agree}/{len(peer)} tickets")
    print(f"goal (>= {GOAL:.0f} evaluations/s): {'met' if ours_rate >= GOAL else 'NOT met'}")


if __name__ == "__main__":
    main()
