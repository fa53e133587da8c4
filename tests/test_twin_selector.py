"""The twin's condition selector, operator by operator (lib/selector in Zammad)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from zammad_sla_plugin.twin.clock import TwinClock
from zammad_sla_plugin.twin.selector import Context, matches, normalize
from zammad_sla_plugin.twin.state import TwinState
from zammad_sla_plugin.twin.util import ApiError

TICKET = {"id": 1, "title": "Widget broken", "state": "open", "owner_id": 4, "created_at": "2026-03-09T12:00:00Z",
          "customer_id": 5, "organization_id": 7}  # fmt: skip


@pytest.fixture(scope="module")
def state() -> TwinState:
    twin = TwinState(TwinClock(datetime(2026, 3, 10, tzinfo=timezone.utc), frozen=True))
    twin.tables["users"][5] = {"id": 5, "email": "c@example.com", "firstname": ""}
    twin.tables["organizations"][7] = {"id": 7, "name": "Acme"}
    return twin


def hit(state: TwinState, name: str, operator: str, value: Any = None, **context: Any) -> bool:
    ctx = Context(ticket=TICKET, tags=["vip", "sla-breached"], current_user_id=4, **context)
    return matches(state, normalize({name: {"operator": operator, "value": value}}), ctx)


@pytest.mark.parametrize(("name", "operator", "value", "expected"), [
    ("ticket.state", "is", ["new", "open"], True),
    ("ticket.state", "is not", ["new", "open"], False),
    ("ticket.owner_id", "is", "4", True),  # ids compare as strings
    ("ticket.title", "contains", "WIDGET", True),
    ("ticket.title", "contains not", "widget", False),
    ("ticket.missing", "contains", "", False),  # nothing contains anything when unset
    ("customer.email", "is set", None, True),
    ("customer.firstname", "not set", None, True),  # "" is not set
    ("organization.name", "is", "Acme", True),
    ("ticket.created_at", "before (absolute)", "2026-03-10T00:00:00Z", True),
    ("ticket.created_at", "after (absolute)", "2026-03-10T00:00:00Z", False),
    ("ticket.missing", "before (absolute)", "2026-03-10T00:00:00Z", False),
    ("ticket.created_at", "after (absolute)", "", False),
    ("ticket.tags", "contains all", "vip, sla-breached", True),
    ("ticket.tags", "contains all", ["vip", "other"], False),
    ("ticket.tags", "contains one", ["vip", "other"], True),
    ("ticket.tags", "contains all not", ["vip", "other"], True),
    ("ticket.tags", "contains one not", ["vip", "other"], False),
])  # fmt: skip
def test_operators(state: TwinState, name: str, operator: str, value: Any, expected: bool) -> None:
    assert hit(state, name, operator, value) is expected


def test_action_and_changes(state: TwinState) -> None:
    assert hit(state, "ticket.action", "is", "update")  # outside a transaction: always true
    assert hit(state, "ticket.action", "is", "update", action="update")
    assert not hit(state, "ticket.action", "is not", "update", action="update")
    assert hit(state, "ticket.state", "has changed", changes={"state": ("new", "open")})
    assert not hit(state, "ticket.title", "has changed", changes={"state": ("new", "open")})


def test_current_user_pre_condition(state: TwinState) -> None:
    tree = normalize({"ticket.owner_id": {"operator": "is", "pre_condition": "current_user.id", "value": []}})
    assert matches(state, tree, Context(ticket=TICKET, tags=[], current_user_id=4))
    assert not matches(state, tree, Context(ticket=TICKET, tags=[], current_user_id=9))


@pytest.mark.parametrize(("name", "operator", "message"), [
    ("ticket.state", "resembles", "Unknown operator 'resembles'"),
    ("ticket.tags", "is", "Unknown operator 'is' for ticket.tags"),
    ("group.name", "resembles", "Unknown condition attribute 'group.name'"),  # the attribute is reported first
])  # fmt: skip
def test_unknown_operators_and_attributes_are_422(state: TwinState, name: str, operator: str, message: str) -> None:
    with pytest.raises(ApiError) as info:
        hit(state, name, operator, "x")
    assert info.value.status == 422 and message in str(info.value)
