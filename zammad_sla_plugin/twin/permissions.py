"""Zammad's permission model: the permission table, role grants and the checks policies use.

Names and grants follow db/seeds/permissions.rb; ids follow recorded Zammad 6.x traffic
(Admin [1, 43, 55, 65], Agent [43, 57, 60, 62, 66], Customer [44, 47, 48, 50, 54, 58]).
Where the recording does not pin an id (40-42, 53-54, > 66) the name is the twin's choice.
"""

from __future__ import annotations

from typing import Any, Iterable

from .state import TwinState

_ADMIN_CHILDREN: tuple[str, ...] = (
    "user", "group", "role", "organization", "overview", "text_module", "time_accounting", "macro",
    "tag", "calendar", "sla", "trigger", "scheduler", "report_profile", "channel_web",
    "channel_formular", "channel_email", "channel_twitter", "channel_facebook", "channel_telegram",
    "channel_google", "channel_microsoft365", "channel_sms", "channel_chat", "branding",
    "setting_system", "security", "ticket", "package", "integration", "api", "object",
    "translation", "monitoring", "data_privacy", "maintenance", "session", "webhook",
    # added by later Zammad versions (ids not pinned by the recording)
    "core_workflow", "ticket_state", "ticket_priority",
)
_USER_PREFERENCES: tuple[str, ...] = (
    "password", "notifications", "access_token", "language", "linked_accounts", "device", "avatar",
    "calendar", "out_of_office", "two_factor_authentication", "overview_sorting",
)
_REST: tuple[str, ...] = (
    "report", "ticket", "ticket.agent", "ticket.customer", "chat", "chat.agent", "cti", "cti.agent",
    "admin.knowledge_base", "knowledge_base", "knowledge_base.editor", "knowledge_base.reader",
    # later additions
    "admin.checklist", "admin.public_links", "admin.system_report", "admin.ticket_auto_assignment",
    "admin.ticket_duplicate_detection", "admin.template",
)
_NAMES: list[str] = (["admin"] + [f"admin.{c}" for c in _ADMIN_CHILDREN] + ["user_preferences"]
                     + [f"user_preferences.{p}" for p in _USER_PREFERENCES] + list(_REST))
PERMISSIONS: dict[int, str] = {index + 1: name for index, name in enumerate(_NAMES)}
PERMISSION_IDS: dict[str, int] = {name: ident for ident, name in PERMISSIONS.items()}
# Permissions flagged `disabled` in the seeds: holding them grants nothing.
DISABLED: frozenset[str] = frozenset({"ticket", "chat", "cti", "knowledge_base"})

# db/seeds/permissions.rb: what the three default roles are granted.
ROLE_GRANTS: dict[str, tuple[str, ...]] = {
    "Admin": ("admin", "user_preferences", "report", "knowledge_base.editor"),
    "Agent": ("user_preferences", "ticket.agent", "chat.agent", "cti.agent", "knowledge_base.reader"),
    "Customer": ("user_preferences.password", "user_preferences.language",
                 "user_preferences.linked_accounts", "user_preferences.avatar",
                 "user_preferences.overview_sorting", "ticket.customer"),
}
GROUP_ACCESS: tuple[str, ...] = ("read", "create", "change", "overview", "full")


def ids_of(names: Iterable[str]) -> list[int]:
    """Permission ids of names; unknown names raise ValueError (a typo must not grant nothing silently)."""
    result = []
    for name in names:
        if name not in PERMISSION_IDS:
            raise ValueError(f"unknown Zammad permission {name!r}")
        result.append(PERMISSION_IDS[name])
    return sorted(result)


def held(state: TwinState, user: dict[str, Any] | None) -> set[str]:
    """Names of the permissions a user holds through its active roles."""
    if user is None or not user.get("active", True):
        return set()
    names: set[str] = set()
    for role_id in user.get("_role_ids", []):
        role = state.find("roles", role_id)
        if role is None or not role.get("active", True):
            continue
        names.update(PERMISSIONS[p] for p in role.get("_permission_ids", []) if p in PERMISSIONS)
    return names - DISABLED


def _granted_one(holding: set[str], query: str) -> bool:
    # Auth::Permissions: a parent grants its children ("admin" -> "admin.tag"); "x.*" asks
    # for any child of x.
    if query.endswith(".*"):
        return any(h.startswith(query[:-1]) for h in holding)
    parts = query.split(".")
    return any(".".join(parts[:depth]) in holding for depth in range(1, len(parts) + 1))


def permitted(state: TwinState, user: dict[str, Any] | None, queries: str | Iterable[str]) -> bool:
    """User#permissions?: true when any of `queries` is granted."""
    return granted(held(state, user), queries)


def granted(holding: set[str], queries: str | Iterable[str]) -> bool:
    """`permitted` for a permission set already read with `held` (one read per request
    when many checks are made for the same user)."""
    if isinstance(queries, str):
        return _granted_one(holding, queries)
    return any(_granted_one(holding, q) for q in queries)


def group_access(user: dict[str, Any], group_id: Any, access: str) -> bool:
    """User#group_access?: the user's access list for the group holds `access` or 'full'."""
    for gid, accesses in user.get("_group_ids", {}).items():
        if str(gid) == str(group_id) and (access in accesses or "full" in accesses):
            return True
    return False
