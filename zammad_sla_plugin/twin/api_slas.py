"""SLAs and calendars: `/api/v1/slas` and `/api/v1/calendars` as Zammad serves them.

Read at zammad/zammad bfa96f03ea45e9b204e56a568b1a1c3eef67caf2 (2025):
app/models/sla.rb, app/models/calendar.rb, app/controllers/{slas,calendars}_controller.rb,
app/controllers/application_controller/renders_models.rb (model_*_render,
model_references_check), app/models/concerns/checks_condition_validation.rb with
lib/selector/sql.rb (what a condition may say), the two controller policies and
db/migrate/20120101000001_create_base.rb / 20120101000010_create_ticket.rb (columns).

What the twin does NOT model: fetching `ical_url` (Calendar#sync would download the feed and
merge its dates into public_holidays; the twin keeps the holidays it is given), escalation
recalculation jobs, core workflows on the SLA form, and `association_name_to_id_convert`.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo, available_timezones

from flask import Blueprint, jsonify

from .context import actor_id, add_crud_routes, body, expand, paginate, truthy, twin
from .state import TwinState
from .util import ApiError

bp = Blueprint("slas", __name__)

# Column order of the tables (what attributes_with_association_ids renders).
SLA_COLUMNS: tuple[str, ...] = (
    "id", "calendar_id", "name", "first_response_time", "response_time", "update_time", "solution_time",
    "condition", "updated_by_id", "created_by_id", "created_at", "updated_at",
)
CALENDAR_COLUMNS: tuple[str, ...] = (
    "id", "name", "timezone", "business_hours", "default", "ical_url", "public_holidays", "last_log", "last_sync",
    "updated_by_id", "created_by_id", "created_at", "updated_at",
)
_STAMPS = frozenset({"id", "created_at", "updated_at", "created_by_id", "updated_by_id"})
_CALENDAR_READONLY = frozenset({"last_log", "last_sync"})

# A few entries of config/holiday_calendars.yml (country -> Google calendar domain), for
# /calendars_init; the twin never fetches them.
_ICAL_URL = "https://www.google.com/calendar/ical/{domain}%23holiday%40group.v.calendar.google.com/public/basic.ics"
_ICAL_COUNTRIES: dict[str, str] = {
    "Argentina": "en.ar", "Austria": "de.austrian", "Brazil": "en.brazilian", "Denmark": "da.danish",
    "Germany": "de.german", "Spain": "en.spain", "UK": "en.uk", "US": "en.usa",
}

# lib/selector/sql.rb VALID_OPERATORS and the tables condition_sql accepts for a Ticket target.
VALID_OPERATORS: frozenset[str] = frozenset({
    "after (absolute)", "after (relative)", "before (absolute)", "before (relative)", "contains all not",
    "contains all", "contains not", "contains one not", "contains one", "contains", "does not match regex",
    "ends with one of", "ends with", "from (relative)", "has changed", "has reached warning", "has reached",
    "is any of", "is in working time", "is none of", "is not in working time", "is not", "is set", "is",
    "matches regex", "not set", "starts with one of", "starts with", "till (relative)", "today",
    "within last (relative)", "within next (relative)",
})
_TABLES = frozenset({"ticket", "customer", "organization", "owner", "article", "ticket_state",
                     "execution_time", "ticket_owner", "ticket_customer"})
_NO_VALUE_OPERATORS = frozenset({"has changed", "has reached", "has reached warning", "is any of", "is none of",
                                 "is set", "not set"})
_TIME_RE = re.compile(r"^\d{2}:\d{2}$")
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INVALID_CONDITION = "Invalid object selector conditions"
REFERENCED = "Can't delete, object has references."


def _stamp(state: TwinState, user_id: int) -> dict[str, Any]:
    now = state.now_iso()
    return {"updated_by_id": user_id, "created_by_id": user_id, "created_at": now, "updated_at": now}


def seed_calendar(state: TwinState) -> dict[str, Any]:
    """The one calendar a fresh Zammad has (db/seeds.rb ends with Calendar.init_setup)."""
    row: dict[str, Any] = {c: None for c in CALENDAR_COLUMNS}
    row.update(name="Default", timezone="Europe/Berlin", default=True, public_holidays={},
               business_hours={day: {"active": day not in ("sat", "sun"), "timeframes": [["09:00", "17:00"]]} for day in DAYS},
               **_stamp(state, 1))
    return state.insert("calendars", row)


# ------------------------------------------------------------------ validation
def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def business_hours_to_hash(business_hours: Any) -> dict[str, list[tuple[str, str]]]:
    """Calendar#business_hours_to_hash: active days' (from, to) pairs, "23:59" read as "24:00"."""
    hours: dict[str, list[tuple[str, str]]] = {}
    for day, meta in (business_hours or {}).items():
        if not isinstance(meta, dict) or not meta.get("active") or not meta.get("timeframes"):
            continue
        pairs = []
        for frame in meta["timeframes"]:
            start, end = (list(frame) + [None, None])[:2] if isinstance(frame, (list, tuple)) else (None, None)
            if start and end:
                pairs.append((str(start), "24:00" if end == "23:59" else str(end)))
        hours[str(day)] = pairs
    return hours


