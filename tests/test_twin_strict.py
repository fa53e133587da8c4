"""The twin is as strict as Zammad where the product relies on it: permissions per endpoint
(policy before lookup), masked webhook secrets, mandatory fields on edit and their lifting by a
core workflow, tag_new and the tag list, the restart after migrations and the notification
rule. Each test fails if the twin goes lenient again."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
import requests

from zammad_sla_plugin.twin import TwinServer

TOKEN = "secret"
START = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
FORBIDDEN = {"error": "Not authorized", "error_human": "Not authorized"}


def call(server: TwinServer, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Token token={TOKEN}", **kwargs.pop("headers", {})}
    response = requests.request(method, f"{server.url}/api/v1/{path}", headers=headers, timeout=5, **kwargs)
    assert response.status_code == expect, (method, path, response.status_code, response.text)
    return response.json() if response.content and "json" in response.headers.get("Content-Type", "") else response.text


def twin_get(server: TwinServer, path: str) -> Any:
    return requests.get(f"{server.url}/_twin/{path}", timeout=5).json()


@pytest.fixture()
def admin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, time_scale=0.001, now=START, frozen=True) as server:
        yield server


def ticket(server: TwinServer, **extra: Any) -> dict[str, Any]:
    payload = {"title": "Printer", "group": "Users", "customer_id": 6, "article": {"body": "hi"}, **extra}
    return call(server, "POST", "tickets", 201, json=payload)


# ---------------------------------------------------------------- permissions
ADMIN_WRITES: list[tuple[str, str, str]] = [
    ("PUT", "ticket_priorities/0", "admin.ticket_priority"),
    ("POST", "ticket_priorities", "admin.ticket_priority"),
    ("DELETE", "ticket_priorities/0", "admin.ticket_priority"),
    ("PUT", "ticket_states/0", "admin.ticket_state"),
    ("PUT", "webhooks/0", "admin.webhook"),
    ("GET", "webhooks", "admin.webhook"),
    ("PUT", "triggers/0", "admin.trigger"),
    ("PUT", "overviews/0", "admin.overview"),
    ("PUT", "core_workflows/0", "admin.core_workflow"),
    ("PUT", "object_manager_attributes/0", "admin.object"),
    ("POST", "object_manager_attributes_execute_migrations", "admin.object"),
    ("GET", "roles", "admin.role"),
    ("PUT", "groups/0", "admin.group"),
    ("GET", "tag_list", "admin.tag"),
    ("PUT", "tag_list/0", "admin.tag"),
    ("DELETE", "users/0", "admin.user"),
]


@pytest.mark.parametrize(("method", "path", "permission"), ADMIN_WRITES)
def test_policy_runs_before_lookup(method: str, path: str, permission: str) -> None:
    # Without the permission: 403 even for an id that cannot exist; with it: the lookup runs.
    with TwinServer(token=TOKEN, time_scale=0.001, api_permissions=["ticket.agent"]) as server:
        response = requests.request(method, f"{server.url}/api/v1/{path}", json={"name": "x"},
                                    headers={"Authorization": f"Token token={TOKEN}"}, timeout=5)
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
        assert response.headers["X-Failure"] == "Not authorized"
    with TwinServer(token=TOKEN, time_scale=0.001, api_permissions=["ticket.agent", permission]) as server:
        response = requests.request(method, f"{server.url}/api/v1/{path}", json={"name": "x"},
                                    headers={"Authorization": f"Token token={TOKEN}"}, timeout=5)
        assert response.status_code != 403, response.text
        if path.endswith("/0"):
            assert response.status_code in (404, 422), response.text


def test_read_permissions_and_parent_grants() -> None:
    with TwinServer(token=TOKEN, time_scale=0.001, api_permissions=["ticket.agent"]) as server:
        assert call(server, "GET", "ticket_priorities")  # index: ticket.agent is enough
        assert call(server, "GET", "users/me")["role_ids"] == [4]
        role = call(server, "GET", "roles/4", 403)
        assert role == FORBIDDEN
    with TwinServer(token=TOKEN, time_scale=0.001, api_permissions=["admin"]) as server:
        # "admin" grants every admin.* child, but not ticket.agent.
        assert call(server, "GET", "roles")[3]["name"] == "zammad-sla"
        call(server, "POST", "tickets", 403, json={"title": "x", "group": "Users", "customer_id": 6})


def test_seeded_roles_hold_zammads_default_permissions(admin: TwinServer) -> None:
    roles = {r["name"]: r["permission_ids"] for r in call(admin, "GET", "roles")}
    assert roles == {"Admin": [1, 43, 55, 65], "Agent": [43, 57, 60, 62, 66], "Customer": [44, 47, 48, 50, 54, 58]}


def test_unknown_permission_name_is_refused() -> None:
    with pytest.raises(ValueError, match="admin.ticket_prio"):
        TwinServer(token=TOKEN, api_permissions=["admin.ticket_prio"])


def test_ticket_access_needs_group_access_and_is_checked_after_lookup(admin: TwinServer) -> None:
    created = ticket(admin)
    admin.add_agent("outsider@example.com", "Out", "Sider", groups={})
    outsider = {"From": "outsider@example.com"}
    call(admin, "GET", "tickets/999999", 404, headers=outsider)  # lookup first
    assert call(admin, "GET", f"tickets/{created['id']}", 403, headers=outsider) == FORBIDDEN
    call(admin, "PUT", f"tickets/{created['id']}", 403, headers=outsider, json={"title": "x"})
    call(admin, "POST", "tags/add", 403, headers=outsider, json={"object": "Ticket", "o_id": created["id"], "item": "a"})
    assert call(admin, "GET", "tickets", headers=outsider) == []
    assert call(admin, "GET", "tickets/search", headers=outsider, params={"query": "Printer"})["tickets"] == []
    reader = admin.add_agent("reader@example.com", "Re", "Ader", groups={1: ["read"]})
    call(admin, "GET", f"tickets/{created['id']}", headers={"From": reader["login"]})
    call(admin, "PUT", f"tickets/{created['id']}", 403, headers={"From": reader["login"]}, json={"title": "x"})


def test_from_header_needs_admin_user() -> None:
    with TwinServer(token=TOKEN, time_scale=0.001, api_permissions=["ticket.agent"]) as server:
        body = call(server, "GET", "users/me", 403, headers={"From": "emma.taylor@example.com"})
        assert body["error"] == "Current user has no permission to use 'From'/'X-On-Behalf-Of'!"


# ---------------------------------------------------------------- webhook secrets
def test_webhook_secrets_are_masked_on_every_read_and_kept_on_masked_put(admin: TwinServer) -> None:
    secrets = {"signature_token": "s3cret", "bearer_token": "b34rer", "basic_auth_password": "pw"}
    hook = call(admin, "POST", "webhooks", 201, json={"name": "h", "endpoint": "https://example.com/h", **secrets})
    reads = [hook, call(admin, "GET", f"webhooks/{hook['id']}"), call(admin, "GET", "webhooks")[0],
             call(admin, "GET", f"webhooks/{hook['id']}", params={"expand": "true"})]
    updated = call(admin, "PUT", f"webhooks/{hook['id']}", json={**hook, "name": "h2"})
    for data in [*reads, updated]:
        assert {k: data[k] for k in secrets} == dict.fromkeys(secrets, "**********")
    assert admin.state.tables["webhooks"][hook["id"]]["signature_token"] == "s3cret"  # the mask did not overwrite
    call(admin, "PUT", f"webhooks/{hook['id']}", json={"signature_token": "n3w"})
    assert admin.state.tables["webhooks"][hook["id"]]["signature_token"] == "n3w"
    plain = call(admin, "POST", "webhooks", 201, json={"name": "plain", "endpoint": "https://example.com/p"})
    assert plain["signature_token"] is None  # unset values are not masked


# ---------------------------------------------------------------- mandatory fields and workflows
def _mandatory_field(server: TwinServer, name: str = "reason", screens: dict[str, Any] | None = None) -> None:
    call(server, "POST", "object_manager_attributes", 201, json={
        "object": "Ticket", "name": name, "display": name.capitalize(), "data_type": "input",
        "data_option": {"type": "text", "maxlength": 120, "null": True, "default": ""},
        "screens": screens or {"edit": {"ticket.agent": {"shown": True, "required": True}},
                               "create_middle": {"ticket.agent": {"shown": True, "required": False}}},
    })
    call(server, "POST", "object_manager_attributes_execute_migrations")
    assert server.wait_until_up()


def test_mandatory_field_blocks_every_edit_until_a_workflow_lifts_it(admin: TwinServer) -> None:
    _mandatory_field(admin)
    created = ticket(admin)  # create_middle: not required
    body = call(admin, "PUT", f"tickets/{created['id']}", 422, json={"priority_id": 3})
    assert body == {"error": "Missing required value for field 'reason'!",
                    "error_human": "Missing required value for field 'reason'!"}
    call(admin, "PUT", f"tickets/{created['id']}", json={"priority_id": 3, "reason": "because"})
    other = ticket(admin)
    flow = call(admin, "POST", "core_workflows", 201, json={
        "name": "sla api user", "object": "Ticket", "preferences": {"screen": ["edit"]},
        "condition_selected": {"session.id": {"operator": "is", "value": ["3"]}},
        "perform": {"ticket.reason": {"operator": "set_optional", "set_optional": True}},
    })
    call(admin, "PUT", f"tickets/{other['id']}", json={"priority_id": 3})  # lifted for the API user
    call(admin, "PUT", f"tickets/{other['id']}", 422, headers={"From": "emma.taylor@example.com"}, json={"priority_id": 1})
    call(admin, "PUT", f"core_workflows/{flow['id']}", json={
        "perform": {"ticket.reason": {"operator": "hide", "hide": True}}})
    call(admin, "PUT", f"tickets/{other['id']}", json={"priority_id": 1})  # hidden: not checked
    call(admin, "PUT", f"core_workflows/{flow['id']}", json={"active": False})
    call(admin, "PUT", f"tickets/{other['id']}", 422, json={"priority_id": 2})


def test_mandatory_on_create_and_session_role_condition(admin: TwinServer) -> None:
    _mandatory_field(admin, screens={"create_middle": {"-all-": {"required": True}}})
    payload = {"title": "x", "group": "Users", "customer_id": 6}
    call(admin, "POST", "tickets", 422, json=payload)
    call(admin, "POST", "core_workflows", 201, json={
        "name": "admins may skip", "object": "Ticket",
        "condition_saved": {"session.role_ids": {"operator": "is", "value": ["1"]}},
        "perform": {"ticket.reason": {"operator": "set_optional", "set_optional": True}}})
    call(admin, "POST", "tickets", 201, json=payload)


# ---------------------------------------------------------------- tags
def test_tag_new_off_forbids_unknown_tags_until_pre_created() -> None:
    with TwinServer(token=TOKEN, time_scale=0.001, tag_new=False, api_permissions=["ticket.agent"]) as server:
        created = ticket(server)
        tag = {"object": "Ticket", "o_id": created["id"], "item": "sla-breached"}
        assert call(server, "POST", "tags/add", 403, json=tag) == FORBIDDEN
        call(server, "POST", "tag_list", 403, json={"name": "sla-breached"})  # needs admin.tag
        server.state.tag_item("sla-breached")  # an admin pre-created it
        assert call(server, "POST", "tags/add", 201, json=tag) is True
    with TwinServer(token=TOKEN, time_scale=0.001, tag_new=False, api_permissions=["ticket.agent", "admin.tag"]) as server:
        created = ticket(server)
        call(server, "POST", "tags/add", 201, json={"object": "Ticket", "o_id": created["id"], "item": "free"})


def test_tag_list_crud_and_settings_endpoint(admin: TwinServer) -> None:
    created = ticket(admin)
    call(admin, "POST", "tags/add", 201, json={"object": "Ticket", "o_id": created["id"], "item": "Test"})
    assert call(admin, "POST", "tag_list", json={"name": "accounting"}) == {}
    listed = call(admin, "GET", "tag_list")
    assert [(t["name"], t["count"]) for t in listed] == [("Test", 1), ("accounting", 0)]
    call(admin, "PUT", f"tag_list/{listed[0]['id']}", json={"name": "renamed"})
    assert call(admin, "GET", "tags", params={"object": "Ticket", "o_id": created["id"]}) == {"tags": ["renamed"]}
    call(admin, "DELETE", f"tag_list/{listed[0]['id']}")
    assert call(admin, "GET", "tags", params={"object": "Ticket", "o_id": created["id"]}) == {"tags": []}
    assert requests.post(f"{admin.url}/_twin/settings", json={"tag_new": False}, timeout=5).json()["tag_new"] is False
    assert requests.post(f"{admin.url}/_twin/settings", json={"nope": 1}, timeout=5).status_code == 422


# ---------------------------------------------------------------- restart after migrations
def _attribute(server: TwinServer, name: str) -> None:
    call(server, "POST", "object_manager_attributes", 201, json={
        "object": "Ticket", "name": name, "display": name, "data_type": "input",
        "data_option": {"type": "text", "maxlength": 50, "null": True}})


def test_auto_shutdown_restart_window() -> None:
    with TwinServer(token=TOKEN, time_scale=1.0, restart_seconds=0.3, shutdown_delay_seconds=0.05) as server:
        _attribute(server, "alpha")
        call(server, "POST", "object_manager_attributes_execute_migrations")
        deadline = time.monotonic() + 5
        while not twin_get(server, "restarts")["down"]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        response = requests.get(f"{server.url}/api/v1/users/me", headers={"Authorization": f"Token token={TOKEN}"}, timeout=5)
        assert response.status_code == 502 and "Bad Gateway" in response.text
        assert server.wait_until_up()
        assert twin_get(server, "restarts")["restarts"] == 1
        created = ticket(server, alpha="kept")
        assert created["alpha"] == "kept"


def test_manual_restart_needed_without_auto_shutdown() -> None:
    with TwinServer(token=TOKEN, time_scale=0.001, auto_shutdown=False) as server:
        _attribute(server, "beta")
        call(server, "POST", "object_manager_attributes_execute_migrations")
        status = twin_get(server, "restarts")
        assert status["down"] is False and status["manual_restart_pending"] is True
        created = ticket(server, beta="lost")
        assert created["beta"] is None  # param_cleanup of the old processes drops the new column
        requests.post(f"{server.url}/_twin/restart", timeout=5).raise_for_status()
        assert twin_get(server, "restarts")["restarts"] == 1
        assert call(server, "PUT", f"tickets/{created['id']}", json={"beta": "kept"})["beta"] == "kept"


# ---------------------------------------------------------------- notifications
def _notified(server: TwinServer) -> list[tuple[str, str]]:
    return [(n["login"], n["type"]) for n in twin_get(server, "notifications")["notifications"]]


def _sla_field(server: TwinServer, name: str, permission: list[str] | None = None) -> None:
    option: dict[str, Any] = {"type": "text", "maxlength": 50, "null": True}
    if permission is not None:
        option["permission"] = permission
    call(server, "POST", "object_manager_attributes", 201, json={
        "object": "Ticket", "name": name, "display": name, "data_type": "input", "data_option": option})
    call(server, "POST", "object_manager_attributes_execute_migrations")
    assert server.wait_until_up()


def test_notification_rule(admin: TwinServer) -> None:
    _sla_field(admin, "sla_visible")
    _sla_field(admin, "sla_quiet", permission=["admin.object"])
    created = ticket(admin)
    # create: the group's agents (owner nobody); the API user is the updater and skipped
    assert sorted(_notified(admin)) == [("emma.taylor@example.com", "create"), ("jacob.miller@example.com", "create")]
    call(admin, "PUT", f"tickets/{created['id']}", json={"owner_id": 4})
    requests.delete(f"{admin.url}/_twin/notifications", timeout=5)
    call(admin, "PUT", f"tickets/{created['id']}", json={"sla_visible": "at risk"})
    entries = twin_get(admin, "notifications")["notifications"]
    assert [(e["login"], e["reason"], e["changes"], e["channels"], e["article_id"]) for e in entries] == [
        ("emma.taylor@example.com", "You are receiving this because you are the owner of this ticket.",
         {"sla_visible": ["", "at risk"]}, ["online", "email"], None)]
    requests.delete(f"{admin.url}/_twin/notifications", timeout=5)
    call(admin, "PUT", f"tickets/{created['id']}", json={"sla_quiet": "on_track"})
    assert _notified(admin) == []  # agents cannot see the attribute: no human changes
    note = {"article": {"body": "SLA at risk", "type": "note", "internal": True}}
    call(admin, "PUT", f"tickets/{created['id']}", json=note)
    assert _notified(admin) == [("emma.taylor@example.com", "update")]
    requests.delete(f"{admin.url}/_twin/notifications", timeout=5)
    unassigned = ticket(admin)
    requests.delete(f"{admin.url}/_twin/notifications", timeout=5)
    call(admin, "PUT", f"tickets/{unassigned['id']}", json=note)
    assert sorted(_notified(admin)) == [("emma.taylor@example.com", "update"), ("jacob.miller@example.com", "update")]
    requests.delete(f"{admin.url}/_twin/notifications", timeout=5)
    call(admin, "PUT", f"tickets/{created['id']}", headers={"From": "emma.taylor@example.com"}, json={"sla_visible": "x"})
    assert _notified(admin) == []  # the updater is skipped


def test_system_sender_article_without_changes_notifies_nobody(admin: TwinServer) -> None:
    created = ticket(admin)
    requests.delete(f"{admin.url}/_twin/notifications", timeout=5)
    call(admin, "POST", "ticket_articles", 201, json={"ticket_id": created["id"], "body": "x", "sender": "System",
                                                      "type": "note", "internal": True})
    assert _notified(admin) == []
