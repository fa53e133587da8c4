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

Contracts (issue 17): the same tickets evaluated under the default policy (no contracts: the
single-policy peer), with 1 contract and with 50, in interleaved rounds (best of `--rounds`
each, against the noise of a shared machine). The 50 are realistic: 49 that match none of
these tickets, selecting on organization, group, tag and customer e-mail domain (so selection
walks all 49 and, for the tag selectors, replays the ticket's history for its tags), each with
its own calendar (time zone, hours, holidays); then "Key account", which matches the tickets of
one of the two organizations (about two thirds), with a calendar and targets of its own but
shaped like the default's (so the comparison measures choosing the contract, not a costlier
calendar); the rest fall to the default. The 1-contract policy is "Key account" alone. Goal: 50 contracts cost under 10 %
more time per evaluation than the single policy.
"""

from __future__ import annotations

import argparse
import bisect
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from _support import REPO_ROOT  # noqa: F401  (puts the checkout on sys.path)

from zammad_sla_plugin.core.clock import applicable_targets, evaluate, ticket_facts
from zammad_sla_plugin.core.policy import Policy, default_policy_text, load_policy, policy_from_text
from zammad_sla_plugin.core.times import parse_time
from zammad_sla_plugin.twin.bulk import BulkSpec, bulk_load
from zammad_sla_plugin.twin.clock import TwinClock
from zammad_sla_plugin.twin.seed import API_USER_ID, seed_base
from zammad_sla_plugin.twin.state import TwinState

NOW = datetime(2026, 3, 11, 15, 0, tzinfo=timezone.utc)
GOAL = 2000.0
CONTRACT_GOAL = 0.10  # 50 contracts: under 10 % more time per evaluation than the single policy
MATCHING_ORGANIZATION = "Awesome Customer Inc."  # the twin's seeded organization 2 (customers 6 and 7)
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


_DEFAULT_SEVERITIES = load_policy().severities  # what the contracts' own targets are scaled from

# The 49 contracts that match none of the benchmark's tickets: (time zone, holidays country, subdivision).
_CALENDARS = (
    ("America/Argentina/Buenos_Aires", "AR", ""), ("America/Sao_Paulo", "BR", "SP"), ("America/Mexico_City", "MX", ""),
    ("America/Santiago", "CL", ""), ("America/Bogota", "CO", ""), ("America/Montevideo", "UY", ""),
    ("Europe/Madrid", "ES", "MD"), ("Europe/Berlin", "DE", "BY"), ("America/New_York", "US", "NY"),
    ("Europe/Lisbon", "PT", ""),
)  # fmt: skip


def _calendar(index: int, zone: str, country: str, subdiv: str) -> str:
    """A contract calendar in TOML: business hours with a lunch break on some, holidays, closed dates."""
    start = 7 + index % 3
    lunch = index % 2 == 0
    day = f'[["{start:02d}:00", "12:00"], ["13:00", "{start + 9:02d}:00"]]' if lunch else f'[["{start:02d}:00", "{start + 9:02d}:00"]]'
    hours = "\n".join(f"{name} = {day}" for name in ("mon", "tue", "wed", "thu", "fri"))
    if index % 5 == 0:
        hours += '\nsat = [["09:00", "13:00"]]'
    sub = f'holidays_subdiv = "{subdiv}"\n' if subdiv else ""
    return (f'[contracts.calendar]\ntimezone = "{zone}"\nholidays_country = "{country}"\n{sub}'
            f'closed_dates = ["2026-12-24", "2026-12-31"]\n[contracts.calendar.hours]\n{hours}\n')


def _targets(scale: float) -> str:
    """Own targets per severity, scaled from the default policy's."""
    return "".join(
        f"[contracts.severities.{name}]\nclock = \"{t.clock}\"\n"
        f"first_response_minutes = {round(t.first_response_minutes * scale)}\n"
        f"resolution_minutes = {round(t.resolution_minutes * scale)}\n"
        for name, t in _DEFAULT_SEVERITIES.items()
    )


