"""Non-ticket endpoints: users, organizations, groups, states, priorities, object manager
attributes, webhooks, triggers and overviews."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from flask import Blueprint, jsonify

from . import objects
from . import assets as asset_builder
from .context import actor_id, add_crud_routes, body, expand, paginate, truthy, twin
from .records import (
    GROUP_COLUMNS, ORGANIZATION_COLUMNS, OVERVIEW_COLUMNS, PRIORITY_COLUMNS, STATE_COLUMNS, TRIGGER_COLUMNS,
    USER_COLUMNS, WEBHOOK_COLUMNS, blank, new_user,
)
from .selector import normalize
from .state import TwinState
from .tickets import coerce
from .util import ApiError

bp = Blueprint("resources", __name__)
Render = Callable[[TwinState, dict[str, Any]], dict[str, Any]]
STAMPS = frozenset({"id", "created_at", "updated_at", "created_by_id", "updated_by_id"})


@dataclass(frozen=True)
class Resource:
    """A plain CRUD model: table, columns, defaults and its two renderings."""

    table: str
    obj: str | None
    columns: tuple[str, ...]
    defaults: Callable[[], dict[str, Any]]
    render: Render
    render_names: Render
    required: tuple[str, ...] = ("name",)
    unique_name: bool = True


def _plain(columns: tuple[str, ...]) -> Render:
    return lambda state, row: {c: copy.deepcopy(row.get(c)) for c in columns}


# WebhooksController SENSITIVE_FIELDS, masked by SensitiveParamsHelper#mask on every
# rendering (unset values stay unset); a PUT carrying the mask keeps the stored value (#unmask).
SENSITIVE_MASK = "**********"
WEBHOOK_SENSITIVE: tuple[str, ...] = ("signature_token", "bearer_token", "basic_auth_password")


def _masked(render: Render) -> Render:
    def masked(state: TwinState, row: dict[str, Any]) -> dict[str, Any]:
        data = render(state, row)
        for key in WEBHOOK_SENSITIVE:
            if data.get(key) not in (None, "", {}, []):
                data[key] = SENSITIVE_MASK
        return data
    return masked


def _with_names(columns: tuple[str, ...]) -> Render:
    def render(state: TwinState, row: dict[str, Any]) -> dict[str, Any]:
        data = {c: copy.deepcopy(row.get(c)) for c in columns}
        data["created_by"] = state.login_of(row.get("created_by_id"))
        data["updated_by"] = state.login_of(row.get("updated_by_id"))
        return data
    return render


RESOURCES: dict[str, Resource] = {
    "organizations": Resource(
        "organizations", "Organization", ORGANIZATION_COLUMNS,
        lambda: {"shared": True, "domain": "", "domain_assignment": False, "active": True, "vip": False, "note": ""},
        lambda s, r: s.organization_with_ids(r), lambda s, r: s.organization_with_names(r)),
    "groups": Resource(
        "groups", "Group", GROUP_COLUMNS,
        lambda: {"follow_up_possible": "yes", "follow_up_assignment": True, "active": True, "shared_drafts": True},
        lambda s, r: s.group_with_ids(r), lambda s, r: s.group_with_names(r)),
    "ticket_states": Resource(
        "states", None, STATE_COLUMNS,
        lambda: {"ignore_escalation": False, "default_create": False, "default_follow_up": False, "active": True},
        lambda s, r: s.state_attributes(r), lambda s, r: s.state_with_names(r), ("name", "state_type_id")),
    "ticket_priorities": Resource(
        "priorities", None, PRIORITY_COLUMNS, lambda: {"default_create": False, "active": True},
        lambda s, r: s.priority_attributes(r), lambda s, r: s.priority_with_names(r)),
    "webhooks": Resource(
        "webhooks", None, WEBHOOK_COLUMNS,
        lambda: {"http_method": "post", "ssl_verify": True, "customized_payload": False, "active": True},
        _masked(_plain(WEBHOOK_COLUMNS)), _masked(_with_names(WEBHOOK_COLUMNS)), ("name", "endpoint")),
    "triggers": Resource(
        "triggers", None, TRIGGER_COLUMNS,
        lambda: {"condition": {}, "perform": {}, "disable_notification": True, "activator": "action",
                 "execution_condition_mode": "selective", "active": True},
        _plain(TRIGGER_COLUMNS), _with_names(TRIGGER_COLUMNS), ("name", "perform")),
    "overviews": Resource(
        "overviews", None, OVERVIEW_COLUMNS,
        lambda: {"prio": 1000, "order": {"by": "created_at", "direction": "ASC"}, "organization_shared": False,
                 "out_of_office": False, "active": True, "condition": {},
                 "view": {"d": ["title", "customer", "state", "created_at"], "s": ["title", "customer", "state", "created_at"],
                          "m": ["number", "title", "customer", "state", "created_at"], "view_mode_default": "s"}},
        lambda s, r: {**_plain(OVERVIEW_COLUMNS)(s, r), "role_ids": list(r.get("_role_ids", [])), "user_ids": list(r.get("_user_ids", []))},
        lambda s, r: {**_with_names(OVERVIEW_COLUMNS)(s, r), "role_ids": list(r.get("_role_ids", [])), "user_ids": list(r.get("_user_ids", []))},
        # Overview names need not be unique; links are made unique (overview_spec.rb 'does create overviews')
        ("name", "condition"), unique_name=False),
}


def _label(column: str) -> str:
    return column.replace("_id", "").replace("_", " ").capitalize()


def _validate(resource: Resource, state: TwinState, row: dict[str, Any]) -> None:
    for column in resource.required:
        if row.get(column) in (None, "", {}):
            raise ApiError(422, f"{_label(column)} can't be blank")
    if resource.unique_name:
        for other in state.tables[resource.table].values():
            if other is not row and other.get("id") != row.get("id") and str(other.get("name", "")).lower() == str(row["name"]).lower():
                raise ApiError(422, "Name has already been taken")
    if resource.table == "triggers":
        if row["activator"] not in ("action", "time"):
            raise ApiError(422, "Activator is not included in the list")
        if row["execution_condition_mode"] not in ("selective", "always"):
            raise ApiError(422, "Execution condition mode is not included in the list")
        normalize(row["condition"])
    if resource.table == "overviews":
        normalize(row["condition"])
        row["link"] = _unique_link(state, row, row.get("link") or str(row["name"]).lower().replace(" ", "_"))
    if resource.table == "groups":
        row["name_last"] = str(row["name"]).split("::")[-1]
    if resource.table == "states" and int(row["state_type_id"]) not in range(1, 8):
        raise ApiError(422, "State type must exist")


def _unique_link(state: TwinState, row: dict[str, Any], link: str) -> str:
    """Overview#fill_link: `link`, or `link_1`, `link_2`... when another overview has it."""
    taken = {o["link"] for o in state.tables["overviews"].values() if o.get("id") != row.get("id")}
    candidate, count = link, 0
    while candidate in taken:
        count += 1
        candidate = f"{link}_{count}"
    return candidate


