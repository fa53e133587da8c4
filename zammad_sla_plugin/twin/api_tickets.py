"""Ticket endpoints: tickets, search, history, tags and articles."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from . import api_links
from . import assets as asset_builder
from .context import actor_id, acting_user, body, commit, expand, paginate, truthy, twin
from .permissions import permitted
from .policy import FORBIDDEN, can, follow_up, ticket_access
from .selector import Context, matches, normalize
from .state import TwinState
from .tickets import Transaction, add_mention, add_tag, create_article, create_ticket, delete_ticket, remove_tag, ticket_tags, update_ticket
from .util import ApiError, parse_time

bp = Blueprint("tickets", __name__)


def _full(state: TwinState, tickets: list[dict[str, Any]]) -> dict[str, Any]:
    """`full=true`: the tickets as assets (ApplicationController::RendersModels)."""
    assets: dict[str, Any] = {}
    for ticket in tickets:
        asset_builder.add_ticket(state, assets, ticket)
    return assets


def _render_one(state: TwinState, ticket: dict[str, Any], attributes_only: bool = False) -> Any:
    if truthy(body().get("full")):
        return {"id": ticket["id"], "assets": _full(state, [ticket])}
    if expand():
        return state.ticket_with_names(ticket)
    return state.ticket_attributes(ticket) if attributes_only else state.ticket_with_ids(ticket)


@bp.get("/tickets")
def tickets_index() -> Any:
    state = twin().state
    with state.lock:
        user = acting_user()
        readable = [t for t in state.tables["tickets"].values() if can(state, user, t, "show")]  # ReadScope
        rows = paginate(sorted(readable, key=lambda t: t["id"]), 100, 100)
        if truthy(body().get("full")):
            return jsonify({"record_ids": [t["id"] for t in rows], "assets": _full(state, rows)})
        if expand():
            return jsonify([state.ticket_with_names(t) for t in rows])
        return jsonify([state.ticket_attributes(t) for t in rows])


# TicketsController#create: what a user without ticket.agent may not choose (it is the customer).
_AGENT_ONLY_PARAMS = ("owner", "owner_id", "customer", "customer_id", "organization", "organization_id", "preferences")


@bp.post("/tickets")
def tickets_create() -> Any:
    state = twin().state
    with state.lock:
        user = acting_user()
        params = body()
        if not permitted(state, user, "ticket.agent"):
            params = {k: v for k, v in params.items() if k not in _AGENT_ONLY_PARAMS}
            params["customer_id"] = user["id"]
        transaction = create_ticket(state, params, actor_id(), screen="create_middle",
                                    authorize=lambda t: ticket_access(state, user, t, "create"))
        ticket = state.tables["tickets"][transaction.ticket_id]
        for user_id in params.get("mentions") or []:
            add_mention(state, ticket, int(user_id), actor_id())
        api_links.link_on_create(state, ticket, params.get("links"))
        commit(transaction)
        return jsonify(_render_one(state, ticket)), 201


@bp.get("/tickets/<int:ticket_id>")
def tickets_show(ticket_id: int) -> Any:
    state = twin().state
    with state.lock:
        ticket = state.get("tickets", ticket_id)
        ticket_access(state, acting_user(), ticket, "show")
        data = _render_one(state, ticket, attributes_only=True)
    return jsonify(data)  # serialized outside the lock: the data is a copy


@bp.put("/tickets/<int:ticket_id>")
def tickets_update(ticket_id: int) -> Any:
    state = twin().state
    with state.lock:
        ticket = state.get("tickets", ticket_id)
        ticket_access(state, acting_user(), ticket, "update")
        follow_up(state, acting_user(), ticket)
        transaction = update_ticket(state, ticket, body(), actor_id(), screen="edit")
        if transaction.changes or transaction.article_id:
            commit(transaction)
        data = _render_one(state, ticket)
    return jsonify(data)


@bp.delete("/tickets/<int:ticket_id>")
def tickets_delete(ticket_id: int) -> Any:
    state = twin().state
    with state.lock:
        ticket = state.get("tickets", ticket_id)
        ticket_access(state, acting_user(), ticket, "destroy")
        delete_ticket(state, ticket)
    return Response(status=200)


def _nested_args() -> dict[str, Any]:
    """Rack-style nested query params: condition[ticket.state_id][operator]=is."""
    result: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        parts = key.replace("]", "").split("[")
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        last = parts[-1]
        if key.endswith("[]") or last == "":
            node_key = parts[-2] if last == "" else last
            target = result
            for part in parts[:-2]:
                target = target.setdefault(part, {})
            target[node_key] = values
        else:
            node[last] = values[0] if len(values) == 1 else values
    return result


_SORTABLE_TIMES = {"created_at", "updated_at", "pending_time", "close_at", "escalation_at",
                   "first_response_at", "last_contact_at"}


@bp.route("/tickets/search", methods=["GET", "POST"])
def tickets_search() -> Any:
    state = twin().state
    params = {**_nested_args(), **body()}
    query = str(params.get("query") or "").strip()
    if ":" in query and query.split(":", 1)[0] in ("title", "number"):
        query = query.split(":", 1)[1].strip()
    tree = normalize(params.get("condition"))
    # sort_by/order_by: one column, or lists of them (ticket_spec.rb 08.01)
    sort_keys = [str(k) for k in _listed(params.get("sort_by"))] or ["updated_at"]
    orders = [str(o).lower() for o in _listed(params.get("order_by"))]
    with state.lock:
        found = []
        for ticket in state.tables["tickets"].values():
            if query and query not in ("*",) and query.lower() not in (ticket["title"] or "").lower() \
                    and query.lower() not in ticket["number"].lower():
                continue
            if not can(state, acting_user(), ticket, "show"):
                continue
            ctx = Context(ticket=ticket, tags=ticket_tags(state, ticket["id"]), current_user_id=actor_id())
            if matches(state, tree, ctx):
                found.append(ticket)

        ordered = sorted(found, key=lambda t: t["id"])
        for index in reversed(range(len(sort_keys))):  # stable sorts, last key first
            ordered = _sorted_by(ordered, sort_keys[index], (orders[index] if index < len(orders) else "desc") == "desc")
        return search_response(state, paginate(ordered, 50, 200), truthy(params.get("expand")))


def _listed(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list) else [value]


def _sorted_by(tickets: list[dict[str, Any]], column: str, descending: bool) -> list[dict[str, Any]]:
    """`tickets` ordered by `column` (tickets without a value last), ties keep their order."""
    def sort_key(ticket: dict[str, Any]) -> Any:
        value = ticket[column]
        if column in _SORTABLE_TIMES and isinstance(value, str):
            return parse_time(value).timestamp()
        return value

    present = sorted((t for t in tickets if t.get(column) is not None), key=sort_key, reverse=descending)
    return present + [t for t in tickets if t.get(column) is None]


def search_response(state: TwinState, page: list[dict[str, Any]], expand: bool) -> Any:
    """One page of a ticket search as Zammad renders it (expanded list, or ids + assets)."""
    if expand:
        return jsonify([state.ticket_with_names(t) for t in page])
    assets: dict[str, Any] = {}
    for ticket in page:
        asset_builder.add_ticket(state, assets, ticket)
    return jsonify({"tickets": [t["id"] for t in page], "tickets_count": len(page), "assets": assets})


@bp.get("/ticket_history/<int:ticket_id>")
def ticket_history(ticket_id: int) -> Any:
    state = twin().state
    with state.lock:
        ticket_access(state, acting_user(), state.get("tickets", ticket_id), "show")
        rows = state.history.rows("Ticket", ticket_id, ("Ticket::Article",))
        assets: dict[str, Any] = {}
        for row in rows:
            record_table = "tickets" if row["object"] == "Ticket" else "articles"
            record = state.find(record_table, row["o_id"])
            if record is not None:
                if record_table == "tickets":
                    asset_builder.add_ticket(state, assets, record)
                else:
                    asset_builder.add_article(state, assets, record)
            if row["related_object"] == "Ticket":
                related = state.find("tickets", row["related_o_id"])
                if related is not None:
                    asset_builder.add_ticket(state, assets, related)
            asset_builder.add_user(state, assets, row["created_by_id"])
        history = [state.history.render(r) for r in rows]
    return jsonify({"history": history, "assets": assets})


def _tag_target() -> tuple[dict[str, Any], int, str]:
    params = body()
    if params.get("object") != "Ticket":
        raise ApiError(422, f"Invalid object '{params.get('object')}'")
    ticket = twin().state.get("tickets", params.get("o_id"))
    return params, ticket["id"], str(params.get("item") or "")


@bp.get("/tags")
def tags_list() -> Any:
    state = twin().state
    with state.lock:
        _params, ticket_id, _item = _tag_target()
        return jsonify({"tags": ticket_tags(state, ticket_id)})


@bp.post("/tags/add")
def tags_add() -> Any:
    state = twin().state
    with state.lock:
        _params, ticket_id, item = _tag_target()
        user = acting_user()
        ticket_access(state, user, state.tables["tickets"][ticket_id], "agent_update")
        if not item.strip():
            raise ApiError(422, "Need item param")
        # Tag.tag_allowed?: setting tag_new, or admin.tag, or the tag is already in the tag list.
        if not (state.settings["tag_new"] or permitted(state, user, "admin.tag")
                or item.strip() in state.tag_items.values()):
            raise ApiError(403, FORBIDDEN, {"X-Failure": FORBIDDEN})
        add_tag(state, ticket_id, item, actor_id())
    return jsonify(True), 201


@bp.delete("/tags/remove")
def tags_remove() -> Any:
    state = twin().state
    with state.lock:
        _params, ticket_id, item = _tag_target()
        ticket_access(state, acting_user(), state.tables["tickets"][ticket_id], "agent_update")
        remove_tag(state, ticket_id, item)
    return jsonify(True), 200


# ------------------------------------------------------------------ tag list (admin.tag)
@bp.get("/tag_list")
def tag_list_index() -> Any:
    state = twin().state
    with state.lock:
        counts: dict[str, int] = {}
        for tags in state.tags.values():
            for tag in tags:
                counts[tag["name"]] = counts.get(tag["name"], 0) + 1
        items = sorted(state.tag_items.items(), key=lambda item: item[1])
        return jsonify([{"id": ident, "name": name, "count": counts.get(name, 0)} for ident, name in items])


@bp.post("/tag_list")
def tag_list_create() -> Any:
    state = twin().state
    name = str(body().get("name") or "").strip()
    if not name:
        raise ApiError(422, "Name can't be blank")
    with state.lock:
        state.tag_item(name)
    return jsonify({})


@bp.put("/tag_list/<int:ident>")
def tag_list_update(ident: int) -> Any:
    state = twin().state
    name = str(body().get("name") or "").strip()
    with state.lock:
        old = state.tag_items.get(ident)
        if old is None:
            raise ApiError(404, f"Couldn't find Tag::Item with 'id'={ident}")
        if not name:
            raise ApiError(422, "Name can't be blank")
        if name != old:
            merge_into = next((i for i, n in state.tag_items.items() if n == name), None)
            for tags in state.tags.values():
                names = [t["name"] for t in tags]
                for tag in list(tags):
                    if tag["name"] == old:
                        if name in names:
                            tags.remove(tag)  # Tag::Item.rename merges into the existing tag
                        else:
                            tag["name"] = name
            if merge_into is not None:
                del state.tag_items[ident]
            else:
                state.tag_items[ident] = name
    return jsonify({})


@bp.delete("/tag_list/<int:ident>")
def tag_list_destroy(ident: int) -> Any:
    state = twin().state
    with state.lock:
        name = state.tag_items.pop(ident, None)
        if name is None:
            raise ApiError(404, f"Couldn't find Tag::Item with 'id'={ident}")
        for ticket_id, tags in state.tags.items():
            state.tags[ticket_id] = [t for t in tags if t["name"] != name]
    return jsonify({})


@bp.post("/ticket_articles")
def articles_create() -> Any:
    state = twin().state
    params = body()
    with state.lock:
        ticket = state.get("tickets", params.get("ticket_id"))
        ticket_access(state, acting_user(), ticket, "update")
        follow_up(state, acting_user(), ticket)
        article = create_article(state, ticket, params, actor_id())
        commit(Transaction("update", ticket["id"], actor_id(), {}, article["id"]))
        return jsonify(state.article_render(article)), 201


@bp.get("/ticket_articles/<int:article_id>")
def articles_show(article_id: int) -> Any:
    state = twin().state
    with state.lock:
        article = state.get("articles", article_id)
        ticket_access(state, acting_user(), state.tables["tickets"][article["ticket_id"]], "show")
        return jsonify(state.article_render(article))


@bp.get("/ticket_articles/by_ticket/<int:ticket_id>")
def articles_by_ticket(ticket_id: int) -> Any:
    state = twin().state
    with state.lock:
        ticket_access(state, acting_user(), state.get("tickets", ticket_id), "show")
        return jsonify([state.article_render(state.tables["articles"][a]) for a in state.article_ids(ticket_id)])
