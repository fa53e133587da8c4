"""The Zammad twin over real HTTP: tickets, history, custom attributes, tags, From, clock,
faults, auth and pagination."""

from __future__ import annotations

import time

from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
import requests

from zammad_sla_plugin.twin import TwinServer

TOKEN = "secret"
START = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, time_scale=0.001, now=START, frozen=True) as server:
        yield server


@pytest.fixture()
def api(twin: TwinServer) -> "Api":
    return Api(twin.url)


class Api:
    """Tiny authenticated client for the tests."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token token={TOKEN}"

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.session.request(method, self.url + "/api/v1" + path, timeout=5, **kwargs)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    def migrate(self) -> None:
        """Execute migrations, then wait out Zammad's restart (auto_shutdown)."""
        self.call("POST", "/object_manager_attributes_execute_migrations", json={})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = requests.get(self.url + "/_twin/restarts", timeout=5).json()
            if not status["down"] and not status["stale_columns"]:
                return
            time.sleep(0.002)
        raise AssertionError("twin did not come back after migrations")

    def ticket(self, **extra: Any) -> dict[str, Any]:
        payload = {"title": "Printer", "group": "Users", "customer_id": "guess:c@example.com",
                   "article": {"body": "hello"}, **extra}
        return self.call("POST", "/tickets", 201, json=payload)


def history(api: Api, ticket_id: int) -> list[dict[str, Any]]:
    return api.call("GET", f"/ticket_history/{ticket_id}")["history"]


def test_create_show_and_expand(api: Api, twin: TwinServer) -> None:
    ticket = api.ticket(priority="3 high")
    assert ticket["state_id"] == 1 and ticket["priority_id"] == 3 and ticket["owner_id"] == 1
    assert ticket["article_ids"] and ticket["created_at"] == "2026-03-10T12:00:00.000Z"
    plain = api.call("GET", f"/tickets/{ticket['id']}")
    assert "article_ids" not in plain and "state" not in plain
    expanded = api.call("GET", f"/tickets/{ticket['id']}", params={"expand": "true"})
    assert expanded["state"] == "new" and expanded["priority"] == "3 high" and expanded["owner"] == "-"
    assert expanded["customer"] == "c@example.com" and expanded["created_by"] == twin.api_login
    assert "organization" not in expanded  # no name for a null association


def test_owner_change_history(api: Api) -> None:
    ticket = api.ticket()
    api.call("PUT", f"/tickets/{ticket['id']}", json={"owner_id": 4, "state": "open"})
    entries = history(api, ticket["id"])
    assert [e["type"] for e in entries[:2]] == ["created", "created"]
    assert entries[1]["object"] == "Ticket::Article" and entries[1]["related_object"] == "Ticket"
    owner = next(e for e in entries if e.get("attribute") == "owner")
    assert (owner["id_from"], owner["id_to"], owner["value_from"], owner["value_to"]) == (1, 4, "-", "Emma Taylor")
    state = next(e for e in entries if e.get("attribute") == "state")
    assert (state["value_from"], state["value_to"], state["id_from"], state["id_to"]) == ("new", "open", 1, 2)
    created = entries[0]
    assert "value_from" not in created and "id_from" not in created and created["history_attribute_id"] is None


def test_update_semantics_unknown_columns_dropped_and_noop(api: Api, twin: TwinServer) -> None:
    ticket = api.ticket()
    before = history(api, ticket["id"])
    result = api.call("PUT", f"/tickets/{ticket['id']}", json={"not_a_column": "x", "state_id": 1})
    assert "not_a_column" not in result
    assert history(api, ticket["id"]) == before  # nothing changed, nothing written
    api.call("PUT", f"/tickets/{ticket['id']}", json={"title": "New title"})
    title = history(api, ticket["id"])[-1]
    assert title["attribute"] == "title" and "id_from" not in title and title["value_to"] == "New title"
    api.call("PUT", f"/tickets/{ticket['id']}", 422, json={"state": "no such state"})


def test_custom_attribute_lifecycle(api: Api) -> None:
    ticket = api.ticket()
    attribute = api.call("POST", "/object_manager_attributes", 201, json={
        "name": "vendor_sla_due", "object": "Ticket", "display": "Due", "active": True, "data_type": "datetime",
        "data_option": {"future": True, "past": True, "diff": None}})
    assert attribute["to_create"] is True and attribute["to_migrate"] is True and attribute["editable"] is True
    dropped = api.call("PUT", f"/tickets/{ticket['id']}", json={"vendor_sla_due": "2026-03-11T08:00:00Z"})
    assert "vendor_sla_due" not in dropped
    api.migrate()
    shown = api.call("GET", f"/object_manager_attributes/{attribute['id']}")
    assert shown["to_create"] is False and shown["to_migrate"] is False
    assert api.call("GET", f"/tickets/{ticket['id']}")["vendor_sla_due"] is None
    stored = api.call("PUT", f"/tickets/{ticket['id']}", json={"vendor_sla_due": "2026-03-11T08:00:00Z"})
    assert stored["vendor_sla_due"] == "2026-03-11T08:00:00.000Z"
    entry = history(api, ticket["id"])[-1]
    assert entry["attribute"] == "vendor_sla_due" and entry["value_from"] == ""
    assert entry["value_to"] == "2026-03-11 08:00:00 UTC"


