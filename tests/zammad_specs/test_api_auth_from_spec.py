"""Port of Zammad's spec/requests/api_auth_from_spec.rb: acting `From` another user (by id,
login or email), its errors, and `GET /users/me` as that user."""

from __future__ import annotations

from typing import Any

import pytest

from tests.zammad_specs.conftest import Zammad

ZAMMAD_SPEC = "spec/requests/api_auth_from_spec.rb"
ZAMMAD_COMMIT = "11b29001839b18d4ac867c1ed383322f139a8150"


def _ticket(group: str = "Users", customer_id: int = 0) -> dict[str, Any]:
    return {"title": "a new ticket #3", "group": group, "priority": "2 normal", "state": "new",
            "customer_id": customer_id, "article": {"body": "some test 123"}}


@pytest.mark.parametrize("by", ["id", "login (upcase)", "email"])
def test_ticket_create_for_customer(zammad: Zammad, by: str) -> None:
    """request handling > it 'does From auth - ticket create admin for customer by id'
    request handling > it 'does From auth - ticket create admin for customer by login (upcase)'
    request handling > it 'does From auth - ticket create admin for customer by email'"""
    admin = zammad.admin()
    customer = zammad.customer(firstname="From")
    ref = {"id": customer.id, "login (upcase)": customer.login.upper(), "email": customer.email}[by]
    response = zammad.as_(admin, from_=ref).post("tickets", _ticket(customer_id=customer.id))
    assert response.status == 201 and isinstance(response.json, dict), response.text
    assert response.json["created_by_id"] == customer.id


def test_ticket_create_for_unknown(zammad: Zammad) -> None:
    """request handling > it 'does From auth - ticket create admin for unknown'"""
    customer = zammad.customer(firstname="From")
    response = zammad.as_(zammad.admin(), from_=99_449_494_949).post("tickets", _ticket(customer_id=customer.id))
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert isinstance(response.json, dict)
    assert response.json["error"] == "No such user '99449494949'"


def test_ticket_create_customer_for_admin(zammad: Zammad) -> None:
    """request handling > it 'does From auth - ticket create customer for admin'"""
    admin = zammad.admin()
    customer = zammad.customer(firstname="From")
    response = zammad.as_(customer, from_=admin.email).post("tickets", _ticket(customer_id=customer.id))
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert isinstance(response.json, dict)
    assert response.json["error"] == "Current user has no permission to use 'From'/'X-On-Behalf-Of'!"


def test_ticket_create_in_unknown_group(zammad: Zammad) -> None:
    """request handling > it 'does From auth - ticket create admin for customer by email but no permitted action'"""
    customer = zammad.customer(firstname="From")
    response = zammad.as_(zammad.admin(), from_=customer.email).post(
        "tickets", _ticket(group="secret1234", customer_id=customer.id))
    assert response.status == 422
    assert "Access-Control-Allow-Origin" not in response.headers
    assert isinstance(response.json, dict)
    assert response.json["error"] == "No lookup value found for 'group': \"secret1234\""


def test_admin_user_permission_alone_may_act_from(zammad: Zammad) -> None:
    """request handling > when Token Admin has no ticket.* permission > it 'creates Ticket because of behalf of user permission'"""
    from zammad_sla_plugin.twin.seed import add_agent

    with zammad.state.lock:
        requester = add_agent(zammad.state, "requester@example.com", "Requester", permissions=["admin.user"])
    token = zammad.server.token_for(requester["id"])
    customer = zammad.customer(firstname="From")
    from tests.zammad_specs.conftest import Client

    response = Client(zammad.server.url, token, customer.email).post("tickets", _ticket(customer_id=customer.id))
    assert response.status == 201 and isinstance(response.json, dict), response.text
    assert response.json["created_by_id"] == customer.id


@pytest.mark.parametrize("by", ["ID", "login", "email"])
def test_user_lookup(zammad: Zammad, by: str) -> None:
    """user lookup > it 'does From auth - user lookup by ID'
    user lookup > it 'does From auth - user lookup by login'
    user lookup > it 'does From auth - user lookup by email'"""
    customer = zammad.customer(firstname="From")
    ref = {"ID": customer.id, "login": customer.login, "email": customer.email}[by]
    assert zammad.as_(zammad.admin(), from_=ref).get("users/me").json["id"] == customer.id


def test_user_lookup_by_email_starting_with_a_digit(zammad: Zammad) -> None:
    """user lookup > it 'does From auth - user lookup by email even if email starts with a digit'"""
    agent = zammad.agent()
    customer = zammad.customer(firstname="From")
    email = f"{agent.id}{customer.email}"
    zammad.state.tables["users"][customer.id]["email"] = email  # customer.update! email: ...
    assert zammad.as_(zammad.admin(), from_=email).get("users/me").json["id"] == customer.id
