"""The report's "excluded with evidence" and "claimed without evidence" counts, by hand.

Default Aivo policy; tickets are high (2 h first response / 8 h resolution, business time),
created Mon 2 March 2026 09:00 Buenos Aires (12:00 UTC).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from tests.sla_builders import history, owner_change, state_change, ticket
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.report.document import ReportMeta, build_document
from zammad_sla_plugin.report.outcome import ReportPeriod, TicketRecord, ticket_outcome
from zammad_sla_plugin.report.render_csv import render_csv
from zammad_sla_plugin.report.render_html import render_html
from zammad_sla_plugin.report.stats import aggregate

POLICY = load_policy()
MARCH = ReportPeriod(date(2026, 3, 1), date(2026, 4, 1), ZoneInfo("America/Argentina/Buenos_Aires"))
LATER = datetime(2026, 11, 25, tzinfo=timezone.utc)
MON = "2026-03-02T12:00:00Z"


def record(tid: int, org: str, **extra: str) -> TicketRecord:
    # Assigned after 3 h (first response failed: > 2 h), closed after 4 h (resolution met).
    entries = [owner_change("2026-03-02T15:00:00Z", 1, 4, o_id=tid),
               state_change("2026-03-02T16:00:00Z", "open", "closed", o_id=tid)]  # fmt: skip
    data = ticket(MON, state="closed", owner_id=4, **extra)
    data["id"], data["number"] = tid, str(40000 + tid)
    return TicketRecord(data, history(*entries), {"id": tid, "name": org})


def tickets() -> list[TicketRecord]:
    return [
        record(1, "Acme"),  # plain ticket
        record(2, "Acme", sla_origin="third_party", sla_origin_evidence="Vendor outage report #88"),
        record(3, "Acme", sla_origin="customer"),  # claimed, no evidence
        record(4, "Zeta", sla_origin="customer", sla_origin_evidence="   "),  # blank counts as none
        record(5, "Zeta", sla_origin="aivo", sla_origin_evidence="irrelevant"),  # not an excluded origin
    ]


def outcomes() -> list:
    return [o for r in tickets() if (o := ticket_outcome(r, MARCH, LATER, POLICY)) is not None]


def test_claims_are_classified_per_ticket() -> None:
    by_id = {o.ticket_id: o for o in outcomes()}
    assert [by_id[i].origin_claim for i in (1, 2, 3, 4, 5)] == [None, "with_evidence", "without_evidence",
                                                                "without_evidence", None]  # fmt: skip
    assert [by_id[i].scope for i in (1, 2, 3, 4, 5)] == ["in_scope", "excluded", "in_scope", "in_scope", "in_scope"]
    # the unevidenced claims count like ticket 1: first response failed, resolution met
    assert {(by_id[i].first_response, by_id[i].resolution) for i in (1, 3, 4, 5)} == {("failed", "met")}


def test_counts_in_stats_document_csv_and_html() -> None:
    found = outcomes()
    stats = aggregate(found, list(POLICY.severities))
    assert (stats.totals.tickets, stats.totals.in_scope, stats.totals.excluded) == (5, 4, 1)
    assert (stats.totals.excluded_with_evidence, stats.totals.claimed_without_evidence) == (1, 2)
    acme, zeta = stats.by_organization
    assert (acme.key, acme.excluded_with_evidence, acme.claimed_without_evidence) == ("Acme", 1, 1)
    assert (zeta.key, zeta.excluded_with_evidence, zeta.claimed_without_evidence) == ("Zeta", 0, 1)
    assert stats.totals.first_response.failed == 4  # tickets 1, 3, 4, 5

    doc = build_document(found, ReportMeta(MARCH, None, LATER, MARCH.end), POLICY)
    assert (doc["totals"]["excluded_with_evidence"], doc["totals"]["claimed_without_evidence"]) == (1, 2)
    assert [t["origin_claim"] for t in doc["tickets"]] == [None, "with_evidence", "without_evidence",
                                                           "without_evidence", None]  # fmt: skip
    assert doc["policy"]["exclusion_requires_evidence"] is True
    assert any(text.startswith("Claimed without evidence") for text in doc["definitions"])

    rows = list(csv.DictReader(io.StringIO(render_csv(doc))))
    total = rows[0]
    assert (total["scope"], total["excluded_with_evidence"], total["claimed_without_evidence"]) == ("total", "1", "2")

    html = render_html(doc)
    assert '<div class="value">2</div><div class="label">claimed without evidence</div>' in html
    assert '<div class="value">1</div><div class="label">excluded with evidence</div>' in html
    assert "(only once evidence is written)" in html