def _assign(resource: Resource, state: TwinState, row: dict[str, Any], params: dict[str, Any]) -> None:
    columns = state.columns(resource.obj, resource.columns) if resource.obj else list(resource.columns)
    for key, value in params.items():
        if resource.table == "webhooks" and key in WEBHOOK_SENSITIVE and value == SENSITIVE_MASK:
            continue  # unmask: the stored secret stays (None on create, as Zammad clears it)
        if key in columns and key not in STAMPS:
            row[key] = coerce(state, resource.obj, key, value) if resource.obj else value
    if resource.table == "overviews":
        row["_role_ids"] = list(params.get("role_ids", row.get("_role_ids", [])))
        row["_user_ids"] = list(params.get("user_ids", row.get("_user_ids", [])))


def _register(name: str, resource: Resource) -> None:
    def index() -> Any:
        state = twin().state
        with state.lock:
            rows = paginate(sorted(state.tables[resource.table].values(), key=lambda r: r["id"]), 500, 500)
            if truthy(body().get("full")):
                return jsonify({"record_ids": [r["id"] for r in rows], "assets": _assets(resource, state, rows)})
            render = resource.render_names if expand() else resource.render
            return jsonify([render(state, r) for r in rows])

    def one(state: TwinState, row: dict[str, Any]) -> Any:
        # ApplicationController::RendersModels: full=true -> {id, assets}, expand -> names
        if truthy(body().get("full")):
            return {"id": row["id"], "assets": _assets(resource, state, [row])}
        return (resource.render_names if expand() else resource.render)(state, row)

    def show(ident: int) -> Any:
        state = twin().state
        with state.lock:
            return jsonify(one(state, state.get(resource.table, ident)))

    def create() -> Any:
        state = twin().state
        with state.lock:
            now = state.now_iso()
            row = blank(resource.columns, **resource.defaults())
            for column in state.custom_columns.get(resource.obj or "", []):
                row[column] = None
            _assign(resource, state, row, body())
            row.update(created_by_id=actor_id(), updated_by_id=actor_id(), created_at=now, updated_at=now)
            _validate(resource, state, row)
            state.insert(resource.table, row)
            _assign_members(resource, state, row, body())
            return jsonify(one(state, row)), 201

    def update(ident: int) -> Any:
        state = twin().state
        with state.lock:
            row = state.get(resource.table, ident)
            candidate = copy.deepcopy(row)
            _assign(resource, state, candidate, body())
            _validate(resource, state, candidate)
            if candidate != row:
                candidate.update(updated_by_id=actor_id(), updated_at=state.now_iso())
                row.clear()
                row.update(candidate)
            _assign_members(resource, state, row, body())
            return jsonify(one(state, row))

    def destroy(ident: int) -> Any:
        state = twin().state
        with state.lock:
            row = state.get(resource.table, ident)
            _check_references(state, resource, row)
            del state.tables[resource.table][row["id"]]
        return jsonify({})

    add_crud_routes(bp, name, index, show, create, update, destroy)


