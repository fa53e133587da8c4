"""End to end over real HTTP: the twin (frozen virtual clock), provisioned like `setup`,
delivers signed webhooks to the sidecar, which writes SLA fields, tags and notes back.

Buenos Aires is UTC-3: 10:00 local = 13:00Z. 2026-03-10 is a Tuesday.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.e2e_support import utc, expect, mismatches, notes, our_writes, shown
from zammad_sla_plugin.cli import main
from zammad_sla_plugin.demo.local_stack import AGENT_ID, CUSTOMER_ORG_ID, LocalStack
from zammad_sla_plugin.core.policy import load_policy

POLICY = load_policy()






def at(stack: LocalStack, text: str) -> None:
    """Move the virtual clock and let the sidecar run the checks that fell due meanwhile."""
    stack.set_clock(utc(text))
    stack.sidecar.reconcile()
    stack.settle()


def update(stack: LocalStack, ticket_id: int, **fields: object) -> None:
    stack.agent.update_ticket(ticket_id, fields)
    stack.settle()


def test_ticket_lifecycle_fields_tags_and_notes(stack: LocalStack) -> None:
    ticket_id = int(stack.create_ticket("Reports page times out", "3 high")["id"])
    stack.settle()
    assert shown(stack.admin, ticket_id, POLICY) == {
        "first_response_due_at": "2026-03-10T15:00:00Z", "resolution_due_at": "2026-03-10T21:00:00Z",
        "status": "on_track", "tags": [],
    }  # fmt: skip

    stack.set_clock(utc("2026-03-10T13:30:00"))
    update(stack, ticket_id, owner_id=AGENT_ID)  # assigned in time: first response met
    stack.set_clock(utc("2026-03-10T15:00:00"))  # 12:00 local, 2 h counted
    update(stack, ticket_id, state="pending reminder")
    view = shown(stack.admin, ticket_id, POLICY)
    assert (view["status"], view["resolution_due_at"]) == ("paused", None)

    stack.set_clock(utc("2026-03-10T16:00:00"))  # 13:00 local: 6 h left = 5 h today + Wed 09:00-10:00
    update(stack, ticket_id, state="open")
    assert shown(stack.admin, ticket_id, POLICY)["resolution_due_at"] == "2026-03-11T13:00:00Z"

    at(stack, "2026-03-10T20:24:00")  # 17:24 local: 6.4 h of 8 h used -> at risk, with nobody touching it
    view = shown(stack.admin, ticket_id, POLICY)
    assert (view["status"], view["tags"]) == ("at_risk", ["sla-at-risk"])
    (note,) = notes(stack.admin, ticket_id)
    assert note["subject"] == "SLA at risk" and "Resolution" in note["body"]

    stack.set_clock(utc("2026-03-10T20:30:00"))
    update(stack, ticket_id, state="closed")
    view = shown(stack.admin, ticket_id, POLICY)
    assert (view["status"], view["tags"]) == ("met", [])
    assert len(notes(stack.admin, ticket_id)) == 1


def test_breach_with_no_update_and_exactly_one_note_per_transition(stack: LocalStack) -> None:
    ticket_id = int(stack.create_ticket("Live agents cannot answer", "3 high")["id"])
    stack.settle()
    assert stack.sidecar.recorded_next_check(ticket_id) == utc("2026-03-10T14:36:00")
    at(stack, "2026-03-10T14:36:00")
    assert shown(stack.admin, ticket_id, POLICY)["status"] == "at_risk"
    at(stack, "2026-03-10T15:00:00")
    view = shown(stack.admin, ticket_id, POLICY)
    assert (view["status"], view["tags"]) == ("breached", ["sla-breached"])
    at(stack, "2026-03-10T16:00:00")
    assert [n["subject"] for n in notes(stack.admin, ticket_id)] == ["SLA at risk", "SLA breached"]


def test_priority_change_recomputes_from_creation(stack: LocalStack) -> None:
    ticket_id = int(stack.create_ticket("Help search slow", "2 normal")["id"])
    stack.settle()
    assert shown(stack.admin, ticket_id, POLICY)["first_response_due_at"] == "2026-03-10T17:00:00Z"  # 4 h
    stack.set_clock(utc("2026-03-10T13:20:00"))
    update(stack, ticket_id, priority="3 high")
    view = shown(stack.admin, ticket_id, POLICY)
    assert view["first_response_due_at"] == "2026-03-10T15:00:00Z"  # 2 h from creation
    assert view["resolution_due_at"] == "2026-03-10T21:00:00Z"


def test_24x7_integrations_support_and_scope_rules(stack: LocalStack) -> None:
    stack.admin.request("PUT", f"organizations/{CUSTOMER_ORG_ID}", json={"sla_24x7_integrations": True})
    stack.set_clock(utc("2026-03-14T06:00:00"))  # Saturday 03:00 local
    integration = int(stack.create_ticket("WhatsApp down", "3 high", sla_integration="aivo_built")["id"])
    feature = int(stack.create_ticket("Dark mode", "1 low", sla_kind="feature_request")["id"])
    third_party = int(stack.create_ticket("CRM vendor down", "3 high", sla_origin="third_party")["id"])
    stack.settle()
    assert shown(stack.admin, integration, POLICY)["resolution_due_at"] == "2026-03-14T22:00:00Z"  # 16 h wall clock
    assert shown(stack.admin, feature, POLICY) == {
        "first_response_due_at": None, "resolution_due_at": None, "status": "not_applicable", "tags": []}
    # An excluded origin claimed without evidence counts like any other ticket.
    assert shown(stack.admin, third_party, POLICY)["status"] == "on_track"


def test_own_writes_reach_a_fixpoint_with_zero_further_writes(stack: LocalStack) -> None:
    ticket_ids = [int(stack.create_ticket(f"Ticket {n}", "3 high")["id"]) for n in range(3)]
    stack.settle()
    stack.set_clock(utc("2026-03-10T13:10:00"))
    for ticket_id in ticket_ids:
        update(stack, ticket_id, owner_id=AGENT_ID)
    log_url = f"{stack.twin.url}/_twin/requests"
    cursor = stack.admin.session.get(log_url, timeout=5).json()["next"]
    # Re-evaluate everything, as a reconcile or duplicate event would: nothing may be written.
    for ticket_id in ticket_ids:
        stack.sidecar.queue.submit(ticket_id)
    stack.settle()
    since = stack.admin.session.get(log_url, params={"since": cursor}, timeout=5).json()["requests"]
    assert [r for r in since if r["method"] == "GET"], "the re-evaluation did not run"
    assert our_writes(since, stack.twin.api_login) == []
    # Our own writes never fired the trigger: every delivery came from someone else's change.
    assert stack.twin.deliverer.pending() == 0
    # Created Tue 10:00 local, 3 high: 2 h / 8 h business; assigned at 10:10 (first response met).
    wanted = expect("2026-03-10T15:00:00Z", "2026-03-10T21:00:00Z")
    assert mismatches(stack.admin, dict.fromkeys(ticket_ids, wanted), POLICY) == {}


def test_faults_latency_errors_429_and_outage(stack: LocalStack) -> None:
    # 500s on calls only the sidecar makes, with 20 ms latency on every call.
    stack.set_faults(latency_ms=20, error_rate=0.5, status=500, paths="ticket_history|tags|organizations", seed=7)
    ticket_ids = [int(stack.create_ticket(f"Faulty {n}", "3 high")["id"]) for n in range(4)]
    stack.settle(timeout=60)
    # 429 Too Many Requests with Retry-After on the history reads.
    stack.set_faults(latency_ms=20, error_rate=0.5, status=429, retry_after=0, paths="ticket_history", seed=3)
    stack.set_clock(utc("2026-03-10T13:05:00"))
    for ticket_id in ticket_ids[:2]:
        stack.agent.update_ticket(ticket_id, {"owner_id": AGENT_ID})
    stack.settle(timeout=60)
    # A full outage while events arrive: evaluations fail and are retried with backoff.
    stack.set_faults(outage=True)
    stack.set_clock(utc("2026-03-10T13:10:00"))
    for ticket_id in ticket_ids[2:]:
        stack.sidecar.queue.submit(ticket_id)
    failed_before = stack.sidecar.metrics.render().decode()
    assert 'zammad_sla_evaluations_total{outcome="error"}' in failed_before
    stack.clear_faults()
    stack.settle(timeout=60)
    # Created Tue 10:00 local, 3 high: 2 h / 8 h business; at 10:10 nothing is near its warning.
    wanted = expect("2026-03-10T15:00:00Z", "2026-03-10T21:00:00Z")
    assert mismatches(stack.admin, dict.fromkeys(ticket_ids, wanted), POLICY) == {}


def test_explanation_endpoint_uses_the_callers_zammad_token(stack: LocalStack) -> None:
    import requests

    ticket_id = int(stack.create_ticket("Explain me", "3 high")["id"])
    stack.settle()
    url = f"http://{stack.environ['ZAMMAD_SLA_LISTEN']}/tickets/{ticket_id}/sla"
    answer = requests.get(url, headers={"Authorization": f"Token token={stack.token}"}, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["result"]["first_response"]["due_at"] == "2026-03-10T15:00:00Z"
    assert body["clocks"]["resolution"]["calendar"].startswith("Mon-Fri 09:00-18:00")
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": "Token token=wrong"}, timeout=10).status_code == 401
    missing = url.replace(f"/tickets/{ticket_id}/", "/tickets/999999/")
    assert requests.get(missing, headers={"Authorization": f"Bearer {stack.token}"}, timeout=10).status_code == 404


def test_explain_command_against_zammad(stack: LocalStack) -> None:
    ticket_id = int(stack.create_ticket("Explain via CLI", "3 high")["id"])
    env = {"ZAMMAD_URL": stack.twin.url, "ZAMMAD_TOKEN": stack.token}
    text = CliRunner().invoke(main, ["explain", str(ticket_id)], env=env)
    assert text.exit_code == 0, text.output
    assert f"Ticket {ticket_id}: status" in text.output
    assert "priority '3 high' maps to severity 'high'" in text.output
    assert "target 120 min on the business clock (Mon-Fri 09:00-18:00" in text.output
    as_json = CliRunner().invoke(main, ["explain", str(ticket_id), "--json"], env=env)
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["result"]["ticket_id"] == ticket_id
    missing = CliRunner().invoke(main, ["explain", "999999"], env=env)
    assert missing.exit_code == 1 and "404" in missing.stderr
