"""Object manager attributes (custom fields): validation, pending flags and migrations.

Mirrors app/controllers/object_manager_attributes_controller.rb and
app/models/object_manager/attribute.rb: an attribute only becomes a column (and so
appears on tickets/organizations, accepted by updates) after execute_migrations.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from .permissions import granted, held
from .records import ATTRIBUTE_COLUMNS, ORGANIZATION_COLUMNS, TICKET_COLUMNS, USER_COLUMNS, GROUP_COLUMNS, blank
from .state import CUSTOM_OBJECTS, OBJECT_TABLES, TwinState
from .util import ApiError, parse_time, to_int

DATA_TYPES: tuple[str, ...] = (
    "input", "user_autocompletion", "checkbox", "select", "tree_select", "datetime", "date", "tag",
    "richtext", "textarea", "integer", "autocompletion_ajax", "boolean", "user_permission", "active",
)
OBJECT_LOOKUP_IDS: dict[str, int] = {"User": 1, "Ticket": 2, "Organization": 3, "Group": 4}
BASE_COLUMNS: dict[str, tuple[str, ...]] = {
    "Ticket": TICKET_COLUMNS, "Organization": ORGANIZATION_COLUMNS, "User": USER_COLUMNS, "Group": GROUP_COLUMNS,
}
RESERVED_WORDS: tuple[str, ...] = (
    "destroy", "true", "false", "integer", "select", "drop", "create", "alter", "index", "table", "varchar",
    "blob", "date", "datetime", "timestamp", "url", "icon", "initials", "avatar", "permission", "validate",
    "subscribe", "unsubscribe", "translate", "search", "_type", "_doc", "_id", "id",
)


def render(attribute: dict[str, Any]) -> dict[str, Any]:
    """ObjectManager::Attribute#attributes_with_association_ids."""
    return {column: copy.deepcopy(attribute.get(column)) for column in ATTRIBUTE_COLUMNS}


def render_full(state: TwinState, attribute: dict[str, Any]) -> dict[str, Any]:
    """One entry of ObjectManager::Attribute.list_full (GET /object_manager_attributes)."""
    data = render(attribute)
    del data["object_lookup_id"]
    data["object"] = attribute["_object"]
    users = references(state, attribute["_object"], attribute["name"])
    data["deletable"] = bool(attribute["editable"]) and not users
    if users:
        data["not_deletable_reason"] = f"This attribute is referenced by {users} and thus cannot be deleted!"
    return data


def list_full(state: TwinState) -> list[dict[str, Any]]:
    """All attributes, ordered by position then name."""
    rows = sorted(state.tables["attributes"].values(), key=lambda a: (a["position"] or 0, a["name"]))
    return [render_full(state, a) for a in rows]


def find(state: TwinState, obj: Any, name: Any) -> dict[str, Any] | None:
    """ObjectManager::Attribute.get(object:, name:)."""
    lowered = str(name or "").lower()
    for attribute in state.tables["attributes"].values():
        if attribute["_object"] == obj and attribute["name"] == lowered:
            return attribute
    return None


def _condition_keys(condition: Any) -> list[str]:
    if not isinstance(condition, dict):
        return []
    if "conditions" in condition and isinstance(condition.get("conditions"), list):
        keys: list[str] = []
        for item in condition["conditions"]:
            if isinstance(item, dict) and "conditions" in item:
                keys.extend(_condition_keys(item))
            elif isinstance(item, dict) and "name" in item:
                keys.append(str(item["name"]))
        return keys
    return [str(k) for k in condition]


def references(state: TwinState, obj: str, name: str) -> str:
    """attribute_used_by_references_humaniced: 'Trigger: a,b; Overview: c' or ''."""
    key = f"{obj.lower()}.{name}"
    found: dict[str, list[str]] = {}
    for table, klass in (("triggers", "Trigger"), ("overviews", "Overview")):
        for record in state.tables[table].values():
            if key in _condition_keys(record.get("condition")):
                found.setdefault(klass, []).append(record["name"])
    return "; ".join(f"{klass}: {','.join(sorted(names))}" for klass, names in found.items())


