"""Authorization as Zammad's controllers do it.

Controller policies (app/policies/controllers/*_controller_policy.rb) run in a
`prepend_before_action`, before the action looks anything up: a missing permission answers
403 even for an id that does not exist. Ticket-level policies (app/policies/ticket_policy.rb)
run after the record was found (404 first, then 403). Both failures render as
Pundit::NotAuthorizedError -> Exceptions::Forbidden('Not authorized')
(application_controller/handles_errors.rb).
"""

from __future__ import annotations

from typing import Any

from .permissions import group_access, permitted
from .state import TwinState
from .util import ApiError

FORBIDDEN = "Not authorized"
_CRUD = ("index", "show", "create", "update", "destroy")
_AGENT_READ = ["ticket.agent", "ticket.customer"]

# endpoint (blueprint.function) -> any of these permissions; None: no controller policy.
ENDPOINT_PERMISSIONS: dict[str, list[str] | None] = {}


def _crud(prefix: str, read: list[str], write: list[str]) -> None:
    for action in _CRUD:
        ENDPOINT_PERMISSIONS[f"{prefix}_{action}"] = read if action in ("index", "show") else write


# ticket_priorities / ticket_states_controller_policy.rb
_crud("resources.ticket_priorities", ["ticket.agent", "admin.ticket_priority", "ticket.customer"], ["admin.ticket_priority"])
_crud("resources.ticket_states", ["ticket.agent", "admin.ticket_state", "ticket.customer"], ["admin.ticket_state"])
# webhooks / triggers / overviews / groups / roles: default_permit!('admin.x')
_crud("resources.webhooks", ["admin.webhook"], ["admin.webhook"])
_crud("resources.triggers", ["admin.trigger"], ["admin.trigger"])
_crud("resources.overviews", ["admin.overview"], ["admin.overview"])
_crud("resources.groups", ["admin.group"], ["admin.group"])
_crud("workflows.roles", ["admin.role"], ["admin.role"])
_crud("workflows.core_workflows", ["admin.core_workflow"], ["admin.core_workflow"])
# organizations_controller_policy.rb (show? also lets members see their own organization)
_crud("resources.organizations", ["ticket.agent", "admin.organization"], ["ticket.agent", "admin.organization"])
ENDPOINT_PERMISSIONS["resources.organizations_destroy"] = ["admin.organization"]
# slas_controller_policy.rb: default_permit!('admin.sla'); calendars_controller_policy.rb:
# default_permit!('admin.calendar'), timezones also for admin.trigger / admin.scheduler.
_crud("slas.slas", ["admin.sla"], ["admin.sla"])
_crud("slas.calendars", ["admin.calendar"], ["admin.calendar"])
ENDPOINT_PERMISSIONS["slas.calendars_init"] = ["admin.calendar"]
ENDPOINT_PERMISSIONS["slas.calendars_timezones"] = ["admin.calendar", "admin.trigger", "admin.scheduler"]
# object_manager_attributes_controller_policy.rb: default_permit!('admin.object')
for _action in (*_CRUD, "execute_migrations", "discard_changes"):
    ENDPOINT_PERMISSIONS[f"resources.attributes_{_action}"] = ["admin.object"]
# users: UserPolicy is record-level in Zammad; agents may read and write customers, only
# admin.user may delete (twin simplification: no per-record distinction).
ENDPOINT_PERMISSIONS.update({
    "resources.users_me": None,
    "resources.users_index": ["ticket.agent", "admin.user"],
    "resources.users_search": ["ticket.agent", "admin.user"],
    "resources.users_show": ["ticket.agent", "admin.user"],
    "resources.users_create": ["ticket.agent", "admin.user"],
    "resources.users_update": ["ticket.agent", "admin.user"],
    "resources.users_destroy": ["admin.user"],
})
# tickets_controller_policy.rb: create needs ticket.agent or ticket.customer; the other
# actions are authorized against the ticket (see ticket_access).
ENDPOINT_PERMISSIONS.update({
    "tickets.tickets_create": _AGENT_READ,
    "tickets.ticket_history": ["ticket.agent"],
    # tags_controller_policy.rb: search?/list? true, add?/remove? object update access,
    # the tag list admin endpoints default_permit!('admin.tag')
    "tickets.tag_list_index": ["admin.tag"], "tickets.tag_list_create": ["admin.tag"],
    "tickets.tag_list_update": ["admin.tag"], "tickets.tag_list_destroy": ["admin.tag"],
})


def check_controller(state: TwinState, user: dict[str, Any] | None, endpoint: str | None) -> None:
    """The controller policy of `endpoint` for `user`; raises 403 ApiError when denied."""
    wanted = ENDPOINT_PERMISSIONS.get(endpoint or "")
    if wanted is not None and not permitted(state, user, wanted):
        raise ApiError(403, FORBIDDEN, {"X-Failure": FORBIDDEN})


def _customer_access(state: TwinState, user: dict[str, Any], ticket: dict[str, Any]) -> bool:
    if not permitted(state, user, "ticket.customer"):
        return False
    if ticket["customer_id"] == user["id"]:
        return True
    organization = state.find("organizations", ticket.get("organization_id"))
    return bool(organization and organization.get("shared") and user.get("organization_id") == organization["id"])


def agent_access(state: TwinState, user: dict[str, Any], ticket: dict[str, Any], access: str) -> bool:
    """TicketPolicy#agent_access?: ticket.agent plus that access on the ticket's group."""
    return permitted(state, user, "ticket.agent") and group_access(user, ticket["group_id"], access)


def can(state: TwinState, user: dict[str, Any], ticket: dict[str, Any], action: str) -> bool:
    """TicketPolicy: show (read), create, update (change), destroy (admin), agent_update (tags)."""
    if action == "create":
        # create?: agent_access?('create') || customer_access? (ticket_spec.rb 01.02a)
        return agent_access(state, user, ticket, "create") or _customer_access(state, user, ticket)
    if action == "show":
        return agent_access(state, user, ticket, "read") or _customer_access(state, user, ticket)
    if action == "update":
        if agent_access(state, user, ticket, "change"):
            return True
        if agent_access(state, user, ticket, "read"):
            return False
        return _customer_access(state, user, ticket)
    if action == "agent_update":
        return agent_access(state, user, ticket, "change")
    if action == "destroy":
        return permitted(state, user, "admin")
    raise ValueError(action)


def ticket_access(state: TwinState, user: dict[str, Any], ticket: dict[str, Any], action: str) -> None:
    """authorize!(ticket, action) after the lookup; 403 when denied."""
    if not can(state, user, ticket, action):
        message = "admin permission required" if action == "destroy" and can(state, user, ticket, "show") else FORBIDDEN
        raise ApiError(403, message, {"X-Failure": message})


CLOSED_STATE_TYPE = 5  # Ticket::StateType "closed"
FOLLOW_UP_REFUSED = "Cannot follow-up on a closed ticket. Please create a new ticket."


def follow_up(state: TwinState, user: dict[str, Any], ticket: dict[str, Any]) -> None:
    """TicketPolicy#follow_up? before an update or article on `ticket`: a closed ticket of a
    group with follow_up_possible 'new_ticket' is reopened only by agents with change access
    (ticket_spec.rb 'reopening a ticket'); 422 otherwise."""
    ticket_state = state.find("states", ticket.get("state_id")) or {}
    if ticket_state.get("state_type_id") != CLOSED_STATE_TYPE or agent_access(state, user, ticket, "change"):
        return
    group = state.find("groups", ticket.get("group_id")) or {}
    if group.get("follow_up_possible") == "new_ticket":
        raise ApiError(422, FOLLOW_UP_REFUSED)