@pytest.mark.parametrize(("payload", "message"), [
    ({"name": "customer_ref_id", "data_type": "input", "data_option": {"type": "text", "maxlength": 10}},
     "Name can't get used because *_id and *_ids are not allowed"),
    ({"name": "Bad Name", "data_type": "input", "data_option": {"type": "text", "maxlength": 10}},
     "Name spaces are not allowed"),
    ({"name": "title", "data_type": "input", "data_option": {"type": "text", "maxlength": 10}},
     "Object already exists!"),
    ({"name": "due", "data_type": "datetime", "data_option": {"past": True}},
     "Allow future dates toggle value is required."),
    ({"name": "pending_time_x", "data_type": "nope", "data_option": {}}, "Data type is not included in the list"),
])
def test_attribute_validation(api: Api, payload: dict[str, Any], message: str) -> None:
    body = api.call("POST", "/object_manager_attributes", 422, json={"object": "Ticket", "display": "x", **payload})
    assert body == {"error": message, "error_human": message}


def test_datetime_past_rule(api: Api) -> None:
    api.call("POST", "/object_manager_attributes", 201, json={
        "name": "deadline", "object": "Ticket", "display": "Deadline", "data_type": "datetime",
        "data_option": {"future": True, "past": False}})
    api.migrate()
    ticket = api.ticket()
    body = api.call("PUT", f"/tickets/{ticket['id']}", 422, json={"deadline": "2020-01-01T00:00:00Z"})
    assert body["error"] == "Deadline does not allow past dates."


def test_organization_custom_attribute(api: Api) -> None:
    org = api.call("POST", "/organizations", 201, json={"name": "Acme"})
    api.call("POST", "/object_manager_attributes", 201, json={
        "name": "vendor_sla_tier", "object": "Organization", "display": "Tier", "data_type": "select",
        "data_option": {"options": {"gold": "Gold"}, "default": ""}})
    assert "vendor_sla_tier" not in api.call("PUT", f"/organizations/{org['id']}", json={"vendor_sla_tier": "gold"})
    api.migrate()
    assert api.call("PUT", f"/organizations/{org['id']}", json={"vendor_sla_tier": "gold"})["vendor_sla_tier"] == "gold"


def test_tags_and_tag_history(api: Api) -> None:
    ticket = api.ticket()
    tags = {"object": "Ticket", "o_id": ticket["id"]}
    assert api.call("POST", "/tags/add", 201, json={"item": "vip", **tags}) is True
    api.call("POST", "/tags/add", 201, json={"item": "vip", **tags})  # duplicate: no second row
    assert api.call("GET", "/tags", params=tags) == {"tags": ["vip"]}
    assert api.call("DELETE", "/tags/remove", json={"item": "vip", **tags}) is True
    rows = [e for e in history(api, ticket["id"]) if e.get("attribute") == "tag"]
    assert [(r["type"], r["value_to"], r["value_from"]) for r in rows] == [("added", "vip", None), ("removed", "vip", None)]


def test_from_header_acts_as_user(api: Api) -> None:
    ticket = api.ticket()
    result = api.call("PUT", f"/tickets/{ticket['id']}", json={"priority_id": 1},
                      headers={"From": "jacob.miller@example.com"})
    assert result["updated_by_id"] == 5
    assert history(api, ticket["id"])[-1]["created_by_id"] == 5
    note = api.call("POST", "/ticket_articles", 201, headers={"From": "4"},
                    json={"ticket_id": ticket["id"], "body": "n", "type": "note", "internal": True})
    assert note["created_by_id"] == 4 and note["from"] == "Emma Taylor" and note["sender"] == "Agent"
    assert api.call("GET", "/users/me", headers={"From": "emma.taylor@example.com"})["id"] == 4
    api.call("GET", "/users/me", 403, headers={"From": "ghost"})  # api_auth_from_spec.rb: unknown user is forbidden


