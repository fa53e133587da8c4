"""Port of Zammad's spec/requests/calendar_spec.rb (zammad/zammad at ZAMMAD_COMMIT) against the twin.

Every example of the file is ported (the shared examples once per context that runs them); none
is left out. Twin limitation: /calendars_init lists only a subset of config/holiday_calendars.yml
(the entries the spec names are in it).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.zammad_specs._sla_support import ADMIN_TOKEN, ZAMMAD_COMMIT, call, create_calendar, create_sla, token_for
from zammad_sla_plugin.twin import TwinServer

SPEC = "spec/requests/calendar_spec.rb"
assert len(ZAMMAD_COMMIT) == 40
FEED = "https://www.google.com/calendar/ical/{}%23holiday%40group.v.calendar.google.com/public/basic.ics"


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=ADMIN_TOKEN, time_scale=0.001) as server:
        yield server


def test_does_calendar_index_with_nobody(twin: TwinServer) -> None:
    """calendar_spec.rb: describe 'request handling', it 'does calendar index with nobody'."""
    for path in ("calendars", "calendars_init", "calendars/timezones"):
        response = call(twin, "GET", path, token=None)
        assert response.status == 403, path
        assert isinstance(response.json, dict)
        assert response.json["error"] == "Authentication required"


def test_does_calendar_index_with_admin(twin: TwinServer) -> None:
    """calendar_spec.rb: describe 'request handling', it 'does calendar index with admin'."""
    for path in ("calendars", "calendars?expand=true"):
        response = call(twin, "GET", path)
        assert response.status == 200
        assert isinstance(response.json, list)
        assert len(response.json) == 1

    response = call(twin, "GET", "calendars?full=true")
    assert response.status == 200
    assert isinstance(response.json, dict)
    assert response.json["record_ids"]
    assert len(response.json["record_ids"]) == 1
    assert response.json["assets"]

    response = call(twin, "GET", "calendars_init")
    assert response.status == 200
    assert isinstance(response.json, dict)
    assert response.json["record_ids"]
    assert response.json["ical_feeds"]
    assert response.json["ical_feeds"][FEED.format("da.danish")] == "Denmark"
    assert response.json["ical_feeds"][FEED.format("de.austrian")] == "Austria"
    assert response.json["timezones"]
    assert response.json["timezones"]["Africa/Johannesburg"] == 2
    assert -9 <= response.json["timezones"]["America/Sitka"] <= -8
    assert 1 <= response.json["timezones"]["Europe/Berlin"] <= 2
    assert response.json["assets"]

    response = call(twin, "GET", "calendars/timezones")
    assert response.status == 200
    assert isinstance(response.json, dict)
    assert isinstance(response.json["timezones"], dict)
    assert response.json["timezones"]["America/New_York"] is not None


def test_does_return_reference_error_on_delete_if_related_objects_exist(twin: TwinServer) -> None:
    """calendar_spec.rb: describe 'Removing calendars via UI and API does not check for references #3845',
    it 'does return reference error on delete if related objects exist'."""
    calendar = create_calendar(twin)
    create_sla(twin, calendar["id"])
    response = call(twin, "DELETE", f"calendars/{calendar['id']}", json={})
    assert response.json["error"] == "Can't delete, object has references."


def _returns_a_list_of_timezones(twin: TwinServer, token: str) -> None:
    # shared_examples 'returns a list of timezones' / it 'returns a list of timezones'
    response = call(twin, "GET", "calendars/timezones", token=token)
    assert response.status == 200
    assert isinstance(response.json, dict)
    assert isinstance(response.json["timezones"], dict)
    assert response.json["timezones"]["America/New_York"] is not None


def _returns_an_error(twin: TwinServer, token: str) -> None:
    # shared_examples 'returns an error' / it 'returns an error'
    response = call(twin, "GET", "calendars/timezones", token=token)
    assert response.status == 403


def test_when_fetching_timezones_when_user_is_an_agent_returns_an_error(twin: TwinServer) -> None:
    """calendar_spec.rb: context 'when fetching timezones' / 'when user is an agent', it 'returns an error'."""
    _returns_an_error(twin, token_for(twin, "agent@example.com"))


@pytest.mark.parametrize("permission", ["admin", "admin.trigger", "admin.calendar", "admin.scheduler"])
def test_when_fetching_timezones_with_specific_permissions_returns_a_list_of_timezones(twin: TwinServer, permission: str) -> None:
    """calendar_spec.rb: context 'when user is an admin' / 'with specific permissions' / 'with <permission>
    permission', it 'returns a list of timezones' (one run per context: admin, admin.trigger,
    admin.calendar, admin.scheduler)."""
    _returns_a_list_of_timezones(twin, token_for(twin, "admin-only@example.com", [permission]))


def test_when_fetching_timezones_with_admin_webhook_permission_returns_an_error(twin: TwinServer) -> None:
    """calendar_spec.rb: context 'with admin.webhook permission', it 'returns an error'."""
    _returns_an_error(twin, token_for(twin, "admin-only@example.com", ["admin.webhook"]))
