"""Ticket, article and tag operations with Zammad's semantics and history writing.

Each mutating call returns a `Transaction` (what changed, which article was added) that
the trigger engine evaluates once the request's work is done.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from . import workflow_engine
from .objects import column_default, validate_values
from .permissions import permitted
from .policy import agent_access
from .records import ARTICLE_SENDERS, ARTICLE_TYPES, HISTORY_IGNORED, TICKET_COLUMNS, new_article, new_ticket, new_user
from .state import TwinState
from .util import ApiError, iso, parse_date, parse_time, ruby_time_to_s, to_int

# association name -> (id column, table, how names are looked up)
ASSOCIATIONS: dict[str, tuple[str, str]] = {
    "group": ("group_id", "groups"),
    "state": ("state_id", "states"),
    "priority": ("priority_id", "priorities"),
    "owner": ("owner_id", "users"),
    "customer": ("customer_id", "users"),
    "organization": ("organization_id", "organizations"),
}
TIME_COLUMNS: frozenset[str] = frozenset(c for c in TICKET_COLUMNS if c.endswith("_at")) | {"pending_time"}
# Set by the database or by Zammad itself, never taken from params (filter_unused_params).
PROTECTED: frozenset[str] = frozenset(
    {"id", "number", "created_at", "updated_at", "created_by_id", "updated_by_id", "article_count",
     "create_article_type_id", "create_article_sender_id"}
)
HISTORY_NAME_TABLES: dict[str, str] = {
    "group_id": "groups", "state_id": "states", "priority_id": "priorities", "owner_id": "users",
    "customer_id": "users", "organization_id": "organizations",
}


@dataclass
class Transaction:
    """One ticket create/update as the trigger engine sees it."""

    kind: str  # "create" | "update"
    ticket_id: int
    user_id: int
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    article_id: int | None = None


def _lookup_association(state: TwinState, key: str, value: Any) -> int | None:
    column, table = ASSOCIATIONS[key]
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        row = state.find(table, value)
    elif table == "users":
        row = state.find_user(value)
    else:
        row = state.by_name(table, value)
    if row is None:
        raise ApiError(422, f"No lookup value found for '{key}': {json.dumps(value)}")
    return row["id"]


def association_name_to_id(state: TwinState, params: dict[str, Any]) -> dict[str, Any]:
    """Ticket.association_name_to_id_convert: `state: "open"` becomes `state_id: 2`."""
    clean = dict(params)
    for key, (column, _table) in ASSOCIATIONS.items():
        if key in clean and column not in params and clean[key] not in (None, ""):
            clean[column] = _lookup_association(state, key, clean.pop(key))
        else:
            clean.pop(key, None)  # a blank name changes nothing (ticket_spec: 'update with empty article param')
    return clean


def coerce(state: TwinState, obj: str, column: str, value: Any) -> Any:
    """Cast a param the way the database column would (ids, times, custom attribute types)."""
    if value is None or value == "":
        return None if (column.endswith("_id") or column in TIME_COLUMNS or _data_type(state, obj, column)) else value
    data_type = _data_type(state, obj, column)
    try:
        if column.endswith("_id") or data_type in ("integer", "user_autocompletion"):
            number = to_int(value)
            if number is None:
                raise ValueError(value)
            return number
        if column in TIME_COLUMNS or data_type == "datetime":
            return iso(parse_time(value))
        if data_type == "date":
            return parse_date(value).isoformat()
        if data_type in ("boolean", "active"):
            if isinstance(value, str):
                return value.lower() in ("true", "t", "1", "yes")
            return bool(value)
    except (ValueError, OverflowError):
        raise ApiError(422, f"Invalid value for param '{column}': {value!r}") from None
    if data_type in ("input", "select", "tree_select", "textarea", "richtext") and not isinstance(value, str):
        return str(value)
    return value


def _data_type(state: TwinState, obj: str, column: str) -> str | None:
    for attribute in state.tables["attributes"].values():
        if attribute["_object"] == obj and attribute["name"] == column:
            return attribute["data_type"]
    return None


def history_value(state: TwinState, obj: str, column: str, value: Any) -> str:
    """HasHistory's `value.to_s`: names for *_id columns, Ruby's to_s for everything else."""
    if value is None:
        return ""
    table = HISTORY_NAME_TABLES.get(column)
    if table is not None:
        row = state.find(table, value)
        if row is not None:
            return state.fullname(row) if table == "users" else str(row["name"])
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if (column in TIME_COLUMNS or _data_type(state, obj, column) == "datetime") and isinstance(value, str):
        return ruby_time_to_s(parse_time(value))
    return str(value)


def write_update_history(
    state: TwinState, obj: str, o_id: int, changes: dict[str, tuple[Any, Any]], user_id: int, at: str
) -> None:
    """HasHistory#history_update: one `updated` row per changed, non-ignored column."""
    for column, (old, new) in changes.items():
        if column in HISTORY_IGNORED:
            continue
        is_id = column.endswith("_id")
        state.history.add(
            object=obj, o_id=o_id, type="updated", created_by_id=user_id, created_at=at,
            attribute=column[:-3] if is_id else column,
            value_from=history_value(state, obj, column, old),
            value_to=history_value(state, obj, column, new),
            id_from=old if is_id else None, id_to=new if is_id else None,
        )


