"""Port of Zammad's spec/requests/mention_spec.rb: listing, subscribing and unsubscribing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.zammad_specs.conftest import User, Zammad

ZAMMAD_SPEC = "spec/requests/mention_spec.rb"
ZAMMAD_COMMIT = "0b2bdd62bace8966026af5d337d203e7f7c4d379"


@dataclass
class Setup:
    z: Zammad
    ticket: dict[str, Any]
    other_ticket: dict[str, Any]
    user: User
    other_user: User

    def mention(self, user: User, ticket: dict[str, Any] | None = None) -> int:
        """`create(:mention, mentionable: ticket, user: user)`: the id of the Mention."""
        response = self.z.as_(user).post("mentions", {"mentionable_type": "Ticket",
                                                      "mentionable_id": (ticket or self.ticket)["id"]})
        assert response.status == 201, response.text
        return int(response.json["id"])

    def count(self, ticket: dict[str, Any]) -> int:
        return sum(1 for m in self.z.state.tables["mentions"].values() if m["mentionable_id"] == ticket["id"])


@pytest.fixture
def spec(zammad: Zammad) -> Setup:
    ticket = zammad.ticket(group_id=zammad.group())
    other_ticket = zammad.ticket(group_id=zammad.group())
    user = zammad.user(["Agent", "Customer"], groups=[ticket["group_id"]])  # :agent_and_customer
    other_user = zammad.user(["Agent", "Customer"], groups=[ticket["group_id"]])
    return Setup(zammad, ticket, other_ticket, user, other_user)


def _index(spec: Setup, ticket: dict[str, Any], user: User | None = None, **extra: Any) -> Any:
    return spec.z.as_(user or spec.user).get("mentions", {"mentionable_type": "Ticket", "mentionable_id": ticket["id"],
                                                          **extra})


# -- GET /api/v1/mentions ------------------------------------------------------------------
def test_returns_mentions(spec: Setup) -> None:
    """GET /api/v1/mentions > when user has agent access to mentionable > it 'returns mentions'"""
    spec.mention(spec.user)
    response = _index(spec, spec.ticket)
    assert response.status == 200 and len(response.json["mentions"]) == 1


def test_returns_mentions_for_another_user_with_access(spec: Setup) -> None:
    """GET /api/v1/mentions > when user has agent access to mentionable > it 'returns mentions for another user who has access'"""
    spec.mention(spec.user)
    response = _index(spec, spec.ticket, spec.other_user)
    assert response.status == 200 and len(response.json["mentions"]) == 1


def test_returns_empty_list_without_mentions(spec: Setup) -> None:
    """GET /api/v1/mentions > when user has agent access to mentionable > it 'returns empty list for object without mentions'"""
    spec.mention(spec.user)
    spec.z.grant(spec.user, spec.other_ticket["group_id"], ["read"])
    response = _index(spec, spec.other_ticket)
    assert response.status == 200 and not response.json["mentions"]


def test_full_response_returns_related_assets(spec: Setup) -> None:
    """GET /api/v1/mentions > when user has agent access to mentionable > when requesting full response > it 'returns related assets'"""
    mention_id = spec.mention(spec.user)
    response = _index(spec, spec.ticket, full=1)
    assets = response.json["assets"]
    assert str(mention_id) in assets["Mention"]
    assert str(spec.user.id) in assets["User"]
    assert str(spec.ticket["id"]) in assets["Ticket"]


def test_full_response_returns_mention_ids(spec: Setup) -> None:
    """GET /api/v1/mentions > when user has agent access to mentionable > when requesting full response > it 'returns mentions IDs'"""
    mention_id = spec.mention(spec.user)
    response = _index(spec, spec.ticket, full=1)
    assert response.json["record_ids"] == [mention_id]


def test_no_access_to_mentionable(spec: Setup) -> None:
    """GET /api/v1/mentions > when user has no access to mentionable > it 'returns authorization error'"""
    spec.mention(spec.user)
    assert _index(spec, spec.other_ticket).status == 403


def test_non_existent_ticket(spec: Setup) -> None:
    """GET /api/v1/mentions > when invalid mentionable is given > it 'fails if non-existant ticket given'"""
    spec.mention(spec.user)
    response = spec.z.as_(spec.user).get("mentions", {"mentionable_type": "Ticket", "mentionable_id": 0})
    assert response.status == 403


def test_non_ticket_mentionable(spec: Setup) -> None:
    """GET /api/v1/mentions > when invalid mentionable is given > it 'fails if non-ticket given'"""
    spec.mention(spec.user)
    response = spec.z.as_(spec.user).get("mentions", {"mentionable_type": "NonTicket", "mentionable_id": spec.ticket["id"]})
    assert response.status == 422
    assert response.json["error"] == "The parameter 'mentionable_type' is invalid."


# -- POST /api/v1/mentions ----------------------------------------------------------------
def _subscribe(spec: Setup) -> Any:
    return spec.z.as_(spec.user).post("mentions", {"mentionable_type": "Ticket", "mentionable_id": spec.other_ticket["id"]})


def test_subscribes_to_a_ticket(spec: Setup) -> None:
    """POST /api/v1/mentions > when user has agent access > it 'subscribes to a given ticket'"""
    spec.z.state.tables["users"][spec.user.id]["_group_ids"] = {spec.other_ticket["group_id"]: ["read"]}
    response = _subscribe(spec)
    assert spec.count(spec.other_ticket) == 1
    assert response.status == 201


def test_subscribing_twice_is_silent(spec: Setup) -> None:
    """POST /api/v1/mentions > when user has agent access > it 'silently handles subscribing to item already subscribed to'"""
    spec.z.state.tables["users"][spec.user.id]["_group_ids"] = {spec.other_ticket["group_id"]: ["read"]}
    spec.mention(spec.user, spec.other_ticket)
    response = _subscribe(spec)
    assert spec.count(spec.other_ticket) == 1
    assert response.status == 201


def test_subscribing_without_access_fails(spec: Setup) -> None:
    """POST /api/v1/mentions > when user has no access > it 'fails'"""
    assert _subscribe(spec).status == 403


# -- DELETE /api/v1/mentions/:id --------------------------------------------------------------
def test_deletes_mention(spec: Setup) -> None:
    """DELETE /api/v1/mentions/:id > when user has agent access > it 'deletes mention'"""
    mention_id = spec.mention(spec.user)
    response = spec.z.as_(spec.user).delete(f"mentions/{mention_id}")
    assert spec.count(spec.ticket) == 0
    assert response.status == 200


def test_deleting_a_mention_no_longer_present(spec: Setup) -> None:
    """DELETE /api/v1/mentions/:id > when user has agent access > it 'fails to delete mention that is no longer present'"""
    mention_id = spec.mention(spec.user)
    assert spec.z.as_(spec.user).delete(f"mentions/{mention_id}").status == 200  # mention.destroy!
    assert spec.z.as_(spec.user).delete(f"mentions/{mention_id}").status == 403


def test_deleting_a_non_existent_mention_without_access(spec: Setup) -> None:
    """DELETE /api/v1/mentions/:id > when user has no access > it 'fails deleting non existant mention'"""
    spec.mention(spec.user)
    spec.z.revoke(spec.user, spec.ticket["group_id"])
    assert spec.z.as_(spec.user).delete("mentions/0").status == 403


def test_deleting_own_mention_after_losing_access(spec: Setup) -> None:
    """DELETE /api/v1/mentions/:id > when user has no access > it 'allows to delete mention on object user no longer has access to'"""
    mention_id = spec.mention(spec.user)
    spec.z.revoke(spec.user, spec.ticket["group_id"])
    response = spec.z.as_(spec.user).delete(f"mentions/{mention_id}")
    assert spec.count(spec.ticket) == 0
    assert response.status == 200