def _validate_hours(business_hours: Any) -> None:
    # Calendar#validate_hours: errors.add(:base, ...) -> RecordInvalid, rendered as the base message.
    hours = business_hours_to_hash(business_hours)
    if not hours:
        raise ApiError(422, "There are no business hours configured.")
    for day, pairs in hours.items():
        if day not in DAYS:
            raise ApiError(422, f"invalid day {day!r}")  # biz: Biz::Configuration refuses unknown weekdays
        for start, end in pairs:
            if not (_TIME_RE.match(start) and _TIME_RE.match(end)):
                raise ApiError(422, f"invalid time {start!r}-{end!r}")
            if _minutes(start) >= _minutes(end):
                raise ApiError(422, "nonsensical hours provided")  # Biz::Error::Configuration


def _condition_leaves(condition: dict[str, Any]) -> list[dict[str, Any]]:
    # Selector::Base.migrate_selector: the flat hash becomes an AND block of named leaves.
    if isinstance(condition.get("conditions"), list):
        found: list[dict[str, Any]] = []
        for child in condition["conditions"]:
            if not isinstance(child, dict):
                raise ApiError(422, INVALID_CONDITION)
            found.extend(_condition_leaves(child) if "conditions" in child else [child])
        return found
    leaves = []
    for name, spec in condition.items():
        if not isinstance(spec, dict):
            raise ApiError(422, INVALID_CONDITION)
        leaves.append({"name": name, **spec})
    return leaves


def validate_condition(condition: Any) -> None:
    """ChecksConditionValidation: Selector::Sql#valid? must hold, else 422."""
    if condition in (None, {}):
        return
    if not isinstance(condition, dict):
        raise ApiError(422, INVALID_CONDITION)
    for leaf in _condition_leaves(condition):
        name, operator, pre = str(leaf.get("name") or ""), leaf.get("operator"), leaf.get("pre_condition")
        table, _, attribute = name.partition(".")
        if not name or not attribute:
            raise ApiError(422, INVALID_CONDITION)
        if table not in _TABLES or not operator or operator not in VALID_OPERATORS:
            raise ApiError(422, INVALID_CONDITION)
        if "in working time" in operator:
            raise ApiError(422, INVALID_CONDITION)  # needs execution_time (triggers and schedulers only)
        if operator not in ("has changed", "has reached", "has reached warning") and pre and not any(
                str(pre).startswith(p) for p in ("not_set", "current_user.", "specific")):
            raise ApiError(422, INVALID_CONDITION)
        value = leaf.get("value")
        blank = (operator != "today" and "value" not in leaf) or value == [] or (
            str(operator).startswith("contains") and value in (None, "", [], {}))
        if operator not in _NO_VALUE_OPERATORS and blank and (pre in (None, "", "specific")):
            raise ApiError(422, INVALID_CONDITION)


def _unique_name(state: TwinState, table: str, row: dict[str, Any]) -> None:
    name = str(row.get("name") or "").lower()
    for other in state.tables[table].values():
        if other["id"] != row.get("id") and str(other.get("name") or "").lower() == name:
            raise ApiError(422, "Name has already been taken")


