"""Helpers of the SLA and calendar spec ports: a twin, raw calls as a given user, Zammad's factories."""

from __future__ import annotations

from typing import Any

import requests

from tests.zammad_specs.conftest import Response
from zammad_sla_plugin.twin import TwinServer

# The Zammad commit the SLA and calendar request specs were read at.
ZAMMAD_COMMIT = "bfa96f03ea45e9b204e56a568b1a1c3eef67caf2"
ADMIN_TOKEN = "spec-admin-token"  # the twin's token user: Admin + Agent roles, like create(:admin)


def call(twin: TwinServer, method: str, path: str, token: str | None = ADMIN_TOKEN, **kwargs: Any) -> Response:
    """One request to /api/v1/<path>; `token=None` sends no credentials (the specs' "nobody")."""
    headers = {"Authorization": f"Token token={token}"} if token else {}
    return Response(requests.request(method, f"{twin.url}/api/v1/{path}", headers=headers, timeout=10, **kwargs))


def token_for(twin: TwinServer, login: str, permissions: list[str] | None = None) -> str:
    """A token of a new user: an agent (`create(:agent)`), or, with `permissions`, a user whose only
    role holds exactly those (`create(:admin_only, roles: [])` + `create(:role, permissions: [...])`)."""
    return twin.token_for(twin.add_agent(login, permissions=permissions)["id"])


def business_hours_9_17() -> dict[str, Any]:
    """spec/factories/calendar.rb trait :business_hours_9_17."""
    return {day: {"active": day not in ("sat", "sun"), "timeframes": [["09:00", "17:00"]]}
            for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def create_calendar(twin: TwinServer, number: int = 1, **fields: Any) -> dict[str, Any]:
    """`create(:calendar)`: "Escalation Test n", Europe/Berlin, default, 9-17 on weekdays."""
    payload = {"name": f"Escalation Test {number}", "timezone": "Europe/Berlin", "default": True, "ical_url": None,
               "business_hours": business_hours_9_17(), **fields}
    response = call(twin, "POST", "calendars", json=payload)
    assert response.status == 201, response.json
    return dict(response.json)


def create_sla(twin: TwinServer, calendar_id: int, number: int = 1, **fields: Any) -> dict[str, Any]:
    """`create(:sla, calendar:)`: "SLA n" with the factory's condition (state is one of the open states)."""
    payload = {"name": f"SLA {number}", "calendar_id": calendar_id,
               "condition": {"ticket.state_id": {"operator": "is", "value": ["1", "2", "3", "7"]}}, **fields}
    response = call(twin, "POST", "slas", json=payload)
    assert response.status == 201, response.json
    return dict(response.json)
