"""Seed data like a fresh Zammad: nobody (id 1), roles, the "Users" group, states, priorities,
a few agents and customers, plus the API token's admin+agent user and Zammad's hidden base
core workflows; optional demo tickets."""

from __future__ import annotations

import copy
from typing import Any

from .permissions import ROLE_GRANTS, ids_of
from .records import GROUP_COLUMNS, ORGANIZATION_COLUMNS, PRIORITY_COLUMNS, ROLE_COLUMNS, STATE_COLUMNS, blank, new_user
from .state import TwinState
from .tickets import add_tag, create_ticket, update_ticket
from .workflows import seed_base_workflows

API_USER_ID = 3

# Zammad's default notification matrix, as recorded on agents.
_MATRIX = {
    name: {"criteria": {"owned_by_me": True, "owned_by_nobody": own, "subscribed": own, "no": False},
           "channel": {"email": True, "online": True}}
    for name, own in (("create", True), ("update", True), ("reminder_reached", False), ("escalation", False))
}


def _stamp(state: TwinState, created_by_id: int = 1) -> dict[str, Any]:
    now = state.now_iso()
    return {"created_by_id": created_by_id, "updated_by_id": created_by_id, "created_at": now, "updated_at": now}


def seed_base(state: TwinState, api_login: str) -> None:
    """The records every fresh Zammad (plus our API user and a few people) has."""
    for ident, name, note, signup in (
        (1, "Admin", "To configure your system.", False),
        (2, "Agent", "To work on Tickets.", False),
        (3, "Customer", "People who create Tickets ask for help.", True),
    ):
        role = blank(ROLE_COLUMNS, id=ident, name=name, note=note, default_at_signup=signup,
                     active=True, preferences={}, **_stamp(state))
        role["_permission_ids"] = ids_of(ROLE_GRANTS[name])
        state.insert("roles", role)

    for ident, name, domain in ((1, "Zammad Foundation", ""), (2, "Awesome Customer Inc.", "example.com")):
        state.insert("organizations", blank(
            ORGANIZATION_COLUMNS, id=ident, name=name, shared=True, domain=domain, domain_assignment=False,
            active=True, vip=False, note="", **_stamp(state)))

    state.insert("groups", blank(
        GROUP_COLUMNS, id=1, signature_id=1, email_address_id=None, name="Users", name_last="Users",
        follow_up_possible="yes", follow_up_assignment=True, active=True, shared_drafts=True,
        note="Standard Group/Pool for Tickets.", **_stamp(state)))

    people: list[tuple[int, str, str, str, int | None, list[int]]] = [
        (1, "-", "-", "", None, []),
        (2, "nicole.braun@zammad.org", "Nicole", "Braun", 1, [3]),
        (API_USER_ID, api_login, "Zammad", "SLA", None, [1, 2]),
        (4, "emma.taylor@example.com", "Emma", "Taylor", None, [2]),
        (5, "jacob.miller@example.com", "Jacob", "Miller", None, [2]),
        (6, "samuel@example.com", "Samuel", "Lee", 2, [3]),
        (7, "emily@example.com", "Emily", "Adams", 2, [3]),
    ]
    for ident, login, first, last, org, roles in people:
        email = "" if ident == 1 else login
        preferences: dict[str, Any] = {} if ident == 1 else {"locale": "en-us"}
        if 2 in roles:
            preferences = {"notification_config": {"matrix": copy.deepcopy(_MATRIX)}, "locale": "en-us"}
        user = new_user(id=ident, login=login, firstname=first, lastname=last, email=email,
                        organization_id=org, active=ident != 1, department="", address="",
                        preferences=preferences, **_stamp(state))
        user["_role_ids"] = roles
        user["_group_ids"] = {1: ["full"]} if 2 in roles else {}
        state.insert("users", user)

    for ident, name, type_id, next_state, ignore, create, follow_up in (
        (1, "new", 1, None, False, True, False),
        (2, "open", 2, None, False, False, True),
        (3, "pending reminder", 3, None, True, False, False),
        (4, "closed", 5, None, True, False, False),
        (5, "merged", 6, None, True, False, False),
        (7, "pending close", 4, 4, True, False, False),
    ):
        state.insert("states", blank(
            STATE_COLUMNS, id=ident, name=name, state_type_id=type_id, next_state_id=next_state,
            ignore_escalation=ignore, default_create=create, default_follow_up=follow_up, active=True,
            **_stamp(state)))
    state.reserve_ids("states", 8)  # id 6 ("removed") exists, inactive, on real installs

    for ident, name, icon, color, default in (
        (1, "1 low", "low-priority", "low-priority", False),
        (2, "2 normal", None, None, True),
        (3, "3 high", "important", "high-priority", False),
    ):
        state.insert("priorities", blank(
            PRIORITY_COLUMNS, id=ident, name=name, ui_icon=icon, ui_color=color, default_create=default,
            active=True, **_stamp(state)))

    seed_base_workflows(state)


