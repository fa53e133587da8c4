"""Helpers for end-to-end tests: compare what Zammad shows with a fresh evaluation."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Callable

from zammad_sla_plugin.clock import evaluate
from zammad_sla_plugin.policy import Policy
from zammad_sla_plugin.times import format_utc, parse_time
from zammad_sla_plugin.worker import TicketEvaluator
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


def expected(client: ZammadClient, ticket_id: int, policy: Policy, now: datetime) -> dict[str, Any]:
    """What a fresh evaluation says the ticket should show as of `now`."""
    ticket = client.get_ticket(ticket_id)
    history = client.ticket_history(ticket_id)
    org_id = ticket.get("organization_id")
    organization = client.get_organization(int(org_id)) if org_id else None
    result = evaluate(ticket, history, organization, now, policy)
    evaluator = TicketEvaluator(client, policy, lambda: now)
    fields = evaluator.desired_fields(result)
    wanted, _ = evaluator.desired_tags(result.status)
    names = policy.attributes
    return {
        "first_response_due_at": fields[names.first_response_due_at],
        "resolution_due_at": fields[names.resolution_due_at],
        "status": fields[names.status],
        "tags": sorted(wanted),
    }


def mismatches(client: ZammadClient, ticket_ids: list[int], policy: Policy, now: datetime) -> dict[int, tuple]:
    """Tickets whose shown SLA differs from a fresh evaluation: id -> (shown, expected)."""
    out = {}
    for ticket_id in ticket_ids:
        have = shown(client, ticket_id, policy)
        want = expected(client, ticket_id, policy, now)
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