def guess_customer(state: TwinState, email: str, actor_id: int, firstname: str = "", lastname: str = "") -> int:
    """`customer_id: "guess:email"` (or a `customer` hash): find the user by email or create a customer."""
    existing = next(
        (u for u in state.tables["users"].values() if (u["email"] or "").lower() == email.lower()), None
    )
    if existing is not None:
        return existing["id"]
    if "@" not in email:
        raise ApiError(422, f"Invalid email '{email}' of customer")
    now = state.now_iso()
    user = new_user(
        login=email.lower(), email=email.lower(), firstname=firstname, lastname=lastname, department=None, address=None,
        preferences={"locale": "en-us"}, created_by_id=actor_id, updated_by_id=actor_id,
        created_at=now, updated_at=now,
    )
    user["_role_ids"] = [3]
    state.insert("users", user)
    return user["id"]


def ticket_params(state: TwinState, params: dict[str, Any], actor_id: int) -> dict[str, Any]:
    """Names to ids, guess: customers, unknown columns dropped, values cast."""
    raw = {k: v for k, v in params.items() if k not in ("article", "tags", "links", "mentions")}
    customer = raw.get("customer_id")
    if isinstance(customer, str) and customer.startswith("guess:"):
        raw["customer_id"] = guess_customer(state, customer[len("guess:"):], actor_id)
    hashed = raw.get("customer")
    if isinstance(hashed, dict):
        # TicketsController#create: a customer hash finds the user by email or creates it
        # (signup roles), unless customer_id was given.
        raw.pop("customer")
        if raw.get("customer_id") in (None, "") and hashed.get("email"):
            raw["customer_id"] = guess_customer(state, str(hashed["email"]), actor_id,
                                                str(hashed.get("firstname") or ""), str(hashed.get("lastname") or ""))
    clean = association_name_to_id(state, raw)
    # param_cleanup keeps only the columns the running process knows (see restart.py).
    columns = set(state.columns("Ticket", TICKET_COLUMNS)) - state.stale_columns("Ticket")
    result: dict[str, Any] = {}
    for key, value in clean.items():
        if key not in columns or key in PROTECTED:
            continue  # Ticket.param_cleanup silently drops what is not a column
        result[key] = coerce(state, "Ticket", key, value)
    for key, table in (("state_id", "states"), ("priority_id", "priorities"), ("group_id", "groups"),
                       ("owner_id", "users"), ("customer_id", "users"), ("organization_id", "organizations")):
        if result.get(key) is not None and state.find(table, result[key]) is None:
            # ticket_spec.rb 01.05/01.07: "Invalid value for param 'owner_id': 0"
            raise ApiError(422, f"Invalid value for param '{key}': {json.dumps(result[key])}")
    return result


