"""Links and mentions (subscriptions) of tickets, and the log of e-mails the twin "sent".

Shapes follow Zammad's source and recorded traffic:
- `GET /links?link_object=Ticket&link_object_value=ID` -> `{"links": [{"link_type",
  "link_object", "link_object_value"}], "assets": {...}}`: first the links where the ticket
  is the source (type seen from the other side: parent <-> child), then those where it is the
  target (app/models/link.rb `Link.list`, app/controllers/links_controller.rb; recorded in
  test_ticket_link_with_and_unlink_*.log).
- `POST /links/add` `{link_type, link_object_source, link_object_source_number (the ticket
  NUMBER), link_object_target, link_object_target_value (an id)}` -> 201 with the Link
  record; unknown source number -> 422 `{"error": "No such object!"}`. `DELETE /links/remove`
  removes both directions, answers 201 with the removed rows (as recorded).
- `GET /mentions?mentionable_type=Ticket&mentionable_id=ID` -> `{"mentions": [Mention]}`;
  `POST /mentions` `{mentionable_type, mentionable_id}` subscribes the *current* user (the
  token user, or the `From` user) -> 201; `DELETE /mentions/:id` only the caller's own
  (app/controllers/mentions_controller.rb, app/models/mention.rb). A mention touches the
  ticket (`update_mentionable`), which runs triggers.

Authorization as app/policies/controllers/links_controller_policy.rb and
mentions_controller_policy.rb: listing links needs agent read access to the ticket (a
missing ticket is denied alike, so ids cannot be probed); adding needs update access to the
target and read access to the source; removing, update access to the target. Mentions
(list and subscribe) need the caller to be mentionable (`Mention.mentionable?`: agent read
access; customer participants are off by default); a mention is removed by its user or an
agent with update access. Denials are 403 "Not authorized".

Twin-only: `GET /_twin/emails` lists every e-mail article that real Zammad would hand to
its mail job (Ticket::Article::EnqueueCommunicateEmailJob: type `email`, sender not
`Customer`), so tests can count the e-mails sent.
Known differences: link ids/types are not validated beyond existence of the source
ticket; deleting a ticket leaves its links and mentions (Zammad removes them).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from . import assets as asset_builder
from .context import acting_user, actor_id, body, commit, truthy, twin
from .policy import FORBIDDEN, agent_access, can
from .records import ARTICLE_SENDERS, ARTICLE_TYPES
from .state import TwinState
from .tickets import Transaction, add_mention
from .util import ApiError, to_int

bp = Blueprint("links", __name__)
twin_bp = Blueprint("twin_emails", __name__)

LINK_OBJECTS: dict[str, int] = {"Ticket": 1}  # db/seeds/links.rb (the twin links tickets only)
# Link.list shows the type as the *other* side sees it.
OTHER_SIDE: dict[str, str] = {"normal": "normal", "parent": "child", "child": "parent"}
MENTION_COLUMNS: tuple[str, ...] = (
    "id", "mentionable_type", "mentionable_id", "user_id", "updated_by_id", "created_by_id", "created_at", "updated_at",
)
LINK_COLUMNS: tuple[str, ...] = (
    "id", "link_type_id", "link_object_source_id", "link_object_source_value", "link_object_target_id",
    "link_object_target_value", "created_at", "updated_at",
)


def _link_type_id(state: TwinState, name: str) -> int:
    """Link.link_type_get: the type by name, created on first use (only `normal` is seeded, id 1)."""
    if not state.tables["link_types"]:
        state.insert("link_types", {"id": 1, "name": "normal"})
    row = state.by_name("link_types", name) or state.insert("link_types", {"name": name})
    return int(row["id"])


def _link_type_name(state: TwinState, type_id: int) -> str | None:
    row = state.find("link_types", type_id)
    return None if row is None else str(row["name"])


def _links(state: TwinState) -> list[dict[str, Any]]:
    return [row for _key, row in sorted(state.tables["links"].items())]


def _allow(allowed: bool) -> None:
    if not allowed:
        raise ApiError(403, FORBIDDEN, {"X-Failure": FORBIDDEN})


def _agent_may(state: TwinState, ticket: dict[str, Any] | None, access: str) -> bool:
    """TicketPolicy#agent_read_access? ("read") / agent_update_access? ("change"); no ticket: denied."""
    return ticket is not None and agent_access(state, acting_user(), ticket, access)


def _touch(state: TwinState, ticket_id: Any) -> None:
    # touch_reference_by_params: updated_at only, no history, no trigger.
    ticket = state.find("tickets", ticket_id)
    if ticket is not None:
        ticket["updated_at"] = state.now_iso()


