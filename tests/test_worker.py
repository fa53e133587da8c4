"""The evaluator against a mocked Zammad (`responses`): reads, diffs, writes only what changed."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
import responses

from tests.sla_builders import history, owner_change, ticket
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.runtime.worker import OrganizationCache, TicketEvaluator, tags_from_history
from zammad_sla_plugin.zammad import ZammadClient

URL = "http://zammad.test"
SLA_FIELDS = {"sla_first_response_due_at": None, "sla_resolution_due_at": None, "sla_status": None}


def tag_entry(kind: str, tag: str) -> dict[str, Any]:
    return {"id": 9, "o_id": 42, "object": "Ticket", "type": kind, "attribute": "tag", "value_to": tag,
            "created_by_id": 3, "created_at": "2026-03-10T13:05:00Z"}  # fmt: skip


def make_evaluator(now: str) -> TicketEvaluator:
    client = ZammadClient(URL, "t0ken", retries=0, backoff_factor=0)
    instant = datetime.fromisoformat(now.replace("Z", "+00:00"))
    return TicketEvaluator(client, load_policy(), lambda: instant)


def serve(mock: responses.RequestsMock, tk: dict[str, Any], hist: dict[str, Any]) -> None:
    mock.get(f"{URL}/api/v1/tickets/42", json=tk)
    mock.get(f"{URL}/api/v1/ticket_history/42", json=hist)
    mock.get(f"{URL}/api/v1/organizations/7", json={"id": 7, "name": "Acme", "sla_24x7_integrations": False})


def writes(mock: responses.RequestsMock) -> list[tuple[str, str, Any]]:
    return [
        (call.request.method, call.request.url.replace(URL, ""), json.loads(call.request.body) if call.request.body else None)
        for call in mock.calls
        if call.request.method != "GET"
    ]


def test_first_evaluation_writes_fields_in_one_put() -> None:
    with responses.RequestsMock() as mock:
        serve(mock, ticket("2026-03-10T13:00:00Z", **SLA_FIELDS), history())
        mock.put(f"{URL}/api/v1/tickets/42", json={"id": 42})
        outcome = make_evaluator("2026-03-10T13:30:00Z").run(42)
        assert writes(mock) == [("PUT", "/api/v1/tickets/42", {
            "sla_first_response_due_at": "2026-03-10T15:00:00Z",
            "sla_resolution_due_at": "2026-03-10T21:00:00Z",
            "sla_status": "on_track",
        })]  # fmt: skip
        assert len(mock.calls) == 4  # ticket, history, organization, one write
    assert outcome.result.next_check_at == datetime(2026, 3, 10, 14, 36, tzinfo=timezone.utc)
    assert outcome.note_subject is None


def test_nothing_changed_means_zero_writes() -> None:
    current = {"sla_first_response_due_at": "2026-03-10T15:00:00.000Z",  # Zammad's own rendering
               "sla_resolution_due_at": "2026-03-10T21:00:00.000Z", "sla_status": "on_track"}  # fmt: skip
    with responses.RequestsMock() as mock:
        serve(mock, ticket("2026-03-10T13:00:00Z", **current), history())
        outcome = make_evaluator("2026-03-10T13:30:00Z").run(42)
        assert writes(mock) == []
    assert not outcome.changed


def test_transition_to_at_risk_writes_note_and_tag() -> None:
    current = {"sla_first_response_due_at": "2026-03-10T15:00:00Z",
               "sla_resolution_due_at": "2026-03-10T21:00:00Z", "sla_status": "on_track"}  # fmt: skip
    with responses.RequestsMock() as mock:
        serve(mock, ticket("2026-03-10T13:00:00Z", **current), history())
        mock.put(f"{URL}/api/v1/tickets/42", json={"id": 42})
        mock.post(f"{URL}/api/v1/tags/add", json=True)
        outcome = make_evaluator("2026-03-10T14:40:00Z").run(42)
        (put, add) = writes(mock)
    assert put[2]["sla_status"] == "at_risk"
    assert set(put[2]) == {"sla_status", "article"}
    article = put[2]["article"]
    assert article["internal"] is True and article["type"] == "note" and article["content_type"] == "text/html"
    assert "First response" in article["body"] and "12:00 America/Argentina/Buenos_Aires" in article["body"]
    assert "target 120 working minutes" in article["body"]
    assert add == ("POST", "/api/v1/tags/add", {"item": "sla-at-risk", "object": "Ticket", "o_id": 42})
    assert outcome.tags_added == ["sla-at-risk"]


def test_breach_swaps_tags_and_keeps_them_in_step() -> None:
    current = {"sla_first_response_due_at": "2026-03-10T15:00:00Z",
               "sla_resolution_due_at": "2026-03-10T21:00:00Z", "sla_status": "at_risk"}  # fmt: skip
    with responses.RequestsMock() as mock:
        serve(mock, ticket("2026-03-10T13:00:00Z", **current), history(tag_entry("added", "sla-at-risk")))
        mock.put(f"{URL}/api/v1/tickets/42", json={"id": 42})
        mock.post(f"{URL}/api/v1/tags/add", json=True)
        mock.delete(f"{URL}/api/v1/tags/remove", json=True)
        make_evaluator("2026-03-10T15:00:00Z").run(42)
        put, add, remove = writes(mock)
    assert put[2]["sla_status"] == "breached" and "SLA breached" in put[2]["article"]["body"]
    assert add[2]["item"] == "sla-breached"
    assert remove[:2] == ("DELETE", "/api/v1/tags/remove") and remove[2]["item"] == "sla-at-risk"


def test_same_status_again_writes_no_second_note() -> None:
    current = {"sla_first_response_due_at": "2026-03-10T15:00:00Z",
               "sla_resolution_due_at": "2026-03-10T21:00:00Z", "sla_status": "breached"}  # fmt: skip
    with responses.RequestsMock() as mock:
        serve(mock, ticket("2026-03-10T13:00:00Z", **current), history(tag_entry("added", "sla-breached")))
        outcome = make_evaluator("2026-03-10T15:30:00Z").run(42)
        assert writes(mock) == []
    assert outcome.result.status == "breached"


def test_assignment_clears_the_at_risk_tag() -> None:
    current = {"sla_first_response_due_at": "2026-03-10T15:00:00Z",
               "sla_resolution_due_at": "2026-03-10T21:00:00Z", "sla_status": "at_risk"}  # fmt: skip
    hist = history(tag_entry("added", "sla-at-risk"), owner_change("2026-03-10T14:45:00Z", 1, 5))
    with responses.RequestsMock() as mock:
        serve(mock, ticket("2026-03-10T13:00:00Z", owner_id=5, **current), hist)
        mock.put(f"{URL}/api/v1/tickets/42", json={"id": 42})
        mock.delete(f"{URL}/api/v1/tags/remove", json=True)
        make_evaluator("2026-03-10T14:50:00Z").run(42)
        put, remove = writes(mock)
    assert put[2] == {"sla_status": "on_track"}
    assert remove[2]["item"] == "sla-at-risk"


def test_missing_attributes_are_not_written() -> None:
    with responses.RequestsMock() as mock:
        serve(mock, ticket("2026-03-10T13:00:00Z"), history())
        outcome = make_evaluator("2026-03-10T13:30:00Z").run(42)
        assert writes(mock) == []
    assert outcome.missing_attributes == ["sla_first_response_due_at", "sla_resolution_due_at", "sla_status"]


def test_organization_is_cached() -> None:
    evaluator = make_evaluator("2026-03-10T13:30:00Z")
    current = {"sla_first_response_due_at": "2026-03-10T15:00:00Z",
               "sla_resolution_due_at": "2026-03-10T21:00:00Z", "sla_status": "on_track"}  # fmt: skip
    with responses.RequestsMock() as mock:
        serve(mock, ticket("2026-03-10T13:00:00Z", **current), history())
        evaluator.run(42)
        evaluator.run(42)
        org_calls = [c for c in mock.calls if "/organizations/" in c.request.url]
    assert len(org_calls) == 1


def test_organization_cache_is_bounded_least_recently_used_first() -> None:
    fetched: list[int] = []

    def fetch(org_id: int) -> dict[str, Any]:
        fetched.append(org_id)
        return {"id": org_id}

    cache = OrganizationCache(fetch, max_entries=2)
    for org_id in (1, 2, 1, 3):  # 2 is the least recently used when 3 arrives
        cache.get(org_id)
    assert len(cache) == 2
    assert cache.get(1) == {"id": 1} and cache.get(2) == {"id": 2}
    assert fetched == [1, 2, 3, 2]


def test_a_ticket_read_by_the_caller_is_not_read_again() -> None:
    current = {"sla_first_response_due_at": "2026-03-10T15:00:00Z",
               "sla_resolution_due_at": "2026-03-10T21:00:00Z", "sla_status": "on_track"}  # fmt: skip
    record = ticket("2026-03-10T13:00:00Z", **current)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, record, history())
        outcome = make_evaluator("2026-03-10T13:30:00Z").run(42, record)
        reads = [c.request.url for c in mock.calls if c.request.method == "GET"]
    assert outcome.result.status == "on_track" and writes(mock) == []
    assert not [url for url in reads if "/tickets/42" in url] and any("/ticket_history/42" in url for url in reads)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([tag_entry("added", "a"), tag_entry("added", "b"), tag_entry("removed", "a")], {"b"}),
        ([tag_entry("added", "a"), tag_entry("removed", "a"), tag_entry("added", "a")], {"a"}),
        ([], set()),
    ],
)
def test_tags_from_history(entries: list[dict[str, Any]], expected: set[str]) -> None:
    assert tags_from_history(history(*entries)) == expected


def test_a_domain_contract_reads_the_customer_once_and_writes_sla_contract() -> None:
    from zammad_sla_plugin.core.policy import default_policy_text, policy_from_text

    policy = policy_from_text(default_policy_text() + '\n[[contracts]]\nname = "Acme mail"\n[contracts.match]\ncustomer_domain = ["acme.com"]\n')
    instant = datetime(2026, 3, 10, 13, 30, tzinfo=timezone.utc)
    evaluator = TicketEvaluator(ZammadClient(URL, "t0ken", retries=0, backoff_factor=0), policy, lambda: instant)
    record = ticket("2026-03-10T13:00:00Z", customer="ana", customer_id=9, sla_contract=None,
                    sla_first_response_due_at=None, sla_resolution_due_at=None, sla_status=None)  # fmt: skip
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(mock, record, history())
        mock.get(f"{URL}/api/v1/users/9", json={"id": 9, "login": "ana", "email": "ana@acme.com"})
        mock.put(f"{URL}/api/v1/tickets/42", json=record)
        for _ in range(2):
            outcome = evaluator.run(42, record)
        user_reads = [c for c in mock.calls if c.request.url.endswith("/api/v1/users/9")]
    assert outcome.result.contract == "Acme mail" and outcome.fields_written["sla_contract"] == "Acme mail"
    assert len(user_reads) == 1  # the second evaluation took it from the cache
    # A login that is the address needs no read at all.
    assert evaluator._customer({**record, "customer": "ana@acme.com"}) is None