def _check_workflows(state: TwinState, actor_id: int, screen: str | None, saved: dict[str, Any] | None,
                     record: dict[str, Any]) -> None:
    # ChecksCoreWorkflow#validate_workflows runs only when the controller set a screen.
    if screen is None:
        return
    user = state.find("users", actor_id)
    if user is None:
        return
    defaults = {a["name"]: column_default(a) for a in state.tables["attributes"].values() if a["_object"] == "Ticket"}
    workflow_engine.validate(state, user, "Ticket", screen, saved, record, defaults)


def create_ticket(state: TwinState, params: dict[str, Any], actor_id: int, screen: str | None = None,
                  authorize: Callable[[dict[str, Any]], None] | None = None) -> Transaction:
    """POST /tickets: the ticket, its `created` history, then the optional article.

    `screen` (TicketsController: 'create_middle') turns on the core workflow checks;
    `authorize(ticket)` runs the create policy on the ticket about to be saved."""
    if isinstance(params.get("article"), dict):
        check_article_params(params["article"])  # Zammad rolls the ticket back: nothing is stored
    clean = ticket_params(state, params, actor_id)
    if not clean.get("title"):
        raise ApiError(422, "Title can't be blank")
    if clean.get("group_id") is None:
        raise ApiError(422, "Group can't be blank")
    if clean.get("customer_id") is None:
        raise ApiError(422, "Customer can't be blank")
    now = state.now_iso()
    default_state = next((s for s in state.tables["states"].values() if s["default_create"]), None)
    default_priority = next((p for p in state.tables["priorities"].values() if p["default_create"]), None)
    ticket = new_ticket(
        number=str(next(state.ticket_number)),
        state_id=default_state["id"] if default_state else 1,
        priority_id=default_priority["id"] if default_priority else 2,
        created_by_id=actor_id, updated_by_id=actor_id, created_at=now, updated_at=now,
    )
    for column in state.custom_columns["Ticket"]:
        ticket[column] = _custom_default(state, "Ticket", column)
    ticket.update(clean)
    validate_values(state, "Ticket", ticket, set(clean), state.clock.now())
    if ticket["owner_id"] is None:
        ticket["owner_id"] = 1
    if authorize is not None:
        authorize(ticket)
    _check_workflows(state, actor_id, screen, None, ticket)
    if "organization_id" not in clean:
        customer = state.find("users", ticket["customer_id"])
        ticket["organization_id"] = customer["organization_id"] if customer else None
    state.insert("tickets", ticket)
    state.history.add(object="Ticket", o_id=ticket["id"], type="created", created_by_id=actor_id, created_at=now)
    transaction = Transaction("create", ticket["id"], actor_id)
    if isinstance(params.get("tags"), str) and params["tags"].strip():
        for tag in params["tags"].split(","):
            add_tag(state, ticket["id"], tag, actor_id)
    if isinstance(params.get("article"), dict):
        transaction.article_id = create_article(state, ticket, params["article"], actor_id)["id"]
    return transaction


def _custom_default(state: TwinState, obj: str, column: str) -> Any:
    for attribute in state.tables["attributes"].values():
        if attribute["_object"] == obj and attribute["name"] == column:
            default = attribute["data_option"].get("default")
            if attribute["data_type"] in ("boolean", "integer", "datetime", "date") and default not in ("", None):
                return coerce(state, obj, column, default)
            return None
    return None


