"""Contracts end to end through the strict twin (issue 17).

The policy is the default with `examples/contracts.toml` appended. The twin's clock is frozen
at Mon 2026-04-20 19:00Z: 16:00 in Buenos Aires and in Sao Paulo (both UTC-3). Deadlines are
worked out by hand in each comment (as in tests/test_contracts.py), never by the code under test.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e_support import shown, utc
from zammad_sla_plugin.core.policy import Policy, default_policy_text, policy_from_text
from zammad_sla_plugin.demo.local_stack import LocalStack

CONTRACTS = resources.files("zammad_sla_plugin").joinpath("examples/contracts.toml").read_text("utf-8")
POLICY = policy_from_text(default_policy_text() + "\n" + CONTRACTS)


@pytest.fixture
def contract_stack(tmp_path: Path) -> Iterator[LocalStack]:
    with LocalStack(POLICY, tmp_path, virtual_now=utc("2026-04-20T19:00:00"), queue_options={"retry_delay": 0.05}) as running:
        yield running


def _customer_of(stack: LocalStack, organization: str, login: str) -> int:
    org = stack.admin.request("POST", "organizations", json={"name": organization})
    user = stack.admin.request("POST", "users", json={
        "login": login, "email": login, "firstname": login.split("@")[0], "lastname": "Cliente",
        "organization_id": org["id"], "roles": ["Customer"],
    })  # fmt: skip
    return int(user["id"])


def _ticket(stack: LocalStack, title: str, customer_id: int, priority: str = "3 high") -> int:
    created = stack.admin.request("POST", "tickets", json={
        "title": title, "group": "Users", "customer_id": customer_id, "priority": priority,
        "article": {"subject": title, "body": title, "type": "email", "sender": "Customer", "internal": False},
    })  # fmt: skip
    return int(created["id"])


def _contract_attribute(stack: LocalStack, policy: Policy) -> dict | None:
    return next((a for a in stack.admin.object_attributes() if a["object"] == "Ticket" and a["name"] == policy.attributes.contract), None)


def test_three_organizations_get_their_own_contract_and_deadlines(contract_stack: LocalStack) -> None:
    stack = contract_stack
    attribute = _contract_attribute(stack, POLICY)
    assert attribute is not None, "setup provisions sla_contract"
    assert attribute["data_type"] == "select"
    assert attribute["data_option"]["options"] == {name: name for name in ("Gold 24x7", "Brasil", "Acme Argentina", "default")}

    acme = _ticket(stack, "Bot no responde", _customer_of(stack, "Acme Argentina", "ana@acme.com.ar"))
    loja = _ticket(stack, "Chat fora do ar", _customer_of(stack, "Loja Brasil", "joao@loja.com.br"))
    other = _ticket(stack, "Reports slow", 7)  # Emily, Awesome Customer Inc.: no contract matches
    stack.settle()

    def view(ticket_id: int) -> tuple:
        fields = shown(stack.admin, ticket_id, POLICY)
        contract = stack.admin.get_ticket(ticket_id)[POLICY.attributes.contract]
        return contract, fields["first_response_due_at"], fields["resolution_due_at"]

    # Acme Argentina, version 2026-03-01 (high 60 / 360 working min, Buenos Aires 09-18):
    # 16:00 + 60 min = 17:00 local (20:00Z); 16-18 (120) + Tue 09:00-13:00 (240) = Tue 13:00 local (16:00Z).
    assert view(acme) == ("Acme Argentina", "2026-04-20T20:00:00Z", "2026-04-21T16:00:00Z")
    # Brasil (default targets 120 / 480 on Sao Paulo 08-12 + 13-17, Tiradentes on Tue 21):
    # 16-17 (60) + Wed 08-09 (60) = Wed 09:00 (12:00Z); 60 + Wed 08-12 (240) + 13-16 (180) = Wed 16:00 (19:00Z).
    assert view(loja) == ("Brasil", "2026-04-22T12:00:00Z", "2026-04-22T19:00:00Z")
    # The default (Aivo) terms, Buenos Aires 09-18: 16-18 covers 120 -> 21:00Z; 120 + Tue 09-15 (360) -> 18:00Z.
    assert view(other) == ("default", "2026-04-20T21:00:00Z", "2026-04-21T18:00:00Z")

    # A second setup writes nothing: the contract options are in sync.
    from zammad_sla_plugin.admin.provision import plan_setup

    assert stack.provision() == []
    plan = plan_setup(stack.sidecar_client, POLICY, webhook_url=stack.webhook_url, secret=stack.secret)
    assert plan.pending == [] and any(change.name == "Ticket.sla_contract" and change.action == "ok" for change in plan.changes)

    # Dropping a contract from the policy takes its option away at the next setup.
    fewer = policy_from_text(default_policy_text() + "\n" + CONTRACTS.split("# Acme Argentina renegotiated")[0])
    plan = plan_setup(stack.sidecar_client, fewer, webhook_url=stack.webhook_url, secret=stack.secret)
    assert [change.describe() for change in plan.changes if change.action != "ok"] == [
        "update   attribute 'Ticket.sla_contract' (data_option)", "run      migrations 'object manager' (Zammad restarts to apply them)",
    ]
