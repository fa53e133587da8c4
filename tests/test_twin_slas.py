"""The twin's SLA and calendar endpoints refuse what Zammad refuses (app/models/sla.rb,
app/models/calendar.rb, checks_condition_validation.rb, the controller policies)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.zammad_specs._sla_support import ADMIN_TOKEN, business_hours_9_17, call, create_calendar, token_for
from zammad_sla_plugin.twin import TwinServer


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=ADMIN_TOKEN, time_scale=0.001) as server:
        yield server


def sla(**fields: Any) -> dict[str, Any]:
    return {"name": "Gold", "calendar_id": 1, "first_response_time": 60, "solution_time": 480,
            "condition": {"ticket.priority_id": {"operator": "is", "value": ["3"]}}, **fields}


def refused(twin: TwinServer, method: str, path: str, payload: dict[str, Any], message: str) -> None:
    response = call(twin, method, path, json=payload)
    assert (response.status, response.json) == (422, {"error": message, "error_human": message})


def test_sla_round_trip_shapes(twin: TwinServer) -> None:
    created = call(twin, "POST", "slas", json=sla(note="dropped like any unknown key"))
    assert created.status == 201
    assert list(created.json) == ["id", "calendar_id", "name", "first_response_time", "response_time", "update_time",
                                  "solution_time", "condition", "updated_by_id", "created_by_id", "created_at", "updated_at"]
    ident = created.json["id"]
    assert call(twin, "GET", f"slas/{ident}?expand=true").json["calendar"] == "Default"
    full = call(twin, "GET", f"slas/{ident}?full=true").json
    assert full["id"] == ident and set(full["assets"]) == {"Sla", "Calendar", "User"}
    updated = call(twin, "PUT", f"slas/{ident}", json={"solution_time": 600})
    assert updated.status == 200 and updated.json["solution_time"] == 600 and updated.json["first_response_time"] == 60
    assert call(twin, "DELETE", f"slas/{ident}").json == {}
    missing = call(twin, "GET", f"slas/{ident}")
    assert (missing.status, missing.json["error"]) == (404, f"Couldn't find Sla with 'id'={ident}")


def test_sla_validations(twin: TwinServer) -> None:
    refused(twin, "POST", "slas", sla(name=""), "Name can't be blank")
    assert call(twin, "POST", "slas", json=sla()).status == 201
    refused(twin, "POST", "slas", sla(name="GOLD"), "Name has already been taken")
    refused(twin, "POST", "slas", sla(name="R", response_time=30, update_time=60), "Cannot have both response time and update time.")
    for condition in (
        {"ticket.priority_id": {"operator": "is like", "value": ["3"]}},    # not an operator of Selector::Sql
        {"ticket.priority_id": {"value": ["3"]}},                           # operator missing
        {"unknown.priority_id": {"operator": "is", "value": ["3"]}},        # no such table
        {"ticket.priority_id": {"operator": "is", "value": []}},            # blank value without pre_condition
        {"ticket.priority_id": {"operator": "is", "pre_condition": "whatever", "value": ["3"]}},
        {"ticket.updated_at": {"operator": "is in working time", "value": ["1"]}},  # triggers/schedulers only
    ):
        refused(twin, "POST", "slas", sla(name="C", condition=condition), "Invalid object selector conditions")
    assert call(twin, "POST", "slas", json=sla(name="Any", condition={})).status == 201  # no condition: a fallback SLA
    refused(twin, "POST", "slas", sla(name="No calendar", calendar_id=None), "Attribute 'calendar_id' required!")
    ident = call(twin, "GET", "slas").json[0]["id"]
    refused(twin, "PUT", f"slas/{ident}", {"response_time": 30, "update_time": 60}, "Cannot have both response time and update time.")


def test_calendar_validations_and_holiday_flags(twin: TwinServer) -> None:
    refused(twin, "POST", "calendars", {"name": "Empty", "timezone": "UTC", "business_hours": {}}, "There are no business hours configured.")
    inactive = {d: {**v, "active": False} for d, v in business_hours_9_17().items()}
    refused(twin, "POST", "calendars", {"name": "Closed", "timezone": "UTC", "business_hours": inactive},
            "There are no business hours configured.")
    midnight = {d: {"active": True, "timeframes": [["09:00", "00:00"]]} for d in ("mon", "tue")}
    refused(twin, "POST", "calendars", {"name": "Bad", "timezone": "UTC", "business_hours": midnight}, "nonsensical hours provided")
    refused(twin, "POST", "calendars", {"name": "default", "timezone": "UTC", "business_hours": business_hours_9_17()},
            "Name has already been taken")
    created = create_calendar(twin, public_holidays={"2026-12-25": {"active": "yes", "summary": "Christmas"},
                                                     "2026-12-26": {"summary": "Boxing Day"}})
    assert created["public_holidays"] == {"2026-12-25": {"active": True, "summary": "Christmas"},
                                          "2026-12-26": {"summary": "Boxing Day", "active": False}}
    assert list(created) == ["id", "name", "timezone", "business_hours", "default", "ical_url", "public_holidays", "last_log",
                             "last_sync", "updated_by_id", "created_by_id", "created_at", "updated_at"]


def test_exactly_one_default_calendar(twin: TwinServer) -> None:
    second = create_calendar(twin, default=True)
    defaults = {c["id"]: c["default"] for c in call(twin, "GET", "calendars").json}
    assert defaults == {1: False, second["id"]: True}  # sync_default
    call(twin, "PUT", f"calendars/{second['id']}", json={"default": False})
    defaults = {c["id"]: c["default"] for c in call(twin, "GET", "calendars").json}
    assert defaults == {1: True, second["id"]: False}  # min_one_check: the oldest becomes default
    call(twin, "PUT", f"calendars/{second['id']}", json={"default": True})
    assert call(twin, "DELETE", f"calendars/{second['id']}").json == {}
    assert [c["default"] for c in call(twin, "GET", "calendars").json] == [True]


@pytest.mark.parametrize("path", ["slas", "slas/999", "calendars", "calendars/999", "calendars_init"])
def test_policies_run_before_the_lookup(twin: TwinServer, path: str) -> None:
    agent = token_for(twin, "agent@example.com")
    response = call(twin, "GET", path, token=agent)
    assert (response.status, response.json["error"]) == (403, "Not authorized")


def test_admin_sla_and_admin_calendar_are_separate(twin: TwinServer) -> None:
    sla_admin = token_for(twin, "sla-admin@example.com", ["admin.sla"])
    assert call(twin, "GET", "slas", token=sla_admin).status == 200
    assert call(twin, "GET", "slas/999", token=sla_admin).status == 404
    assert call(twin, "GET", "calendars", token=sla_admin).status == 403
    calendar_admin = token_for(twin, "calendar-admin@example.com", ["admin.calendar"])
    assert call(twin, "GET", "calendars", token=calendar_admin).status == 200
    assert call(twin, "POST", "slas", token=calendar_admin, json=sla()).status == 403
