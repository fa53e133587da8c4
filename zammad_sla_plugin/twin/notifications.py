"""Who Zammad would notify of a ticket change (app/models/transaction/notification.rb).

Nothing is sent: each (ticket, recipient) decision is appended to a log served at
GET /_twin/notifications. Recipients: group members with 'full' access, mentioned users with
read access, the owner (unless nobody); each filtered by the user's notification matrix
(NotificationFactory::Mailer.notification_settings). Skipped: the updater (the article's
updater when there is an article), inactive users, and for an update without article users
for whom the human changes (attributes visible to them, ChecksHumanChanges) are empty.
"""

from __future__ import annotations

import threading
from typing import Any

from .objects import visible_attributes
from .permissions import group_access
from .records import ARTICLE_SENDERS
from .state import TwinState
from .tickets import HISTORY_NAME_TABLES, Transaction

REASON_OWNER = "You are receiving this because you are the owner of this ticket."
REASON_MENTION = "You are receiving this because you were mentioned in this ticket."
REASON_GROUP = "You are receiving this because you are a member of the group of this ticket."


class NotificationLog:
    """Thread-safe list of notification decisions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def extend(self, entries: list[dict[str, Any]]) -> None:
        """Append entries."""
        with self._lock:
            self._entries.extend(entries)

    def entries(self) -> list[dict[str, Any]]:
        """A copy of every entry, oldest first."""
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


def _mentioned(state: TwinState, ticket_id: int) -> list[int]:
    table = state.tables.get("mentions") or {}
    return [m["user_id"] for m in table.values()
            if m.get("mentionable_type", "Ticket") == "Ticket" and m.get("mentionable_id") == ticket_id]


def settings_for(state: TwinState, user: dict[str, Any], ticket: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """NotificationFactory::Mailer.notification_settings: the channels, or None."""
    config = (user.get("preferences") or {}).get("notification_config") or {}
    matrix = config.get("matrix")
    if not matrix:
        return None
    owned_by_nobody = ticket["owner_id"] == 1
    owned_by_me = ticket["owner_id"] == user["id"]
    subscribed = not owned_by_me and user["id"] in _mentioned(state, ticket["id"])
    if not owned_by_me and not subscribed:
        selected = config.get("group_ids")
        if isinstance(selected, list) and selected and selected != ["-"]:
            if str(ticket["group_id"]) not in {str(g) for g in selected}:
                return None
    data = matrix.get("escalation" if kind == "escalation_warning" else kind)
    if not data or not data.get("criteria") or not data.get("channel"):
        return None
    criteria = data["criteria"]
    if (criteria.get("owned_by_me") and owned_by_me) or (criteria.get("owned_by_nobody") and owned_by_nobody) \
            or (criteria.get("subscribed") and subscribed) or criteria.get("no"):
        return data["channel"]
    return None


def human_changes(state: TwinState, changes: dict[str, tuple[Any, Any]], user: dict[str, Any]) -> dict[str, list[str]]:
    """ChecksHumanChanges#human_changes: changed attributes visible to `user`, display-named."""
    attributes = {a["name"]: a for a in visible_attributes(state, "Ticket", user)}
    result: dict[str, list[str]] = {}
    for key, (old, new) in changes.items():
        attribute = attributes.get(key)
        if attribute is None:
            continue
        values = [old, new]
        table = HISTORY_NAME_TABLES.get(key)
        if table is not None:
            values = [_relation_name(state, table, v) for v in values]
        display = attribute.get("display") or (key[:-3] if key.endswith("_id") else key)
        result[str(display)] = ["" if v is None else (str(v).lower() if isinstance(v, bool) else str(v)) for v in values]
    return result


def _relation_name(state: TwinState, table: str, ident: Any) -> Any:
    row = state.find(table, ident)
    if row is None:
        return ident
    return row.get("name") or state.fullname(row)


def recipients(state: TwinState, transaction: Transaction) -> list[dict[str, Any]]:
    """The notification entries Transaction::Notification#perform would produce."""
    ticket = state.find("tickets", transaction.ticket_id)
    if ticket is None:
        return []
    article = state.find("articles", transaction.article_id) if transaction.article_id else None
    if article is not None and ARTICLE_SENDERS.get(article["sender_id"]) == "System":
        wants = (article.get("preferences") or {}).get("notification") is True
        if not transaction.changes and not wants:
            return []
        if not wants:
            article = None
    users = state.tables["users"]
    possible = sorted((u for u in users.values() if group_access(u, ticket["group_id"], "full")), key=lambda u: u["login"])
    reasons: dict[int, str] = {}
    for user_id in _mentioned(state, ticket["id"]):
        user = users.get(user_id)
        if user is not None and group_access(user, ticket["group_id"], "read"):
            possible.append(user)
            reasons[user_id] = REASON_MENTION
    if ticket["owner_id"] != 1 and ticket["owner_id"] in users:
        possible.append(users[ticket["owner_id"]])
        reasons[ticket["owner_id"]] = REASON_OWNER
    chosen: list[tuple[dict[str, Any], dict[str, Any]]] = []
    seen: set[int] = set()
    for user in possible:
        channels = settings_for(state, user, ticket, transaction.kind)
        if channels is None or user["id"] in seen:
            continue
        seen.add(user["id"])
        chosen.append((user, channels))
        reasons.setdefault(user["id"], REASON_GROUP)
    entries = []
    for user, channels in chosen:
        if article is not None and article["updated_by_id"] == user["id"]:
            continue
        if article is None and transaction.user_id == user["id"]:
            continue
        if not user.get("active", True):
            continue
        changes = human_changes(state, transaction.changes, user)
        if transaction.kind == "update" and article is None and not changes:
            continue
        used = ["online"] if channels.get("online") else []
        if channels.get("email") and user.get("email"):
            used.append("email")
        if not used:
            continue
        entries.append({
            "ticket_id": ticket["id"], "user_id": user["id"], "login": user["login"], "type": transaction.kind,
            "channels": used, "reason": reasons[user["id"]],
            "article_id": article["id"] if article is not None else None, "changes": changes,
            "caused_by_id": transaction.user_id,  # twin-only: whose change it was
        })
    return entries