def test_clock_set_and_advance(api: Api, twin: TwinServer) -> None:
    clock = twin.url + "/_twin/clock"
    assert requests.get(clock, timeout=5).json()["now"] == "2026-03-10T12:00:00.000Z"
    requests.post(clock, json={"set": "2026-04-01T09:00:00Z"}, timeout=5)
    assert api.ticket()["created_at"] == "2026-04-01T09:00:00.000Z"
    moved = requests.post(clock, json={"advance_seconds": 3600}, timeout=5).json()
    assert moved == {"now": "2026-04-01T10:00:00.000Z", "frozen": True}
    ticking = requests.post(clock, json={"frozen": False}, timeout=5).json()
    assert ticking["frozen"] is False
    assert requests.post(clock, json={}, timeout=5).status_code == 422


def test_faults_outage_error_latency(api: Api, twin: TwinServer) -> None:
    faults = twin.url + "/_twin/faults"
    requests.post(faults, json={"outage": True}, timeout=5)
    assert api.session.get(api.url + "/api/v1/users/me", timeout=5).status_code == 503
    assert requests.get(twin.url + "/_twin/clock", timeout=5).status_code == 200  # /_twin unaffected
    requests.post(faults, json={"error_rate": 1.0, "status": 502, "paths": "/tickets", "retry_after": 3}, timeout=5)
    failed = api.session.get(api.url + "/api/v1/tickets", timeout=5)
    assert failed.status_code == 502 and failed.headers["Retry-After"] == "3"
    assert api.session.get(api.url + "/api/v1/users/me", timeout=5).status_code == 200  # path filter
    requests.post(faults, json={"error_rate": 1.0, "status": 422, "paths": "/tickets", "methods": ["post"]}, timeout=5)
    assert api.session.get(api.url + "/api/v1/tickets", timeout=5).status_code == 200  # method filter
    assert api.session.post(api.url + "/api/v1/tickets", json={}, timeout=5).status_code == 422
    requests.post(faults, json={"latency_ms": 60}, timeout=5)
    assert api.session.get(api.url + "/api/v1/users/me", timeout=5).elapsed.total_seconds() >= 0.05
    requests.delete(faults, timeout=5)
    assert api.session.get(api.url + "/api/v1/tickets", timeout=5).status_code == 200
    assert requests.post(faults, json={"error_rate": 2}, timeout=5).status_code == 422


def test_auth_errors(twin: TwinServer) -> None:
    missing = requests.get(twin.url + "/api/v1/users/me", timeout=5)
    assert missing.status_code == 403 and missing.json()["error"] == "Authentication required"
    wrong = requests.get(twin.url + "/api/v1/users/me", headers={"Authorization": "Token token=nope"}, timeout=5)
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "Can't find User for Token", "error_human": "Can't find User for Token"}


def test_pagination_and_404(api: Api) -> None:
    ids = [api.ticket(title=f"T{i}")["id"] for i in range(5)]
    first = api.call("GET", "/tickets", params={"page": 1, "per_page": 2})
    third = api.call("GET", "/tickets", params={"page": 3, "per_page": 2})
    assert [t["id"] for t in first] == ids[:2] and [t["id"] for t in third] == ids[4:]
    assert api.call("GET", "/tickets", params={"page": 1000, "per_page": 10}) == []
    assert len(api.call("GET", "/tickets", params={"per_page": 500})) == 5  # capped at 100, not an error
    missing = api.call("GET", "/tickets/999", 404)
    assert missing["error"] == "Couldn't find Ticket with 'id'=999"


def test_search_by_condition(api: Api) -> None:
    a = api.ticket(title="Alpha")
    b = api.ticket(title="Beta")
    api.call("PUT", f"/tickets/{b['id']}", json={"state": "open"})
    flat = api.call("POST", "/tickets/search", json={"condition": {"ticket.state_id": {"operator": "is", "value": ["2"]}}})
    assert flat["tickets"] == [b["id"]] and flat["tickets_count"] == 1 and "Ticket" in flat["assets"]
    expert = api.call("POST", "/tickets/search", json={"expand": True, "condition": {"operator": "OR", "conditions": [
        {"name": "ticket.title", "operator": "contains", "value": "alp"},
        {"name": "ticket.state_id", "operator": "is", "value": "2"}]}, "sort_by": "id", "order_by": "asc"})
    assert [t["id"] for t in expert] == [a["id"], b["id"]] and expert[0]["state"] == "new"
    by_get = api.call("GET", "/tickets/search", params={"query": "beta"})
    assert by_get["tickets"] == [b["id"]]
    before = api.call("GET", "/tickets/search", params={
        "condition[ticket.created_at][operator]": "before (absolute)",
        "condition[ticket.created_at][value]": "2026-03-10T11:00:00Z"})
    assert before["tickets"] == []


