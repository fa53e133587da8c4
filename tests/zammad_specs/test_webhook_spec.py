"""Port of Zammad's spec/requests/webhook_spec.rb (CRUD as admin, forbidden for agents),
plus the masking of webhook secrets that the product relies on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.zammad_specs.conftest import Client, Zammad

ZAMMAD_SPEC = "spec/requests/webhook_spec.rb"
# The index stores this file without its path history (file id 2456218629, header
# "Copyright (C) 2012-2025"); no commit id is recorded for it.
ZAMMAD_COMMIT = "unrecorded (index file id 2456218629, (C) 2012-2025 header)"


@pytest.fixture
def admin(zammad: Zammad) -> Client:
    return zammad.as_(zammad.admin())


@pytest.fixture
def agent(zammad: Zammad) -> Client:
    return zammad.as_(zammad.agent())


def webhook(admin: Client, **extra: Any) -> dict[str, Any]:
    """`create(:webhook, ...)`."""
    n = len(admin.get("webhooks").json)
    response = admin.post("webhooks", {"name": f"Webhook {n}", "endpoint": f"https://example.com/hook/{n}",
                                       "ssl_verify": True, "active": True, **extra})
    assert response.status == 201, response.text
    return dict(response.json)


def test_listing_returns_all(admin: Client) -> None:
    """request handling > when listing webhooks > it 'returns all'"""
    hooks = [webhook(admin) for _ in range(10)]
    assert len(admin.get("webhooks").json) == len(hooks)


def test_showing_returns_ok(admin: Client) -> None:
    """request handling > when showing webhook > it 'returns ok'"""
    assert admin.get(f"webhooks/{webhook(admin)['id']}").status == 200


def test_showing_an_inactive_webhook_returns_ok(admin: Client) -> None:
    """request handling > when showing webhook > with inactive template > it 'returns ok'"""
    assert admin.get(f"webhooks/{webhook(admin, active=False)['id']}").status == 200


def test_creating_returns_created(admin: Client) -> None:
    """request handling > when creating webhook > it 'returns created'"""
    response = admin.post("webhooks", {"name": "Foo", "endpoint": "http://example.com/endpoint", "ssl_verify": True,
                                       "active": True})
    assert response.status == 201


def test_updating_returns_ok(admin: Client) -> None:
    """request handling > when updating webhook > it 'returns ok'"""
    assert admin.put(f"webhooks/{webhook(admin)['id']}", {"name": "Foo"}).status == 200


def test_destroying_returns_ok(admin: Client) -> None:
    """request handling > when destroying webhook > it 'returns ok'"""
    assert admin.delete(f"webhooks/{webhook(admin)['id']}").status == 200


@pytest.mark.parametrize("action", ["listing", "showing", "creating", "updating", "destroying"])
def test_agents_are_forbidden(admin: Client, agent: Client, action: str) -> None:
    """request handling > when listing webhooks > with agent permissions > it 'request is forbidden'
    request handling > when showing webhook > with agent permissions > it 'request is forbidden'
    request handling > when creating webhook > with agent permissions > it 'request is forbidden'
    request handling > when updating webhook > with agent permissions > it 'request is forbidden'
    request handling > when destroying webhook > with agent permissions > it 'request is forbidden'"""
    ident = webhook(admin)["id"]
    response = {
        "listing": lambda: agent.get("webhooks"),
        "showing": lambda: agent.get(f"webhooks/{ident}"),
        "creating": lambda: agent.post("webhooks", {"name": "Foo", "endpoint": "http://example.com/endpoint",
                                                    "ssl_verify": True, "active": True}),
        "updating": lambda: agent.put(f"webhooks/{ident}", {"name": "Foo"}),
        "destroying": lambda: agent.delete(f"webhooks/{ident}"),
    }[action]()
    assert response.status == 403
