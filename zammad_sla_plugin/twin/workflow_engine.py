"""Core workflows executed as ChecksCoreWorkflow#validate_workflows does on save.

CoreWorkflow::Attributes gives every attribute visible to the acting user a mandatory and a
visibility default for the screen (screens resolved per user as ObjectManager::Element::
Backend#screen_value does, falling back to data_option `required`/`null`); active workflows
then change them in (priority, id) order when their object, screen and conditions match
(CoreWorkflow::Condition: `session.*` reads the user, `ticket.*` the record; condition_saved
on the stored record, condition_selected on the record with the new values). On save
(check_visibility, check_mandatory): 'remove' clears a value; an empty mandatory field that is
neither hidden nor removed and has no column default answers 422.
"""

from __future__ import annotations

import re
from typing import Any

from .objects import visible_attributes
from .permissions import granted, held
from .state import TwinState
from .util import ApiError

_BOOLEANS = (True, False)


def resolve_screens(attribute: dict[str, Any], holding: set[str]) -> dict[str, dict[str, Any]]:
    """ObjectManager::Element::Backend#screens for a user holding the permissions `holding`."""
    result: dict[str, dict[str, Any]] = {}
    for screen, options in (attribute.get("screens") or {}).items():
        if not isinstance(options, dict):
            continue
        if options.get("-all-"):
            result[screen] = dict(options["-all-"])
            continue
        merged: dict[str, Any] = {}
        for permission, values in options.items():
            if not isinstance(values, dict) or not granted(holding, permission):
                continue
            for key, value in values.items():
                if merged.get(key) in _BOOLEANS and not value:
                    continue  # a true from one permission is not undone by another's false
                merged[key] = value
        result[screen] = merged
    return result


def _screen_value(attribute: dict[str, Any], screens: dict[str, dict[str, Any]], screen: str, key: str) -> Any:
    value = screens.get(screen, {}).get(key)
    if value is not None:
        return value
    return (attribute.get("data_option") or {}).get(key)


def _mandatory_default(attribute: dict[str, Any], screens: dict[str, dict[str, Any]], screen: str) -> bool:
    # CoreWorkflow::Attributes#attribute_mandatory?
    required = _screen_value(attribute, screens, screen, "required")
    if required is not None:
        return bool(required)
    null = _screen_value(attribute, screens, screen, "null")
    if null is not None:
        return not null
    return False


def _values(obj: dict[str, Any] | None, parts: list[str]) -> list[str]:
    # CoreWorkflow::Condition#condition_key_value: walk the attribute path, Array(x).map(&:to_s).
    value: Any = obj
    for part in parts:
        if value is None:
            break
        match = re.match(r"^group_ids_(full|create|change|read|overview)$", part)
        if match and "_group_ids" in value:
            value = [int(g) for g, access in value["_group_ids"].items() if match.group(1) in access or "full" in access]
            break
        key = {"role_ids": "_role_ids"}.get(part, part)
        value = value.get(key) if isinstance(value, dict) else None
    if value is None or value == "" or value == []:
        return []
    items = value if isinstance(value, list) else [value]
    return [("true" if v else "false") if isinstance(v, bool) else str(v) for v in items]


def _match(operator: str, value: list[str], wanted: list[str]) -> bool:
    """CoreWorkflow::Condition::<Operator>#match for the common operators."""
    if operator == "is":
        return any(v in wanted for v in value)
    if operator == "is not":
        return not value or any(v not in wanted for v in value)
    if operator == "contains":  # as Zammad: the condition string contains the value
        return any(v in w for v in value for w in wanted)
    if operator == "contains not":
        return not any(v in w for v in value for w in wanted)
    if operator == "is set":
        return any(v != "" for v in value)
    if operator == "not set":
        return not any(v != "" for v in value)
    if operator in ("regex match", "regex mismatch"):
        hit = any(re.search(w, v) for v in value for w in wanted)
        return hit if operator == "regex match" else not hit
    raise ApiError(422, f"Unknown core workflow operator '{operator}' (twin)")


def _conditions_match(condition: Any, user: dict[str, Any], record: dict[str, Any] | None) -> bool:
    if not isinstance(condition, dict):
        return True
    for key, spec in condition.items():
        if key == "custom.module" or not isinstance(spec, dict):
            return False  # custom modules are Zammad's own code; the twin runs none
        parts = key.split(".")
        if parts[0] == "session":
            source: dict[str, Any] | None = user
            parts = parts[1:]
        else:
            source = record
            parts = parts[1:] if parts[0] == "ticket" else parts
        raw = spec.get("value")
        wanted = [str(v) for v in (raw if isinstance(raw, list) else [] if raw is None else [raw])]
        if not _match(str(spec.get("operator")), _values(source, parts), wanted):
            return False
    return True


def perform(state: TwinState, user: dict[str, Any], obj: str, screen: str,
            saved: dict[str, Any] | None, selected: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """CoreWorkflow.perform's `mandatory` and `visibility` results for one save."""
    elements = visible_attributes(state, obj, user)
    holding = held(state, user)  # one read of the user's roles for every attribute's screens
    resolved = {a["name"]: resolve_screens(a, holding) for a in elements}
    mandatory = {a["name"]: _mandatory_default(a, resolved[a["name"]], screen) for a in elements}
    visibility = {a["name"]: "remove" if _screen_value(a, resolved[a["name"]], screen, "shown") is False else "show"
                  for a in elements}
    readonly = {a["name"]: False for a in elements}
    workflows = sorted(state.tables["core_workflows"].values(), key=lambda w: (w["priority"], w["id"]))
    for workflow in workflows:
        if not workflow["active"] or (workflow["object"] and obj not in workflow["object"]):
            continue
        screens = (workflow.get("preferences") or {}).get("screen")
        if screens and screen not in (screens if isinstance(screens, list) else [screens]):
            continue
        if not _conditions_match(workflow.get("condition_saved"), user, saved or {}):
            continue
        if not _conditions_match(workflow.get("condition_selected"), user, selected):
            continue
        for field, config in (workflow.get("perform") or {}).items():
            if field == "custom.module" or not isinstance(config, dict):
                continue
            name = field.split(".", 1)[1] if "." in field else field
            operators = config.get("operator")
            for operator in operators if isinstance(operators, list) else [operators]:
                if operator == "set_mandatory":
                    mandatory[name] = True
                elif operator == "set_optional":
                    mandatory[name] = False
                elif operator in ("hide", "show", "remove"):
                    visibility[name] = operator
                elif operator in ("set_readonly", "unset_readonly"):
                    readonly[name] = operator == "set_readonly"
        if workflow["stop_after_match"]:
            break
    return {"mandatory": mandatory, "visibility": visibility, "readonly": readonly}


def validate(state: TwinState, user: dict[str, Any], obj: str, screen: str, saved: dict[str, Any] | None,
             record: dict[str, Any], column_defaults: dict[str, Any]) -> None:
    """check_mandatory on `record` (raises 422), as the newest checks_core_workflow.rb stored
    (2023, commit 36484d0): its validate_workflows no longer runs check_visibility, and a
    value counts as empty when nil or, unless boolean, blank ("" or whitespace, [] or {})."""
    result = perform(state, user, obj, screen, saved, record)
    for name, required in result["mandatory"].items():
        if result["visibility"].get(name) in ("hide", "remove") or not required:
            continue
        if name in record and _empty(record[name]) and column_defaults.get(name) is None:
            raise ApiError(422, f"Missing required value for field '{name}'!")


def _empty(value: Any) -> bool:
    """column_empty?: nil, or (not true/false and) Ruby's `blank?`."""
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return not value
    return False
