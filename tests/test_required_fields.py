"""Which fields Zammad makes mandatory on the edit screen, and which our workflow lifts."""

from __future__ import annotations

from zammad_sla_plugin.admin.required_fields import (
    attribute_mandatory_on_edit, lifted_fields, mandatory_ticket_fields, workflow_mandatory_fields,
)  # fmt: skip


def _attribute(name: str, edit: dict, **extra: object) -> dict:
    return {"object": "Ticket", "name": name, "editable": True, "active": True, "screens": {"edit": edit}, **extra}


def test_required_for_any_permission_counts() -> None:
    assert attribute_mandatory_on_edit(_attribute("a", {"ticket.agent": {"shown": True, "required": True}}))
    assert attribute_mandatory_on_edit(_attribute("a", {"-all-": {"required": True}}))
    assert not attribute_mandatory_on_edit(_attribute("a", {"ticket.agent": {"shown": True, "required": False}}))


def test_null_false_counts_only_without_required() -> None:
    # core_workflow/attributes.rb#attribute_mandatory?: `required` wins, else `null` false.
    assert attribute_mandatory_on_edit(_attribute("a", {"ticket.agent": {"null": False}}))
    assert not attribute_mandatory_on_edit(_attribute("a", {"ticket.agent": {"null": False, "required": False}}))
    assert not attribute_mandatory_on_edit(_attribute("a", {"ticket.agent": {"null": True}}))
    assert not attribute_mandatory_on_edit({"object": "Ticket", "name": "a", "screens": {"create_middle": {"-all-": {"required": True}}}})


def test_builtin_other_objects_and_inactive_attributes_are_ignored() -> None:
    attributes = [
        _attribute("title", {"ticket.agent": {"null": False}}, editable=False),
        {**_attribute("org_field", {"-all-": {"required": True}}), "object": "Organization"},
        _attribute("off", {"-all-": {"required": True}}, active=False),
        _attribute("ref", {"ticket.agent": {"required": True}}),
    ]
    assert mandatory_ticket_fields(attributes, []) == ["ref"]


def test_workflow_set_mandatory_on_edit_counts_but_not_ours_or_other_screens() -> None:
    mandatory = {"operator": "set_mandatory", "set_mandatory": "true"}
    flows = [
        {"name": "admin", "object": "Ticket", "active": True, "preferences": {"screen": ["edit"]},
         "perform": {"ticket.cause": mandatory, "ticket.other": {"operator": "show", "show": "true"}}},
        {"name": "create only", "object": "Ticket", "active": True, "preferences": {"screen": ["create_middle"]},
         "perform": {"ticket.x": mandatory}},
        {"name": "list operator", "object": "Ticket", "active": True, "preferences": {},
         "perform": {"ticket.y": {"operator": ["set_mandatory"], "set_mandatory": "true"}}},
        {"name": "inactive", "object": "Ticket", "active": False, "perform": {"ticket.z": mandatory}},
        {"name": "ours", "object": "Ticket", "active": True, "perform": {"ticket.w": mandatory}},
    ]  # fmt: skip
    assert workflow_mandatory_fields(flows[0]) == {"cause"}
    assert mandatory_ticket_fields([], flows, ignore_workflow="ours") == ["cause", "y"]


def test_lifted_only_for_our_user_and_active_workflow() -> None:
    flow = {
        "active": True, "condition_selected": {"session.id": {"operator": "is", "value": ["3"]}},
        "perform": {"ticket.ref": {"operator": "set_optional", "set_optional": "true"},
                    "ticket.other": {"operator": "hide", "hide": "true"}},
    }  # fmt: skip
    assert lifted_fields(flow, 3) == {"ref"}
    assert lifted_fields(flow, 4) == set()
    assert lifted_fields({**flow, "active": False}, 3) == set()
    assert lifted_fields(None, 3) == set()
