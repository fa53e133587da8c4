"""Feature proposals notify the people who asked, exactly once per approval.

Pure rules on hand-made history, then the notifier against the twin over real HTTP
(seeded users: 2 Nicole Braun customer, 3 the API user, 4 Emma Taylor and 5 Jacob Miller
agents, 6 Samuel Lee customer).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from zammad_sla_plugin.core.policy import Policy, default_policy_text, load_policy
from zammad_sla_plugin.runtime.proposals import (
    Answers,
    Arrival,
    ProposalNotifier,
    Recipient,
    answers,
    arrival,
    email_article,
    merge_reasons,
    no_address_subject,
    our_articles_since,
    recipient_from_user,
)
from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.zammad import ZammadClient, ZammadError, relations

POLICY = load_policy()
TOKEN = "proposals"
API_USER = 3
T0 = "2026-03-10T13:00:00.000Z"


def entry(ident: int, at: str = T0, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "o_id": 42, "object": "Ticket", "type": "updated", "created_by_id": 4, "created_at": at,
            **fields}  # fmt: skip


def status_change(ident: int, old: str | None, new: str, at: str = T0) -> dict[str, Any]:
    return entry(ident, at, attribute="sla_proposal_status", value_from=old or "", value_to=new)


def article_row(ident: int, article_id: int, by: int = API_USER, at: str = T0) -> dict[str, Any]:
    return {"id": ident, "o_id": article_id, "object": "Ticket::Article", "type": "created", "created_by_id": by,
            "created_at": at, "related_object": "Ticket", "related_o_id": 42}  # fmt: skip


def proposal(status: str | None = "approved", **extra: Any) -> dict[str, Any]:
    return {"id": 42, "number": "67042", "title": "Export to CSV", "customer_id": 2, "sla_kind": "feature_request",
            "sla_proposal_status": status, **extra}  # fmt: skip


# --------------------------------------------------------------------------- pure rules


def test_arrival_is_the_latest_change_to_the_current_status() -> None:
    history = {"history": [
        entry(1, type="created"), status_change(2, None, "registered"), status_change(3, "registered", "approved"),
        status_change(4, "approved", "declined"), status_change(5, "declined", "approved"),
    ]}  # fmt: skip
    assert arrival(proposal(), history, POLICY) == Arrival("approved", 4)
    assert arrival(proposal("declined"), history, POLICY) is None  # declined does not notify by default
    assert arrival(proposal(sla_kind="incident"), history, POLICY) is None
    assert arrival(proposal("registered"), history, POLICY) is None


def test_created_approved_arrives_with_the_ticket() -> None:
    assert arrival(proposal(), {"history": [entry(7, type="created")]}, POLICY) == Arrival("approved", 0)
    assert arrival(proposal(), {"history": []}, POLICY) == Arrival("approved", -1)


def test_history_order_is_created_at_then_id() -> None:
    # Listed out of order: the later approval (12:00) is the arrival, and only articles after it count.
    history = {"history": [
        status_change(9, "declined", "approved", "2026-03-10T12:00:00.000Z"),
        status_change(3, None, "approved", "2026-03-10T10:00:00.000Z"),
        article_row(4, 100, at="2026-03-10T10:00:01.000Z"),
        status_change(5, "approved", "declined", "2026-03-10T11:00:00.000Z"),
        article_row(11, 101, at="2026-03-10T12:00:00.000Z"),  # same instant, later id
        article_row(12, 102, by=4, at="2026-03-10T12:00:01.000Z"),  # an agent's article
    ]}  # fmt: skip
    since = arrival(proposal(), history, POLICY)
    assert since == Arrival("approved", 3)
    assert our_articles_since(history, since, API_USER) == {101}


def test_answers_count_our_public_agent_emails_and_our_note() -> None:
    articles = [
        {"id": 1, "type": "email", "sender": "Agent", "internal": False, "to": "Nicole <NICOLE@example.com>",
         "cc": "x@example.com"},
        {"id": 2, "type": "email", "sender": "Agent", "internal": False, "to": "old@example.com"},  # not ours-since
        {"id": 3, "type": "email", "sender": "Customer", "internal": False, "to": "support@example.com"},
        {"id": 4, "type": "note", "sender": "Agent", "internal": True, "subject": no_address_subject("approved")},
        {"id": 5, "type": "note", "sender": "Agent", "internal": True, "subject": "SLA breached"},
    ]  # fmt: skip
    assert answers(articles, {1, 3, 4, 5}, "approved") == Answers(frozenset({"nicole@example.com", "x@example.com"}), True)
    assert answers(articles, {1}, "declined") == Answers(frozenset({"nicole@example.com", "x@example.com"}), False)
    assert answers(articles, set(), "approved") == Answers()


def test_recipients_without_a_usable_address() -> None:
    base = {"firstname": "Ana", "lastname": "Paz", "login": "ana", "active": True}
    assert recipient_from_user({**base, "email": "ana@example.com"}, 9, ("customer",)).problem is None
    assert recipient_from_user({**base, "email": ""}, 9, ("customer",)).problem == "no e-mail address"
    assert recipient_from_user({**base, "email": "ana at example"}, 9, ()).problem == "invalid e-mail address 'ana at example'"
    assert recipient_from_user({**base, "email": "ana@example.com", "active": False}, 9, ()).problem == "inactive user"
    assert recipient_from_user(None, 9, ()).problem == "user not found"
    assert recipient_from_user({**base, "firstname": "", "lastname": "", "email": "a@b.co"}, 9, ()).name == "ana"


def test_each_person_once_with_every_reason_and_never_nobody() -> None:
    merged = merge_reasons([(2, "customer"), (6, "customer of linked ticket #67043"), (2, "subscribed"),
                            (1, "customer of linked ticket #67044"), (6, "customer of linked ticket #67043")])  # fmt: skip
    assert merged == {2: ("customer", "subscribed"), 6: ("customer of linked ticket #67043",)}


def test_wording_comes_from_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(default_policy_text().replace(
        'approved_subject = "Your proposal was approved: {ticket_title} [#{ticket_number}]"',
        'approved_subject = "Propuesta {ticket_number} aprobada: {ticket_title} {{ok}}"'))  # fmt: skip
    policy = load_policy(path)
    recipient = Recipient(2, "Nicole Braun", "nicole@example.com", ("customer",))
    article = email_article(proposal(), recipient, "approved", policy)
    assert article["subject"] == "Propuesta 67042 aprobada: Export to CSV {ok}"
    assert article["body"].startswith("Hello Nicole Braun,\n\nthe feature proposal \"Export to CSV\" (ticket #67042)")
    assert (article["type"], article["sender"], article["internal"], article["to"]) == (
        "email", "Agent", False, "nicole@example.com")


# --------------------------------------------------------------------------- against the twin


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, time_scale=0.001, now=datetime(2026, 3, 10, 13, tzinfo=timezone.utc),
                    frozen=True) as server:  # fmt: skip
        sidecar = ZammadClient(server.url, TOKEN, retries=0)
        for name, kind in (("sla_kind", "input"), ("sla_proposal_status", "input")):
            sidecar.request("POST", "object_manager_attributes", json={
                "name": name, "object": "Ticket", "display": name, "active": True, "data_type": kind,
                "data_option": {"type": "text", "maxlength": 50}})  # fmt: skip
        sidecar.request("POST", "object_manager_attributes_execute_migrations")
        assert server.wait_until_up()  # Zammad restarts to apply migrations
        yield server


def as_user(twin: TwinServer, login: str | None = None) -> ZammadClient:
    return ZammadClient(twin.url, TOKEN, retries=0, on_behalf_of=login)


def emails(twin: TwinServer, ticket_id: int) -> list[str]:
    found = requests.get(f"{twin.url}/_twin/emails", params={"ticket_id": ticket_id}, timeout=5).json()["emails"]
    return [e["to"] for e in found]


def notes(client: ZammadClient, ticket_id: int, status: str = "approved") -> list[dict[str, Any]]:
    return [a for a in relations.ticket_articles(client, ticket_id) if a["subject"] == no_address_subject(status)]


def create(client: ZammadClient, customer: int | str, **extra: Any) -> dict[str, Any]:
    return client.request("POST", "tickets", json={
        "title": extra.pop("title", "Export to CSV"), "group": "Users", "customer_id": customer,
        "article": {"body": "please", "type": "web", "sender": "Customer"}, **extra})  # fmt: skip


@pytest.fixture()
def scene(twin: TwinServer) -> dict[str, Any]:
    """A proposal by Nicole, a duplicate request by Samuel linked to it, Jacob and an address-less agent subscribed."""
    agent = as_user(twin, "emma.taylor@example.com")
    nomail = agent.request("POST", "users", json={"firstname": "Pat", "lastname": "Nomail", "role_ids": [2],
                                                  "group_ids": {"1": ["full"]}})  # fmt: skip
    ticket = create(agent, 2, sla_kind="feature_request", sla_proposal_status="registered")
    duplicate = create(agent, 6, title="CSV export please", sla_kind="feature_request")
    relations.add_link(agent, "normal", duplicate["number"], ticket["id"])
    relations.subscribe(as_user(twin, "jacob.miller@example.com"), ticket["id"])
    relations.subscribe(as_user(twin, nomail["login"]), ticket["id"])
    return {"agent": agent, "ticket": ticket, "nomail": nomail}


def run(twin: TwinServer, ticket_id: int, policy: Policy = POLICY) -> Any:
    sidecar = as_user(twin)
    return ProposalNotifier(sidecar, policy).run(sidecar.get_ticket(ticket_id), sidecar.ticket_history(ticket_id))


def test_approval_notifies_customer_linked_customer_and_subscribers_once(twin: TwinServer, scene: dict) -> None:
    ticket_id, agent = scene["ticket"]["id"], scene["agent"]
    assert run(twin, ticket_id).arrival is None  # registered: nobody is told
    agent.update_ticket(ticket_id, {"sla_proposal_status": "approved"})
    outcome = run(twin, ticket_id)
    expected = ["nicole.braun@zammad.org", "samuel@example.com", "jacob.miller@example.com"]
    assert outcome.emailed == expected
    assert emails(twin, ticket_id) == expected
    note = notes(agent, ticket_id)
    assert len(note) == 1 and note[0]["internal"] is True and "Pat Nomail" in note[0]["body"]
    assert "no e-mail address" in note[0]["body"] and "subscribed" in note[0]["body"]
    sent = requests.get(f"{twin.url}/_twin/emails", params={"ticket_id": ticket_id}, timeout=5).json()["emails"]
    samuel = next(e for e in sent if e["to"] == "samuel@example.com")
    assert samuel["subject"] == f"Your proposal was approved: Export to CSV [#{scene['ticket']['number']}]"
    assert samuel["body"].startswith("Hello Samuel Lee,") and samuel["created_by_id"] == API_USER

    # Replays, retries and restarts (a fresh notifier each time) send nothing more.
    for _ in range(3):
        again = run(twin, ticket_id)
        assert (again.emailed, again.note_subject) == ([], None)
    assert len(emails(twin, ticket_id)) == 3 and len(notes(agent, ticket_id)) == 1


def test_approve_decline_approve_notifies_again(twin: TwinServer, scene: dict) -> None:
    ticket_id, agent = scene["ticket"]["id"], scene["agent"]
    agent.update_ticket(ticket_id, {"sla_proposal_status": "approved"})
    run(twin, ticket_id)
    agent.update_ticket(ticket_id, {"sla_proposal_status": "declined"})
    assert run(twin, ticket_id).arrival is None and len(emails(twin, ticket_id)) == 3  # declined: off by default
    # An agent's own e-mail after the new approval is not our notification.
    agent.update_ticket(ticket_id, {"sla_proposal_status": "approved"})
    agent.request("POST", "ticket_articles", json={"ticket_id": ticket_id, "type": "email", "sender": "Agent",
                                                   "to": "samuel@example.com", "body": "we are on it"})  # fmt: skip
    assert len(run(twin, ticket_id).emailed) == 3
    assert emails(twin, ticket_id).count("samuel@example.com") == 3  # 2 approvals + the agent's own mail
    assert len(notes(agent, ticket_id)) == 2  # one per approval
    assert run(twin, ticket_id).emailed == []


def test_declined_notifies_when_switched_on(twin: TwinServer, scene: dict, tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(default_policy_text().replace("notify_declined = false", "notify_declined = true"))
    policy = load_policy(path)
    ticket_id = scene["ticket"]["id"]
    scene["agent"].update_ticket(ticket_id, {"sla_proposal_status": "declined"})
    outcome = run(twin, ticket_id, policy)
    assert outcome.arrival == Arrival("declined", outcome.arrival.position) and len(outcome.emailed) == 3
    sent = requests.get(f"{twin.url}/_twin/emails", params={"ticket_id": ticket_id}, timeout=5).json()["emails"]
    assert {e["subject"] for e in sent} == {f"Your proposal was declined: Export to CSV [#{scene['ticket']['number']}]"}
    assert notes(scene["agent"], ticket_id, "declined")


def test_a_crash_between_recipients_resumes_with_the_rest(twin: TwinServer, scene: dict,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    ticket_id = scene["ticket"]["id"]
    scene["agent"].update_ticket(ticket_id, {"sla_proposal_status": "approved"})
    real = relations.create_article
    calls = {"n": 0}

    def flaky(client: ZammadClient, payload: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ZammadError("connection reset", status=None, method="POST", path="ticket_articles")
        return real(client, payload)

    monkeypatch.setattr(relations, "create_article", flaky)
    with pytest.raises(ZammadError):
        run(twin, ticket_id)
    assert emails(twin, ticket_id) == ["nicole.braun@zammad.org"]
    monkeypatch.setattr(relations, "create_article", real)
    assert run(twin, ticket_id).emailed == ["samuel@example.com", "jacob.miller@example.com"]
    assert len(emails(twin, ticket_id)) == 3 and len(notes(scene["agent"], ticket_id)) == 1


def test_refused_email_is_listed_in_the_note(twin: TwinServer, scene: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket_id = scene["ticket"]["id"]
    scene["agent"].update_ticket(ticket_id, {"sla_proposal_status": "approved"})
    real = relations.create_article

    def refuse_samuel(client: ZammadClient, payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("to") == "samuel@example.com":
            raise ZammadError("422", status=422, method="POST", path="ticket_articles",
                              error_human="Invalid email recipient")  # fmt: skip
        return real(client, payload)

    monkeypatch.setattr(relations, "create_article", refuse_samuel)
    outcome = run(twin, ticket_id)
    assert outcome.emailed == ["nicole.braun@zammad.org", "jacob.miller@example.com"]
    body = notes(scene["agent"], ticket_id)[0]["body"]
    assert "Zammad refused the e-mail to samuel@example.com: Invalid email recipient" in body


def test_late_subscriber_is_told_once(twin: TwinServer, scene: dict) -> None:
    ticket_id = scene["ticket"]["id"]
    scene["agent"].update_ticket(ticket_id, {"sla_proposal_status": "approved"})
    run(twin, ticket_id)
    relations.subscribe(as_user(twin, "emma.taylor@example.com"), ticket_id)
    assert run(twin, ticket_id).emailed == ["emma.taylor@example.com"]
    assert run(twin, ticket_id).emailed == []