def update_ticket(state: TwinState, ticket: dict[str, Any], params: dict[str, Any], actor_id: int,
                  screen: str | None = None) -> Transaction:
    """PUT /tickets/:id: changed columns get history; no change and no article is a no-op.

    `screen` (TicketsController: 'edit') turns on the core workflow checks, which run on
    every save, also when nothing changed (before_update)."""
    article = params.get("article")
    if isinstance(article, dict) and article:
        check_article_params(article)
    clean = ticket_params(state, params, actor_id)
    transaction = Transaction("update", ticket["id"], actor_id)
    if "customer_id" in clean and clean["customer_id"] != ticket["customer_id"] and "organization_id" not in clean:
        customer = state.find("users", clean["customer_id"])
        clean["organization_id"] = customer["organization_id"] if customer else None
    candidate = {**ticket, **clean}
    _check_workflows(state, actor_id, screen, ticket, candidate)
    clean = {k: v for k, v in candidate.items() if k in clean or ticket.get(k) != v}
    changes = {k: (ticket.get(k), v) for k, v in clean.items() if ticket.get(k) != v}
    if changes:
        validate_values(state, "Ticket", {**ticket, **clean}, set(changes), state.clock.now())
        now = state.now_iso()
        ticket.update({k: new for k, (_old, new) in changes.items()})
        ticket["updated_by_id"] = actor_id
        ticket["updated_at"] = now
        write_update_history(state, "Ticket", ticket["id"], changes, actor_id, now)
        transaction.changes = changes
    article = params.get("article")
    if isinstance(article, dict) and article:
        transaction.article_id = create_article(state, ticket, article, actor_id)["id"]
    return transaction


def delete_ticket(state: TwinState, ticket: dict[str, Any]) -> None:
    """DELETE /tickets/:id: ticket, articles, tags and their history rows go."""
    for article_id in state.article_ids(ticket["id"]):
        state.tables["articles"].pop(article_id, None)
        state.history.remove("Ticket::Article", article_id)
    state.tags.pop(ticket["id"], None)
    state.history.remove("Ticket", ticket["id"])
    state.tables["tickets"].pop(ticket["id"], None)


def _lookup_id(names: dict[int, str], value: Any, kind: str) -> int:
    number = to_int(value)
    if number is not None and number in names:
        return number
    for ident, name in names.items():
        if name == value:
            return ident
    raise ApiError(422, f"No lookup value found for '{kind}': {json.dumps(value)}")


def check_article_params(params: dict[str, Any]) -> None:
    """CreatesTicketArticles#article_create's checks: a body, and attachments with
    'mime-type', 'filename' and valid base64 'data' (messages as ticket_spec.rb 01.03, 01.12,
    01.15, 01.16 state them)."""
    if params.get("body") is None:
        raise ApiError(422, 'Need at least article: { body: "some text" }')
    for index, item in enumerate(params.get("attachments") or []):
        if not isinstance(item, dict):
            continue
        for key in ("mime-type", "filename", "data"):
            if not item.get(key):
                raise ApiError(422, f"Attachment needs '{key}' param for attachment with index '{index}'")
        try:
            _attachment_content(item)
        except (binascii.Error, ValueError):
            raise ApiError(422, f"Invalid base64 for attachment with index '{index}'") from None


def _attachment_content(item: dict[str, Any]) -> bytes:
    """Base64.strict_decode64 of an attachment's data without line breaks."""
    return base64.b64decode(str(item["data"]).replace("\r", "").replace("\n", ""), validate=True)


def _attachments(state: TwinState, raw: Any) -> list[dict[str, Any]]:
    """The stored attachments of an article whose params check_article_params accepted."""
    result = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        content = _attachment_content(item)
        size = len(content)
        ident = next(state.attachment_ids)
        state.attachment_data[ident] = content
        result.append({
            "id": ident, "store_file_id": ident, "filename": item.get("filename") or "",
            "size": str(size), "preferences": {"Mime-Type": item.get("mime-type") or "application/octet-stream"},
        })
    return result