def test_request_log(api: Api, twin: TwinServer) -> None:
    requests.delete(twin.url + "/_twin/requests", timeout=5)
    api.ticket()
    log = requests.get(twin.url + "/_twin/requests", timeout=5).json()
    entry = log["requests"][-1]
    assert (entry["method"], entry["path"], entry["status"], entry["user"]) == ("POST", "/api/v1/tickets", 201, twin.api_login)
    api.call("GET", "/users/me")
    newer = requests.get(twin.url + "/_twin/requests", params={"since": log["next"]}, timeout=5).json()["requests"]
    assert [e["path"] for e in newer] == ["/api/v1/users/me"]


def test_delete_ticket_and_lookups(api: Api) -> None:
    ticket = api.ticket()
    assert api.session.delete(api.url + f"/api/v1/tickets/{ticket['id']}", timeout=5).status_code == 200
    api.call("GET", f"/tickets/{ticket['id']}", 404)
    states = {s["name"]: s for s in api.call("GET", "/ticket_states")}
    assert states["pending close"]["id"] == 7 and states["closed"]["state_type_id"] == 5
    assert states["merged"]["ignore_escalation"] is True and states["open"]["ignore_escalation"] is False
    priority = api.call("POST", "/ticket_priorities", 201, json={"name": "4 urgent"})
    assert priority["id"] == 4 and api.call("PUT", "/ticket_priorities/4", json={"active": False})["active"] is False
    assert [g["name"] for g in api.call("GET", "/groups")] == ["Users"]


def test_webhook_trigger_overview_crud_and_attribute_references(api: Api) -> None:
    webhook = api.call("POST", "/webhooks", 201, json={"name": "SLA", "endpoint": "http://127.0.0.1:9/x"})
    assert webhook["http_method"] == "post" and webhook["ssl_verify"] is True and webhook["signature_token"] is None
    api.call("POST", "/webhooks", 422, json={"name": "no endpoint"})
    attribute = api.call("POST", "/object_manager_attributes", 201, json={
        "name": "vendor_sla_state", "object": "Ticket", "display": "State", "data_type": "select",
        "data_option": {"options": {"ok": "OK"}, "default": ""}})
    assert attribute["data_option"]["nulloption"] is True and attribute["data_option"]["maxlength"] == 255
    trigger = api.call("POST", "/triggers", 201, json={
        "name": "t", "condition": {"ticket.vendor_sla_state": {"operator": "is", "value": "ok"}},
        "perform": {"notification.webhook": {"webhook_id": str(webhook["id"])}}})
    assert trigger["activator"] == "action" and trigger["execution_condition_mode"] == "selective"
    api.call("POST", "/triggers", 422, json={"name": "bad", "activator": "never", "perform": {"x": {}}})
    listed = {a["name"]: a for a in api.call("GET", "/object_manager_attributes")}
    assert listed["vendor_sla_state"]["deletable"] is False and "Trigger: t" in listed["vendor_sla_state"]["not_deletable_reason"]
    api.call("DELETE", f"/object_manager_attributes/{attribute['id']}", 422)
    assert api.call("PUT", f"/triggers/{trigger['id']}", json={"active": False})["active"] is False
    api.call("DELETE", f"/triggers/{trigger['id']}")
    api.call("DELETE", f"/object_manager_attributes/{attribute['id']}")  # never migrated: gone at once
    api.call("GET", f"/object_manager_attributes/{attribute['id']}", 404)
    overview = api.call("POST", "/overviews", 201, json={
        "name": "Breached SLA", "role_ids": [2],
        "condition": {"ticket.state_id": {"operator": "is", "value": ["1", "2"]}}})
    assert overview["link"] == "breached_sla" and overview["role_ids"] == [2] and overview["order"]["by"] == "created_at"
    assert [o["id"] for o in api.call("GET", "/overviews")] == [overview["id"]]
    api.call("DELETE", f"/overviews/{overview['id']}")
    api.call("GET", f"/overviews/{overview['id']}", 404)


def test_cli_command_serves_and_stops() -> None:
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "zammad_sla_plugin.cli", "twin", "--port", "0", "--token", "cli-token"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        started = time.monotonic()
        line = process.stdout.readline() if process.stdout else ""
        assert time.monotonic() - started < 5 and "listening on http://127.0.0.1:" in line
        url = line.strip().rsplit(" ", 1)[-1]
        user = process.stdout.readline() if process.stdout else ""
        assert "zammad-sla@example.com" in user
        me = requests.get(url + "/api/v1/users/me", headers={"Authorization": "Token token=cli-token"}, timeout=5)
        assert me.json()["login"] == "zammad-sla@example.com"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0