def _permitted(params: dict[str, Any]) -> dict[str, Any]:
    """The controller's permitted_params normalisation of data_option."""
    permitted = copy.deepcopy(params)
    data_type = str(permitted.get("data_type") or "")
    option = permitted.get("data_option")
    if not isinstance(option, dict):
        permitted["data_option"] = {"default": "", "options": {}, "relation": "", "null": True}
        return permitted
    if data_type == "boolean" and option.get("default") in ("true", "false"):
        option["default"] = option["default"] == "true"
    if "default" not in option:
        option["default"] = "" if re.match(r"^(input|select|tree_select)$", data_type) else None
    if option.get("null") is None:
        option["null"] = True
    if not isinstance(option.get("options"), (dict, list)):
        option["options"] = {}
    if not isinstance(option.get("relation"), str):
        option["relation"] = ""
    return permitted


def _check_name(state: TwinState, obj: str, name: str, new: bool) -> list[str]:
    errors: list[str] = []
    if re.search(r".+?_(id|ids)$", name, re.I):
        errors.append("Name can't get used because *_id and *_ids are not allowed")
    if re.search(r"\s", name):
        errors.append("Name spaces are not allowed")
    if not re.match(r"^[a-z0-9_]+$", name):
        errors.append("Name Only letters from a-z because numbers from 0-9 and _ are allowed")
    if not re.search(r"[a-z]", name):
        errors.append("Name At least one letters is needed")
    if re.match(rf"^({'|'.join(RESERVED_WORDS)})$", name):
        errors.append(f"Name {name} is a reserved word! (1)")
    if new and name in state.columns(obj, BASE_COLUMNS[obj]):
        errors.append(f"Name {name} already exists!")
    return errors


def _validate(data_type: str, option: dict[str, Any]) -> list[str]:
    """ObjectManager::Attribute::DataOptionValidator plus the model's own validations."""
    if data_type not in DATA_TYPES:
        return ["Data type is not included in the list"]
    errors: list[str] = []
    if data_type == "input":
        if option.get("type") not in ("text", "password", "tel", "fax", "email", "url"):
            errors.append("Input field must be text, password, tel, fax, email or url type.")
        if not re.match(r"^\d+$", str(option.get("maxlength", ""))):
            errors.append("Max length must be an integer.")
    elif data_type in ("textarea", "richtext"):
        if not re.match(r"^\d+$", str(option.get("maxlength", ""))):
            errors.append("Max length must be an integer.")
    elif data_type == "integer":
        for key, label in (("min", "Minimal"), ("max", "Maximal")):
            if not isinstance(option.get(key), int) or isinstance(option.get(key), bool):
                errors.append(f"{label} value must be an integer")
        if not errors and option["min"] > option["max"]:
            errors.append("Maximal value must be higher than or equal to minimal value")
    elif re.match(r"^((multi_)?tree_select|(multi)?select|checkbox)$", data_type):
        if "default" not in option:
            errors.append("Default value is required.")
        if option.get("options") is None and option.get("relation") is None:
            errors.append("Options or relation is required.")
    elif data_type == "boolean":
        if "default" not in option:
            errors.append("Default value is required.")
        if option.get("options") is None:
            errors.append("Options are required.")
    elif data_type == "datetime":
        if option.get("future") is None:
            errors.append("Allow future dates toggle value is required.")
        if option.get("past") is None:
            errors.append("Allow past dates toggle value is required.")
    return errors


def _set_base_options(data_type: str, option: dict[str, Any]) -> None:
    if option.get("null") is None:
        option["null"] = True
    if re.match(r"^((tree_)?select|checkbox)$", data_type):
        if option.get("nulloption") is None:
            option["nulloption"] = True
        option.setdefault("maxlength", 255)
        if not option.get("maxlength"):
            option["maxlength"] = 255


def _fail(errors: list[str]) -> ApiError:
    # "Validation failed: a, b" is humanised by Zammad to its first message.
    return ApiError(422, errors[0])