def create_article(state: TwinState, ticket: dict[str, Any], params: dict[str, Any], actor_id: int) -> dict[str, Any]:
    """An article on `ticket` (POST /ticket_articles or nested `article`), with history."""
    check_article_params(params)
    actor = state.find("users", actor_id) or {}
    agent = permitted(state, actor, "ticket.agent")
    type_id = _lookup_id(ARTICLE_TYPES, params.get("type_id", params.get("type", "note")), "type")
    default_sender = "Agent" if agent else "Customer"
    sender_id = _lookup_id(ARTICLE_SENDERS, params.get("sender_id", params.get("sender", default_sender)), "sender")
    origin_by_id = to_int(params.get("origin_by_id"))
    if params.get("origin_by") not in (None, "") and "origin_by_id" not in params:  # association_name_to_id_convert
        origin = state.find_user(params["origin_by"])
        if origin is None:
            raise ApiError(422, f"No lookup value found for 'origin_by': {json.dumps(params['origin_by'])}")
        origin_by_id = origin["id"]
    internal = bool(params.get("internal", False))
    if not agent:
        # CreatesTicketArticles#article_create: a customer writes as Customer, a note or web
        # article, public, and cannot claim another origin.
        sender_id, origin_by_id, internal = SENDER_IDS["Customer"], None, False
        if ARTICLE_TYPES[type_id] not in ("note", "web"):
            type_id = ARTICLE_TYPE_IDS["note"]
    origin_by_id = _origin_by(state, ticket, actor, type_id, sender_id, origin_by_id)
    from_value, sender_id, origin_by_id = _general_metadata(
        state, ticket, actor, agent, type_id, sender_id, origin_by_id, params.get("from"))
    now = state.now_iso()
    article = new_article(
        ticket_id=ticket["id"], type_id=type_id, sender_id=sender_id, body=params.get("body") or "",
        internal=internal, content_type=params.get("content_type") or "text/plain",
        subject=params.get("subject"), to=params.get("to"), cc=params.get("cc"), reply_to=params.get("reply_to"),
        **{"from": from_value}, origin_by_id=origin_by_id,
        message_id=params.get("message_id"), in_reply_to=params.get("in_reply_to"),
        created_by_id=actor_id, updated_by_id=actor_id, created_at=now, updated_at=now,
    )
    article["_attachments"] = _attachments(state, params.get("attachments"))
    state.insert("articles", article)
    state.history.add(
        object="Ticket::Article", o_id=article["id"], type="created", created_by_id=actor_id,
        created_at=now, related_object="Ticket", related_o_id=ticket["id"],
    )
    # Users mentioned in the body (<a data-mention-user-id="7">) are subscribed
    # (article_spec.rb 'does ticket create with mentions').
    for mentioned in _MENTIONED.findall(article["body"] or ""):
        if state.find("users", int(mentioned)) is not None:
            add_mention(state, ticket, int(mentioned), actor_id)
    ticket["article_count"] = (ticket.get("article_count") or 0) + 1
    if ticket.get("create_article_type_id") is None:
        ticket["create_article_type_id"] = type_id
        ticket["create_article_sender_id"] = sender_id
    ticket["updated_at"] = now
    return article


SENDER_IDS: dict[str, int] = {name: ident for ident, name in ARTICLE_SENDERS.items()}
ARTICLE_TYPE_IDS: dict[str, int] = {name: ident for ident, name in ARTICLE_TYPES.items()}
# Types whose `from` the channel sets (AddsMetadataGeneral leaves them alone).
_CHANNEL_TYPES = frozenset({"email", "twitter status", "twitter direct-message", "facebook feed post",
                            "facebook feed comment", "sms"})


def _origin_by(state: TwinState, ticket: dict[str, Any], actor: dict[str, Any], type_id: int, sender_id: int,
               origin_by_id: int | None) -> int | None:
    """Ticket::Article::AddsMetadataOriginById: a Customer note/phone/web article without an
    origin comes from the ticket's customer (unless the writer shares its organization)."""
    if origin_by_id is not None or not ticket.get("customer_id") or sender_id != SENDER_IDS["Customer"]:
        return origin_by_id
    if ARTICLE_TYPES[type_id] not in ("phone", "note", "web"):
        return None
    organization = state.find("organizations", actor.get("organization_id"))
    customer = state.find("users", ticket["customer_id"]) or {}
    if organization and organization.get("shared") and customer.get("organization_id") == organization["id"]:
        return None
    return int(ticket["customer_id"])


