"""Port of Zammad's spec/requests/tag_spec.rb: adding and removing a ticket's tags."""

from __future__ import annotations

from typing import Any

import pytest

from tests.zammad_specs.conftest import Client, Zammad

ZAMMAD_SPEC = "spec/requests/tag_spec.rb"
# The version with the tag adding/removal examples is stored without path history (file id
# 1946674049, header "(C) 2012-2023"); the version stored under the path (183f89f8, 2021)
# has only the tag search examples, which are left out (README).
ZAMMAD_COMMIT = "unrecorded (index file id 1946674049, (C) 2012-2023 header)"


@pytest.fixture
def setup(zammad: Zammad) -> tuple[Client, dict[str, Any], dict[str, Any]]:
    ticket = zammad.ticket()  # Ticket.first
    agent = zammad.agent(groups=[ticket["group_id"]])
    payload = {"object": "Ticket", "item": "bar", "o_id": ticket["id"]}
    return zammad.as_(agent), ticket, payload


def _tags(zammad: Zammad, ticket: dict[str, Any]) -> list[str]:
    """`Tag.tag_list(object: 'Ticket', o_id: ticket.id)`."""
    return [t["name"] for t in zammad.state.tags.get(ticket["id"], [])]


def test_adding_returns_created(zammad: Zammad, setup: tuple[Client, dict[str, Any], dict[str, Any]]) -> None:
    """request handling > tag adding > it 'returns created'"""
    agent, _ticket, payload = setup
    assert agent.post("tags/add", payload).status == 201


def test_adding_adds_the_tag(zammad: Zammad, setup: tuple[Client, dict[str, Any], dict[str, Any]]) -> None:
    """request handling > tag adding > it 'deletes tag'"""
    agent, ticket, payload = setup
    agent.post("tags/add", payload)
    assert _tags(zammad, ticket)


def test_removal_returns_ok(zammad: Zammad, setup: tuple[Client, dict[str, Any], dict[str, Any]]) -> None:
    """request handling > tag removal > it 'returns ok'"""
    agent, ticket, payload = setup
    zammad.tag(ticket["id"], "bar")
    assert agent.delete("tags/remove", payload).status == 200


def test_removal_removes_the_tag(zammad: Zammad, setup: tuple[Client, dict[str, Any], dict[str, Any]]) -> None:
    """request handling > tag removal > it 'deletes tag'"""
    agent, ticket, payload = setup
    zammad.tag(ticket["id"], "bar")
    agent.delete("tags/remove", payload)
    assert _tags(zammad, ticket) == []
