"""In-memory state of the twin: tables, id counters, lookups and Zammad's JSON renderings.

Every mutation happens under `TwinState.lock` (an RLock); handlers take it for the whole
request so each API call is atomic, like a database transaction.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Iterable

from .clock import TwinClock
from .history import HistoryLog
from .records import (
    ARTICLE_COLUMNS, ARTICLE_SENDERS, ARTICLE_TYPES, GROUP_COLUMNS, ORGANIZATION_COLUMNS,
    PRIORITY_COLUMNS, ROLE_COLUMNS, STATE_COLUMNS, TICKET_COLUMNS, USER_COLUMNS,
)
from .util import iso, not_found

STATE_TYPES: dict[int, str] = {
    1: "new", 2: "open", 3: "pending reminder", 4: "pending action", 5: "closed",
    6: "merged", 7: "removed",
}

# Model names as Zammad spells them in "Couldn't find X" errors.
MODEL_NAMES: dict[str, str] = {
    "tickets": "Ticket", "users": "User", "organizations": "Organization", "groups": "Group",
    "states": "Ticket::State", "priorities": "Ticket::Priority", "articles": "Ticket::Article",
    "roles": "Role", "attributes": "ObjectManager::Attribute", "webhooks": "Webhook",
    "triggers": "Trigger", "overviews": "Overview", "core_workflows": "CoreWorkflow",
    "links": "Link", "link_types": "Link::Type", "mentions": "Mention",
    "slas": "Sla", "calendars": "Calendar",
}

# Objects whose tables can get custom columns through the object manager.
CUSTOM_OBJECTS: tuple[str, ...] = ("Ticket", "Organization", "User", "Group")
OBJECT_TABLES: dict[str, str] = {
    "Ticket": "tickets", "Organization": "organizations", "User": "users", "Group": "groups",
}


class TwinState:
    """All twin data plus the helpers that render it in Zammad's shapes."""

    def __init__(self, clock: TwinClock, api_login: str = "zammad-sla@example.com") -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.api_login = api_login
        self.tables: dict[str, dict[int, dict[str, Any]]] = {
            name: {} for name in MODEL_NAMES
        }
        self._counters: dict[str, itertools.count[int]] = {}
        self.tags: dict[int, list[dict[str, Any]]] = {}
        self.history = HistoryLog()
        self.custom_columns: dict[str, list[str]] = {name: [] for name in CUSTOM_OBJECTS}
        self.ticket_number = itertools.count(67001)
        self.attachment_ids = itertools.count(1)
        self.attachment_data: dict[int, bytes] = {}  # Store content by attachment id
        # Tag::Item: the tag list (id -> name); ids never reused.
        self.tag_items: dict[int, str] = {}
        self.tag_item_ids = itertools.count(1)
        # Twin-configurable Zammad settings (Setting.get): see TwinServer / POST /_twin/settings.
        self.settings: dict[str, Any] = {"tag_new": True, "auto_shutdown": True, "locale_default": "en-us"}
        # Set by TwinServer: knows which migrated columns the running processes do not know yet.
        self.restart: Any = None

    def stale_columns(self, obj: str) -> set[str]:
        """Columns of `obj` migrated since the last restart (unknown to the running processes)."""
        return set() if self.restart is None else self.restart.stale(obj)

    def tag_item(self, name: str) -> int:
        """Tag::Item.lookup_by_name_and_create: the item id of `name`."""
        for ident, existing in self.tag_items.items():
            if existing == name:
                return ident
        ident = next(self.tag_item_ids)
        self.tag_items[ident] = name
        return ident

    # ----------------------------------------------------------------- ids and time
    def next_id(self, table: str, start: int = 1) -> int:
        """Next id for `table` (ids are never reused, like database sequences)."""
        counter = self._counters.get(table)
        if counter is None:
            existing = max(self.tables[table], default=start - 1)
            counter = self._counters[table] = itertools.count(max(existing + 1, start))
        return next(counter)

    def reserve_ids(self, table: str, start: int) -> None:
        """Make the next id of `table` at least `start`."""
        self._counters[table] = itertools.count(
            max(start, max(self.tables[table], default=0) + 1)
        )

    def now_iso(self) -> str:
        """Twin time in Zammad's format."""
        return iso(self.clock.now()) or ""

    def insert(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store `record`, assigning an id when it has none."""
        if record.get("id") is None:
            record["id"] = self.next_id(table)
        self.tables[table][record["id"]] = record
        return record

    def get(self, table: str, ident: Any) -> dict[str, Any]:
        """Row by id or raise Zammad's 404."""
        try:
            key = int(ident)
        except (TypeError, ValueError):
            raise not_found(MODEL_NAMES[table], ident) from None
        record = self.tables[table].get(key)
        if record is None:
            raise not_found(MODEL_NAMES[table], ident)
        return record

    def find(self, table: str, ident: Any) -> dict[str, Any] | None:
        """Row by id or None."""
        try:
            return self.tables[table].get(int(ident))
        except (TypeError, ValueError):
            return None

    def by_name(self, table: str, name: Any) -> dict[str, Any] | None:
        """Row whose `name` equals `name` (states, priorities, groups, organizations)."""
        for record in self.tables[table].values():
            if record.get("name") == name:
                return record
        return None

    # ----------------------------------------------------------------- users
    def find_user(self, ref: Any) -> dict[str, Any] | None:
        """User by id, login or email (the `From` header's lookup order)."""
        if ref is None:
            return None
        text = str(ref).strip()
        if text.isdigit() and int(text) in self.tables["users"]:
            return self.tables["users"][int(text)]
        lowered = text.lower()
        for field in ("login", "email"):
            for user in self.tables["users"].values():
                if (user.get(field) or "").lower() == lowered and lowered:
                    return user
        return None

    @staticmethod
    def fullname(user: dict[str, Any] | None) -> str:
        """User#fullname: first and last name, else email, else login."""
        if user is None:
            return ""
        name = f"{user.get('firstname') or ''} {user.get('lastname') or ''}".strip()
        return name or user.get("email") or user.get("login") or ""

    def login_of(self, user_id: Any) -> str | None:
        """Login of a user id (association names use logins)."""
        user = self.find("users", user_id)
        return None if user is None else user["login"]

    def is_agent(self, user: dict[str, Any]) -> bool:
        """Has the Agent (or Admin) role."""
        return bool({1, 2} & set(user.get("_role_ids", [])))

    # ----------------------------------------------------------------- columns
    def columns(self, obj: str, base: tuple[str, ...]) -> list[str]:
        """Base columns plus migrated custom attribute columns, in table order."""
        return list(base) + list(self.custom_columns.get(obj, []))

    @staticmethod
    def pick(record: dict[str, Any], columns: Iterable[str]) -> dict[str, Any]:
        """The JSON `attributes` of a row: exactly `columns`, in order."""
        return {column: record.get(column) for column in columns}

    # ----------------------------------------------------------------- renderings
    def ticket_attributes(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Ticket#attributes (GET /tickets/:id without expand, merge results)."""
        return self.pick(ticket, self.columns("Ticket", TICKET_COLUMNS))

    def ticket_with_ids(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Ticket#attributes_with_association_ids (create/update responses, assets)."""
        data = self.ticket_attributes(ticket)
        data["article_ids"] = self.article_ids(ticket["id"])
        data["ticket_time_accounting_ids"] = []
        return data

    def ticket_with_names(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Ticket#attributes_with_association_names (expand=true)."""
        data = self.ticket_with_ids(ticket)
        group = self.find("groups", ticket["group_id"])
        if group is not None:
            data["group"] = group["name"]
        organization = self.find("organizations", ticket["organization_id"])
        if organization is not None:
            data["organization"] = organization["name"]
        data["ticket_time_accounting"] = []
        for key, table in (("state", "states"), ("priority", "priorities")):
            row = self.find(table, ticket[f"{key}_id"])
            if row is not None:
                data[key] = row["name"]
        for key in ("owner", "customer", "created_by", "updated_by"):
            login = self.login_of(ticket[f"{key}_id"])
            if login is not None:
                data[key] = login
        if ticket["create_article_type_id"] in ARTICLE_TYPES:
            data["create_article_type"] = ARTICLE_TYPES[ticket["create_article_type_id"]]
        if ticket["create_article_sender_id"] in ARTICLE_SENDERS:
            data["create_article_sender"] = ARTICLE_SENDERS[ticket["create_article_sender_id"]]
        return data

    def article_ids(self, ticket_id: int) -> list[int]:
        """Ids of a ticket's articles, oldest first."""
        return sorted(a["id"] for a in self.tables["articles"].values() if a["ticket_id"] == ticket_id)

    def article_attributes(self, article: dict[str, Any]) -> dict[str, Any]:
        """Ticket::Article#attributes plus attachments (assets shape)."""
        data = self.pick(article, ARTICLE_COLUMNS)
        data["attachments"] = [dict(a) for a in article.get("_attachments", [])]
        return data

    def article_render(self, article: dict[str, Any]) -> dict[str, Any]:
        """The article JSON of /ticket_articles endpoints (attributes + names)."""
        data = self.article_attributes(article)
        data["created_by"] = self.login_of(article["created_by_id"])
        data["updated_by"] = self.login_of(article["updated_by_id"])
        data["type"] = ARTICLE_TYPES.get(article["type_id"])
        data["sender"] = ARTICLE_SENDERS.get(article["sender_id"])
        data["time_unit"] = None
        return data

    def user_with_ids(self, user: dict[str, Any]) -> dict[str, Any]:
        """User#attributes_with_association_ids."""
        data = self.pick(user, self.columns("User", USER_COLUMNS))
        data["role_ids"] = list(user.get("_role_ids", []))
        data["two_factor_preference_ids"] = []
        data["organization_ids"] = list(user.get("_organization_ids", []))
        data["authorization_ids"] = []
        data["overview_sorting_ids"] = []
        data["group_ids"] = {str(k): list(v) for k, v in user.get("_group_ids", {}).items()}
        return data

    def user_with_names(self, user: dict[str, Any]) -> dict[str, Any]:
        """User#attributes_with_association_names."""
        data = self.user_with_ids(user)
        organization = self.find("organizations", user["organization_id"])
        if organization is not None:
            data["organization"] = organization["name"]
        data["roles"] = [self.tables["roles"][r]["name"] for r in data["role_ids"] if r in self.tables["roles"]]
        data["two_factor_preferences"] = []
        data["organizations"] = [
            self.tables["organizations"][o]["name"] for o in data["organization_ids"]
            if o in self.tables["organizations"]
        ]
        data["authorizations"] = []
        data["overview_sortings"] = []
        data["groups"] = {
            self.tables["groups"][int(g)]["name"]: access for g, access in data["group_ids"].items()
            if int(g) in self.tables["groups"]
        }
        data["created_by"] = self.login_of(user["created_by_id"])
        data["updated_by"] = self.login_of(user["updated_by_id"])
        return data

    def organization_with_ids(self, organization: dict[str, Any]) -> dict[str, Any]:
        """Organization#attributes_with_association_ids."""
        data = self.pick(organization, self.columns("Organization", ORGANIZATION_COLUMNS))
        data["member_ids"] = sorted(
            u["id"] for u in self.tables["users"].values() if u["organization_id"] == organization["id"]
        )
        data["secondary_member_ids"] = []
        return data

    def organization_with_names(self, organization: dict[str, Any]) -> dict[str, Any]:
        """Organization#attributes_with_association_names."""
        data = self.organization_with_ids(organization)
        data["members"] = [self.login_of(u) for u in data["member_ids"]]
        data["secondary_members"] = []
        data["created_by"] = self.login_of(organization["created_by_id"])
        data["updated_by"] = self.login_of(organization["updated_by_id"])
        return data

    def group_with_ids(self, group: dict[str, Any]) -> dict[str, Any]:
        """Group#attributes_with_association_ids."""
        data = self.pick(group, self.columns("Group", GROUP_COLUMNS))
        data["user_ids"] = sorted(
            u["id"] for u in self.tables["users"].values() if str(group["id"]) in
            {str(k) for k in u.get("_group_ids", {})}
        )
        return data

    def group_with_names(self, group: dict[str, Any]) -> dict[str, Any]:
        """Group#attributes_with_association_names."""
        data = self.group_with_ids(group)
        data["created_by"] = self.login_of(group["created_by_id"])
        data["updated_by"] = self.login_of(group["updated_by_id"])
        if group.get("signature_id"):
            data["signature"] = "default"
        data["users"] = [self.login_of(u) for u in data["user_ids"]]
        return data

    def state_attributes(self, state: dict[str, Any]) -> dict[str, Any]:
        """Ticket::State#attributes."""
        return self.pick(state, STATE_COLUMNS)

    def state_with_names(self, state: dict[str, Any]) -> dict[str, Any]:
        """Ticket::State#attributes_with_association_names."""
        data = self.state_attributes(state)
        data["state_type"] = STATE_TYPES.get(state["state_type_id"])
        next_state = self.find("states", state["next_state_id"])
        if next_state is not None:
            data["next_state"] = next_state["name"]
        data["created_by"] = self.login_of(state["created_by_id"])
        data["updated_by"] = self.login_of(state["updated_by_id"])
        return data

    def priority_attributes(self, priority: dict[str, Any]) -> dict[str, Any]:
        """Ticket::Priority#attributes."""
        return self.pick(priority, PRIORITY_COLUMNS)

    def priority_with_names(self, priority: dict[str, Any]) -> dict[str, Any]:
        """Ticket::Priority#attributes_with_association_names."""
        data = self.priority_attributes(priority)
        data["created_by"] = self.login_of(priority["created_by_id"])
        data["updated_by"] = self.login_of(priority["updated_by_id"])
        return data

    def role_with_ids(self, role: dict[str, Any]) -> dict[str, Any]:
        """Role#attributes_with_association_ids (assets)."""
        data = self.pick(role, ROLE_COLUMNS)
        data["permission_ids"] = list(role.get("_permission_ids", []))
        data["knowledge_base_permission_ids"] = []
        data["group_ids"] = {}
        return data
