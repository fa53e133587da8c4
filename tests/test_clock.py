"""The SLA clock on hand-computed cases.

Default policy: Buenos Aires (UTC-3, no DST), Mon-Fri 09:00-18:00 local = 12:00-21:00Z,
AR holidays (2026-03-23 and 2026-03-24 are holidays). 2026-03-10 is a Tuesday.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.sla_builders import history, owner_change, state_change, ticket
from zammad_sla_plugin.core.clock import SlaInputError, evaluate
from zammad_sla_plugin.core.policy import Policy, default_policy_text, load_policy


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run(policy: Policy, tk: dict, hist: dict | None = None, now: str = "2026-03-10T13:00:00Z", org: dict | None = None) -> dict:
    return evaluate(tk, hist or history(), org, at(now), policy).to_dict()


TUE_10_LOCAL = "2026-03-10T13:00:00Z"


def test_the_issue_example_high_ticket_just_created(policy: Policy) -> None:
    out = run(policy, ticket(TUE_10_LOCAL), now=TUE_10_LOCAL)
    assert out == {
        "ticket_id": 42, "applies": True, "severity": "high", "clock": "business", "support_24x7": False,
        "status": "on_track",
        "first_response": {"target_minutes": 120, "due_at": "2026-03-10T15:00:00Z", "met_at": None, "state": "running"},
        # 10:00 + 8 working hours ends at closing time 18:00 local, not at the next opening
        "resolution": {"target_minutes": 480, "due_at": "2026-03-10T21:00:00Z", "met_at": None,
                       "state": "running", "counted_minutes": 0, "paused_minutes": 0},
        "next_check_at": "2026-03-10T14:36:00Z",  # 80 % of the 120-minute first response
    }  # fmt: skip


def test_at_risk_after_80_percent_of_first_response(policy: Policy) -> None:
    out = run(policy, ticket(TUE_10_LOCAL), now="2026-03-10T14:40:00Z")
    assert out["status"] == "at_risk"
    assert out["resolution"]["counted_minutes"] == 100
    assert out["next_check_at"] == "2026-03-10T15:00:00Z"  # the first-response deadline


def test_first_response_breached_with_no_update(policy: Policy) -> None:
    out = run(policy, ticket(TUE_10_LOCAL), now="2026-03-10T15:00:00Z")
    assert out["first_response"]["state"] == "breached"
    assert out["status"] == "breached"
    # already breached: the resolution warning (16:24 local) changes nothing, its deadline does
    assert out["next_check_at"] == "2026-03-10T21:00:00Z"


def test_assignment_meets_first_response(policy: Policy) -> None:
    hist = history(owner_change("2026-03-10T14:00:00Z", 1, 5))
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5), hist, now="2026-03-10T15:30:00Z")
    assert out["first_response"] == {
        "target_minutes": 120, "due_at": "2026-03-10T15:00:00Z", "met_at": "2026-03-10T14:00:00Z", "state": "met",
    }  # fmt: skip
    assert out["status"] == "on_track"
    assert out["next_check_at"] == "2026-03-10T19:24:00Z"


def test_late_assignment_is_a_breach(policy: Policy) -> None:
    hist = history(owner_change("2026-03-10T15:30:00Z", 1, 5))
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5), hist, now="2026-03-10T16:00:00Z")
    assert out["first_response"]["state"] == "breached"
    assert out["first_response"]["met_at"] == "2026-03-10T15:30:00Z"
    assert out["status"] == "breached"


def test_assigned_at_creation_without_owner_history(policy: Policy) -> None:
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5), now="2026-03-10T14:00:00Z")
    assert out["first_response"]["met_at"] == TUE_10_LOCAL
    assert out["first_response"]["state"] == "met"


def test_first_owner_entry_from_an_agent_means_assigned_at_creation(policy: Policy) -> None:
    hist = history(owner_change("2026-03-10T18:00:00Z", 5, 6))
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=6), hist, now="2026-03-10T19:00:00Z")
    assert out["first_response"]["met_at"] == TUE_10_LOCAL


def test_unassigned_then_reassigned_counts_the_first_assignment(policy: Policy) -> None:
    hist = history(
        owner_change("2026-03-10T13:30:00Z", 1, 5),
        owner_change("2026-03-10T13:40:00Z", 5, 1),
        owner_change("2026-03-10T16:00:00Z", 1, 6),
    )
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=6), hist, now="2026-03-10T17:00:00Z")
    assert out["first_response"]["met_at"] == "2026-03-10T13:30:00Z"
    assert out["first_response"]["state"] == "met"


def test_medium_ticket_across_a_weekend(policy: Policy) -> None:
    # Fri 2026-03-13 17:00 local: 1 h on Friday, then Monday.
    out = run(policy, ticket("2026-03-13T20:00:00Z", priority="2 normal"), now="2026-03-13T20:00:00Z")
    assert out["severity"] == "medium"
    assert out["first_response"]["due_at"] == "2026-03-16T15:00:00Z"  # Mon 12:00 local
    # 45 working hours: Fri 1 + Mon..Thu 36 + Fri 20th 8 -> Fri 17:00 local
    assert out["resolution"]["due_at"] == "2026-03-20T20:00:00Z"


def test_holidays_are_skipped(policy: Policy) -> None:
    # Fri 2026-03-20 17:00 local; Mon 23 and Tue 24 March are AR public holidays.
    out = run(policy, ticket("2026-03-20T20:00:00Z", priority="1 low"), now="2026-03-20T20:00:00Z")
    assert out["severity"] == "low"
    assert out["first_response"]["due_at"] == "2026-03-25T15:00:00Z"  # Wed 12:00 local


def test_ticket_created_at_night_starts_at_the_next_opening(policy: Policy) -> None:
    out = run(policy, ticket("2026-03-11T02:00:00Z"), now="2026-03-11T02:00:00Z")  # Tue 23:00 local
    assert out["first_response"]["due_at"] == "2026-03-11T14:00:00Z"  # Wed 11:00 local
    assert out["next_check_at"] == "2026-03-11T13:36:00Z"


def test_pause_across_a_weekend(policy: Policy) -> None:
    # Thu 12 March 10:00 local created, pending reminder Thu 16:00, reopened Mon 16 10:00.
    hist = history(
        state_change("2026-03-12T19:00:00Z", "open", "pending reminder"),
        state_change("2026-03-16T13:00:00Z", "pending reminder", "open"),
    )
    paused = run(policy, ticket("2026-03-12T13:00:00Z", owner_id=5, state="pending reminder"),
                 history(hist["history"][0]), now="2026-03-13T15:00:00Z")  # fmt: skip
    assert paused["status"] == "paused"
    assert paused["resolution"] == {
        "target_minutes": 480, "due_at": None, "met_at": None, "state": "paused",
        "counted_minutes": 360, "paused_minutes": 120 + 180,  # Thu 16-18, Fri 09-12
    }  # fmt: skip
    assert paused["next_check_at"] is None

    out = run(policy, ticket("2026-03-12T13:00:00Z", owner_id=5), hist, now="2026-03-16T14:00:00Z")
    assert out["resolution"]["counted_minutes"] == 420  # 6 h Thursday + 1 h Monday
    assert out["resolution"]["paused_minutes"] == 720  # Thu 2 h + Fri 9 h + Mon 1 h
    assert out["resolution"]["due_at"] == "2026-03-16T15:00:00Z"  # one hour left from Mon 11:00
    assert out["status"] == "at_risk"  # 420 >= 384
    assert out["next_check_at"] == "2026-03-16T15:00:00Z"


def test_breached_while_paused_keeps_the_deadline(policy: Policy) -> None:
    hist = history(state_change("2026-03-10T21:30:00Z", "open", "pending close"))
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5, state="pending close"), hist,
              now="2026-03-11T12:00:00Z")  # fmt: skip
    # 8 h counted by Tue 18:00 local, pending only from 18:30 local: breached at 18:00 local
    assert out["resolution"]["state"] == "breached"
    assert out["resolution"]["due_at"] == "2026-03-10T21:00:00Z"


def test_closed_in_time_is_met(policy: Policy) -> None:
    hist = history(state_change("2026-03-10T20:00:00Z", "open", "closed"))
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5, state="closed"), hist, now="2026-03-12T12:00:00Z")
    assert out["resolution"] == {
        "target_minutes": 480, "due_at": "2026-03-10T21:00:00Z", "met_at": "2026-03-10T20:00:00Z",
        "state": "met", "counted_minutes": 420, "paused_minutes": 0,
    }  # fmt: skip
    assert out["status"] == "met"
    assert out["next_check_at"] is None


def test_closed_exactly_when_the_budget_ran_out_after_hours_is_met(policy: Policy) -> None:
    # 8 working hours by Tue 18:00 local, closed at 20:00 local with no working time between.
    hist = history(state_change("2026-03-10T23:00:00Z", "open", "closed"))
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5, state="closed"), hist, now="2026-03-11T12:00:00Z")
    assert out["resolution"]["state"] == "met"
    assert out["resolution"]["due_at"] == out["resolution"]["met_at"] == "2026-03-10T23:00:00Z"


def test_closed_late_is_breached_at_the_instant_the_budget_ran_out(policy: Policy) -> None:
    hist = history(state_change("2026-03-11T13:30:00Z", "open", "closed"))  # Wed 10:30 local
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5, state="closed"), hist, now="2026-03-12T12:00:00Z")
    assert out["resolution"]["state"] == "breached"
    assert out["resolution"]["counted_minutes"] == 570
    assert out["resolution"]["due_at"] == "2026-03-10T21:00:00Z"
    assert out["status"] == "breached"


def test_reopening_resumes_the_clock(policy: Policy) -> None:
    hist = history(
        state_change("2026-03-10T15:00:00Z", "open", "closed"),  # Tue 12:00 local, 2 h counted
        state_change("2026-03-11T12:00:00Z", "closed", "open"),  # Wed 09:00 local
    )
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5), hist, now="2026-03-11T13:00:00Z")
    assert out["resolution"]["state"] == "running"
    assert out["resolution"]["met_at"] is None
    assert out["resolution"]["counted_minutes"] == 180
    assert out["resolution"]["due_at"] == "2026-03-11T18:00:00Z"  # 5 h left from Wed 10:00 local


def test_history_after_now_is_ignored(policy: Policy) -> None:
    hist = history(state_change("2026-03-10T20:00:00Z", "open", "closed"))
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5, state="closed"), hist, now="2026-03-10T17:00:00Z")
    assert out["resolution"]["state"] == "running"
    assert out["resolution"]["counted_minutes"] == 240


def test_priority_change_applies_retroactively(policy: Policy) -> None:
    hist = history({"id": 1, "o_id": 42, "object": "Ticket", "type": "updated", "attribute": "priority",
                    "value_from": "2 normal", "value_to": "3 high", "id_from": 2, "id_to": 3,
                    "created_at": "2026-03-10T16:00:00Z"})  # fmt: skip
    out = run(policy, ticket(TUE_10_LOCAL, priority="3 high"), hist, now="2026-03-10T16:00:00Z")
    assert out["severity"] == "high"
    assert out["first_response"]["due_at"] == "2026-03-10T15:00:00Z"
    assert out["status"] == "breached"


SAT_03_LOCAL = "2026-03-14T06:00:00Z"
ORG_24X7 = {"id": 7, "name": "Acme", "sla_24x7_integrations": True}


def test_24x7_integrations_support_out_of_hours(policy: Policy) -> None:
    tk = ticket(SAT_03_LOCAL, sla_integration="aivo_built")
    out = run(policy, tk, org=ORG_24X7, now=SAT_03_LOCAL)
    assert (out["support_24x7"], out["clock"]) == (True, "24x7")
    assert out["first_response"]["due_at"] == "2026-03-14T08:00:00Z"
    assert out["resolution"]["target_minutes"] == 960
    assert out["resolution"]["due_at"] == "2026-03-14T22:00:00Z"


@pytest.mark.parametrize(
    ("created", "integration", "org", "priority"),
    [
        (TUE_10_LOCAL, "aivo_built", ORG_24X7, "3 high"),  # inside working hours
        (SAT_03_LOCAL, "self_service", ORG_24X7, "3 high"),  # built by the customer
        (SAT_03_LOCAL, "aivo_built", {**ORG_24X7, "sla_24x7_integrations": False}, "3 high"),  # not contracted
        (SAT_03_LOCAL, "aivo_built", None, "3 high"),  # no organization
        (SAT_03_LOCAL, "aivo_built", ORG_24X7, "2 normal"),  # medium never gets 24x7
    ],
)
def test_24x7_support_does_not_apply(policy: Policy, created: str, integration: str, org: dict | None, priority: str) -> None:
    out = run(policy, ticket(created, priority=priority, sla_integration=integration), org=org, now=created)
    assert out["support_24x7"] is False
    assert out["clock"] == "business"


def test_blocker_runs_on_the_24x7_clock(policy: Policy) -> None:
    out = run(policy, ticket(SAT_03_LOCAL, priority="4 blocker"), now=SAT_03_LOCAL)
    assert (out["severity"], out["clock"], out["support_24x7"]) == ("blocker", "24x7", False)
    assert out["first_response"]["due_at"] == "2026-03-14T07:00:00Z"
    assert out["resolution"]["due_at"] == "2026-03-14T12:00:00Z"
    with_support = run(policy, ticket(SAT_03_LOCAL, priority="4 blocker", sla_integration="aivo_built"),
                       org=ORG_24X7, now=SAT_03_LOCAL)  # fmt: skip
    assert with_support["support_24x7"] is True
    assert with_support["resolution"]["due_at"] == "2026-03-14T12:00:00Z"


def test_webhook_shape_with_nested_objects(policy: Policy) -> None:
    tk = ticket(SAT_03_LOCAL, sla_integration="aivo_built")
    tk["priority"] = {"id": 3, "name": "3 high"}
    tk["organization"] = ORG_24X7
    tk["owner"] = {"id": 5, "firstname": "Ana"}
    del tk["owner_id"]
    out = run(policy, tk, now=SAT_03_LOCAL)
    assert out["support_24x7"] is True
    assert out["first_response"]["state"] == "met"


def test_feature_request_is_not_applicable(policy: Policy) -> None:
    out = run(policy, ticket(TUE_10_LOCAL, sla_kind="feature_request"), now="2026-03-20T13:00:00Z")
    assert out["applies"] is False
    assert out["status"] == "not_applicable"
    assert out["first_response"] == {"target_minutes": None, "due_at": None, "met_at": None, "state": "not_applicable"}
    assert out["resolution"]["due_at"] is None
    assert out["next_check_at"] is None


@pytest.mark.parametrize("extra", [
    {"sla_origin": "customer", "sla_origin_evidence": "Their SMTP relay refused our mail (log attached)"},
    {"sla_origin": "third_party", "sla_origin_evidence": "CRM vendor status page: outage 10:00-14:00"},
    {"state": "merged"},
])
def test_excluded_tickets(policy: Policy, extra: dict) -> None:
    out = run(policy, ticket(TUE_10_LOCAL, **extra), now="2026-03-20T13:00:00Z")
    assert out["status"] == "excluded"
    assert out["next_check_at"] is None


def test_origin_aivo_is_not_excluded(policy: Policy) -> None:
    out = run(policy, ticket(TUE_10_LOCAL, sla_origin="aivo"), now="2026-03-20T13:00:00Z")
    assert out["status"] == "breached"


def test_met_needs_both_clocks(policy: Policy) -> None:
    hist = history(owner_change("2026-03-10T13:10:00Z", 1, 5), state_change("2026-03-10T14:00:00Z", "open", "closed"))
    out = run(policy, ticket(TUE_10_LOCAL, owner_id=5, state="closed"), hist, now="2026-03-10T15:00:00Z")
    assert out["status"] == "met"


def test_unmapped_priority_is_an_error_naming_it(policy: Policy) -> None:
    with pytest.raises(SlaInputError, match="'9 urgent'"):
        run(policy, ticket(TUE_10_LOCAL, priority="9 urgent"))


@pytest.mark.parametrize(
    ("tk", "message"),
    [
        ({"id": 1, "state": "open", "priority": "3 high"}, "created_at"),
        (ticket("2026-03-10T13:00:00"), "naive"),
        (ticket("yesterday"), "ISO-8601"),
        ({"id": 1, "created_at": TUE_10_LOCAL, "priority": "3 high", "state_id": 2}, "state"),
    ],
)
def test_bad_ticket_input(policy: Policy, tk: dict, message: str) -> None:
    with pytest.raises(SlaInputError, match=message):
        run(policy, tk)


def test_naive_now_is_refused(policy: Policy) -> None:
    with pytest.raises(SlaInputError, match="aware"):
        evaluate(ticket(TUE_10_LOCAL), history(), None, datetime(2026, 3, 10, 13), policy)


def test_seconds_are_kept(policy: Policy) -> None:
    out = run(policy, ticket("2026-03-10T13:00:07.250Z"), now="2026-03-10T13:00:07.250Z")
    assert out["first_response"]["due_at"] == "2026-03-10T15:00:07.250000Z"


def test_dst_zone_policy(tmp_path: Path) -> None:
    # Madrid springs forward on Sun 2026-03-29: Friday is UTC+1, Monday UTC+2.
    text = default_policy_text().replace("America/Argentina/Buenos_Aires", "Europe/Madrid").replace(
        'holidays_country = "AR"', 'holidays_country = "ES"'
    )
    path = tmp_path / "madrid.toml"
    path.write_text(text)
    madrid = load_policy(path)
    out = evaluate(ticket("2026-03-27T16:00:00Z"), history(), None, at("2026-03-27T16:00:00Z"), madrid).to_dict()
    # Fri 17:00-18:00 CET (1 h), then Mon 09:00 CEST + 1 h = 10:00 CEST = 08:00Z
    assert out["first_response"]["due_at"] == "2026-03-30T08:00:00Z"


def test_now_before_creation_is_treated_as_creation(policy: Policy) -> None:
    out = evaluate(ticket(TUE_10_LOCAL), history(), None, datetime(2026, 3, 10, 12, 59, tzinfo=timezone.utc), policy)
    assert out.resolution.consumed.total_seconds() == 0
    assert out.status == "on_track"
