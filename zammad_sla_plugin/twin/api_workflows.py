"""Core workflow CRUD (CoreWorkflowsController) and read-only roles (RolesController index/show)."""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, jsonify

from . import workflows
from .context import actor_id, body, expand, paginate, twin

bp = Blueprint("workflows", __name__)


@bp.get("/core_workflows")
def core_workflows_index() -> Any:
    state = twin().state
    with state.lock:
        rows = paginate(workflows.visible(state), 500, 500)
        return jsonify([workflows.render(state, r, names=expand()) for r in rows])


@bp.get("/core_workflows/<int:ident>")
def core_workflows_show(ident: int) -> Any:
    state = twin().state
    with state.lock:
        return jsonify(workflows.render(state, workflows.get_changeable(state, ident), names=expand()))


@bp.post("/core_workflows")
def core_workflows_create() -> Any:
    state = twin().state
    params = body()
    with state.lock:
        now = state.now_iso()
        row = workflows.new_workflow()
        workflows.assign(row, params)
        row.update(created_by_id=actor_id(), updated_by_id=actor_id(), created_at=now, updated_at=now)
        workflows.validate(state, row, object_changed=row["object"] is not None)
        state.insert("core_workflows", row)
        return jsonify(workflows.render(state, row, names=expand())), 201


@bp.put("/core_workflows/<int:ident>")
def core_workflows_update(ident: int) -> Any:
    state = twin().state
    params = body()
    with state.lock:
        row = workflows.get_changeable(state, ident)
        candidate = copy.deepcopy(row)
        workflows.assign(candidate, params)
        workflows.validate(state, candidate, object_changed=candidate["object"] != row["object"])
        if candidate != row:
            candidate.update(updated_by_id=actor_id(), updated_at=state.now_iso())
            row.clear()
            row.update(candidate)
        return jsonify(workflows.render(state, row, names=expand()))


@bp.delete("/core_workflows/<int:ident>")
def core_workflows_destroy(ident: int) -> Any:
    state = twin().state
    with state.lock:
        row = workflows.get_changeable(state, ident)
        del state.tables["core_workflows"][row["id"]]
    return jsonify({})


@bp.get("/roles")
def roles_index() -> Any:
    state = twin().state
    with state.lock:
        rows = paginate(sorted(state.tables["roles"].values(), key=lambda r: r["id"]), 500, 500)
        return jsonify([state.role_with_ids(r) for r in rows])


@bp.get("/roles/<int:ident>")
def roles_show(ident: int) -> Any:
    state = twin().state
    with state.lock:
        return jsonify(state.role_with_ids(state.get("roles", ident)))