def _assets(resource: Resource, state: TwinState, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The `assets` of `full=true`: organizations with their members, other rows as rendered."""
    assets: dict[str, Any] = {}
    for row in rows:
        if resource.table == "organizations":
            asset_builder.add_organization(state, assets, row["id"])
        else:
            assets.setdefault(resource.obj or resource.table, {})[str(row["id"])] = resource.render(state, row)
    return assets


def _assign_members(resource: Resource, state: TwinState, row: dict[str, Any], params: dict[str, Any]) -> None:
    """Organization `members: [login, ...]` (association names, organization_spec.rb): those
    users become the organization's members."""
    if resource.table != "organizations" or not isinstance(params.get("members"), list):
        return
    wanted = {user["id"] for login in params["members"] if (user := state.find_user(login)) is not None}
    for user in state.tables["users"].values():
        if user["id"] in wanted:
            user["organization_id"] = row["id"]
        elif user["organization_id"] == row["id"]:
            user["organization_id"] = None


REFERENCE_COLUMNS: dict[str, str] = {
    "organizations": "organization_id", "groups": "group_id", "states": "state_id", "priorities": "priority_id",
}


def _check_references(state: TwinState, resource: Resource, row: dict[str, Any]) -> None:
    column = REFERENCE_COLUMNS.get(resource.table)
    if column and any(t.get(column) == row["id"] for t in state.tables["tickets"].values()):
        raise ApiError(422, "Can't delete, object has references.")


for _name, _resource in RESOURCES.items():
    _register(_name, _resource)


# ------------------------------------------------------------------ users
def _user_render(state: TwinState, user: dict[str, Any]) -> dict[str, Any]:
    return state.user_with_names(user) if expand() else state.user_with_ids(user)


@bp.get("/users/me")
def users_me() -> Any:
    state = twin().state
    with state.lock:
        return jsonify(state.user_with_ids(state.get("users", actor_id())))


@bp.get("/users")
def users_index() -> Any:
    state = twin().state
    with state.lock:
        rows = paginate(sorted(state.tables["users"].values(), key=lambda u: u["id"]), 500, 500)
        return jsonify([_user_render(state, u) for u in rows])


@bp.get("/users/search")
def users_search() -> Any:
    state = twin().state
    query = str(body().get("query") or "").lower()
    with state.lock:
        hits = [u for u in sorted(state.tables["users"].values(), key=lambda u: u["id"]) if u["id"] != 1 and any(
            query in str(u.get(f) or "").lower() for f in ("login", "firstname", "lastname", "email"))]
        return jsonify([_user_render(state, u) for u in paginate(hits, 100, 500)])


@bp.get("/users/<int:user_id>")
def users_show(user_id: int) -> Any:
    state = twin().state
    with state.lock:
        return jsonify(_user_render(state, state.get("users", user_id)))


def _user_assign(state: TwinState, user: dict[str, Any], params: dict[str, Any]) -> None:
    for key, value in params.items():
        if key in state.columns("User", USER_COLUMNS) and key not in STAMPS and key not in ("login_failed", "last_login"):
            user[key] = coerce(state, "User", key, value)
    if "role_ids" in params:
        user["_role_ids"] = [int(r) for r in params["role_ids"]]
    if isinstance(params.get("group_ids"), dict):
        user["_group_ids"] = {int(k): list(v) for k, v in params["group_ids"].items()}
    email = (user.get("email") or "").lower()
    if email:
        user["email"] = email
        for other in state.tables["users"].values():
            if other is not user and other.get("id") != user.get("id") and (other.get("email") or "").lower() == email:
                raise ApiError(422, f"Email address '{email}' is already used for another user.")


@bp.post("/users")
def users_create() -> Any:
    state = twin().state
    params = body()
    with state.lock:
        now = state.now_iso()
        user = new_user(department=None, address=None, preferences={"locale": "en-us"}, created_by_id=actor_id(),
                        updated_by_id=actor_id(), created_at=now, updated_at=now)
        for column in state.custom_columns["User"]:
            user[column] = None
        user["_role_ids"] = [3]
        _user_assign(state, user, params)
        if not user["login"]:
            user["login"] = user["email"] or f"auto-{uuid.uuid4()}"
        if not (user["firstname"] or user["lastname"] or user["email"] or user["phone"] or user["mobile"]):
            raise ApiError(422, "At least one identifier (firstname, lastname, phone, mobile or email) for user is required.")
        state.insert("users", user)
        return jsonify(state.user_with_ids(user)), 201


@bp.put("/users/<int:user_id>")
def users_update(user_id: int) -> Any:
    state = twin().state
    with state.lock:
        user = state.get("users", user_id)
        candidate = copy.deepcopy(user)
        _user_assign(state, candidate, body())
        if candidate != user:
            candidate.update(updated_by_id=actor_id(), updated_at=state.now_iso())
            user.clear()
            user.update(candidate)
        return jsonify(state.user_with_ids(user))


@bp.delete("/users/<int:user_id>")
def users_destroy(user_id: int) -> Any:
    state = twin().state
    with state.lock:
        user = state.get("users", user_id)
        referenced = any(user_id in (t["customer_id"], t["owner_id"], t["created_by_id"], t["updated_by_id"])
                         for t in state.tables["tickets"].values())
        if referenced or user_id in (1, twin().api_user_id):
            raise ApiError(422, "Can't delete, object has references.")
        del state.tables["users"][user["id"]]
    return jsonify({})


# ------------------------------------------------------------------ object manager
@bp.get("/object_manager_attributes")
def attributes_index() -> Any:
    state = twin().state
    with state.lock:
        return jsonify(objects.list_full(state))


@bp.get("/object_manager_attributes/<int:ident>")
def attributes_show(ident: int) -> Any:
    state = twin().state
    with state.lock:
        return jsonify(objects.render(state.get("attributes", ident)))


@bp.post("/object_manager_attributes")
def attributes_create() -> Any:
    state = twin().state
    with state.lock:
        return jsonify(objects.render(objects.create(state, body(), actor_id()))), 201


@bp.put("/object_manager_attributes/<ident>")
def attributes_update(ident: str) -> Any:
    state = twin().state
    with state.lock:
        if not ident.isdigit():
            # object_manager_attributes_spec.rb "doesn't let to update item that doesn't exist":
            # a non-numeric id answers 422 (the lookup error becomes UnprocessableEntity).
            raise ApiError(422, f"Couldn't find ObjectManager::Attribute with 'id'={ident}")
        state.get("attributes", ident)
        return jsonify(objects.render(objects.update(state, body(), actor_id())))


@bp.delete("/object_manager_attributes/<int:ident>")
def attributes_destroy(ident: int) -> Any:
    state = twin().state
    with state.lock:
        objects.remove(state, state.get("attributes", ident))
    return jsonify({})


@bp.post("/object_manager_attributes_execute_migrations")
def attributes_execute_migrations() -> Any:
    state = twin().state
    with state.lock:
        created = objects.execute_migrations(state)
        restart = twin().restart
        if created is not None and restart is not None:
            # ObjectManager::Attribute.migration_execute ends with AppVersion.trigger_restart.
            restart.migrated(created)
    return jsonify({})


@bp.post("/object_manager_attributes_discard_changes")
def attributes_discard_changes() -> Any:
    state = twin().state
    with state.lock:
        for attribute in list(state.tables["attributes"].values()):
            if attribute["to_create"]:
                del state.tables["attributes"][attribute["id"]]
            elif attribute["to_delete"] or attribute["to_config"]:
                attribute.update(to_migrate=False, to_delete=False, to_config=False, data_option_new={})
    return jsonify({})
