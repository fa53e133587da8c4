"""Helpers for end-to-end tests: compare what Zammad shows with hand-computed expectations.

Expectations never come from the code under test (no `evaluate` here): each test states the
deadlines it worked out by hand, as the clock tests do.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.core.times import format_utc, parse_time
from zammad_sla_plugin.zammad import ZammadClient


def shown(client: ZammadClient, ticket_id: int, policy: Policy) -> dict[str, Any]:
    """The SLA fields and our tags as the ticket shows them in Zammad."""
    ticket = client.get_ticket(ticket_id)
    names = policy.attributes
    ours = {policy.tags.at_risk, policy.tags.breached}
    return {
        "first_response_due_at": _instant(ticket.get(names.first_response_due_at)),
        "resolution_due_at": _instant(ticket.get(names.resolution_due_at)),
        "status": ticket.get(names.status),
        "tags": sorted(set(client.ticket_tags(ticket_id)) & ours),
    }


def _instant(value: str | None) -> str | None:
    """Zammad renders '...15:00:00.000Z'; compare instants as '...15:00:00Z'."""
    return format_utc(parse_time(value, "due date")) if value else None


def expect(
    first_response_due_at: str | None, resolution_due_at: str | None, status: str = "on_track", tags: tuple[str, ...] = ()
) -> dict[str, Any]:
    """What a ticket should show, in the form `shown` returns (instants as '...Z')."""
    return {
        "first_response_due_at": _instant(first_response_due_at),
        "resolution_due_at": _instant(resolution_due_at),
        "status": status,
        "tags": sorted(tags),
    }


def after(ticket: Mapping[str, Any], minutes: float) -> str:
    """`minutes` of wall-clock time after the ticket's creation (for 24x7 clocks)."""
    created = parse_time(ticket["created_at"], "created_at")
    return str(format_utc(created + timedelta(minutes=minutes)))


def mismatches(client: ZammadClient, wanted: Mapping[int, dict[str, Any]], policy: Policy) -> dict[int, tuple]:
    """Tickets whose shown SLA differs from the hand-computed `wanted`: id -> (shown, wanted)."""
    out = {}
    for ticket_id, want in wanted.items():
        have = shown(client, ticket_id, policy)
        if have != want:
            out[ticket_id] = (have, want)
    return out


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def notes(client: ZammadClient, ticket_id: int) -> list[dict[str, Any]]:
    """The internal notes zammad-sla wrote on a ticket (subject starts with 'SLA ')."""
    articles = client.request("GET", f"ticket_articles/by_ticket/{ticket_id}")
    return [a for a in articles if a.get("internal") and str(a.get("subject") or "").startswith("SLA ")]


def our_writes(requests_log: list[dict[str, Any]], api_login: str) -> list[dict[str, Any]]:
    """Writes (non-GET API calls) made by the sidecar's API user."""
    return [r for r in requests_log if r["user"] == api_login and r["method"] != "GET"]


def utc(text: str) -> datetime:
    """A naive ISO time read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def proposal_with_people(stack: Any, title: str, duplicate_title: str, duplicate_body: str) -> dict[str, Any]:
    """A registered feature proposal filed by the stack's customer, with a duplicate request by
    Samuel linked to it and Jacob subscribed: the three people its approval e-mails."""
    from zammad_sla_plugin.zammad import relations

    proposal = stack.create_ticket(title, "1 low", sla_kind="feature_request", sla_proposal_status="registered")
    samuel = stack.client(on_behalf_of="samuel@example.com")
    duplicate = samuel.request("POST", "tickets", json={
        "title": duplicate_title, "group": "Users", "customer_id": "guess:samuel@example.com",
        "article": {"body": duplicate_body, "type": "web", "sender": "Customer"}, "sla_kind": "feature_request"})  # fmt: skip
    relations.add_link(stack.agent, "normal", duplicate["number"], int(proposal["id"]))
    relations.subscribe(stack.client(on_behalf_of="jacob.miller@example.com"), int(proposal["id"]))
    stack.settle()
    return dict(proposal)
