"""Core workflows (CoreWorkflow): column casting, validation and the seeded base workflows.

Only rows with `changeable: true` are reachable through the API, like
CoreWorkflowsController's `CoreWorkflow.changeable` scope; Zammad's own "base - ..."
workflows are seeded with `changeable: false`, so they only take ids and names.
The twin stores workflows but never runs them (no form logic exists here).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .records import CORE_WORKFLOW_COLUMNS, blank
from .state import TwinState
from .util import ApiError

STORES: tuple[str, ...] = ("preferences", "condition_saved", "condition_selected", "perform")
BOOLEANS: tuple[str, ...] = ("active", "stop_after_match", "changeable")
STRING_LIMITS: dict[str, int] = {"name": 100, "object": 100}
# CoreWorkflow::Custom::AdminCoreWorkflow: the objects a workflow may be configured for.
OBJECTS: tuple[str, ...] = ("Ticket", "Organization", "User", "Group")
STAMPS = frozenset({"id", "created_at", "updated_at", "created_by_id", "updated_by_id"})
# ActiveModel::Type::Boolean::FALSE_VALUES (as JSON can carry them).
_FALSE_VALUES = frozenset({"0", "f", "F", "false", "FALSE", "off", "OFF"})
_RUBY_INT = re.compile(r"\s*([+-]?\d+)")

# db/seeds/core_workflow.rb (Zammad 6.x): name, object, custom module.
BASE_WORKFLOWS: tuple[tuple[str, str | None, str], ...] = (
    ("base - hide pending time on non pending states", "Ticket", "PendingTime"),
    ("base - show secondary organization based on user", "Ticket", "SecondaryOrganization"),
    ("base - admin sla options", "Sla", "AdminSla"),
    ("base - core workflow", "CoreWorkflow", "AdminCoreWorkflow"),
    ("base - ticket duplicate detection with same attributes", "Ticket", "TicketDuplicateDetection"),
    ("base - ticket time accounting check", "Ticket", "TicketTimeAccountingCheck"),
    ("base - remove current and child groups from parent id", "Group", "AdminGroupParentId"),
)


def new_workflow(**values: Any) -> dict[str, Any]:
    """A core workflow row with the table's defaults (store columns read back as {})."""
    defaults: dict[str, Any] = dict(
        preferences={}, condition_saved={}, condition_selected={}, perform={}, active=True,
        stop_after_match=False, changeable=True, priority=0,
    )
    defaults.update(values)
    return blank(CORE_WORKFLOW_COLUMNS, **defaults)


def seed_base_workflows(state: TwinState) -> None:
    """Zammad's non-changeable "base - ..." workflows (hidden from the API)."""
    now = state.now_iso()
    for name, obj, module in BASE_WORKFLOWS:
        custom = f"CoreWorkflow::Custom::{module}"
        state.insert("core_workflows", new_workflow(
            name=name, object=obj, changeable=False,
            condition_saved={"custom.module": {"operator": "match all modules", "value": [custom]}},
            perform={"custom.module": {"execute": [custom]}},
            created_by_id=1, updated_by_id=1, created_at=now, updated_at=now))


def visible(state: TwinState) -> list[dict[str, Any]]:
    """Changeable workflows in the index order: default_scope (priority, id), then id."""
    rows = [r for r in state.tables["core_workflows"].values() if r["changeable"]]
    return sorted(rows, key=lambda r: (r["priority"], r["id"]))


def get_changeable(state: TwinState, ident: Any) -> dict[str, Any]:
    """A changeable workflow or the scoped RecordNotFound Zammad answers (PostgreSQL wording)."""
    row = state.find("core_workflows", ident)
    if row is None or not row["changeable"]:
        raise ApiError(404, f"Couldn't find CoreWorkflow with 'id'={ident} "
                            '[WHERE "core_workflows"."changeable" = $1]')
    return row


def render(state: TwinState, row: dict[str, Any], *, names: bool = False) -> dict[str, Any]:
    """attributes_with_association_ids (no associations), or _names with created_by/updated_by."""
    data = {column: copy.deepcopy(row.get(column)) for column in CORE_WORKFLOW_COLUMNS}
    if names:
        data["created_by"] = state.login_of(row.get("created_by_id"))
        data["updated_by"] = state.login_of(row.get("updated_by_id"))
    return data


def _cast_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return not (value is False or value == 0 or (isinstance(value, str) and value in _FALSE_VALUES))


def _cast_int(value: Any) -> int | None:
    # ActiveModel::Type::Integer: true/false -> 1/0, "" -> nil, otherwise Ruby's to_i.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        if not value:
            return None
        match = _RUBY_INT.match(value)
        return int(match.group(1)) if match else 0
    return None


def _cast_string(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def cast(column: str, value: Any) -> Any:
    """The value a CoreWorkflow column holds after Rails' type cast of a JSON param."""
    if column in STORES:
        # ActiveRecord::Store's IndifferentCoder keeps hashes only; anything else reads as {}.
        return copy.deepcopy(value) if isinstance(value, dict) else {}
    if column in BOOLEANS:
        return _cast_bool(value)
    if column == "priority":
        return _cast_int(value)
    return _cast_string(value)


def assign(row: dict[str, Any], params: dict[str, Any]) -> None:
    """Copy known, writable columns from request params (param_cleanup drops the rest)."""
    for key, value in params.items():
        if key in CORE_WORKFLOW_COLUMNS and key not in STAMPS:
            row[key] = cast(key, value)


def validate(state: TwinState, row: dict[str, Any], object_changed: bool) -> None:
    """Model validations, then ChecksCoreWorkflow, then NOT NULL; finally cut long strings."""
    name = row.get("name")
    if name is None or not str(name).strip():
        raise ApiError(422, "Name can't be blank")
    lowered = str(name).lower()
    for other in state.tables["core_workflows"].values():  # uniqueness ignores the scope
        if other.get("id") != row.get("id") and str(other.get("name", "")).lower() == lowered:
            raise ApiError(422, "Name has already been taken")
    obj = row.get("object")
    if object_changed and obj and obj not in OBJECTS:
        raise ApiError(422, f"Invalid value '{obj}' for field 'object'!")
    for column in (*BOOLEANS, "priority"):
        if row.get(column) is None:
            raise ApiError(422, f"Attribute '{column}' required!")
    for column, limit in STRING_LIMITS.items():
        # ChecksAttributeValuesAndLength runs before_create/update, after validation.
        if isinstance(row.get(column), str) and len(row[column]) > limit:
            row[column] = row[column][:limit]