def _general_metadata(state: TwinState, ticket: dict[str, Any], actor: dict[str, Any], agent: bool, type_id: int,
                      sender_id: int, origin_by_id: int | None, given_from: Any) -> tuple[Any, int, int | None]:
    """Ticket::Article::AddsMetadataGeneral: `from` is the writer's name (or the origin's,
    then sent as Customer) on every non-channel type; web/phone articles of a customer add
    the address. Returns (from, sender_id, origin_by_id)."""
    if ARTICLE_TYPES[type_id] in _CHANNEL_TYPES:
        return given_from, sender_id, origin_by_id
    user_id = actor.get("id")
    if origin_by_id is not None:
        if not agent:
            origin_by_id = user_id
        # `origin_by != created_by_id` compares a User with an id: always true in Zammad.
        sender_id, user_id = SENDER_IDS["Customer"], origin_by_id
    user = state.find("users", user_id)
    if user is None:
        return given_from, sender_id, origin_by_id
    name = f"{user.get('firstname') or ''} {user.get('lastname') or ''}"
    if ARTICLE_TYPES[type_id] in ("web", "phone") and not agent_access(state, user, ticket, "read"):
        return f"{name} <{user.get('email') or ''}>", sender_id, origin_by_id
    return name, sender_id, origin_by_id


def add_mention(state: TwinState, ticket: dict[str, Any], user_id: int, actor: int) -> dict[str, Any]:
    """Mention.subscribe!: `user_id` subscribed to `ticket` (the existing Mention if already)."""
    for existing in state.tables["mentions"].values():
        if existing["mentionable_id"] == ticket["id"] and existing["user_id"] == user_id:
            return existing
    now = state.now_iso()
    return state.insert("mentions", {
        "mentionable_type": "Ticket", "mentionable_id": ticket["id"],
        "user_id": user_id, "updated_by_id": actor, "created_by_id": actor, "created_at": now, "updated_at": now,
    })  # fmt: skip


_MENTIONED = re.compile(r"""data-mention-user-id=["']?(\d+)""")


def ticket_tags(state: TwinState, ticket_id: int) -> list[str]:
    """Tag names of a ticket in the order they were added."""
    return [t["name"] for t in state.tags.get(ticket_id, [])]


def add_tag(state: TwinState, ticket_id: int, name: str, actor_id: int) -> None:
    """Tag.tag_add: duplicates are ignored; new tags write an `added` history row."""
    name = str(name).strip()
    if not name:
        return
    state.tag_item(name)
    if name in ticket_tags(state, ticket_id):
        return
    state.tags.setdefault(ticket_id, []).append({"name": name, "created_by_id": actor_id})
    now = state.now_iso()
    state.history.add(object="Ticket", o_id=ticket_id, type="added", created_by_id=actor_id,
                      created_at=now, attribute="tag", value_to=name)
    _touch(state, ticket_id, now)


def remove_tag(state: TwinState, ticket_id: int, name: str) -> None:
    """Tag.tag_remove: the `removed` row carries the tag's creator (as Zammad's callback does)."""
    name = str(name).strip()
    kept: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    for tag in state.tags.get(ticket_id, []):
        (removed if tag["name"] == name else kept).append(tag)
    state.tags[ticket_id] = kept
    now = state.now_iso()
    for tag in removed:
        state.history.add(object="Ticket", o_id=ticket_id, type="removed", created_by_id=tag["created_by_id"],
                          created_at=now, attribute="tag", value_to=name)
    if removed:
        _touch(state, ticket_id, now)


def _touch(state: TwinState, ticket_id: int, now: str) -> None:
    # touch_reference_by_params: bumps updated_at only (no history, no trigger).
    ticket = state.find("tickets", ticket_id)
    if ticket is not None:
        ticket["updated_at"] = now


def new_delivery_id() -> str:
    """An ActiveJob-style job id (uuid4)."""
    return str(uuid.uuid4())