def _validate_sla(state: TwinState, row: dict[str, Any]) -> None:
    # Validations first (name presence/uniqueness, cannot_have_response_and_update), then the
    # before_create/update condition check, then the database's NOT NULL on calendar_id.
    if row.get("name") in (None, ""):
        raise ApiError(422, "Name can't be blank")
    _unique_name(state, "slas", row)
    if row.get("response_time") not in (None, "") and row.get("update_time") not in (None, ""):
        raise ApiError(422, "Cannot have both response time and update time.")
    validate_condition(row.get("condition"))
    if row.get("calendar_id") in (None, ""):
        raise ApiError(422, "Attribute 'calendar_id' required!")
    for column in ("calendar_id", "first_response_time", "response_time", "update_time", "solution_time"):
        value = row.get(column)
        if value in (None, ""):
            row[column] = None
            continue
        try:
            row[column] = int(value)
        except (TypeError, ValueError):
            raise ApiError(422, f"invalid value for {column}: {value!r}") from None


def _validate_calendar(state: TwinState, row: dict[str, Any]) -> None:
    _unique_name(state, "calendars", row)
    _validate_hours(row.get("business_hours"))
    holidays = row.get("public_holidays") or {}
    if not isinstance(holidays, dict):
        raise ApiError(422, "public_holidays must be a hash")
    # before_save ensure_public_holidays_details: `active` becomes a real boolean.
    for meta in holidays.values():
        if isinstance(meta, dict):
            meta["active"] = bool(meta.get("active"))
    row["public_holidays"] = holidays
    row["business_hours"] = row.get("business_hours") or {}
    row["default"] = truthy(row.get("default"))


def _after_calendar_save(state: TwinState, row: dict[str, Any]) -> None:
    # after_save sync_default / min_one_check: exactly one default calendar.
    calendars = state.tables["calendars"]
    if row.get("default"):
        for other in calendars.values():
            if other["id"] != row["id"]:
                other["default"] = False
    _min_one_default(state)


def _min_one_default(state: TwinState) -> None:
    calendars = state.tables["calendars"]
    if calendars and not any(c["default"] for c in calendars.values()):
        min(calendars.values(), key=lambda c: (c["created_at"], c["id"]))["default"] = True


# ------------------------------------------------------------------ rendering
def _ids(state: TwinState, row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: copy.deepcopy(row.get(c)) for c in columns}


