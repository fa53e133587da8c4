"""The twin's links, mentions (subscriptions) and e-mail log, as Zammad's source shapes them."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests

from tests.test_twin import START, TOKEN, Api
from zammad_sla_plugin.twin import TwinServer


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, time_scale=0.001, now=START, frozen=True) as server:
        yield server


@pytest.fixture()
def api(twin: TwinServer) -> Api:
    return Api(twin.url)


def link(api: Api, link_type: str, source: dict, target: dict, expect: int = 201) -> dict:
    return api.call("POST", "/links/add", expect, json={
        "link_type": link_type, "link_object_source": "Ticket", "link_object_source_number": source["number"],
        "link_object_target": "Ticket", "link_object_target_value": target["id"]})  # fmt: skip


def links_of(api: Api, ticket: dict) -> list[dict]:
    return api.call("GET", "/links", params={"link_object": "Ticket", "link_object_value": ticket["id"]})["links"]


def test_links_are_listed_from_both_sides(api: Api) -> None:
    proposal, duplicate, child = api.ticket(), api.ticket(customer_id=6), api.ticket()
    created = link(api, "normal", duplicate, proposal)
    assert (created["link_type_id"], created["link_object_source_value"], created["link_object_target_value"]) == (
        1, duplicate["id"], proposal["id"])
    link(api, "parent", proposal, child)
    # The source side sees the type from the other side (parent -> child), as Link.list does.
    assert links_of(api, proposal) == [
        {"link_type": "child", "link_object": "Ticket", "link_object_value": child["id"]},
        {"link_type": "normal", "link_object": "Ticket", "link_object_value": duplicate["id"]},
    ]
    assert links_of(api, child) == [{"link_type": "parent", "link_object": "Ticket", "link_object_value": proposal["id"]}]
    answer = api.call("GET", "/links", params={"link_object": "Ticket", "link_object_value": proposal["id"]})
    linked = answer["assets"]["Ticket"][str(duplicate["id"])]
    assert linked["customer_id"] == 6
    assert answer["assets"]["User"]["6"]["email"] == "samuel@example.com"  # the linked ticket's customer


def test_link_errors_and_removal_from_the_other_side(api: Api) -> None:
    first, second = api.ticket(), api.ticket()
    missing = api.call("POST", "/links/add", 422, json={
        "link_type": "normal", "link_object_source": "Ticket", "link_object_source_number": "999999",
        "link_object_target": "Ticket", "link_object_target_value": second["id"]})  # fmt: skip
    assert missing == {"error": "No such object!"}
    # A customer may neither link nor list links; a missing ticket is denied like a foreign one.
    customer = {"From": "samuel@example.com"}
    api.call("POST", "/links/add", 403, headers=customer, json={
        "link_type": "normal", "link_object_source": "Ticket", "link_object_source_number": first["number"],
        "link_object_target": "Ticket", "link_object_target_value": second["id"]})  # fmt: skip
    api.call("GET", "/links", 403, headers=customer, params={"link_object": "Ticket", "link_object_value": first["id"]})
    api.call("GET", "/links", 403, params={"link_object": "Ticket", "link_object_value": 999999})
    link(api, "parent", first, second)
    link(api, "parent", first, second, expect=422)
    removed = api.call("DELETE", "/links/remove", 201, json={
        "link_type": "child", "link_object_source": "Ticket", "link_object_source_value": second["id"],
        "link_object_target": "Ticket", "link_object_target_value": first["id"]})  # fmt: skip
    assert [r["link_object_source_value"] for r in removed] == [first["id"]]
    assert links_of(api, first) == [] and links_of(api, second) == []


def test_subscribing_is_a_mention_of_the_calling_agent(api: Api, twin: TwinServer) -> None:
    ticket = api.ticket()
    query = {"mentionable_type": "Ticket", "mentionable_id": ticket["id"]}
    mention = api.call("POST", "/mentions", 201, json=query, headers={"From": "jacob.miller@example.com"})
    assert mention["user_id"] == 5 and mention["mentionable_id"] == ticket["id"]
    assert set(mention) == {"id", "mentionable_type", "mentionable_id", "user_id", "updated_by_id", "created_by_id",
                            "created_at", "updated_at"}  # fmt: skip
    # already subscribed: the same mention again, no second one (mention_spec.rb)
    assert api.call("POST", "/mentions", 201, json=query, headers={"From": "jacob.miller@example.com"}) == mention
    refused = api.call("POST", "/mentions", 403, json=query, headers={"From": "samuel@example.com"})  # a customer
    assert refused["error"] == "Not authorized"
    assert [m["user_id"] for m in api.call("GET", "/mentions", params=query)["mentions"]] == [5]
    full = api.call("GET", "/mentions", params={**query, "full": "true"})
    assert full["record_ids"] == [mention["id"]] and "5" in full["assets"]["User"]
    assert api.call("GET", f"/tickets/{ticket['id']}")["updated_by_id"] == 5  # the mention touched the ticket
    api.call("GET", "/mentions", 422, params={"mentionable_type": "User", "mentionable_id": 1})
    # removed by its user or an agent who may update the ticket, never by a customer
    api.call("DELETE", f"/mentions/{mention['id']}", 403, headers={"From": "samuel@example.com"})
    api.call("DELETE", f"/mentions/{mention['id']}", 200, headers={"From": "jacob.miller@example.com"})
    assert api.call("GET", "/mentions", params=query)["mentions"] == []


def test_email_log_counts_agent_email_articles(api: Api, twin: TwinServer) -> None:
    ticket = api.ticket()
    for article in (
        {"type": "email", "sender": "Agent", "to": "samuel@example.com", "subject": "Approved", "body": "yes"},
        {"type": "note", "internal": True, "body": "internal"},
        {"type": "email", "sender": "Customer", "to": "support@example.com", "body": "incoming"},
    ):
        api.call("POST", "/ticket_articles", 201, json={"ticket_id": ticket["id"], **article})
    emails = requests.get(f"{twin.url}/_twin/emails", params={"ticket_id": ticket["id"]}, timeout=5).json()["emails"]
    assert [(e["to"], e["subject"], e["sender"]) for e in emails] == [("samuel@example.com", "Approved", "Agent")]
    assert requests.get(f"{twin.url}/_twin/emails", params={"ticket_id": 999}, timeout=5).json() == {"emails": []}
