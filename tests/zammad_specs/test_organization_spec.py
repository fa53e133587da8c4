"""Port of Zammad's spec/requests/organization_spec.rb: organization show, index, create and
update in their response formats (`expand`, `full`), and deletion."""

from __future__ import annotations

from typing import Any

import pytest

from tests.zammad_specs.conftest import Client, User, Zammad, truthy

ZAMMAD_SPEC = "spec/requests/organization_spec.rb"
ZAMMAD_COMMIT = "0242c05165e5680f41803140b3da8dda38e2dbe0"


@pytest.fixture
def people(zammad: Zammad) -> tuple[User, User]:
    """The spec's admin and customer (the other top-level lets are not used by these examples)."""
    return zammad.admin(), zammad.customer()


def _with_member(zammad: Zammad, admin: User, customer: User) -> int:
    """`create(:organization, name: 'Rest Org NEW', members: [customer], updated_by_id/created_by_id: admin)`."""
    ident = zammad.organization("Rest Org NEW", created_by_id=admin.id, updated_by_id=admin.id)
    zammad.state.tables["users"][customer.id]["organization_id"] = ident
    return ident


def _full_assets(json: dict[str, Any], ident: int, name: str, member_ids: list[int]) -> None:
    organization = json["assets"]["Organization"][str(ident)]
    assert truthy(organization)
    assert (organization["id"], organization["name"]) == (ident, name)
    assert organization["member_ids"] == member_ids
    assert not organization.get("members")


def _formats(json: dict[str, Any], ident: int, name: str, customer: User, admin: User, expanded: bool) -> None:
    assert (json["id"], json["name"]) == (ident, name)
    assert truthy(json.get("members")) if expanded else not json.get("members")
    assert json["member_ids"] == [customer.id]
    assert (json["updated_by_id"], json["created_by_id"]) == (admin.id, admin.id)


def test_show_and_response_format(zammad: Zammad, people: tuple[User, User]) -> None:
    """request handling > it 'does organization show and response format'"""
    admin, customer = people
    ident = _with_member(zammad, admin, customer)
    client = zammad.as_(admin)
    for params, expanded in (({}, False), ({"expand": "true"}, True), ({"expand": "false"}, False), ({"full": "false"}, False)):
        response = client.get(f"organizations/{ident}", params)
        assert response.status == 200 and isinstance(response.json, dict)
        _formats(response.json, ident, "Rest Org NEW", customer, admin, expanded)
    response = client.get(f"organizations/{ident}", {"full": "true"})
    assert response.status == 200 and isinstance(response.json, dict)
    assert response.json["id"] == ident
    _full_assets(response.json, ident, "Rest Org NEW", [customer.id])


def test_index_and_response_format(zammad: Zammad, people: tuple[User, User]) -> None:
    """request handling > it 'does organization index and response format'"""
    admin, customer = people
    ident = _with_member(zammad, admin, customer)
    client = zammad.as_(admin)
    for params in ({}, {"expand": "false"}, {"full": "false"}):
        response = client.get("organizations", params)
        assert response.status == 200 and isinstance(response.json, list) and isinstance(response.json[0], dict)
        _formats(response.json[-1], ident, "Rest Org NEW", customer, admin, expanded=False)
    response = client.get("organizations", {"expand": "true"})
    assert response.status == 200 and isinstance(response.json, list)
    last = response.json[-1]
    assert (last["id"], last["name"], last["member_ids"]) == (ident, "Rest Org NEW", [customer.id])
    assert (last["updated_by_id"], last["created_by_id"]) == (admin.id, admin.id)
    response = client.get("organizations", {"full": "true"})
    assert response.status == 200 and isinstance(response.json, dict)
    assert isinstance(response.json["record_ids"], list)
    assert response.json["record_ids"][0] == 1 and response.json["record_ids"][-1] == ident
    _full_assets(response.json, ident, "Rest Org NEW", [customer.id])


def test_create_and_response_format(zammad: Zammad, people: tuple[User, User]) -> None:
    """request handling > it 'does ticket create and response format'"""
    admin, customer = people
    client = zammad.as_(admin)
    params: dict[str, Any] = {"name": "Rest Org NEW", "members": [customer.login]}
    response = client.post("organizations", params)
    assert response.status == 201 and isinstance(response.json, dict), response.text
    assert response.json["name"] == "Rest Org NEW" and response.json["member_ids"] == [customer.id]
    assert not response.json.get("members")
    assert (response.json["updated_by_id"], response.json["created_by_id"]) == (admin.id, admin.id)

    params["name"] = "Rest Org NEW #2"
    response = client.post("organizations", params, {"expand": "true"})
    assert response.status == 201 and isinstance(response.json, dict), response.text
    assert response.json["name"] == "Rest Org NEW #2" and response.json["member_ids"] == [customer.id]
    assert response.json["members"] == [customer.login]
    assert (response.json["updated_by_id"], response.json["created_by_id"]) == (admin.id, admin.id)

    params["name"] = "Rest Org NEW #3"
    response = client.post("organizations", params, {"full": "true"})
    assert response.status == 201 and isinstance(response.json, dict), response.text
    _full_assets(response.json, response.json["id"], "Rest Org NEW #3", [customer.id])


def test_update_and_response_formats(zammad: Zammad, people: tuple[User, User]) -> None:
    """request handling > it 'does ticket update and response formats'"""
    admin, customer = people
    ident = _with_member(zammad, admin, customer)
    client: Client = zammad.as_(admin)
    response = client.put(f"organizations/{ident}", {"name": "a update name #1"})
    assert response.status == 200 and isinstance(response.json, dict)
    assert response.json["name"] == "a update name #1" and response.json["member_ids"] == [customer.id]
    assert not response.json.get("members")
    assert (response.json["updated_by_id"], response.json["created_by_id"]) == (admin.id, admin.id)
    response = client.put(f"organizations/{ident}", {"name": "a update name #2"}, {"expand": "true"})
    assert response.status == 200 and isinstance(response.json, dict)
    assert response.json["name"] == "a update name #2" and response.json["member_ids"] == [customer.id]
    assert (response.json["updated_by_id"], response.json["created_by_id"]) == (admin.id, admin.id)
    response = client.put(f"organizations/{ident}", {"name": "a update name #3"}, {"full": "true"})
    assert response.status == 200 and isinstance(response.json, dict)
    _full_assets(response.json, ident, "a update name #3", [customer.id])


def test_organization_deletion(zammad: Zammad) -> None:
    """DELETE /api/v1/organizations > it 'does organization deletion'"""
    ident = zammad.organization()
    response = zammad.as_(zammad.admin()).delete(f"organizations/{ident}")
    assert response.status == 200
    assert ident not in zammad.state.tables["organizations"]
