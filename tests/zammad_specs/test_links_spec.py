"""Port of Zammad's spec/requests/links_spec.rb: listing, adding links between tickets."""

from __future__ import annotations

from typing import Any

import pytest

from tests.zammad_specs.conftest import Zammad

ZAMMAD_SPEC = "spec/requests/links_spec.rb"
ZAMMAD_COMMIT = "22a011c9b03d225e4bea695c6fb065c9fd312698"


def _link(z: Zammad, source: dict[str, Any], target: dict[str, Any]) -> None:
    """`create(:link, from: source, to: target)` (type normal), through the admin API."""
    admin = z.admin()
    response = z.as_(admin).post("links/add", {
        "link_type": "normal", "link_object_source": "Ticket", "link_object_source_number": source["number"],
        "link_object_target": "Ticket", "link_object_target_value": target["id"]})
    assert response.status == 201, response.text


def _list(z: Zammad, ticket_id: int) -> list[dict[str, Any]]:
    return z.as_(z.admin()).get("links", {"link_object": "Ticket", "link_object_value": ticket_id}).json["links"]


def test_links_of_a_ticket_are_listed(zammad: Zammad) -> None:
    """GET /api/v1/links > when requesting links of Ticket > it 'is present in response'"""
    group = zammad.group()
    ticket = zammad.ticket(group_id=group)
    linked = zammad.ticket(group_id=group)
    _link(zammad, ticket, linked)
    response = zammad.as_(zammad.agent(groups=[group])).get(
        "links", {"link_object": "Ticket", "link_object_value": ticket["id"]})
    assert response.status == 200
    assert response.json["links"] == [{"link_type": "normal", "link_object": "Ticket", "link_object_value": linked["id"]}]


def test_links_to_unreadable_tickets_are_not_listed(zammad: Zammad) -> None:
    """GET /api/v1/links > when requesting links of Ticket > without permission to linked Ticket Group > it 'is not present in response'"""
    group = zammad.group()
    ticket = zammad.ticket(group_id=group)
    linked = zammad.ticket(group_id=zammad.group())
    _link(zammad, ticket, linked)
    response = zammad.as_(zammad.agent(groups=[group])).get(
        "links", {"link_object": "Ticket", "link_object_value": ticket["id"]})
    assert response.status == 200
    assert not response.json["links"]


def test_customer_may_not_list_links_of_a_foreign_ticket(zammad: Zammad) -> None:
    """GET /api/v1/links > when a customer requests links of a foreign Ticket > it 'is forbidden'"""
    customer = zammad.customer()
    ticket = zammad.ticket()
    linked = zammad.ticket(customer_id=customer.id)
    _link(zammad, ticket, linked)
    response = zammad.as_(customer).get("links", {"link_object": "Ticket", "link_object_value": ticket["id"]})
    assert response.status == 403


@pytest.mark.parametrize(("link_object", "value", "example"), [
    ("Ticket", 99_999_999, "when requesting links of a non-existing object > it 'is forbidden and does not reveal the missing object'"),
    ("Announcement", 1, "when requesting links of an unsupported object > it 'is forbidden and does not raise'"),
])
def test_links_of_missing_or_unsupported_objects_are_forbidden(zammad: Zammad, link_object: str, value: int, example: str) -> None:
    """GET /api/v1/links > when requesting links of a non-existing object > it 'is forbidden and does not reveal the missing object'
    GET /api/v1/links > when requesting links of an unsupported object > it 'is forbidden and does not raise'"""
    response = zammad.as_(zammad.agent()).get("links", {"link_object": link_object, "link_object_value": value})
    assert response.status == 403, example


def _add(zammad: Zammad, source: dict[str, Any], target: dict[str, Any]) -> Any:
    agent = zammad.agent(groups=[target["group_id"]])
    return zammad.as_(agent).post("links/add", {
        "link_type": "normal", "link_object_target": "Ticket", "link_object_target_value": target["id"],
        "link_object_source": "Ticket", "link_object_source_number": source["number"]})


def test_adding_a_link(zammad: Zammad) -> None:
    """POST /api/v1/links/add > it 'adds the link'"""
    ticket = zammad.ticket(group_id=zammad.group())
    source = zammad.ticket(group_id=ticket["group_id"])
    assert _add(zammad, source, ticket).status == 201
    assert any(link["link_object_value"] == source["id"] for link in _list(zammad, ticket["id"]))


def test_linking_a_ticket_to_itself_is_refused(zammad: Zammad) -> None:
    """POST /api/v1/links/add > when the source is the target > it 'responds with an error'"""
    ticket = zammad.ticket(group_id=zammad.group())
    response = _add(zammad, ticket, ticket)
    assert response.status == 422
    assert response.json["error"] == "An object cannot be linked to itself."


def test_linking_a_ticket_to_itself_adds_nothing(zammad: Zammad) -> None:
    """POST /api/v1/links/add > when the source is the target > it 'does not add the link'"""
    ticket = zammad.ticket(group_id=zammad.group())
    _add(zammad, ticket, ticket)
    assert not _list(zammad, ticket["id"])


def test_an_existing_link_is_refused(zammad: Zammad) -> None:
    """POST /api/v1/links/add > when the link already exists > it 'responds with an error'"""
    ticket = zammad.ticket(group_id=zammad.group())
    source = zammad.ticket(group_id=ticket["group_id"])
    _link(zammad, source, ticket)
    response = _add(zammad, source, ticket)
    assert response.status == 422
    assert response.json["error"] == "Link already exists"
