"""Port of Zammad's spec/requests/integration/object_manager_attributes_spec.rb: custom
attributes created, updated, migrated, their deletion refused while referenced, their type
change rules and their position."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.zammad_specs.conftest import Client, Zammad, truthy

ZAMMAD_SPEC = "spec/requests/integration/object_manager_attributes_spec.rb"
ZAMMAD_COMMIT = "11b29001839b18d4ac867c1ed383322f139a8150"

TICKET_SCREENS = {
    "create_middle": {"ticket.customer": {"shown": True, "item_class": "column"},
                      "ticket.agent": {"shown": True, "item_class": "column"}},
    "edit": {"ticket.customer": {"shown": True}, "ticket.agent": {"shown": True}},
}
USER_SCREENS = {
    "create": {"admin.user": {"shown": True}, "ticket.agent": {"shown": True}, "ticket.customer": {"shown": True}},
    "edit": {"admin.user": {"shown": True}, "ticket.agent": {"shown": True}},
    "view": {"admin.user": {"shown": True}, "ticket.agent": {"shown": True}, "ticket.customer": {"shown": True}},
}


@pytest.fixture
def admin(zammad: Zammad) -> Client:
    return zammad.as_(zammad.admin())


def migrate(zammad: Zammad, admin: Client) -> None:
    """`ObjectManager::Attribute.migration_execute` (and the restart it triggers)."""
    assert admin.post("object_manager_attributes_execute_migrations").status == 200
    assert zammad.server.wait_until_up()


def _text_attribute(zammad: Zammad, admin: Client, obj: str = "Ticket") -> dict[str, Any]:
    """`create(:object_manager_attribute_text, object_name: obj)` then migration_execute."""
    response = admin.post("object_manager_attributes", {
        "name": f"text_{uuid.uuid4().hex[:8]}", "object": obj, "display": "Text", "active": True,
        "data_type": "input", "data_option": {"type": "text", "maxlength": 200, "null": True, "default": ""},
        "screens": TICKET_SCREENS if obj == "Ticket" else USER_SCREENS, "position": 20})
    assert response.status == 201, response.text
    migrate(zammad, admin)
    return dict(response.json)


@pytest.mark.parametrize(("name", "option", "example"), [
    ("test1", {"default": "test", "type": "text", "maxlength": 120}, "does add new ticket text object"),
    ("test2", {"type": "text", "maxlength": 120}, "does add new ticket text object - no default"),
])
def test_add_ticket_text_object(admin: Client, name: str, option: dict[str, Any], example: str) -> None:
    """request handling > it 'does add new ticket text object'
    request handling > it 'does add new ticket text object - no default'"""
    admin.post("object_manager_attributes", {})
    response = admin.post("object_manager_attributes", {
        "name": name, "object": "Ticket", "display": name.capitalize(), "active": True, "data_type": "input",
        "data_option": option, "screens": TICKET_SCREENS, "id": "c-196"})
    assert response.status == 201, (example, response.text)
    assert response.json
    assert response.json["data_option"]["null"] is True
    assert response.json["name"] == name


def test_update_ticket_text_object(zammad: Zammad, admin: Client) -> None:
    """request handling > it 'does update ticket text object'"""
    attribute = _text_attribute(zammad, admin)
    admin.post(f"object_manager_attributes/{attribute['id']}", {})
    response = admin.put(f"object_manager_attributes/{attribute['id']}", {
        "name": attribute["name"], "object": "Ticket", "display": "Test 4", "active": True, "data_type": "input",
        "data_option": {"default": "test", "type": "text", "maxlength": 120}, "screens": TICKET_SCREENS, "id": "c-196"})
    assert response.status == 200, response.text
    assert response.json["data_option"]["null"]
    assert response.json["name"] == attribute["name"]
    assert response.json["display"] == "Test 4"


def test_add_ticket_boolean_object(admin: Client) -> None:
    """request handling > it 'does add new ticket boolean object'"""
    admin.post("object_manager_attributes", {})
    response = admin.post("object_manager_attributes", {
        "active": True, "data_option": {"options": {"false": "no", "true": "yes"}}, "data_type": "boolean",
        "display": "Boolean 2", "id": "c-200", "name": "bool2", "object": "Ticket", "screens": TICKET_SCREENS})
    assert response.status == 201, response.text
    assert response.json["data_option"]["null"] is True
    assert response.json["name"] == "bool2"


def test_add_user_select_object(admin: Client) -> None:
    """request handling > it 'does add new user select object'"""
    admin.post("object_manager_attributes", {})
    response = admin.post("object_manager_attributes", {
        "active": True, "data_option": {"options": {"key1": "foo"}}, "data_type": "select", "display": "Test 5",
        "id": "c-204", "name": "test5", "object": "User", "screens": USER_SCREENS})
    assert response.status == 201, response.text
    assert response.json["data_option"]["null"] is True
    assert response.json["name"] == "test5"


def test_update_user_select_object(zammad: Zammad, admin: Client) -> None:
    """request handling > it 'does update user select object'"""
    attribute = _text_attribute(zammad, admin, "User")
    admin.post(f"object_manager_attributes/{attribute['id']}", {})
    response = admin.put(f"object_manager_attributes/{attribute['id']}", {
        "active": True, "data_option": {"options": {"key1": "foo", "key2": "bar"}}, "data_type": "select",
        "display": "Test 7", "id": "c-204", "name": attribute["name"], "object": "User", "screens": USER_SCREENS})
    assert response.status == 200, response.text
    assert truthy(response.json["data_option"]["options"])
    assert response.json["name"] == attribute["name"]
    assert response.json["display"] == "Test 7"


@pytest.mark.parametrize(("default", "expected"), [("true", True), ("false", False)])
def test_boolean_default_string_becomes_boolean(zammad: Zammad, admin: Client, default: str, expected: bool) -> None:
    """request handling > it 'does converts string to boolean for default value for boolean data type with true (01)'
    request handling > it 'does converts string to boolean for default value for boolean data type with false (02)'"""
    response = admin.post("object_manager_attributes", {
        "name": f"customerdescription{uuid.uuid4().hex[:8]}", "object": "Ticket",
        "display": f"custom description{uuid.uuid4().hex[:8]}", "active": True, "data_type": "boolean",
        "data_option": {"options": {"true": "", "false": ""}, "default": default, "screens": TICKET_SCREENS},
        "id": "c-201"})
    migrate(zammad, admin)
    assert response.status == 201, response.text
    assert response.json["data_option"]["default"] is expected
    assert response.json["data_type"] == "boolean"


def _referenced_attribute(zammad: Zammad, admin: Client, name: str, obj: str = "Ticket") -> None:
    response = admin.post("object_manager_attributes", {
        "name": name, "object": obj, "display": "Test Attribute", "active": True, "data_type": "input",
        "data_option": {"default": "", "type": "text", "maxlength": 120, "null": True, "options": {}, "relation": ""},
        "screens": TICKET_SCREENS})
    assert response.status == 201, response.text


def _overview_using(admin: Client, attribute: str) -> None:
    response = admin.post("overviews", {
        "name": "test_overview", "roles": ["Agent"],
        "condition": {"ticket.state_id": {"operator": "is", "value": [1, 2, 3, 4, 5, 7]},
                      f"ticket.{attribute}": {"operator": "contains", "value": "DUMMY"}},
        "order": {"by": "created_at", "direction": "DESC"},
        "view": {"d": ["title", "customer", "state", "created_at"], "s": ["number", "title", "customer", "state", "created_at"],
                 "m": ["number", "title", "customer", "state", "created_at"], "view_mode_default": "s"},
        "user_ids": ["1"]})
    assert response.status == 201, response.text
    assert isinstance(response.json, dict) and response.json["name"] == "test_overview"


def _attribute_id(admin: Client, name: str, obj: str) -> int:
    response = admin.get("object_manager_attributes")
    assert response.status == 200
    found = [a for a in response.json if a["name"] == name and a["object"] == obj]
    assert len(found) == 1
    return int(found[0]["id"])


def test_attribute_referenced_by_an_overview_cannot_be_removed(zammad: Zammad, admin: Client) -> None:
    """request handling > it 'does ticket attributes cannot be removed when it is referenced by an overview (03)'"""
    migrate(zammad, admin)
    _referenced_attribute(zammad, admin, "test_attribute_referenced_by_an_overview")
    migrate(zammad, admin)
    _overview_using(admin, "test_attribute_referenced_by_an_overview")
    _removal_refused(admin, "test_attribute_referenced_by_an_overview", "Overview", "test_overview")


def _removal_refused(admin: Client, name: str, klass: str, user: str) -> None:
    """DELETE of the Ticket attribute `name` answers 422 naming the `klass` record `user`."""
    response = admin.delete(f"object_manager_attributes/{_attribute_id(admin, name, 'Ticket')}")
    assert response.status == 422
    assert klass in response.text and user in response.text and "cannot be deleted!" in response.text


def test_attribute_referenced_by_a_trigger_cannot_be_removed(zammad: Zammad, admin: Client) -> None:
    """request handling > it 'does ticket attributes cannot be removed when it is referenced by a trigger (04)'"""
    migrate(zammad, admin)
    _referenced_attribute(zammad, admin, "test_attribute_referenced_by_a_trigger")
    migrate(zammad, admin)
    response = admin.post("triggers", {
        "name": "test_trigger",
        "condition": {"ticket.test_attribute_referenced_by_a_trigger": {"operator": "contains", "value": "DUMMY"}},
        "perform": {"ticket.state_id": {"value": "2"}}, "active": True, "id": "c-3"})
    assert response.status == 201, response.text
    assert isinstance(response.json, dict) and response.json["name"] == "test_trigger"
    _removal_refused(admin, "test_attribute_referenced_by_a_trigger", "Trigger", "test_trigger")


def test_user_attribute_of_the_same_name_can_be_removed(zammad: Zammad, admin: Client) -> None:
    """request handling > it 'does ticket attributes can be removed when it is referenced by an overview but by user object (06)'"""
    migrate(zammad, admin)
    name = "test_attribute_referenced_by_an_overview"
    _referenced_attribute(zammad, admin, name)
    _referenced_attribute(zammad, admin, name, "User")
    migrate(zammad, admin)
    _overview_using(admin, name)
    assert admin.delete(f"object_manager_attributes/{_attribute_id(admin, name, 'User')}").status == 200
    _removal_refused(admin, name, "Overview", "test_overview")
    migrate(zammad, admin)


def test_boolean_cannot_become_input(zammad: Zammad, admin: Client) -> None:
    """request handling > it 'does verify if attribute type can not be changed (07)'"""
    params: dict[str, Any] = {
        "name": f"customerdescription_{uuid.uuid4().hex}", "object": "Ticket",
        "display": f"custom description {uuid.uuid4().hex}", "active": True, "data_type": "boolean",
        "data_option": {"options": {"true": "", "false": ""}, "default": "false", "screens": TICKET_SCREENS}}
    response = admin.post("object_manager_attributes", params)
    assert response.status == 201, response.text
    assert response.json["data_option"]["default"] is False
    assert response.json["data_type"] == "boolean"
    migrate(zammad, admin)
    params.update(data_type="input", data_option={"default": "test", "type": "text", "maxlength": 120})
    response = admin.put(f"object_manager_attributes/{response.json['id']}", params)
    assert response.status == 422
    assert response.json and response.json["error"]


def test_input_can_become_select(zammad: Zammad, admin: Client) -> None:
    """request handling > it 'does verify if attribute type can be changed (08)'"""
    params: dict[str, Any] = {
        "name": f"customerdescription_{uuid.uuid4().hex}", "object": "Ticket",
        "display": f"custom description {uuid.uuid4().hex}", "active": True, "data_type": "input",
        "data_option": {"default": "test", "type": "text", "maxlength": 120}, "screens": TICKET_SCREENS}
    response = admin.post("object_manager_attributes", params)
    assert response.status == 201, response.text
    assert response.json["data_option"]["default"] == "test"
    assert response.json["data_type"] == "input"
    migrate(zammad, admin)
    params.update(data_type="select", data_option={"default": "fuu", "options": {"key1": "foo", "key2": "fuu"}})
    response = admin.put(f"object_manager_attributes/{response.json['id']}", params)
    assert response.status == 200, response.text
    assert response.json["data_option"]["default"] == "test"
    assert response.json["data_option_new"]["default"] == "fuu"
    assert response.json["data_type"] == "select"


def test_updating_an_attribute_that_does_not_exist(admin: Client) -> None:
    """request handling > it "doesn't let to update item that doesn't exist\""""
    response = admin.put("object_manager_attributes/abc", {
        "active": True, "data_option": {"type": "text", "maxlength": 200}, "data_type": "input",
        "display": "Test 7", "name": "attribute_that_doesnt_exist", "object": "User"})
    assert response.status == 422


