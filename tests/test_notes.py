"""The internal SLA note: what it says, and that text from Zammad or the policy stays text."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from tests.html_support import Page
from tests.sla_builders import history, owner_change, state_change, ticket
from zammad_sla_plugin.core.clock import evaluate
from zammad_sla_plugin.core.evidence import evidence_note
from zammad_sla_plugin.core.explain import explain
from zammad_sla_plugin.core.notes import excluded_summary, transition_note
from zammad_sla_plugin.core.policy import default_policy_text, load_policy, policy_from_dict
from zammad_sla_plugin.runtime.proposals import Recipient, no_address_note

POLICY = load_policy()
HOSTILE_PRIORITY = '3 <script>alert("high")</script>'


def test_breached_business_ticket_note() -> None:
    data = ticket("2026-03-06T20:00:00Z", priority="3 high")  # Friday 17:00 local
    now = datetime(2026, 3, 10, 14, tzinfo=timezone.utc)
    result = evaluate(data, history(), None, now, POLICY)
    subject, body = transition_note(result, POLICY, explain(data, history(), None, now, POLICY))
    assert subject == "SLA breached"
    assert "\n" not in body  # one line, as Zammad stores it
    assert Page(body).tags == ["p", "b", "p", "ul", "li", "b", "li", "b", "p", "code"]
    assert body.startswith("<p><b>SLA breached</b></p><p>Severity high (priority &quot;3 high&quot;); business clock, Mon-Fri")
    assert ("<li><b>Resolution</b>: breached; target 480 working minutes; due Mon 2026-03-09 16:00 "
            "America/Argentina/Buenos_Aires (2026-03-09 19:00Z); used 720 min (150 %); not counted: outside working "
            "hours 30.0 h, weekend 48.0 h</li>") in body
    assert body.endswith("Full explanation: <code>zammad-sla explain 42</code>.</p>")


def test_24x7_note_names_the_pause_and_the_met_clock() -> None:
    data = ticket("2026-03-10T13:00:00Z", priority="4 blocker", owner_id=4)
    entries = history(owner_change("2026-03-10T13:30:00Z", 1, 4),
                      state_change("2026-03-10T14:00:00Z", "open", "pending reminder"),
                      state_change("2026-03-10T16:00:00Z", "pending reminder", "open"))  # fmt: skip
    now = datetime(2026, 3, 12, 14, tzinfo=timezone.utc)
    _subject, body = transition_note(evaluate(data, entries, None, now, POLICY), POLICY)
    assert "Severity blocker (priority &quot;4 blocker&quot;); 24x7 clock (every minute counts)." in body
    assert "met; target 60 minutes (24x7 clock)" in body and "reached Tue 2026-03-10 10:30" in body
    assert "120 min paused while waiting on the customer</li>" in body and "not counted:" not in body


def test_hostile_names_stay_text() -> None:
    # A priority name (an admin's free text in Zammad) and a reason from the calendar.
    document: dict[str, Any] = tomllib.loads(default_policy_text())
    document["priorities"][HOSTILE_PRIORITY] = "high"
    policy = policy_from_dict(document)
    data = ticket("2026-03-06T20:00:00Z", priority=HOSTILE_PRIORITY)
    now = datetime(2026, 3, 10, 14, tzinfo=timezone.utc)
    explanation = explain(data, history(), None, now, policy)
    explanation["clocks"]["resolution"]["excluded"] = [{"reason": "holiday: <img src=x onerror=alert(1)>", "minutes": 60}]
    _subject, body = transition_note(evaluate(data, history(), None, now, policy), policy, explanation)
    page = Page(body)
    assert "script" not in page.tags and "img" not in page.tags
    text = "".join(page.text)
    assert f'priority "{HOSTILE_PRIORITY}"' in text and "not counted: holiday: <img src=x onerror=alert(1)> 1.0 h" in text


def test_excluded_summary_sums_by_reason() -> None:
    explanation = {"excluded": [{"reason": "weekend", "minutes": 2880}, {"reason": "outside working hours", "minutes": 30},
                                {"reason": "weekend", "minutes": 120}]}  # fmt: skip
    assert excluded_summary(explanation) == "weekend 50.0 h, outside working hours 30 min"
    assert excluded_summary({}) == ""


def test_a_clock_without_target_is_not_applicable() -> None:
    data = ticket("2026-03-06T20:00:00Z", priority="3 high")
    result = evaluate(data, history(), None, datetime(2026, 3, 10, 14, tzinfo=timezone.utc), POLICY)
    result = replace(result, first_response=replace(result.first_response, target=None))
    _subject, body = transition_note(result, POLICY)
    assert "<ul><li>First response (assignment to an analyst): not applicable</li><li><b>Resolution</b>: breached;" in body


def test_the_evidence_and_no_address_notes_keep_names_as_text() -> None:
    # The other notes the sidecar writes come from the same autoescaped templates.
    now = datetime(2026, 3, 10, 16, tzinfo=timezone.utc)
    data = ticket("2026-03-10T13:00:00Z", sla_origin="third_party", owner='<img src=x onerror="alert(1)">')
    note = evidence_note(data, evaluate(data, {"history": []}, None, now, POLICY), POLICY)
    page = Page(note["body"])
    assert "img" not in page.tags and "\n" not in note["body"]
    assert "".join(page.text).startswith('SLA exclusion needs evidence<img src=x onerror="alert(1)">, the ticket\'s sla_origin is')
    missing = [Recipient(5, "Ann <script>alert(2)</script>", None, ("customer", "linked ticket"), "no e-mail address")]
    body = no_address_note({"id": 3}, missing, "approved")["body"]
    assert "script" not in Page(body).tags and "\n" not in body
    assert "<li>Ann &lt;script&gt;alert(2)&lt;/script&gt; (user 5; customer, linked ticket): no e-mail address</li>" in body