@bp.get("/links")
def links_index() -> Any:
    state = twin().state
    params = body()
    object_id = LINK_OBJECTS.get(str(params.get("link_object")))
    value = to_int(params.get("link_object_value"))
    with state.lock:
        _allow(object_id is not None and _agent_may(state, state.find("tickets", value), "read"))
        found: list[dict[str, Any]] = []
        rows = _links(state)
        for row in rows:
            if (row["link_object_source_id"], row["link_object_source_value"]) == (object_id, value):
                name = _link_type_name(state, row["link_type_id"])
                found.append({"link_type": OTHER_SIDE.get(name or ""), "link_object": "Ticket",
                              "link_object_value": row["link_object_target_value"]})
        for row in rows:
            if (row["link_object_target_id"], row["link_object_target_value"]) == (object_id, value):
                found.append({"link_type": _link_type_name(state, row["link_type_id"]), "link_object": "Ticket",
                              "link_object_value": row["link_object_source_value"]})
        # Only linked tickets the caller may read are listed (links_spec.rb 'without
        # permission to linked Ticket Group').
        user = acting_user()
        found = [link for link in found
                 if (linked := state.find("tickets", link["link_object_value"])) is not None
                 and can(state, user, linked, "show")]  # fmt: skip
        assets: dict[str, Any] = {}
        for link in found:
            asset_builder.add_ticket(state, assets, state.tables["tickets"][link["link_object_value"]])
        return jsonify({"links": found, "assets": assets})


@bp.post("/links/add")
def links_add() -> Any:
    state = twin().state
    params = body()
    with state.lock:
        source = next((t for t in state.tables["tickets"].values()
                       if str(t["number"]) == str(params.get("link_object_source_number"))), None)  # fmt: skip
        if params.get("link_object_target") != "Ticket" or params.get("link_object_source") != "Ticket":
            raise ApiError(422, "The twin links tickets only")
        target_value = to_int(params.get("link_object_target_value"))
        target = state.find("tickets", target_value)
        if target is None:
            raise ApiError(404, f"Couldn't find Ticket with 'id'={params.get('link_object_target_value')}")
        _allow(_agent_may(state, target, "change") and (source is None or _agent_may(state, source, "read")))
        if source is None:
            return jsonify({"error": "No such object!"}), 422
        if source["id"] == target_value:
            raise ApiError(422, "An object cannot be linked to itself.")  # links_spec.rb (2026)
        type_id = _link_type_id(state, str(params.get("link_type") or ""))
        key = (type_id, source["id"], target_value)
        if any((r["link_type_id"], r["link_object_source_value"], r["link_object_target_value"]) == key
               for r in _links(state)):  # fmt: skip
            raise ApiError(422, "Link already exists")  # links_spec.rb 'when the link already exists' (2026)
        row = add_link(state, type_id, source["id"], int(target["id"]))
        return jsonify(state.pick(row, LINK_COLUMNS)), 201


def add_link(state: TwinState, type_id: int, source_id: int, target_id: int) -> dict[str, Any]:
    """Link.add between two tickets (also POST /tickets `links: {Ticket: {type: [ids]}}`)."""
    now = state.now_iso()
    row = state.insert("links", {
        "link_type_id": type_id, "link_object_source_id": 1,
        "link_object_source_value": source_id, "link_object_target_id": 1,
        "link_object_target_value": target_id, "created_at": now, "updated_at": now,
    })  # fmt: skip
    _touch(state, source_id)
    _touch(state, target_id)
    return row


def link_on_create(state: TwinState, ticket: dict[str, Any], links: Any) -> None:
    """TicketsController#create `links`: {"Ticket": {"parent": [id, ...], ...}}; the new
    ticket is the source of each link (ticket_spec.rb 02.02)."""
    if not isinstance(links, dict):
        return
    for target_object, by_type in links.items():
        if target_object != "Ticket" or not isinstance(by_type, dict):
            raise ApiError(422, "The twin links tickets only")
        for link_type, ids in by_type.items():
            for target in ids if isinstance(ids, list) else [ids]:
                target_id = to_int(target)
                if target_id is None or state.find("tickets", target_id) is None:
                    raise ApiError(422, f"No such object {target_object}/{target}")
                add_link(state, _link_type_id(state, str(link_type)), ticket["id"], target_id)


