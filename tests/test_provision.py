"""`zammad-sla setup` / `uninstall` against the Zammad twin over real HTTP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from click.testing import CliRunner, Result

from zammad_sla_plugin.admin import provision
from zammad_sla_plugin.cli import main
from zammad_sla_plugin.core.policy import load_policy
from tests.admin_support import PUBLIC, SECRET, TOKEN, api, sidecar_env
from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.zammad import ZammadClient, ZammadError

WRITES = ("POST", "PUT", "DELETE", "PATCH")


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, time_scale=0.001) as server:
        yield server


@pytest.fixture()
def env(twin: TwinServer, tmp_path: Path) -> dict[str, str | None]:
    return sidecar_env(twin, tmp_path)


def snapshot(twin: TwinServer) -> dict[str, Any]:
    """Everything setup may touch, exactly as Zammad serves it."""
    return {path: api(twin, "GET", path) for path in (
        "object_manager_attributes", "ticket_priorities", "webhooks", "triggers", "overviews", "core_workflows",
    )}  # fmt: skip


def agent_role_id(twin: TwinServer) -> int:
    """The id of the role named "Agent", as GET /api/v1/roles serves it."""
    [role] = [r for r in api(twin, "GET", "roles") if r["name"] == "Agent"]
    return int(role["id"])


def write_requests(twin: TwinServer, since: int = 0) -> list[str]:
    log = requests.get(f"{twin.url}/_twin/requests", params={"since": since}, timeout=5).json()["requests"]
    # Writes that changed something: permission probes (PUT .../0) answer 403/404.
    return [f"{r['method']} {r['path']}" for r in log if r["method"] in WRITES and r["status"] < 400]


def request_cursor(twin: TwinServer) -> int:
    return int(requests.get(f"{twin.url}/_twin/requests", timeout=5).json()["next"])


def run(env: dict[str, str | None], *args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), env=env, input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_setup_creates_everything_and_second_run_changes_nothing(twin: TwinServer, env: dict[str, str | None]) -> None:
    first = run(env, "setup")
    assert first.exit_code == 0, first.output
    assert "setup: 23 change(s) applied" in first.output
    state = snapshot(twin)
    attributes = {(a["object"], a["name"]): a for a in state["object_manager_attributes"]}
    status = attributes[("Ticket", "sla_status")]
    assert list(status["data_option"]["options"]) == [
        "on_track", "at_risk", "breached", "paused", "met", "not_applicable", "excluded"]
    for name in ("sla_first_response_due_at", "sla_resolution_due_at"):
        option = attributes[("Ticket", name)]["data_option"]
        assert attributes[("Ticket", name)]["data_type"] == "datetime" and option["past"] is True and option["future"] is True
    assert set(attributes[("Ticket", "sla_integration")]["data_option"]["options"]) == {"aivo_built", "self_service"}
    assert attributes[("Ticket", "sla_integration")]["data_option"]["nulloption"] is True  # empty = none
    assert set(attributes[("Ticket", "sla_kind")]["data_option"]["options"]) == {"incident", "feature_request"}
    assert set(attributes[("Ticket", "sla_origin")]["data_option"]["options"]) == {"aivo", "customer", "third_party"}
    evidence = attributes[("Ticket", "sla_origin_evidence")]
    assert evidence["data_type"] == "textarea" and evidence["data_option"]["maxlength"] == 5000
    # agents only: customers never see the evidence or the proposal status
    for name in ("sla_origin_evidence", "sla_proposal_status"):
        screens = attributes[("Ticket", name)]["screens"]
        assert screens["edit"]["ticket.agent"]["shown"] is True and screens["edit"]["ticket.customer"]["shown"] is False
    assert list(attributes[("Ticket", "sla_proposal_status")]["data_option"]["options"]) == [
        "registered", "under_review", "approved", "declined", "delivered"]
    assert attributes[("Organization", "sla_24x7_integrations")]["data_type"] == "boolean"
    ours = [a for a in attributes.values() if a["name"].startswith("sla_")]
    assert len(ours) == 9 and not any(a["to_create"] or a["to_migrate"] or a["to_config"] for a in ours)
    # never required, on any screen
    assert all(not role.get("required") for a in ours for screen in a["screens"].values() for role in screen.values())
    assert "4 blocker" in [p["name"] for p in state["ticket_priorities"]]
    [webhook] = state["webhooks"]
    # Zammad masks the token on every read; the note carries its fingerprint instead.
    assert webhook["endpoint"] == PUBLIC + "/webhooks/zammad" and webhook["signature_token"] == "**********"
    assert provision.secret_matches(webhook, SECRET) is True and provision.secret_matches(webhook, "other") is False
    assert SECRET not in str(webhook)
    [trigger] = state["triggers"]
    assert trigger["perform"] == {"notification.webhook": {"webhook_id": str(webhook["id"])}}
    assert trigger["condition"]["ticket.updated_by_id"] == {"operator": "is not", "pre_condition": "specific", "value": ["3"]}
    overviews = {o["name"]: o for o in state["overviews"]}
    assert set(overviews) == {"SLA at risk", "SLA breached", "SLA paused", "Feature proposals"}
    proposals = overviews["Feature proposals"]
    assert proposals["group_by"] == "sla_proposal_status"
    assert proposals["condition"] == {"ticket.sla_kind": {"operator": "is", "value": ["feature_request"]}}
    assert overviews["SLA breached"]["order"] == {"by": "sla_resolution_due_at", "direction": "ASC"}
    assert overviews["SLA breached"]["role_ids"]  # visible to someone
    # Only agents see them: the Agent role from GET /roles, not the API user's Admin role too.
    assert all(o["role_ids"] == [agent_role_id(twin)] for o in overviews.values())
    workflows = {w["name"]: w for w in state["core_workflows"]}
    assert set(workflows) == {provision.WORKFLOW_NAME, provision.EVIDENCE_WORKFLOW_NAME, provision.LIFT_WORKFLOW_NAME}
    evidence_rule = workflows[provision.EVIDENCE_WORKFLOW_NAME]
    assert evidence_rule["condition_selected"] == {"ticket.sla_origin": {"operator": "is", "value": ["customer", "third_party"]}}
    assert evidence_rule["perform"] == {"ticket.sla_origin_evidence": {"operator": "set_mandatory", "set_mandatory": "true"}}
    assert evidence_rule["active"] is True and evidence_rule["preferences"] == {"screen": ["create_middle", "edit"]}
    lift = workflows[provision.LIFT_WORKFLOW_NAME]
    assert lift["perform"]["ticket.sla_origin_evidence"] == {"operator": "set_optional", "set_optional": "true"}
    assert lift["condition_selected"] == {"session.id": {"operator": "is", "value": ["3"]}}
    assert lift["priority"] == provision.LIFT_WORKFLOW_PRIORITY and lift["preferences"] == {"screen": ["edit"]}
    workflow = workflows[provision.WORKFLOW_NAME]
    assert workflow["name"] == provision.WORKFLOW_NAME and workflow["object"] == "Ticket"
    assert workflow["active"] is True and workflow["changeable"] is True and workflow["priority"] == 500
    assert workflow["preferences"] == {"screen": ["create_middle", "edit"]}
    assert workflow["perform"] == {
        f"ticket.{name}": {"operator": "set_readonly", "set_readonly": "true"}
        for name in ("sla_first_response_due_at", "sla_resolution_due_at", "sla_status")
    }

    cursor = request_cursor(twin)
    second = run(env, "setup")
    assert second.exit_code == 0, second.output
    assert "setup: nothing to do" in second.output
    assert write_requests(twin, cursor) == []
    assert snapshot(twin) == state


def test_dry_run_prints_the_plan_and_writes_nothing(twin: TwinServer, env: dict[str, str | None]) -> None:
    before = snapshot(twin)
    cursor = request_cursor(twin)
    result = run(env, "setup", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "create   attribute 'Ticket.sla_status' (select)" in result.output
    assert "create   webhook 'zammad-sla: SLA sidecar' (http://127.0.0.1:8085/webhooks/zammad)" in result.output
    assert "create   core workflow 'zammad-sla: SLA fields read-only' (read-only: sla_first_response_due_at" in result.output
    assert "dry run: 23 change(s) planned, nothing written" in result.output
    assert write_requests(twin, cursor) == []
    assert snapshot(twin) == before


def test_setup_then_uninstall_leaves_zammad_as_before(twin: TwinServer, env: dict[str, str | None]) -> None:
    before = snapshot(twin)
    assert run(env, "setup").exit_code == 0
    assert snapshot(twin) != before
    assert len(api(twin, "GET", "core_workflows")) == 3
    result = run(env, "uninstall", "--drop-attributes", "--yes")
    assert result.exit_code == 0, result.output
    assert "delete   core workflow 'zammad-sla: SLA fields read-only'" in result.output
    assert "delete   tag 'sla-breached'" in result.output
    assert snapshot(twin) == before
    assert api(twin, "GET", "core_workflows") == []
    again = run(env, "uninstall", "--drop-attributes", "--yes")
    assert again.exit_code == 0 and "nothing to remove" in again.output


def test_uninstall_keeps_attributes_and_asks_before_dropping(twin: TwinServer, env: dict[str, str | None]) -> None:
    assert run(env, "setup").exit_code == 0
    declined = run(env, "uninstall", "--drop-attributes", input="n\n")
    assert declined.exit_code != 0 and "Drop the SLA attributes" in declined.output
    assert len(api(twin, "GET", "webhooks")) == 1  # nothing removed when declined
    kept = run(env, "uninstall")
    assert kept.exit_code == 0 and "attributes were kept" in kept.output
    state = snapshot(twin)
    assert state["webhooks"] == state["triggers"] == [] and state["overviews"] == [] and state["core_workflows"] == []
    assert sum(1 for a in state["object_manager_attributes"] if a["name"].startswith("sla_")) == 9


def test_uninstall_keeps_a_priority_that_tickets_use(twin: TwinServer, env: dict[str, str | None]) -> None:
    assert run(env, "setup").exit_code == 0
    api(twin, "POST", "tickets", 201, json={"title": "down", "group": "Users", "customer_id": 2,
                                            "priority": "4 blocker", "article": {"body": "x"}})  # fmt: skip
    result = run(env, "uninstall")
    assert result.exit_code == 0, result.output
    assert "kept priority '4 blocker'" in result.output
    assert "4 blocker" in [p["name"] for p in api(twin, "GET", "ticket_priorities")]


def test_setup_repairs_drift(twin: TwinServer, env: dict[str, str | None]) -> None:
    assert run(env, "setup").exit_code == 0
    [webhook] = api(twin, "GET", "webhooks")
    api(twin, "PUT", f"webhooks/{webhook['id']}", json={"endpoint": "http://old-host/hook"})
    [trigger] = api(twin, "GET", "triggers")
    api(twin, "PUT", f"triggers/{trigger['id']}", json={"active": False})
    [workflow] = [w for w in api(twin, "GET", "core_workflows") if w["name"] == provision.WORKFLOW_NAME]
    api(twin, "PUT", f"core_workflows/{workflow['id']}", json={"active": False, "perform": {}})
    status = next(a for a in api(twin, "GET", "object_manager_attributes") if a["name"] == "sla_status")
    api(twin, "PUT", f"object_manager_attributes/{status['id']}", json={
        "object": "Ticket", "name": "sla_status", "display": "Renamed", "data_type": "select", "position": 3000,
        "data_option": {**status["data_option"], "options": {"on_track": "On track"}}, "screens": status["screens"]})
    api(twin, "POST", "object_manager_attributes_execute_migrations")
    assert twin.wait_until_up()
    result = run(env, "setup")
    assert result.exit_code == 0, result.output
    assert "update   attribute 'Ticket.sla_status' (display; data_option)" in result.output
    assert "update   webhook 'zammad-sla: SLA sidecar' (endpoint)" in result.output
    assert "update   trigger 'zammad-sla: notify SLA sidecar' (active)" in result.output
    assert "update   core workflow 'zammad-sla: SLA fields read-only' (perform; active)" in result.output
    assert "old" not in result.output.replace("old-host", "")  # secrets are never printed
    assert "setup: nothing to do" in run(env, "setup").output
    status = next(a for a in api(twin, "GET", "object_manager_attributes") if a["name"] == "sla_status")
    assert status["display"] == "SLA status" and len(status["data_option"]["options"]) == 7
    assert status["position"] == 3000  # the admin's ordering is kept
    [workflow] = [w for w in api(twin, "GET", "core_workflows") if w["name"] == provision.WORKFLOW_NAME]
    assert workflow["active"] is True and len(workflow["perform"]) == 3


def test_a_rotated_secret_is_written_and_never_printed(twin: TwinServer, env: dict[str, str | None]) -> None:
    assert run(env, "setup").exit_code == 0
    rotated = {**env, "ZAMMAD_SLA_WEBHOOK_SECRET": "rotated-signing-secret"}
    result = run(rotated, "setup")
    assert result.exit_code == 0, result.output
    assert "update   webhook 'zammad-sla: SLA sidecar' (signature_token)" in result.output
    assert "rotated-signing-secret" not in result.output
    assert "setup: nothing to do" in run(rotated, "setup").output
    assert run(rotated, "doctor").exit_code == 0


def test_a_wrong_data_type_is_a_conflict_and_the_rest_is_set_up(twin: TwinServer, env: dict[str, str | None]) -> None:
    api(twin, "POST", "object_manager_attributes", 201, json={
        "object": "Ticket", "name": "sla_kind", "display": "Kind", "data_type": "input",
        "data_option": {"type": "text", "maxlength": 50}})
    api(twin, "POST", "object_manager_attributes_execute_migrations")
    assert twin.wait_until_up()
    result = run(env, "setup")
    assert result.exit_code == 1
    assert "conflict attribute 'Ticket.sla_kind' (is input, needs select" in result.output
    assert "1 conflict(s) need a manual fix" in result.output
    assert len(api(twin, "GET", "triggers")) == 1


def test_setup_needs_a_public_url_and_a_secret(env: dict[str, str | None]) -> None:
    no_url = run({**env, "ZAMMAD_SLA_PUBLIC_URL": None}, "setup")
    assert no_url.exit_code == 2 and "--webhook-url" in no_url.output
    no_secret = run({**env, "ZAMMAD_SLA_WEBHOOK_SECRET": None}, "setup")
    assert no_secret.exit_code == 2 and "ZAMMAD_SLA_WEBHOOK_SECRET" in no_secret.output
    flag = run({**env, "ZAMMAD_SLA_PUBLIC_URL": None}, "setup", "--dry-run", "--webhook-url", "https://sla.example.com/")
    assert flag.exit_code == 0 and "(https://sla.example.com/webhooks/zammad)" in flag.output


def test_the_trigger_fires_for_agents_but_not_for_our_own_updates(twin: TwinServer, env: dict[str, str | None]) -> None:
    assert run(env, "setup").exit_code == 0
    # An agent (Emma, user 4) creates a ticket: the webhook is called.
    ticket = api(twin, "POST", "tickets", 201, headers={"From": "emma.taylor@example.com"}, json={
        "title": "VPN down", "group": "Users", "customer_id": 6, "article": {"body": "help"}})
    # Our own API user writes an SLA field: no webhook (no loop).
    api(twin, "PUT", f"tickets/{ticket['id']}", json={"sla_status": "on_track"})

    deadline = time.monotonic() + 5
    while True:  # retries are scaled to milliseconds; wait until every job is done
        log = requests.get(f"{twin.url}/_twin/deliveries", timeout=5).json()
        if (log["deliveries"] and not log["pending"]) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    first_attempts = [d for d in log["deliveries"] if d["attempt"] == 1]
    assert [(d["trigger"], d["ticket_id"]) for d in first_attempts] == [(provision.TRIGGER_NAME, ticket["id"])]


def test_normalize_condition_accepts_both_selector_syntaxes() -> None:
    flat = provision.trigger_condition(7)
    tree = {"operator": "AND", "conditions": [
        {"name": "ticket.updated_by_id", "operator": "is not", "pre_condition": "specific", "value": ["7"]}]}
    assert provision.normalize_condition(flat) == provision.normalize_condition(tree)
    assert provision.normalize_condition(flat) != provision.normalize_condition(provision.trigger_condition(8))


def test_webhook_endpoint() -> None:
    assert provision.webhook_endpoint("https://sla.example.com/") == "https://sla.example.com/webhooks/zammad"
    assert provision.webhook_endpoint("https://x/webhooks/zammad") == "https://x/webhooks/zammad"


class _PendingClient:
    """Zammad that never finishes migrating (and is down for the first two polls)."""

    def __init__(self) -> None:
        self.polls = 0

    def object_attributes(self) -> list[dict[str, Any]]:
        self.polls += 1
        if self.polls <= 2:
            raise ZammadError("connection refused", status=None, method="GET", path="/api/v1/object_manager_attributes")
        return [{"object": "Ticket", "name": "sla_status", "to_create": True}]


def test_migration_wait_reports_progress_and_times_out() -> None:
    clock = [0.0]
    lines: list[str] = []
    ctx = provision.ApplyContext(
        _PendingClient(), lines.append, migration_timeout=10, poll_interval=2,  # type: ignore[arg-type]
        sleep=lambda s: clock.__setitem__(0, clock[0] + s), monotonic=lambda: clock[0],
    )
    with pytest.raises(provision.ProvisionError, match="within 10s.*still pending: Ticket.sla_status"):
        provision.wait_for_migrations(ctx)
    assert lines[0].startswith("  waiting for Zammad to apply migrations... 0s (Zammad GET")
    assert "still pending: Ticket.sla_status" in lines[-1] and len(lines) == 5


def test_plan_is_read_only_against_a_client(twin: TwinServer) -> None:
    with ZammadClient(twin.url, TOKEN) as client:
        cursor = request_cursor(twin)
        plan = provision.plan_setup(client, load_policy(), webhook_url=PUBLIC, secret=SECRET)
    assert write_requests(twin, cursor) == []
    assert [c.kind for c in plan.pending].count("attribute") == 9


def test_core_workflow_is_skipped_with_the_reason(twin: TwinServer, env: dict[str, str | None]) -> None:
    # Zammad < 5.0 has no /api/v1/core_workflows (404): setup says so and goes on.
    requests.post(f"{twin.url}/_twin/faults", json={"error_rate": 1, "status": 404, "paths": "core_workflows"}, timeout=5)
    missing = run(env, "setup", "--dry-run")
    assert "skip     core workflow 'zammad-sla: SLA fields read-only' (this Zammad has no core workflows" in missing.output
    requests.post(f"{twin.url}/_twin/faults", json={"error_rate": 1, "status": 403, "paths": "core_workflows"}, timeout=5)
    cursor = request_cursor(twin)
    forbidden = run(env, "setup")
    # Without admin.core_workflow our writes could be blocked by mandatory fields: a missing
    # permission, named before anything is changed.
    assert forbidden.exit_code == 1
    assert "admin.core_workflow: needed to manage the read-only and mandatory-field workflows" in forbidden.output
    assert "nothing was changed" in forbidden.output and write_requests(twin, cursor) == []


def test_desired_workflow_marks_the_computed_fields_read_only() -> None:
    flow = provision.desired_workflow(load_policy())
    assert flow["object"] == "Ticket" and flow["preferences"] == {"screen": ["create_middle", "edit"]}
    assert flow["perform"] == {
        f"ticket.{name}": {"operator": "set_readonly", "set_readonly": "true"}
        for name in ("sla_first_response_due_at", "sla_resolution_due_at", "sla_status")
    }