def contracts_policy(count: int) -> Policy:
    """The default policy with `count` contracts: `count - 1` that match none of the tickets, then "Key account"."""
    selectors = (
        lambda i: f'organization = ["Client {i}", {1000 + i}]',
        lambda i: f'group = ["Team {i}", "Team {i}::Escalations"]',
        lambda i: f'tag = ["contract-{i}", "vip-{i}"]',
        lambda i: f'customer_domain = ["client{i}.example", "client{i}.example.org"]',
    )
    parts = []
    for i in range(count - 1):
        zone, country, subdiv = _CALENDARS[i % len(_CALENDARS)]
        parts.append(f'[[contracts]]\nname = "Contract {i}"\n[contracts.match]\n{selectors[i % len(selectors)](i)}\n'
                     + _calendar(i, zone, country, subdiv) + (_targets(0.5 + i % 4 * 0.25) if i % 2 else ""))
    # Its own calendar and targets, shaped like the default's (Mon-Fri 09-18, AR holidays; the same
    # minutes), so the comparison measures choosing the contract, not a costlier calendar.
    key_hours = "\n".join(f'{day} = [["09:00", "18:00"]]' for day in ("mon", "tue", "wed", "thu", "fri"))
    parts.append(f'[[contracts]]\nname = "Key account"\n[contracts.match]\norganization = ["{MATCHING_ORGANIZATION}"]\n'
                 f'[contracts.calendar]\ntimezone = "America/Argentina/Cordoba"\nholidays_country = "AR"\n'
                 f'[contracts.calendar.hours]\n{key_hours}\n' + _targets(1.0))
    return policy_from_text(default_policy_text() + "\n" + "\n".join(parts))


def contract_rates(pairs: list[tuple[dict[str, Any], dict[str, Any]]], rounds: int) -> None:
    """Evaluations per second with no contracts, 1 and 50, best of `rounds` interleaved rounds."""
    policies = {"no contracts (single policy)": load_policy(), "1 contract": contracts_policy(1),
                "50 contracts": contracts_policy(50)}  # fmt: skip
    for policy in policies.values():  # warm every calendar's tables, like a running process
        for ticket, history in pairs[:200]:
            evaluate(ticket, history, None, NOW, policy)
    best = dict.fromkeys(policies, float("inf"))
    chosen: dict[str, dict[str | None, int]] = {}
    for _ in range(rounds):
        for label, policy in policies.items():
            started = time.perf_counter()
            results = [evaluate(ticket, history, None, NOW, policy) for ticket, history in pairs]
            best[label] = min(best[label], time.perf_counter() - started)
            chosen[label] = {}
            for result in results:
                chosen[label][result.contract] = chosen[label].get(result.contract, 0) + 1
    count, single = len(pairs), best["no contracts (single policy)"]
    for label, seconds in best.items():
        cost = "" if seconds is single else f"; {seconds / single:.3f}x the single policy's time ({(seconds / single - 1) * 100:+.1f} %)"
        applied = ", ".join(f"{name or 'none'} {n}" for name, n in sorted(chosen[label].items(), key=lambda i: str(i[0])))
        print(f"contracts {label:<28}: {count / seconds:8.0f} evaluations/s ({seconds / count * 1e6:5.0f} us each, "
              f"best of {rounds}){cost}  [{applied}]")
    extra = best["50 contracts"] / single - 1
    print(f"goal (50 contracts cost < {CONTRACT_GOAL * 100:.0f} % more than the single policy): "
          f"{'met' if extra < CONTRACT_GOAL else 'NOT met'} ({extra * 100:+.1f} %)")


def main() -> None:
    """Time both evaluators on the same tickets and compare their answers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--peer-tickets", type=int, default=100, help="tickets the (slow) peer evaluates")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the contract comparison")
    parser.add_argument("--quick", action="store_true", help="1000 tickets, 30 for the peer, 3 rounds")
    args = parser.parse_args()
    count, peer_count = (1000, 30) if args.quick else (args.tickets, args.peer_tickets)
    rounds = 3 if args.quick else args.rounds
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
    contract_rates(pairs, rounds)


if __name__ == "__main__":
    main()