# -- position handling --------------------------------------------------------------------------
def _base_params() -> dict[str, Any]:
    return {"name": f"customerdescription_{uuid.uuid4().hex}", "object": "Ticket",
            "display": f"custom description {uuid.uuid4().hex}", "active": True, "data_type": "input",
            "data_option": {"default": "test", "type": "text", "maxlength": 120}}


def _position(zammad: Zammad, ident: int) -> Any:
    return zammad.state.tables["attributes"][ident]["position"]


def test_position_defaults_to_the_maximum(zammad: Zammad, admin: Client) -> None:
    """position handling > when creating a new attribute > with no position attribute provided > it 'defaults to the maximum available position'"""
    created = admin.post("object_manager_attributes", _base_params()).json
    maximum = max(a["position"] for a in zammad.state.tables["attributes"].values() if a["_object"] == "Ticket")
    assert _position(zammad, created["id"]) == maximum


def test_position_given_is_kept(zammad: Zammad, admin: Client) -> None:
    """position handling > when creating a new attribute > with a position attribute given > it 'defaults to given position'"""
    created = admin.post("object_manager_attributes", {**_base_params(), "position": 50}).json
    assert _position(zammad, created["id"]) == 50


def _updated(zammad: Zammad, admin: Client) -> tuple[int, dict[str, Any]]:
    params = _base_params()
    ident = int(admin.post("object_manager_attributes", params).json["id"])
    zammad.state.tables["attributes"][ident]["position"] = 123  # new_attribute_object.update! position: 123
    admin.put(f"object_manager_attributes/{ident}", {**params, "display": "another description"})
    return ident, zammad.state.tables["attributes"][ident]


def test_update_succeeds(zammad: Zammad, admin: Client) -> None:
    """position handling > when updating an existing attribute > it 'request succeeds'"""
    _ident, attribute = _updated(zammad, admin)
    assert attribute["display"] == "another description"


def test_update_keeps_the_position(zammad: Zammad, admin: Client) -> None:
    """position handling > when updating an existing attribute > it 'position did not reset'"""
    _ident, attribute = _updated(zammad, admin)
    assert attribute["position"] == 123