def create(state: TwinState, params: dict[str, Any], actor_id: int) -> dict[str, Any]:
    """POST /object_manager_attributes."""
    permitted = _permitted(params)
    obj = permitted.get("object")
    if obj not in CUSTOM_OBJECTS:
        raise ApiError(422, f"Invalid object '{obj}'")
    if find(state, obj, permitted.get("name")) is not None:
        raise ApiError(422, "Object already exists!")
    name = str(permitted.get("name") or "").lower()
    if not name:
        raise _fail(["Name can't be blank"])
    errors = _check_name(state, obj, name, new=True)
    if errors:
        raise _fail(errors)
    data_type = str(permitted.get("data_type") or "")
    option = permitted["data_option"]
    _set_base_options(data_type, option)
    errors = _validate(data_type, option)
    if errors:
        raise _fail(errors)
    now = state.now_iso()
    attribute = blank(
        ATTRIBUTE_COLUMNS, object_lookup_id=OBJECT_LOOKUP_IDS[obj], name=name,
        display=permitted.get("display") or name, data_type=data_type, data_option=option,
        data_option_new={}, editable=True, active=bool(permitted.get("active", True)),
        screens=permitted.get("screens") or {}, to_create=True, to_migrate=True, to_delete=False,
        # A given position is kept, else 1550, after every built-in attribute
        # (object_manager_attributes_spec.rb 'position handling', 11b2900).
        to_config=False, position=to_int(permitted.get("position")) or 1550,
        created_by_id=actor_id, updated_by_id=actor_id,
        created_at=now, updated_at=now,
    )
    attribute["_object"] = obj
    return state.insert("attributes", attribute)


def update(state: TwinState, params: dict[str, Any], actor_id: int) -> dict[str, Any]:
    """PUT /object_manager_attributes/:id (Zammad looks the attribute up by object+name)."""
    permitted = _permitted(params)
    record = find(state, permitted.get("object"), permitted.get("name"))
    if record is None:
        raise ApiError(422, "does not exist")
    if not record["editable"]:
        raise _fail(["Name Attribute not editable!"])
    data_type = str(permitted.get("data_type") or record["data_type"])
    option = permitted["data_option"]
    changed: dict[str, Any] = {
        key: permitted[key] for key in ("display", "data_type", "position", "active", "screens")
        if key in permitted and permitted[key] != record[key]
    }
    if data_type != record["data_type"] and not {data_type, record["data_type"]} <= {"tree_select", "select", "input", "checkbox"}:
        raise _fail(["Data type can't be altered after creation (delete the attribute and create another with the desired value)"])
    _set_base_options(data_type, option)
    errors = _validate(data_type, option)
    if errors:
        raise _fail(errors)
    if set(changed) & {"display", "data_type", "position", "active"} or option != record["data_option"]:
        old_max = record["data_option"].get("maxlength")
        if old_max and option.get("maxlength") and str(old_max) != str(option["maxlength"]):
            record["to_migrate"] = True
        record["data_option_new"] = option
        record["to_config"] = True
    record.update(changed)
    record["updated_by_id"] = actor_id
    record["updated_at"] = state.now_iso()
    return record


def remove(state: TwinState, record: dict[str, Any]) -> None:
    """DELETE /object_manager_attributes/:id: dropped now if never migrated, else flagged."""
    label = f"{record['_object']}.{record['name']}"
    if not record["editable"]:
        raise ApiError(422, f"{label} can't be removed!")
    users = references(state, record["_object"], record["name"])
    if users:
        raise ApiError(422, f"{label} is referenced by {users} and thus cannot be deleted!")
    if record["to_create"]:
        del state.tables["attributes"][record["id"]]
        return
    record["to_delete"] = True


def execute_migrations(state: TwinState) -> dict[str, list[str]] | None:
    """POST /object_manager_attributes_execute_migrations: apply every pending change.

    Returns the columns created per object, or None when nothing was pending (then Zammad
    has nothing to restart for)."""
    created: dict[str, list[str]] | None = None
    for attribute in list(state.tables["attributes"].values()):
        if not (attribute["to_create"] or attribute["to_migrate"] or attribute["to_delete"] or attribute["to_config"]):
            continue
        created = created if created is not None else {}
        obj, name = attribute["_object"], attribute["name"]
        rows = state.tables[OBJECT_TABLES[obj]].values()
        if attribute["to_delete"]:
            if name in state.custom_columns[obj]:
                state.custom_columns[obj].remove(name)
                for row in rows:
                    row.pop(name, None)
            del state.tables["attributes"][attribute["id"]]
            continue
        if attribute["to_config"]:
            attribute["data_option"] = attribute["data_option_new"]
            attribute["data_option_new"] = {}
            attribute["to_config"] = False
            if not (attribute["to_create"] or attribute["to_migrate"]):
                continue
        if name not in state.custom_columns[obj]:
            state.custom_columns[obj].append(name)
            created.setdefault(obj, []).append(name)
            default = column_default(attribute)
            for row in rows:
                row[name] = default
        attribute["to_create"] = attribute["to_migrate"] = attribute["to_delete"] = False
    return created


