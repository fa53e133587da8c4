"""The HTML report's markup comes from autoescaped templates: whatever text Zammad holds
(ticket titles, organization names, error messages) is shown as text, never run as markup."""

from __future__ import annotations

from datetime import date, datetime, timezone

from tests.html_support import Page
from tests.sla_builders import history, owner_change, state_change, ticket
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.report.document import ReportMeta, build_document
from zammad_sla_plugin.report.outcome import ReportPeriod, TicketRecord, ticket_outcome
from zammad_sla_plugin.report.render_html import render_html

POLICY = load_policy()
PERIOD = ReportPeriod(date(2026, 3, 1), date(2026, 4, 1), POLICY.business_calendar.timezone)
NOW = datetime(2026, 4, 2, 12, tzinfo=timezone.utc)
HOSTILE_TITLE = '<script>alert("title")</script><img src=x onerror="alert(1)">'
HOSTILE_ORG = "Acme </td><script>alert('org')</script>"
HOSTILE_ERROR = "<b>bold</b> & <iframe src=javascript:alert(2)>"


def hostile_page() -> str:
    data = ticket("2026-03-10T13:00:00Z", priority="3 high", state="closed", owner_id=4, title=HOSTILE_TITLE, number="31337")
    entries = history(owner_change("2026-03-10T13:30:00Z", 1, 4), state_change("2026-03-10T15:00:00Z", "open", "closed"))
    outcome = ticket_outcome(TicketRecord(data, entries, {"id": 7, "name": HOSTILE_ORG}), PERIOD, NOW, POLICY)
    assert outcome is not None
    meta = ReportMeta(PERIOD, HOSTILE_ORG, NOW, PERIOD.end)
    return render_html(build_document([outcome], meta, POLICY, errors=[(9, HOSTILE_ERROR)]))


def test_hostile_text_is_escaped_not_markup() -> None:
    html = hostile_page()
    page = Page(html)
    assert not {"script", "img", "iframe", "b"} & set(page.tags), page.tags
    text = "".join(page.text)
    for hostile in (HOSTILE_TITLE, HOSTILE_ORG, HOSTILE_ERROR):
        assert hostile in text  # shown verbatim, as text
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in html
    assert '"31337' not in html and "#31337" in text


def test_page_is_self_contained_and_complete() -> None:
    html = hostile_page()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    page = Page(html)
    assert page.tags.count("svg") == 3 and "style" in page.tags
    assert "http://" not in html and "https://" not in html and "<link" not in html
    text = " ".join(" ".join(page.text).split())
    assert "SLA compliance report 2026-03-01 to 2026-03-31" in text
    assert "1 tickets (times in America/Argentina/Buenos_Aires)" in text
    assert "2026-03-10 10:00" in text  # created, in the calendar's zone
