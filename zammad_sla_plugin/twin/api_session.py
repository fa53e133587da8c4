"""GET /api/v1/signshow: the current session and Zammad's frontend settings.

app/controllers/sessions_controller.rb#show: `SessionHelper.json_hash(user)` (session,
models, collections, assets) merged with `config`, every setting with `frontend: true`
(db/seeds/settings.rb marks `locale_default` so), for any valid session or API token: no
permission is needed, unlike GET /api/v1/settings (admin.* and the setting's own
permission, admin.system for locale_default). The twin serves the settings it models.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from .context import actor_id, twin

bp = Blueprint("session", __name__)

# Twin settings Zammad marks `frontend: true` (db/seeds/settings.rb): served in `config`.
FRONTEND_SETTINGS: tuple[str, ...] = ("locale_default",)


@bp.get("/signshow")
def signshow() -> Any:
    state = twin().state
    with state.lock:
        user = state.user_with_ids(state.get("users", actor_id()))
        config = {name: state.settings[name] for name in FRONTEND_SETTINGS if name in state.settings}
        return jsonify({"session": user, "models": {}, "collections": {}, "assets": {}, "config": config})