def seed_demo(state: TwinState) -> None:
    """A handful of tickets in different states for demos."""
    create_ticket(state, {
        "title": "Welcome to Zammad!", "group": "Users", "customer_id": 2,
        "article": {"body": "Welcome!", "type": "phone", "sender": "Customer"},
    }, 2)
    for title, customer, owner, state_name, priority, tags in (
        ("Printer on fire", 6, 4, "open", "3 high", ["incident"]),
        ("Invoice question", 7, 1, "new", "2 normal", []),
        ("VPN slow", 6, 5, "pending reminder", "1 low", ["network"]),
    ):
        tx = create_ticket(state, {"title": title, "group": "Users", "customer_id": customer,
                                   "article": {"body": title, "type": "email", "sender": "Customer"}}, customer)
        ticket = state.tables["tickets"][tx.ticket_id]
        update_ticket(state, ticket, {"owner_id": owner, "state": state_name, "priority": priority}, API_USER_ID)
        for tag in tags:
            add_tag(state, ticket["id"], tag, API_USER_ID)


def _role_with(state: TwinState, name: str, permissions: list[str]) -> int:
    """A role named `name` holding exactly `permissions` (created or replaced); its id."""
    permission_ids = ids_of(permissions)
    role = state.by_name("roles", name)
    if role is None:
        role = state.insert("roles", blank(ROLE_COLUMNS, name=name, note="", default_at_signup=False, active=True,
                                           preferences={}, **_stamp(state)))
    role["_permission_ids"] = permission_ids
    return int(role["id"])


def restrict_api_user(state: TwinState, permissions: list[str]) -> None:
    """Give the token's user exactly one role "zammad-sla" holding `permissions`."""
    user = state.tables["users"][API_USER_ID]
    user["_role_ids"] = [_role_with(state, "zammad-sla", permissions)]
    agent = "ticket.agent" in permissions or "ticket" in permissions
    user["_group_ids"] = {gid: ["full"] for gid in state.tables["groups"]} if agent else {}
    if not agent:
        user["preferences"] = {"locale": "en-us"}


def add_agent(state: TwinState, login: str, firstname: str = "", lastname: str = "", *,
              groups: dict[int, list[str]] | None = None, permissions: list[str] | None = None,
              active: bool = True) -> dict[str, Any]:
    """An agent with the default notification matrix; `permissions` replaces the Agent role
    by a role "<login>" holding exactly those."""
    user = add_user(state, login, firstname, lastname, roles=["Agent"],
                    groups={1: ["full"]} if groups is None else groups, active=active)
    if permissions is not None:
        user["_role_ids"] = [_role_with(state, login, permissions)]
    return user


ROLE_IDS = {"Admin": 1, "Agent": 2, "Customer": 3}


def add_user(state: TwinState, login: str, firstname: str = "", lastname: str = "", *, roles: list[str],
             groups: dict[int, list[str]] | None = None, organization_id: int | None = None,
             email: str | None = None, active: bool = True) -> dict[str, Any]:
    """A user holding Zammad's default `roles` (names: Admin, Agent, Customer), like the
    request specs' factories (`create(:admin)`, `:agent`, `:customer`, `:agent_and_customer`).

    Agents get the default notification matrix and `groups` (group id -> accesses; none
    unless given); customers none of either."""
    agent = "Agent" in roles or "Admin" in roles
    preferences: dict[str, Any] = {"locale": "en-us"}
    if agent:
        preferences = {"notification_config": {"matrix": copy.deepcopy(_MATRIX)}, "locale": "en-us"}
    user = new_user(login=login, firstname=firstname, lastname=lastname,
                    email=email if email is not None else (login if "@" in login else ""),
                    organization_id=organization_id, active=active, department="", address="",
                    preferences=preferences, **_stamp(state))
    user["_role_ids"] = [ROLE_IDS[name] for name in roles]
    user["_group_ids"] = {int(k): list(v) for k, v in (groups or {}).items()}
    return state.insert("users", user)


HARNESS_LOGIN = "admin@example.com"


def add_harness_admin(state: TwinState) -> dict[str, Any]:
    """The test harness's own admin (Admin + Agent, full group access, `admin.user` for `From`).

    Its notification matrix is all off, as an admin who muted them, so it never shows up among
    the people Zammad would notify.
    """
    user = add_agent(state, HARNESS_LOGIN, "Harness", "Admin", groups={int(g): ["full"] for g in state.tables["groups"]})
    user["_role_ids"] = [1, 2]
    for kind in user["preferences"]["notification_config"]["matrix"].values():
        kind["criteria"] = dict.fromkeys(kind["criteria"], False)
        kind["channel"] = dict.fromkeys(kind["channel"], False)
    return user
