"""Which ticket fields Zammad makes mandatory on the agent's edit screen.

`PUT /api/v1/tickets/:id` sets `screen = 'edit'` (app/controllers/tickets_controller.rb
#update), so Zammad runs the core-workflow checks for the whole ticket as the API user
(app/models/concerns/checks_core_workflow.rb#check_mandatory): any field that is mandatory
there and empty fails the write with 422 "Missing required value for field 'x'!", whatever
the write was about. A field is mandatory when its object attribute's `edit` screen says so
for a permission the user holds (core_workflow/attributes.rb#attribute_mandatory?: `required`,
else `null: false`), or when an active core workflow sets it mandatory.

zammad-sla cannot know which workflow conditions match a given ticket, so it treats every
field that any rule can make mandatory as mandatory, and lifts them all for its own user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Zammad's own pending-time rule (core_workflow/custom/pending_time.rb) makes it mandatory
# in pending states; a pending ticket without one would block our writes too.
ALWAYS_LIFTED: tuple[str, ...] = ("pending_time",)


def _screen_mandatory(options: Any) -> bool:
    """attribute_mandatory? for one permission's screen options."""
    if not isinstance(options, Mapping):
        return False
    if options.get("required") is not None:
        return bool(options.get("required"))
    if options.get("null") is not None:
        return options.get("null") is False
    return False


def attribute_mandatory_on_edit(attribute: Mapping[str, Any]) -> bool:
    """True when the attribute's `edit` screen makes it mandatory for any permission."""
    edit = (attribute.get("screens") or {}).get("edit")
    if not isinstance(edit, Mapping):
        return False
    return any(_screen_mandatory(options) for options in edit.values())


def _operators(spec: Any) -> list[str]:
    # Zammad stores the operator as a string; newer versions also accept a list.
    if not isinstance(spec, Mapping):
        return []
    operator = spec.get("operator")
    return [str(o) for o in operator] if isinstance(operator, list) else [str(operator)]


def workflow_mandatory_fields(workflow: Mapping[str, Any]) -> set[str]:
    """Ticket fields an active core workflow may set mandatory."""
    if not workflow.get("active", True) or workflow.get("object") not in (None, "", "Ticket"):
        return set()
    screens = (workflow.get("preferences") or {}).get("screen")
    if screens and "edit" not in (screens if isinstance(screens, list) else [screens]):
        return set()
    fields = set()
    for key, spec in (workflow.get("perform") or {}).items():
        if str(key).startswith("ticket.") and "set_mandatory" in _operators(spec):
            fields.add(str(key).split(".", 1)[1])
    return fields


def mandatory_ticket_fields(
    attributes: Iterable[Mapping[str, Any]], workflows: Iterable[Mapping[str, Any]], *, ignore_workflow: str | None = None
) -> list[str]:
    """Custom ticket attributes mandatory on edit plus fields any other workflow makes mandatory.

    Built-in columns Zammad requires (title, group, state, priority, customer) always hold a
    value, so only editable (admin-made) attributes count.
    """
    fields = {
        str(a["name"]) for a in attributes
        if a.get("object") == "Ticket" and a.get("editable", True) and a.get("active", True)
        and attribute_mandatory_on_edit(a)
    }  # fmt: skip
    for workflow in workflows:
        if ignore_workflow is None or workflow.get("name") != ignore_workflow:
            fields |= workflow_mandatory_fields(workflow)
    return sorted(fields)


def lifted_fields(workflow: Mapping[str, Any] | None, api_user_id: int) -> set[str]:
    """Fields a workflow makes optional for our API user (empty when it does not apply to it)."""
    if workflow is None or not workflow.get("active", True):
        return set()
    condition = (workflow.get("condition_selected") or {}).get("session.id") or {}
    values = condition.get("value") if isinstance(condition, Mapping) else None
    values = values if isinstance(values, list) else [values]
    if "is" not in _operators(condition) or str(api_user_id) not in [str(v) for v in values]:
        return set()
    return {
        str(key).split(".", 1)[1] for key, spec in (workflow.get("perform") or {}).items()
        if str(key).startswith("ticket.") and "set_optional" in _operators(spec)
    }  # fmt: skip