def _names(state: TwinState, row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    data = _ids(state, row, columns)
    if "calendar_id" in columns:
        calendar = state.tables["calendars"].get(row.get("calendar_id") or 0)
        data["calendar"] = calendar["name"] if calendar else None
    data["created_by"] = state.login_of(row.get("created_by_id"))
    data["updated_by"] = state.login_of(row.get("updated_by_id"))
    return data


def _assets(state: TwinState, model: str, row: dict[str, Any], assets: dict[str, Any]) -> dict[str, Any]:
    columns = SLA_COLUMNS if model == "Sla" else CALENDAR_COLUMNS
    assets.setdefault(model, {})[row["id"]] = _ids(state, row, columns)
    if model == "Sla":
        calendar = state.tables["calendars"].get(row.get("calendar_id") or 0)
        if calendar is not None:
            _assets(state, "Calendar", calendar, assets)
    users = assets.setdefault("User", {})
    for key in ("created_by_id", "updated_by_id"):
        user = state.find("users", row.get(key))
        if user is not None and user["id"] not in users:
            users[user["id"]] = state.user_with_ids(user)
    return assets


def timezones(now: datetime) -> dict[str, int]:
    """Calendar.timezones: every zone identifier -> its current UTC offset in whole hours (floored)."""
    result = {}
    for name in sorted(available_timezones()):
        offset = now.astimezone(ZoneInfo(name)).utcoffset()
        result[name] = int(offset.total_seconds()) // 3600 if offset is not None else 0
    return result


# ------------------------------------------------------------------ routes
def _register(plural: str, model: str, table: str, columns: tuple[str, ...],
              validate: Callable[[TwinState, dict[str, Any]], None],
              defaults: Callable[[], dict[str, Any]],
              after_save: Callable[[TwinState, dict[str, Any]], None] | None = None,
              check_destroy: Callable[[TwinState, dict[str, Any]], None] | None = None) -> None:
    writable = [c for c in columns if c not in _STAMPS and c not in _CALENDAR_READONLY]

    def assign(row: dict[str, Any], params: dict[str, Any]) -> None:
        # ApplicationModel#param_cleanup: unknown keys are dropped, not refused.
        for key in writable:
            if key in params:
                row[key] = copy.deepcopy(params[key])

    def render(state: TwinState, row: dict[str, Any]) -> dict[str, Any]:
        if expand():
            return _names(state, row, columns)
        if truthy(body().get("full")):
            return {"id": row["id"], "assets": _assets(state, model, row, {})}
        return _ids(state, row, columns)

    def index() -> Any:
        state = twin().state
        with state.lock:
            all_rows = sorted(state.tables[table].values(), key=lambda r: r["id"])
            full = truthy(body().get("full"))
            if plural == "slas" and full and not expand():
                # SlasController#index (response_full?): every calendar's assets, then the SLAs'.
                assets: dict[str, Any] = {}
                for calendar in state.tables["calendars"].values():
                    _assets(state, "Calendar", calendar, assets)
                for row in all_rows:
                    _assets(state, "Sla", row, assets)
                return jsonify({"record_ids": [r["id"] for r in all_rows], "assets": assets})
            rows = paginate(all_rows, 500, 500)
            if expand():
                return jsonify([_names(state, r, columns) for r in rows])
            if full:
                assets = {}
                for row in rows:
                    _assets(state, model, row, assets)
                return jsonify({"record_ids": [r["id"] for r in rows], "assets": assets, "total_count": len(all_rows)})
            return jsonify([_ids(state, r, columns) for r in rows])

    def show(ident: int) -> Any:
        state = twin().state
        with state.lock:
            return jsonify(render(state, state.get(table, ident)))

    def create() -> Any:
        state = twin().state
        with state.lock:
            row = {c: None for c in columns}
            row.update(defaults())
            assign(row, body())
            row.update(_stamp(state, actor_id()))
            validate(state, row)
            state.insert(table, row)
            if after_save is not None:
                after_save(state, row)
            return jsonify(render(state, row)), 201

    def update(ident: int) -> Any:
        state = twin().state
        with state.lock:
            row = state.get(table, ident)
            candidate = copy.deepcopy(row)
            assign(candidate, body())
            validate(state, candidate)
            if candidate != row:
                candidate.update(updated_by_id=actor_id(), updated_at=state.now_iso())
                row.clear()
                row.update(candidate)
            if after_save is not None:
                after_save(state, row)
            return jsonify(render(state, row))

    def destroy(ident: int) -> Any:
        state = twin().state
        with state.lock:
            row = state.get(table, ident)
            if check_destroy is not None:
                check_destroy(state, row)
            del state.tables[table][row["id"]]
            if plural == "calendars":
                _min_one_default(state)
        return jsonify({})

    add_crud_routes(bp, plural, index, show, create, update, destroy)


def _calendar_references(state: TwinState, row: dict[str, Any]) -> None:
    # CalendarsController#destroy: model_references_check (SLAs pointing at the calendar).
    if any(sla.get("calendar_id") == row["id"] for sla in state.tables["slas"].values()):
        raise ApiError(422, REFERENCED)


_register("slas", "Sla", "slas", SLA_COLUMNS, _validate_sla, lambda: {"condition": {}})
_register("calendars", "Calendar", "calendars", CALENDAR_COLUMNS, _validate_calendar,
          lambda: {"default": False, "public_holidays": {}, "business_hours": {}},
          after_save=_after_calendar_save, check_destroy=_calendar_references)


@bp.get("/calendars_init")
def calendars_init() -> Any:
    """CalendarsController#init: ids by name, the iCal presets, time zones and assets."""
    ctx = twin()
    state = ctx.state
    with state.lock:
        rows = sorted(state.tables["calendars"].values(), key=lambda r: (str(r.get("name") or ""), r["created_at"]))
        assets: dict[str, Any] = {}
        for row in rows:
            _assets(state, "Calendar", row, assets)
        return jsonify({
            "record_ids": [r["id"] for r in rows],
            "ical_feeds": {_ICAL_URL.format(domain=d): country for country, d in _ICAL_COUNTRIES.items()},
            "timezones": timezones(ctx.clock.now().astimezone(timezone.utc)),
            "assets": assets,
        })


@bp.get("/calendars/timezones")
def calendars_timezones() -> Any:
    """CalendarsController#timezones."""
    return jsonify({"timezones": timezones(twin().clock.now().astimezone(timezone.utc))})
