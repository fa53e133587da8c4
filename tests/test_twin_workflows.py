"""The twin's core workflow CRUD and read-only roles, over real HTTP on loopback."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
import requests

from zammad_sla_plugin.twin import TwinServer

TOKEN = "wf-token"
START = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
COLUMNS = [
    "id", "name", "object", "preferences", "condition_saved", "condition_selected", "perform", "active",
    "stop_after_match", "changeable", "priority", "updated_by_id", "created_by_id", "created_at", "updated_at",
]
READONLY = {"ticket.title": {"operator": "set_readonly", "set_readonly": "true"}}


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, now=START, frozen=True) as server:
        for agent_id in (4, 5):  # the From users below act as admins (admin.core_workflow)
            server.state.tables["users"][agent_id]["_role_ids"] = [1, 2]
        yield server


def call(twin: TwinServer, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Token token={TOKEN}", **kwargs.pop("headers", {})}
    response = requests.request(method, f"{twin.url}/api/v1/{path}", headers=headers, timeout=5, **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


def error(twin: TwinServer, method: str, path: str, expect: int, **kwargs: Any) -> str:
    body = call(twin, method, path, expect, **kwargs)
    assert body["error"] == body["error_human"]
    return str(body["error"])


def advance(twin: TwinServer, seconds: float) -> None:
    requests.post(f"{twin.url}/_twin/clock", json={"advance_seconds": seconds, "frozen": True}, timeout=5).raise_for_status()


def create(twin: TwinServer, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    body = {"object": "Ticket", "perform": READONLY, **fields}
    return call(twin, "POST", "core_workflows", 201, json=body, headers=headers or {})


def test_a_fresh_twin_lists_no_workflows_and_hides_the_base_ones(twin: TwinServer) -> None:
    assert call(twin, "GET", "core_workflows") == []
    # Zammad's seeded "base - ..." workflows are changeable: false: out of the API's scope.
    for method in ("GET", "PUT", "DELETE"):
        message = error(twin, method, "core_workflows/1", 404, json={"name": "mine"})
        assert message == "Couldn't find CoreWorkflow with 'id'=1 [WHERE \"core_workflows\".\"changeable\" = $1]"
    assert error(twin, "POST", "core_workflows", 422, json={"name": "BASE - core workflow"}) == "Name has already been taken"


def test_create_answers_every_column_with_defaults_and_stamps(twin: TwinServer) -> None:
    flow = create(twin, name="readonly title", note="not a column", headers={"From": "emma.taylor@example.com"})
    assert list(flow) == COLUMNS
    assert flow["id"] > 7  # after the seeded base workflows
    assert {k: flow[k] for k in COLUMNS[1:11]} == {
        "name": "readonly title", "object": "Ticket", "preferences": {}, "condition_saved": {},
        "condition_selected": {}, "perform": READONLY, "active": True, "stop_after_match": False,
        "changeable": True, "priority": 0,
    }
    assert flow["created_by_id"] == flow["updated_by_id"] == 4  # the From user
    assert flow["created_at"] == flow["updated_at"] == "2026-03-10T12:00:00.000Z"
    assert call(twin, "GET", f"core_workflows/{flow['id']}") == flow
    assert call(twin, "GET", "core_workflows") == [flow]
    expanded = call(twin, "GET", f"core_workflows/{flow['id']}", params={"expand": "true"})
    assert expanded == {**flow, "created_by": "emma.taylor@example.com", "updated_by": "emma.taylor@example.com"}


def test_params_are_cast_like_rails(twin: TwinServer) -> None:
    flow = create(twin, name="casts", priority="700", active="false", stop_after_match="1",
                  preferences=["not", "a", "hash"], condition_saved=None)
    assert (flow["priority"], flow["active"], flow["stop_after_match"]) == (700, False, True)
    assert flow["preferences"] == {} and flow["condition_saved"] == {}
    assert create(twin, name="word priority", priority="abc")["priority"] == 0
    assert create(twin, name="x" * 120)["name"] == "x" * 100  # varchar(100) is cut, not refused


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": ""}, "Name can't be blank"),
    ({"name": "   "}, "Name can't be blank"),
    ({"object": "Ticket"}, "Name can't be blank"),
    ({"name": "flow", "object": "Sla"}, "Invalid value 'Sla' for field 'object'!"),
    ({"name": "flow", "active": None}, "Attribute 'active' required!"),
    ({"name": "flow", "priority": ""}, "Attribute 'priority' required!"),
])
def test_create_validation(twin: TwinServer, fields: dict[str, Any], message: str) -> None:
    assert error(twin, "POST", "core_workflows", 422, json=fields) == message
    assert call(twin, "GET", "core_workflows") == []


def test_names_are_unique_ignoring_case(twin: TwinServer) -> None:
    first = create(twin, name="SLA read-only")
    assert error(twin, "POST", "core_workflows", 422, json={"name": "sla READ-ONLY"}) == "Name has already been taken"
    second = create(twin, name="other")
    assert error(twin, "PUT", f"core_workflows/{second['id']}", 422, json={"name": "Sla Read-Only"}) == "Name has already been taken"
    assert call(twin, "PUT", f"core_workflows/{first['id']}", json={"name": "sla read-only"})["name"] == "sla read-only"


def test_update_changes_stamps_only_when_something_changed(twin: TwinServer) -> None:
    flow = create(twin, name="flow", object=None)
    assert flow["object"] is None  # "any object" is allowed
    advance(twin, 60)
    same = call(twin, "PUT", f"core_workflows/{flow['id']}", json={"name": "flow", "perform": READONLY})
    assert same == flow
    advance(twin, 60)
    changed = call(twin, "PUT", f"core_workflows/{flow['id']}", headers={"From": "jacob.miller@example.com"},
                   json={"priority": 10, "preferences": {"screen": ["edit"]}, "id": 999, "created_by_id": 5})
    assert changed["id"] == flow["id"] and changed["created_by_id"] == flow["created_by_id"]
    assert (changed["priority"], changed["preferences"]) == (10, {"screen": ["edit"]})
    assert changed["updated_by_id"] == 5 and changed["updated_at"] == "2026-03-10T12:02:00.000Z"
    assert changed["created_at"] == flow["created_at"]
    assert call(twin, "GET", f"core_workflows/{flow['id']}") == changed
    # The object restriction only applies to a changed value.
    assert error(twin, "PUT", f"core_workflows/{flow['id']}", 422, json={"object": "Sla"}) == "Invalid value 'Sla' for field 'object'!"
    assert call(twin, "GET", f"core_workflows/{flow['id']}") == changed


def test_index_is_ordered_by_priority_then_id_and_paginates(twin: TwinServer) -> None:
    late = create(twin, name="late", priority=900)
    early = create(twin, name="early", priority=100)
    tie = create(twin, name="tie", priority=900)
    assert [f["name"] for f in call(twin, "GET", "core_workflows")] == ["early", "late", "tie"]
    page = call(twin, "GET", "core_workflows", params={"page": 2, "per_page": 2})
    assert [f["id"] for f in page] == [tie["id"]]
    assert early["id"] > late["id"]  # order is not by id


def test_a_workflow_made_unchangeable_leaves_the_api(twin: TwinServer) -> None:
    flow = create(twin, name="locked")
    assert call(twin, "PUT", f"core_workflows/{flow['id']}", json={"changeable": False})["changeable"] is False
    assert call(twin, "GET", "core_workflows") == []
    error(twin, "GET", f"core_workflows/{flow['id']}", 404)
    hidden = create(twin, name="born hidden", changeable=False)
    assert hidden["changeable"] is False and call(twin, "GET", "core_workflows") == []


def test_delete(twin: TwinServer) -> None:
    keep = create(twin, name="keep")
    gone = create(twin, name="gone")
    assert call(twin, "DELETE", f"core_workflows/{gone['id']}") == {}
    assert call(twin, "GET", "core_workflows") == [keep]
    assert error(twin, "DELETE", f"core_workflows/{gone['id']}", 404).startswith(f"Couldn't find CoreWorkflow with 'id'={gone['id']}")
    assert create(twin, name="gone")["id"] > gone["id"]  # ids are not reused


def test_workflows_and_roles_need_the_token(twin: TwinServer) -> None:
    for path in ("core_workflows", "roles"):
        response = requests.get(f"{twin.url}/api/v1/{path}", timeout=5)
        assert response.status_code == 403 and response.json()["error"] == "Authentication required"
        wrong = requests.get(f"{twin.url}/api/v1/{path}", headers={"Authorization": "Token token=nope"}, timeout=5)
        assert wrong.status_code == 401


def test_roles_index_and_show(twin: TwinServer) -> None:
    roles = call(twin, "GET", "roles")
    assert [(r["id"], r["name"], r["active"]) for r in roles] == [(1, "Admin", True), (2, "Agent", True), (3, "Customer", True)]
    agent = roles[1]
    assert list(agent)[:10] == ["id", "name", "preferences", "default_at_signup", "active", "note", "updated_by_id",
                                "created_by_id", "created_at", "updated_at"]
    assert agent["created_at"] == "2026-03-10T12:00:00.000Z" and agent["created_by_id"] == 1
    assert isinstance(agent["permission_ids"], list) and agent["permission_ids"] and agent["group_ids"] == {}
    assert "user_ids" not in agent  # Role ignores its users association
    assert call(twin, "GET", "roles/2") == agent
    assert [r["id"] for r in call(twin, "GET", "roles", params={"page": 2, "per_page": 2})] == [3]
    assert error(twin, "GET", "roles/99", 404) == "Couldn't find Role with 'id'=99"
