"""The product against a twin as strict as a real Zammad (issue: works on a real Zammad).

The sidecar's token holds exactly the permissions README lists, `tag_new` is off, the admin
made a ticket field of their own mandatory, and executing migrations restarts Zammad.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from click.testing import CliRunner, Result

from tests.admin_support import TOKEN, sidecar_env
from zammad_sla_plugin.cli import main
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.admin.provision import LIFT_WORKFLOW_NAME, REQUIRED_PERMISSIONS, WEBHOOK_NAME
from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.runtime.worker import TicketEvaluator
from zammad_sla_plugin.zammad import ZammadClient

HARNESS = "harness-admin-token"
MANDATORY = "customer_reference"
README = Path(__file__).resolve().parents[1] / "README.md"
WRITES = ("POST", "PUT", "DELETE", "PATCH")


def strict_twin(permissions: list[str] | None = None, **options: Any) -> TwinServer:
    """A twin like a real installation; restart windows of 0.05 s + 1 s (time_scale 0.001)."""
    settings: dict[str, Any] = {"tag_new": False, "auto_shutdown": True, "restart_seconds": 1000, "shutdown_delay_seconds": 50}
    settings.update(options)
    return TwinServer(token=TOKEN, harness_token=HARNESS, time_scale=0.001,
                      api_permissions=sorted(REQUIRED_PERMISSIONS) if permissions is None else permissions, **settings)  # fmt: skip


def admin(twin: TwinServer, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
    """A raw call with the harness (full admin) token."""
    response = requests.request(method, f"{twin.url}/api/v1/{path}", headers={"Authorization": f"Token token={HARNESS}",
                                **kwargs.pop("headers", {})}, timeout=5, **kwargs)  # fmt: skip
    assert response.status_code == expect, response.text
    return response.json() if response.content else None


def wait_until_up(twin: TwinServer) -> None:
    for _ in range(400):
        if requests.get(f"{twin.url}/api/v1/users/me", headers={"Authorization": f"Token token={HARNESS}"}, timeout=2).ok:
            return
        __import__("time").sleep(0.01)
    raise AssertionError("twin did not come back")


def add_mandatory_field(twin: TwinServer, name: str = MANDATORY) -> None:
    """What an admin does: a text field agents must fill in on the edit screen."""
    admin(twin, "POST", "object_manager_attributes", expect=201, json={
        "object": "Ticket", "name": name, "display": name.replace("_", " "), "data_type": "input",
        "data_option": {"type": "text", "maxlength": 120, "null": True, "default": ""},
        "screens": {"edit": {"ticket.agent": {"shown": True, "required": True}}}, "active": True, "position": 1500,
    })  # fmt: skip
    admin(twin, "POST", "object_manager_attributes_execute_migrations")
    __import__("time").sleep(0.1)  # the shutdown delay, then wait out the restart
    wait_until_up(twin)


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with strict_twin() as server:
        add_mandatory_field(server)
        yield server


def run(twin: TwinServer, tmp_path: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, list(args), env=sidecar_env(twin, tmp_path))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def writes_since(twin: TwinServer, cursor: int) -> list[str]:
    log = requests.get(f"{twin.url}/_twin/requests", params={"since": cursor}, timeout=5).json()["requests"]
    # Successful writes by the sidecar's user (permission probes to id 0 answer 403/404).
    return [f"{r['method']} {r['path']}" for r in log if r["method"] in WRITES and r.get("user_id") == 3 and r["status"] < 400]


def cursor(twin: TwinServer) -> int:
    return int(requests.get(f"{twin.url}/_twin/requests", timeout=5).json()["next"])


def notifications(twin: TwinServer) -> list[dict[str, Any]]:
    return list(requests.get(f"{twin.url}/_twin/notifications", timeout=5).json()["notifications"])


def test_readme_lists_exactly_the_permissions_setup_checks() -> None:
    table = README.read_text().split("### The Zammad API user", 1)[1].split("###", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_.]+)` \|", table, flags=re.M))
    assert listed == set(REQUIRED_PERMISSIONS)


def test_setup_through_the_restart_then_nothing_then_doctor_passes(twin: TwinServer, tmp_path: Path) -> None:
    first = run(twin, tmp_path, "setup")
    assert first.exit_code == 0, first.output
    assert "Zammad went down" in first.output and "Zammad is back" in first.output
    assert f"create   core workflow {LIFT_WORKFLOW_NAME!r}" in first.output
    start = cursor(twin)
    second = run(twin, tmp_path, "setup")
    assert second.exit_code == 0, second.output
    assert "setup: nothing to do" in second.output
    assert writes_since(twin, start) == []
    doctor = run(twin, tmp_path, "doctor")
    assert doctor.exit_code == 0, doctor.output
    assert "FAIL" not in doctor.output and "PASS  signature secret" in doctor.output
    assert "PASS  mandatory fields" in doctor.output and "PASS  tags" in doctor.output
    # Older Zammad versions force position 1550 on create; either way ours end where they belong.
    positions = {a["name"]: a["position"] for a in admin(twin, "GET", "object_manager_attributes")}
    assert positions["sla_first_response_due_at"] == 1600 and positions["sla_24x7_integrations"] == 1700
    # The secret is never read back in clear, and setup did not need to.
    [hook] = [w for w in admin(twin, "GET", "webhooks") if w["name"] == WEBHOOK_NAME]
    assert hook["signature_token"] == "**********"


def test_missing_permissions_are_all_listed_before_anything_changes(tmp_path: Path) -> None:
    lacking = sorted(set(REQUIRED_PERMISSIONS) - {"admin.ticket_priority", "admin.tag"})
    with strict_twin(lacking) as server:
        start = cursor(server)
        result = run(server, tmp_path, "setup")
        assert result.exit_code == 1
        assert "admin.ticket_priority" in result.output and "admin.tag" in result.output
        assert "nothing was changed" in result.output
        assert writes_since(server, start) == []
        doctor = run(server, tmp_path, "doctor")
        assert "FAIL  token permissions: missing admin.ticket_priority" in doctor.output
        assert "admin.tag" in doctor.output


def test_a_failure_midway_says_where_and_the_next_run_completes(twin: TwinServer, tmp_path: Path) -> None:
    requests.post(f"{twin.url}/_twin/faults", json={"error_rate": 1, "status": 422, "paths": "/api/v1/triggers", "methods": ["POST"]}, timeout=5)
    failed = run(twin, tmp_path, "setup")
    assert failed.exit_code == 1
    assert "stopped at `create   trigger" in failed.output and "continues where it stopped" in failed.output
    requests.delete(f"{twin.url}/_twin/faults", timeout=5)
    again = run(twin, tmp_path, "setup")
    assert again.exit_code == 0, again.output
    assert "create   trigger" in again.output and "create   webhook" not in again.output
    assert run(twin, tmp_path, "doctor").exit_code == 0


def test_manual_restart_is_reported(tmp_path: Path) -> None:
    with strict_twin(auto_shutdown=False) as server:
        result = CliRunner().invoke(main, ["setup", "--restart-wait", "2"], env={**sidecar_env(server, tmp_path)})
        assert result.exit_code == 1
        assert "restarted by hand" in result.output
        requests.post(f"{server.url}/_twin/restart", timeout=5)
        wait_until_up(server)
        assert run(server, tmp_path, "doctor").exit_code == 0


def test_doctor_sees_a_wrong_secret_through_the_mask(twin: TwinServer, tmp_path: Path) -> None:
    assert run(twin, tmp_path, "setup").exit_code == 0
    env = {**sidecar_env(twin, tmp_path), "ZAMMAD_SLA_WEBHOOK_SECRET": "another-secret-entirely"}
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == 1 and "FAIL  signature secret" in result.output


def _evaluator(twin: TwinServer, now: Any) -> TicketEvaluator:
    return TicketEvaluator(ZammadClient(twin.url, TOKEN, retries=1, backoff_factor=0.01), load_policy(), lambda: now)


def _ticket(twin: TwinServer, owner: int | None = None) -> int:
    ticket = admin(twin, "POST", "tickets", expect=201, headers={"From": "emily@example.com"}, json={
        "title": "Bot down", "group": "Users", "customer_id": "guess:emily@example.com", "priority": "3 high",
        "article": {"body": "help", "type": "email", "sender": "Customer", "internal": False},
    })  # fmt: skip
    if owner:
        admin(twin, "PUT", f"tickets/{ticket['id']}", json={"owner_id": owner, MANDATORY: "REF-1"})
    return int(ticket["id"])


def test_writes_go_through_mandatory_fields_quietly_and_escalations_notify(twin: TwinServer, tmp_path: Path) -> None:
    from datetime import timedelta

    assert run(twin, tmp_path, "setup").exit_code == 0
    unassigned = _ticket(twin)
    owned = _ticket(twin, owner=4)
    created = twin.clock.now()
    requests.delete(f"{twin.url}/_twin/notifications", timeout=5)
    # Routine: deadlines and on_track written although customer_reference is empty.
    routine = _evaluator(twin, created).run(unassigned)
    assert routine.fields_written and routine.blocked is None
    assert admin(twin, "GET", f"tickets/{unassigned}")["sla_status"] == "on_track"
    assert _evaluator(twin, created).run(owned).fields_written
    assert notifications(twin) == []  # quiet: nobody hears of routine writes
    # Breached hours later: tag, note, and the note reaches the owner / the group.
    later = created + timedelta(days=10)
    for ticket_id in (unassigned, owned):
        outcome = _evaluator(twin, later).run(ticket_id)
        assert outcome.result.status == "breached" and outcome.tags_added == ["sla-breached"]
    sent = notifications(twin)
    owned_to = {n["user_id"] for n in sent if n["ticket_id"] == owned}
    unassigned_to = {n["user_id"] for n in sent if n["ticket_id"] == unassigned}
    assert owned_to == {4}
    assert unassigned_to and 3 not in unassigned_to and unassigned_to <= {4, 5}
    assert all(n["article_id"] for n in sent)
    assert "sla-breached" in admin(twin, "GET", f"tags?object=Ticket&o_id={owned}")["tags"]


def test_a_new_mandatory_field_is_caught_by_doctor_and_cannot_lose_the_escalation(twin: TwinServer, tmp_path: Path) -> None:
    from datetime import timedelta

    assert run(twin, tmp_path, "setup").exit_code == 0
    ticket_id = _ticket(twin)
    add_mandatory_field(twin, "cause_code")
    doctor = run(twin, tmp_path, "doctor")
    assert doctor.exit_code == 1 and "FAIL  mandatory fields: cause_code" in doctor.output
    outcome = _evaluator(twin, twin.clock.now() + timedelta(days=10)).run(ticket_id)
    assert outcome.blocked and "cause_code" in outcome.blocked
    assert outcome.tags_added == ["sla-breached"]  # tags still written
    articles = admin(twin, "GET", f"ticket_articles/by_ticket/{ticket_id}")
    assert any(a["internal"] and "SLA breached" in (a.get("subject") or "") for a in articles)
    assert run(twin, tmp_path, "setup").exit_code == 0
    assert run(twin, tmp_path, "doctor").exit_code == 0


def test_uninstall_checks_permissions_first_too(twin: TwinServer, tmp_path: Path) -> None:
    from zammad_sla_plugin.twin.seed import restrict_api_user

    assert run(twin, tmp_path, "setup").exit_code == 0
    with twin.state.lock:  # the admin later took admin.ticket_priority away from the token's role
        restrict_api_user(twin.state, sorted(set(REQUIRED_PERMISSIONS) - {"admin.ticket_priority"}))
    start = cursor(twin)
    result = CliRunner().invoke(main, ["uninstall", "--drop-attributes", "--yes"], env=sidecar_env(twin, tmp_path))
    assert result.exit_code == 1 and "admin.ticket_priority" in result.output and "nothing was changed" in result.output
    assert writes_since(twin, start) == []
    assert [w["name"] for w in admin(twin, "GET", "webhooks")] == [WEBHOOK_NAME]
