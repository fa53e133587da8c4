"""End to end through the twin (provisioned by setup, strict like Zammad) and the sidecar:
evidence before exclusion, proposals that e-mail their people exactly once per approval,
and 24x7 activation by phone.

Buenos Aires is UTC-3: 10:00 local = 13:00Z. 2026-03-10 is a Tuesday, 2026-03-14 a Saturday.
Seeded twin users: 2 Nicole Braun and 6 Samuel Lee and 7 Emily Adams (customers; 6 and 7 in
organization 2), 4 Emma Taylor and 5 Jacob Miller (agents).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e_support import utc, shown
from zammad_sla_plugin.core.evidence import EVIDENCE_NOTE_SUBJECT
from zammad_sla_plugin.demo.local_stack import CUSTOMER_ORG_ID, LocalStack
from zammad_sla_plugin.core.policy import Policy, default_policy_text, load_policy
from zammad_sla_plugin.runtime.proposals import no_address_subject
from zammad_sla_plugin.runtime.worker import TicketEvaluator
from zammad_sla_plugin.zammad import ZammadClient, ZammadError, relations

POLICY = load_policy()
EVIDENCE = "CRM vendor status page: API outage 09:40-11:10 local, incident #4471"






def tags(stack: LocalStack, ticket_id: int) -> list[str]:
    return sorted(stack.admin.ticket_tags(ticket_id))


def articles(stack: LocalStack, ticket_id: int, subject: str) -> list[dict[str, Any]]:
    return [a for a in relations.ticket_articles(stack.admin, ticket_id) if a.get("subject") == subject]


def emails(stack: LocalStack, ticket_id: int) -> list[str]:
    sent = stack.admin.session.get(f"{stack.twin.url}/_twin/emails", params={"ticket_id": ticket_id}, timeout=5)
    return [e["to"] for e in sent.json()["emails"]]


def replay(stack: LocalStack, ticket_id: int) -> None:
    """What replays, retries and restarts do: the ticket evaluated again, by fresh workers too."""
    stack.sidecar.reconcile()
    stack.settle()
    for _ in range(2):  # a restarted process: nothing remembered in memory
        fresh = TicketEvaluator(ZammadClient(stack.twin.url, stack.token, retries=0), POLICY, stack.twin.clock.now)
        fresh.evaluate(ticket_id)


def test_exclusion_needs_evidence(stack: LocalStack) -> None:
    ticket_id = int(stack.create_ticket("CRM vendor outage", "3 high", sla_origin="third_party")["id"])
    stack.settle()
    # Claimed without evidence: counted like any ticket, flagged, the owner told once.
    view = shown(stack.admin, ticket_id, POLICY)
    assert (view["status"], view["first_response_due_at"]) == ("on_track", "2026-03-10T15:00:00Z")
    assert tags(stack, ticket_id) == ["sla-evidence-missing"]
    [note] = articles(stack, ticket_id, EVIDENCE_NOTE_SUBJECT)
    assert note["internal"] is True and "sla_origin_evidence" in note["body"]
    replay(stack, ticket_id)
    assert len(articles(stack, ticket_id, EVIDENCE_NOTE_SUBJECT)) == 1

    # In the UI (and any API write) the evidence is mandatory while the origin is excluded.
    with pytest.raises(ZammadError, match="Missing required value for field 'sla_origin_evidence'"):
        stack.agent.update_ticket(ticket_id, {"state": "closed"})

    # Still counted: at 12:00 local the unassigned ticket breaches like any other.
    stack.set_clock(utc("2026-03-10T15:00:00"))
    stack.sidecar.reconcile()
    stack.settle()
    assert shown(stack.admin, ticket_id, POLICY)["status"] == "breached"
    assert tags(stack, ticket_id) == ["sla-breached", "sla-evidence-missing"]

    # Evidence written (and the incident closed): excluded, both tags gone, no second note.
    stack.set_clock(utc("2026-03-10T15:30:00"))
    stack.agent.update_ticket(ticket_id, {"sla_origin_evidence": EVIDENCE, "state": "closed"})
    stack.settle()
    assert shown(stack.admin, ticket_id, POLICY)["status"] == "excluded"
    assert tags(stack, ticket_id) == []
    assert len(articles(stack, ticket_id, EVIDENCE_NOTE_SUBJECT)) == 1


def test_evidence_from_the_start_excludes_at_once(stack: LocalStack) -> None:
    ticket_id = int(stack.create_ticket("Customer firewall blocks webhooks", "3 high", sla_origin="customer",
                                        sla_origin_evidence="Their firewall log, attached by the customer")["id"])  # fmt: skip
    stack.settle()
    assert shown(stack.admin, ticket_id, POLICY)["status"] == "excluded"
    assert tags(stack, ticket_id) == [] and articles(stack, ticket_id, EVIDENCE_NOTE_SUBJECT) == []


def test_approval_emails_customer_linked_customer_and_subscriber_exactly_once(stack: LocalStack) -> None:
    proposal = stack.create_ticket("Export conversations to CSV", "1 low", sla_kind="feature_request",
                                   sla_proposal_status="registered")  # fmt: skip
    proposal_id = int(proposal["id"])
    samuel = stack.client(on_behalf_of="samuel@example.com")
    duplicate = samuel.request("POST", "tickets", json={
        "title": "CSV export please", "group": "Users", "customer_id": "guess:samuel@example.com",
        "article": {"body": "we need it too", "type": "web", "sender": "Customer"}, "sla_kind": "feature_request"})  # fmt: skip
    relations.add_link(stack.agent, "normal", duplicate["number"], proposal_id)
    relations.subscribe(stack.client(on_behalf_of="jacob.miller@example.com"), proposal_id)
    stack.settle()
    assert emails(stack, proposal_id) == []  # registered: nobody is told yet

    # The approval and a burst of further edits: webhooks for the same ticket reach the
    # sidecar's two worker threads back to back (the queue's per-ticket lease keeps them apart).
    stack.agent.update_ticket(proposal_id, {"sla_proposal_status": "approved"})
    for n in range(4):
        stack.agent.update_ticket(proposal_id, {"priority": ("2 normal", "1 low")[n % 2]})
        stack.sidecar.reconcile()
    stack.settle()
    expected = ["emily@example.com", "samuel@example.com", "jacob.miller@example.com"]
    assert emails(stack, proposal_id) == expected
    sent = stack.admin.session.get(f"{stack.twin.url}/_twin/emails", params={"ticket_id": proposal_id}, timeout=5).json()
    first = sent["emails"][0]
    assert first["subject"] == f"Your proposal was approved: Export conversations to CSV [#{proposal['number']}]"
    assert first["body"].startswith("Hello Emily Adams,") and first["internal"] is False

    replay(stack, proposal_id)
    assert emails(stack, proposal_id) == expected  # exactly once

    stack.agent.update_ticket(proposal_id, {"sla_proposal_status": "declined"})
    stack.settle()
    stack.agent.update_ticket(proposal_id, {"sla_proposal_status": "approved"})
    stack.settle()
    replay(stack, proposal_id)
    assert emails(stack, proposal_id) == expected + expected  # a new approval notifies again
    assert articles(stack, proposal_id, no_address_subject("approved")) == []  # everyone had an address


def phone_policy(tmp_path: Path) -> Policy:
    path = tmp_path / "phone.toml"
    path.write_text(default_policy_text().replace('activation = "created_outside_hours"', 'activation = "phone_outside_hours"'))
    return load_policy(path)


def test_24x7_activation_by_phone(tmp_path: Path) -> None:
    policy = phone_policy(tmp_path)
    with LocalStack(policy, tmp_path / "data", virtual_now=utc("2026-03-14T06:00:00")) as stack:  # Sat 03:00 local
        stack.admin.request("PUT", f"organizations/{CUSTOMER_ORG_ID}", json={"sla_24x7_integrations": True})
        called = int(stack.take_call("WhatsApp down (called the guard)", "3 high", sla_integration="aivo_built")["id"])
        mailed = int(stack.customer.request("POST", "tickets", json={
            "title": "WhatsApp down (web form)", "group": "Users", "customer_id": "guess:emily@example.com",
            "priority": "3 high", "sla_integration": "aivo_built",
            "article": {"body": "down", "type": "web", "sender": "Customer"}})["id"])  # fmt: skip
        stack.settle()
        # By phone: 24x7 targets, 16 h wall clock from Sat 03:00 local.
        assert shown(stack.admin, called, policy)["resolution_due_at"] == "2026-03-14T22:00:00Z"
        # By web form: ordinary targets from Mon 09:00 local: 8 working hours -> 17:00 local.
        assert shown(stack.admin, mailed, policy)["resolution_due_at"] == "2026-03-16T20:00:00Z"