def column_default(attribute: dict[str, Any]) -> Any:
    """The database default of an attribute's column."""
    # String-ish columns get no database default; integer/boolean/date(time) columns do.
    default = attribute["data_option"].get("default")
    if attribute["data_type"] in ("integer", "boolean", "active", "datetime", "date") and default not in ("", None):
        return default
    return None


def validate_values(state: TwinState, obj: str, record: dict[str, Any], changed: set[str], now: datetime) -> None:
    """ObjectManager::Attribute::Validation (FuturePast) run on save when a custom column changes."""
    editable = [a for a in state.tables["attributes"].values()
                if a["_object"] == obj and a["editable"] and a["active"] and a["name"] in state.custom_columns[obj]]
    if not any(a["name"] in changed for a in editable):
        return
    for attribute in editable:
        value = record.get(attribute["name"])
        if attribute["data_type"] != "datetime" or value in (None, ""):
            continue
        moment = parse_time(value)
        label = attribute["name"].replace("_", " ").capitalize()
        if not attribute["data_option"].get("past") and moment < now:
            raise ApiError(422, f"{label} does not allow past dates.")
        if not attribute["data_option"].get("future") and moment > now:
            raise ApiError(422, f"{label} does not allow future dates.")


def seed_builtin(state: TwinState) -> None:
    """A subset of Zammad's non-editable built-in attributes, so lists are not empty."""
    builtins: tuple[tuple[str, str, str, dict[str, Any], int], ...] = (
        ("Ticket", "title", "input", {"type": "text", "maxlength": 200, "null": False, "translate": False}, 8),
        ("Ticket", "customer_id", "user_autocompletion", {"relation": "User", "null": False}, 10),
        ("Ticket", "organization_id", "autocompletion_ajax", {"relation": "Organization", "null": True}, 12),
        ("Ticket", "group_id", "select", {"relation": "Group", "nulloption": True, "null": False, "default": ""}, 25),
        ("Ticket", "owner_id", "select", {"relation": "User", "nulloption": True, "null": True, "default": ""}, 30),
        ("Ticket", "state_id", "select", {"relation": "TicketState", "nulloption": True, "null": False, "default": 2}, 40),
        ("Ticket", "pending_time", "datetime", {"future": True, "past": False, "diff": None, "null": True}, 41),
        ("Ticket", "priority_id", "select", {"relation": "TicketPriority", "nulloption": False, "null": False, "default": 2}, 80),
        ("Organization", "name", "input", {"type": "text", "maxlength": 150, "null": False}, 200),
        ("Organization", "domain", "input", {"type": "text", "maxlength": 150, "null": True}, 210),
        ("Organization", "note", "richtext", {"maxlength": 5000, "null": True}, 1500),
    )
    now = state.now_iso()
    for obj, name, data_type, option, position in builtins:
        attribute = blank(
            ATTRIBUTE_COLUMNS, object_lookup_id=OBJECT_LOOKUP_IDS[obj], name=name,
            display=name.replace("_id", "").replace("_", " ").capitalize(), data_type=data_type,
            data_option=option, data_option_new={}, editable=False, active=True, screens={},
            to_create=False, to_migrate=False, to_delete=False, to_config=False, position=position,
            created_by_id=1, updated_by_id=1, created_at=now, updated_at=now,
        )
        attribute["_object"] = obj
        state.insert("attributes", attribute)


def visible_attributes(state: TwinState, obj: str, user: dict[str, Any] | None) -> list[dict[str, Any]]:
    """ObjectManager::Object#attributes(user): active attributes that exist as columns and whose
    `data_option.permission` (if any) the user holds (ObjectManager::Element::Backend#visible?)."""
    result = []
    holding = held(state, user)
    for attribute in sorted(state.tables["attributes"].values(), key=lambda a: (a["position"] or 0, a["name"])):
        if attribute["_object"] != obj or not attribute["active"]:
            continue
        if attribute["editable"] and attribute["name"] not in state.custom_columns[obj]:
            continue  # not migrated yet: no column behind it
        wanted = (attribute["data_option"] or {}).get("permission")
        if wanted and not granted(holding, wanted):
            continue
        result.append(attribute)
    return result