@bp.delete("/links/remove")
def links_remove() -> Any:
    state = twin().state
    params = body()
    with state.lock:
        name = str(params.get("link_type") or "")
        source, target = to_int(params.get("link_object_source_value")), to_int(params.get("link_object_target_value"))
        _allow(_agent_may(state, state.find("tickets", target), "change"))
        wanted = {(_link_type_id(state, name), source, target), (_link_type_id(state, OTHER_SIDE.get(name, name)), target, source)}
        removed = [r for r in _links(state)
                   if (r["link_type_id"], r["link_object_source_value"], r["link_object_target_value"]) in wanted]
        for row in removed:
            del state.tables["links"][row["id"]]
            _touch(state, row["link_object_source_value"])
            _touch(state, row["link_object_target_value"])
        return jsonify([state.pick(r, LINK_COLUMNS) for r in removed]), 201


def _mentionable(state: TwinState, params: dict[str, Any]) -> dict[str, Any]:
    """The ticket, when the caller may be mentioned on it (MentionsControllerPolicy#object_accessible?)."""
    if params.get("mentionable_type") != "Ticket":
        raise ApiError(422, "The parameter 'mentionable_type' is invalid.")
    ticket = state.find("tickets", params.get("mentionable_id"))
    _allow(_agent_may(state, ticket, "read"))  # a missing ticket is denied alike (mention_spec.rb)
    assert ticket is not None
    return ticket


@bp.get("/mentions")
def mentions_index() -> Any:
    state = twin().state
    params = body()
    with state.lock:
        ticket = _mentionable(state, params)
        rows = [state.pick(m, MENTION_COLUMNS) for _id, m in sorted(state.tables["mentions"].items())
                if m["mentionable_id"] == ticket["id"]]  # fmt: skip
        if truthy(params.get("full")):
            assets: dict[str, Any] = {}
            for row in rows:  # Mention::Assets: the mention, its user and its ticket
                asset_builder.add_user(state, assets, row["user_id"])
                asset_builder.add_ticket(state, assets, ticket)
                assets.setdefault("Mention", {})[str(row["id"])] = row
            return jsonify({"record_ids": [r["id"] for r in rows], "assets": assets})
        return jsonify({"mentions": rows})


@bp.post("/mentions")
def mentions_create() -> Any:
    state = twin().state
    params = body()
    user_id = actor_id()
    with state.lock:
        ticket = _mentionable(state, params)
        existing = next((m for m in state.tables["mentions"].values()
                         if m["mentionable_id"] == ticket["id"] and m["user_id"] == user_id), None)  # fmt: skip
        if existing is not None:  # Mention.subscribe!: already subscribed is fine (mention_spec.rb)
            return jsonify(state.pick(existing, MENTION_COLUMNS)), 201
        mention_row = add_mention(state, ticket, user_id, user_id)
        _update_mentionable(state, ticket, user_id)
        return jsonify(state.pick(mention_row, MENTION_COLUMNS)), 201


@bp.delete("/mentions/<int:mention_id>")
def mentions_destroy(mention_id: int) -> Any:
    state = twin().state
    with state.lock:
        mention = state.tables["mentions"].get(mention_id)
        ticket = None if mention is None else state.find("tickets", mention["mentionable_id"])
        _allow(mention is not None and (mention["user_id"] == actor_id() or _agent_may(state, ticket, "change")))
        assert mention is not None
        del state.tables["mentions"][mention_id]
        if ticket is not None:
            _update_mentionable(state, ticket, actor_id())
        return jsonify(state.pick(mention, MENTION_COLUMNS))


def _update_mentionable(state: TwinState, ticket: dict[str, Any], user_id: int) -> None:
    # Mention#update_mentionable saves the ticket (updated_by/updated_at): a ticket update
    # whose only changes are history-ignored, so triggers run without any attribute change.
    ticket["updated_by_id"] = user_id
    ticket["updated_at"] = state.now_iso()
    commit(Transaction("update", ticket["id"], user_id))


@twin_bp.get("/_twin/emails")
def emails_sent() -> Response:
    """E-mail articles Zammad would send: type email, sender Agent or System, oldest first."""
    state = twin().state
    ticket_filter = to_int(request.args.get("ticket_id"))
    email_type = next(ident for ident, name in ARTICLE_TYPES.items() if name == "email")
    with state.lock:
        emails = [
            {"article_id": a["id"], "ticket_id": a["ticket_id"], "to": a["to"], "cc": a["cc"], "subject": a["subject"],
             "body": a["body"], "content_type": a["content_type"], "internal": a["internal"],
             "sender": ARTICLE_SENDERS.get(a["sender_id"]), "created_by_id": a["created_by_id"],
             "created_at": a["created_at"]}
            for _id, a in sorted(state.tables["articles"].items())
            if a["type_id"] == email_type and ARTICLE_SENDERS.get(a["sender_id"]) != "Customer"
            and (ticket_filter is None or a["ticket_id"] == ticket_filter)
        ]  # fmt: skip
        return jsonify({"emails": emails})
