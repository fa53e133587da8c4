"""Report aggregation on hand-made ticket sets whose compliance figures are computed by hand.

Two layers: `stats` on hand-made `TicketOutcome`s (denominators, percentiles, grouping), and
a small March 2026 ticket set run through `outcome.ticket_outcome` (the SLA core at each
ticket's closing time) with the default Aivo policy: Mon-Fri 09:00-18:00 Buenos Aires
(UTC-3), high = 2 h first response / 8 h resolution on business time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.sla_builders import history, owner_change, state_change, ticket
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.report.document import ReportMeta, build_document
from zammad_sla_plugin.report.outcome import (
    ReportPeriod,
    TicketOutcome,
    TicketRecord,
    closing_time,
    ticket_outcome,
)
from zammad_sla_plugin.report.stats import aggregate, group_stats, median, percentile

UTC = timezone.utc
BA = ZoneInfo("America/Argentina/Buenos_Aires")
POLICY = load_policy()
MARCH = ReportPeriod(date(2026, 3, 1), date(2026, 4, 1), BA)
LATER = datetime(2026, 11, 25, tzinfo=UTC)  # "now", well after the period
_ids = count(1)
H = timedelta(hours=1)


def outcome(
    severity: str = "high",
    first_response: str | None = "met",
    resolution: str | None = "met",
    *,
    scope: str = "in_scope",
    closed: bool = True,
    organization: str = "Acme",
    month: str = "2026-03",
    assign_h: float | None = None,
    resolve_h: float | None = None,
) -> TicketOutcome:
    """A hand-made outcome (only the fields aggregation reads matter)."""
    created = datetime(2026, 3, 2, 12, tzinfo=UTC)
    return TicketOutcome(
        ticket_id=next(_ids), number=None, title=None, organization=organization, priority="3 high",
        severity=severity, clock="business", support_24x7=False, status="met", scope=scope,
        created_at=created, month=month, closed_at=created + H if closed else None, evaluated_at=created + H,
        first_response=first_response if scope == "in_scope" else None,
        resolution=resolution if scope == "in_scope" else None,
        assigned_at=None, first_response_due_at=None, resolution_due_at=None,
        first_response_target=None, resolution_target=None, resolution_clock_used=timedelta(0),
        time_to_assignment=None if assign_h is None else timedelta(hours=assign_h),
        time_to_resolution=None if resolve_h is None else timedelta(hours=resolve_h),
    )  # fmt: skip


# --------------------------------------------------------------------------- percentiles


def test_median_and_nearest_rank_p90() -> None:
    assert median([]) is None and percentile([], 0.9) is None
    assert median([7]) == 7 and percentile([7], 0.9) == 7
    assert median([4, 1, 3, 2]) == 2.5  # mean of the two middle values
    assert percentile([4, 1, 3, 2], 0.9) == 4  # rank ceil(3.6) = 4
    assert median(list(range(1, 11))) == 5.5
    assert percentile(list(range(1, 11)), 0.9) == 9  # rank ceil(9.0) = 9
    assert percentile(list(range(1, 12)), 0.9) == 10  # rank ceil(9.9) = 10
    assert median([5, 1, 3]) == 3
    with pytest.raises(ValueError):
        percentile([1], 0)


# --------------------------------------------------------------------------- denominators


def test_three_of_four_met_is_75_percent() -> None:
    stats = group_stats("high", [outcome(), outcome(), outcome(), outcome(resolution="failed")])
    assert (stats.resolution.met, stats.resolution.failed, stats.resolution.pending) == (3, 1, 0)
    assert stats.resolution.met_pct == 75.0
    assert stats.first_response.met_pct == 100.0
    assert stats.breached_open == 0  # the failed one was closed (late)


def test_breached_and_still_open_counts_as_failure() -> None:
    stats = group_stats("medium", [
        outcome("medium"), outcome("medium"),
        outcome("medium", resolution="failed", closed=False),  # open past its deadline
    ])  # fmt: skip
    assert stats.resolution.met_pct == pytest.approx(200 / 3)
    assert stats.breached_open == 1


def test_excluded_and_not_applicable_are_counted_but_left_out() -> None:
    stats = group_stats("high", [
        outcome(), outcome(resolution="failed"),
        outcome(scope="excluded", assign_h=100, resolve_h=100),
        outcome(scope="not_applicable", assign_h=100, resolve_h=100),
    ])  # fmt: skip
    assert (stats.tickets, stats.in_scope, stats.excluded, stats.not_applicable) == (4, 2, 1, 1)
    assert stats.resolution.met_pct == 50.0
    assert stats.time_to_assignment.count == 0 and stats.time_to_resolution.median is None


def test_open_not_breached_is_neither_met_nor_failed() -> None:
    stats = group_stats("low", [outcome("low"), outcome("low", "pending", "pending", closed=False)])
    assert (stats.first_response.met, stats.first_response.failed, stats.first_response.pending) == (1, 0, 1)
    assert stats.first_response.met_pct == 100.0 and stats.breached_open == 0
    only_pending = group_stats("low", [outcome("low", "pending", "pending", closed=False)])
    assert only_pending.resolution.met_pct is None  # nothing decided: n/a, not 0 % or 100 %


def test_open_ticket_with_late_first_response_is_breached_open() -> None:
    stats = group_stats("high", [outcome(first_response="failed", resolution="pending", closed=False)])
    assert stats.breached_open == 1
    assert stats.first_response.met_pct == 0.0 and stats.resolution.met_pct is None


def test_times_median_and_p90_over_in_scope_tickets() -> None:
    stats = group_stats("high", [
        outcome(assign_h=1, resolve_h=4), outcome(assign_h=3, resolve_h=12),
        outcome(assign_h=0.5, closed=False), outcome(assign_h=0.25, resolve_h=1),
        outcome(scope="excluded", assign_h=50, resolve_h=50),
    ])  # fmt: skip
    assign, resolve = stats.time_to_assignment, stats.time_to_resolution
    assert (assign.count, assign.median, assign.p90) == (4, timedelta(hours=0.75), timedelta(hours=3))
    assert (resolve.count, resolve.median, resolve.p90) == (3, timedelta(hours=4), timedelta(hours=12))


def test_grouping_orders_severities_by_policy_then_names_and_months() -> None:
    outcomes = [
        outcome("low", organization="Zeta", month="2026-03"),
        outcome("blocker", resolution="failed", organization="Acme", month="2026-02"),
        outcome("high", organization="Acme", month="2026-03"),
        outcome("high", resolution="failed", organization="Zeta", month="2026-03"),
    ]
    stats = aggregate(outcomes, ["blocker", "high", "medium", "low"])
    assert [g.key for g in stats.by_severity] == ["blocker", "high", "low"]  # no empty "medium" row
    assert [g.key for g in stats.by_organization] == ["Acme", "Zeta"]
    assert [g.key for g in stats.by_month] == ["2026-02", "2026-03"]
    assert stats.totals.tickets == 4 and stats.totals.resolution.met_pct == 50.0
    by_org = {g.key: g.resolution.met_pct for g in stats.by_organization}
    assert by_org == {"Acme": 50.0, "Zeta": 50.0}
    march = {g.key: g.resolution.met_pct for g in stats.by_month_and_severity["2026-03"]}
    assert march == {"high": 50.0, "low": 100.0}
    assert [g.key for g in stats.by_month_and_severity["2026-02"]] == ["blocker"]


# --------------------------------------------------------------------------- through the SLA core


def _record(tid: int, created: str, entries: list[dict[str, Any]], state: str, owner: int = 1,
            org: str = "Acme", **extra: Any) -> TicketRecord:
    data = ticket(created, state=state, owner_id=owner, **extra)
    data["id"], data["number"] = tid, str(30000 + tid)
    for entry in entries:
        entry["o_id"] = tid
    return TicketRecord(data, history(*entries), {"id": 7, "name": org})


def march_set() -> list[TicketRecord]:
    """High tickets of Mon 2 March 2026, 09:00 local (12:00 UTC), and a few edge cases."""
    mon = "2026-03-02T12:00:00Z"
    return [
        # A: assigned after 1 h, closed after 4 h: both met.
        _record(1, mon, [owner_change("2026-03-02T13:00:00Z", 1, 4),
                         state_change("2026-03-02T16:00:00Z", "open", "closed")], "closed", 4),
        # B: assigned after 3 h (> 2 h), closed Tue 12:00 local = 9 h + 3 h = 12 working h (> 8 h).
        _record(2, mon, [owner_change("2026-03-02T15:00:00Z", 1, 4),
                         state_change("2026-03-03T15:00:00Z", "open", "closed")], "closed", 4),
        # C: assigned after 30 min, never closed: breached and still open at the period end.
        _record(3, mon, [owner_change("2026-03-02T12:30:00Z", 1, 5)], "open", 5, org="Zeta"),
        # D: assigned after 10 min, closed after 1 h.
        _record(4, mon, [owner_change("2026-03-02T12:10:00Z", 1, 4),
                         state_change("2026-03-02T13:00:00Z", "new", "closed")], "closed", 4),
        # E: raised by the customer, evidence written: excluded.
        _record(5, mon, [state_change("2026-03-02T13:00:00Z", "new", "closed")], "closed", sla_origin="customer",
                sla_origin_evidence="Their firewall blocked our webhook (capture attached)"),
        # F: a feature request: outside the SLA.
        _record(6, mon, [], "open", sla_kind="feature_request"),
        # G: created in February, closed in the period (Mon 10:00 local): in, month 2026-02.
        # Working time Wed 25 Feb 09:00 -> Mon 2 Mar 10:00 = 3 x 9 h + 1 h = 28 h.
        _record(7, "2026-02-25T12:00:00Z", [owner_change("2026-02-25T12:30:00Z", 1, 4),
                                           state_change("2026-03-02T13:00:00Z", "open", "closed")], "closed", 4),
        # H: created and closed in February: not in the March report.
        _record(8, "2026-02-20T12:00:00Z", [state_change("2026-02-27T12:00:00Z", "open", "closed")], "closed"),
        # I: created Tue 31 March 17:00 local; at the period end only 1 working hour used: pending.
        _record(9, "2026-03-31T20:00:00Z", [], "new"),
    ]


def test_march_set_compliance_figures() -> None:
    outcomes = [o for r in march_set() if (o := ticket_outcome(r, MARCH, LATER, POLICY)) is not None]
    assert sorted(o.ticket_id for o in outcomes) == [1, 2, 3, 4, 5, 6, 7, 9]  # H is February's
    by_id = {o.ticket_id: o for o in outcomes}
    assert [by_id[i].first_response for i in (1, 2, 3, 4)] == ["met", "failed", "met", "met"]
    assert [by_id[i].resolution for i in (1, 2, 3, 4)] == ["met", "failed", "failed", "met"]
    assert by_id[3].breached_open and by_id[3].closed_at is None
    assert by_id[3].evaluated_at == datetime(2026, 4, 1, 3, tzinfo=UTC)  # local midnight, end of period
    assert by_id[2].evaluated_at == datetime(2026, 3, 3, 15, tzinfo=UTC)  # its closing
    assert (by_id[5].scope, by_id[6].scope) == ("excluded", "not_applicable")
    assert by_id[7].month == "2026-02" and by_id[7].time_to_resolution == timedelta(hours=28)
    assert (by_id[9].first_response, by_id[9].resolution) == ("pending", "pending")

    stats = aggregate(outcomes, list(POLICY.severities))
    high = next(g for g in stats.by_severity if g.key == "high")
    # in scope: A B C D G I -> first response met A C D G (4), failed B (1), pending I
    assert (high.tickets, high.in_scope, high.excluded, high.not_applicable) == (8, 6, 1, 1)
    assert (high.first_response.met, high.first_response.failed, high.first_response.pending) == (4, 1, 1)
    assert high.first_response.met_pct == 80.0
    # resolution met A D (2), failed B C G (3: G took 28 h > 8 h), pending I
    assert (high.resolution.met, high.resolution.failed, high.resolution.pending) == (2, 3, 1)
    assert high.resolution.met_pct == 40.0
    assert high.breached_open == 1
    # assignment: D 1/6 h, C 0.5 h, G 0.5 h, A 1 h, B 3 h -> median 0.5 h, p90 rank 5 -> 3 h
    assert high.time_to_assignment.median == timedelta(minutes=30)
    assert high.time_to_assignment.p90 == timedelta(hours=3)
    # resolution: D 1 h, A 4 h, B 12 h, G 28 h -> median 8 h, p90 rank 4 -> 28 h
    assert high.time_to_resolution.median == timedelta(hours=8)
    assert high.time_to_resolution.p90 == timedelta(hours=28)
    zeta = next(g for g in stats.by_organization if g.key == "Zeta")
    assert (zeta.tickets, zeta.resolution.met_pct, zeta.breached_open) == (1, 0.0, 1)
    assert [g.key for g in stats.by_month] == ["2026-02", "2026-03"]


def test_document_carries_the_figures_and_the_denominators() -> None:
    outcomes = [o for r in march_set() if (o := ticket_outcome(r, MARCH, LATER, POLICY)) is not None]
    meta = ReportMeta(MARCH, None, LATER, MARCH.end)
    doc = build_document(outcomes, meta, POLICY, [(99, "priority '9 odd' is not mapped")])
    assert doc["report"]["start"] == "2026-03-01T03:00:00Z" and doc["report"]["end"] == "2026-04-01T03:00:00Z"
    high = next(g for g in doc["by_severity"] if g["key"] == "high")
    assert high["resolution"] == {"met": 2, "failed": 3, "pending": 1, "met_pct": 40.0}
    assert high["time_to_resolution_hours"] == {"count": 4, "median": 8.0, "p90": 28.0}
    assert any("still open count as failed" in text for text in doc["definitions"])
    assert any("left out of the percentages" in text for text in doc["definitions"])
    assert [t["id"] for t in doc["tickets"]][0] == 7  # by creation time
    ticket_b = next(t for t in doc["tickets"] if t["id"] == 2)
    assert ticket_b["resolution"]["outcome"] == "failed" and ticket_b["resolution"]["target_minutes"] == 480
    assert ticket_b["resolution"]["clock_used_hours"] == 12.0 and ticket_b["closed_at"] == "2026-03-03T15:00:00Z"
    assert doc["errors"] == [{"ticket_id": 99, "error": "priority '9 odd' is not mapped"}]


# --------------------------------------------------------------------------- closing time


CLOSED = ("closed",)


def test_closing_time_is_the_last_closing_before_the_end() -> None:
    data = ticket("2026-03-02T12:00:00Z", state="closed")
    reopened = history(
        state_change("2026-03-02T13:00:00Z", "new", "closed"),
        state_change("2026-03-03T13:00:00Z", "closed", "open"),
        state_change("2026-03-04T13:00:00Z", "open", "closed"),
    )
    assert closing_time(data, reopened, MARCH.end, CLOSED) == datetime(2026, 3, 4, 13, tzinfo=UTC)
    # As of 3 March 20:00 UTC it had been reopened: open, so no closing time.
    assert closing_time(data, reopened, datetime(2026, 3, 3, 20, tzinfo=UTC), CLOSED) is None
    # Reopened only after the end: it was closed at the end, since its first closing.
    assert closing_time(data, reopened, datetime(2026, 3, 3, 12, tzinfo=UTC), CLOSED) == datetime(
        2026, 3, 2, 13, tzinfo=UTC
    )
    # Created closed (no state history): closed at creation.
    assert closing_time(data, history(), MARCH.end, CLOSED) == datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert closing_time(ticket("2026-03-02T12:00:00Z", state="open"), history(), MARCH.end, CLOSED) is None


def test_period_validation_and_local_bounds() -> None:
    with pytest.raises(ValueError, match="must be after"):
        ReportPeriod(date(2026, 3, 1), date(2026, 3, 1), BA)
    assert MARCH.contains(datetime(2026, 3, 1, 3, tzinfo=UTC))
    assert not MARCH.contains(datetime(2026, 3, 1, 2, 59, tzinfo=UTC))
    assert not MARCH.contains(MARCH.end)
