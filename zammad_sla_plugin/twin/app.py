"""The Flask app: auth, `From`, fault injection and request log around /api/v1, plus /_twin/."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from . import api_links, api_resources, api_session, api_slas, api_tickets, api_workflows, bulk
from .context import TwinContext, twin
from .observability import Faults
from .permissions import permitted
from .policy import check_controller
from .restart import BAD_GATEWAY_HTML
from .util import ApiError, iso, parse_time

API_PREFIX = "/api/v1"


def _token_from_header(header: str) -> str | None:
    # Rails' authenticate_with_http_token: `Token token="abc"`, `Token token=abc` or `Bearer abc`.
    scheme, _, rest = header.partition(" ")
    if scheme.lower() not in ("token", "bearer"):
        return None
    rest = rest.strip()
    if rest.startswith("token="):
        rest = rest[len("token="):].split(",")[0]
    return rest.strip().strip('"') or None


def _authenticate() -> None:
    ctx = twin()
    header = request.headers.get("Authorization")
    if not header:
        raise ApiError(403, "Authentication required", {"X-Failure": "Authentication required"})
    token = _token_from_header(header)
    if token == ctx.token:
        user_id = ctx.api_user_id
    elif token is not None and token in ctx.tokens:
        user_id = ctx.tokens[token]
    else:
        raise ApiError(401, "Can't find User for Token", {"X-Failure": "Can't find User for Token"})
    behalf = request.headers.get("From") or request.headers.get("X-On-Behalf-Of")
    with ctx.state.lock:
        if behalf:
            # authentication_check_prerequisites: acting on behalf needs admin.user.
            if not permitted(ctx.state, ctx.state.find("users", user_id), "admin.user"):
                message = "Current user has no permission to use 'From'/'X-On-Behalf-Of'!"
                raise ApiError(403, message, {"X-Failure": message})
            user = ctx.state.find_user(behalf)
            if user is None:
                raise ApiError(403, f"No such user '{behalf}'")  # api_auth_from_spec.rb: forbidden
            user_id = user["id"]
        g.user_id = user_id
        # prepend_before_action { authentication_check && authorize! }: the controller
        # policy runs before the action looks anything up.
        check_controller(ctx.state, ctx.state.find("users", user_id), request.endpoint)


def _inject_faults() -> Response | None:
    ctx = twin()
    faults = ctx.faults.faults
    if not faults.applies_to(request.path, request.method):
        return None
    if faults.outage:
        return Response("<html><body><h1>503 Service Unavailable</h1></body></html>", status=503,
                        content_type="text/html", headers={"Retry-After": str(faults.retry_after)} if faults.retry_after else {})
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000.0)
    if ctx.faults.draw_error():
        error = ApiError(faults.status, "Injected fault (twin)")
        response = jsonify(error.body())
        response.status_code = faults.status
        if faults.retry_after is not None:
            response.headers["Retry-After"] = str(faults.retry_after)
        return response
    return None


def create_app(context: TwinContext) -> Flask:
    """Build the twin's WSGI app around a TwinContext."""
    app = Flask("zammad_sla_twin")
    app.config["TWIN"] = context
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep Zammad's key order
    app.register_blueprint(api_tickets.bp, url_prefix=API_PREFIX)
    app.register_blueprint(api_resources.bp, url_prefix=API_PREFIX)
    app.register_blueprint(api_workflows.bp, url_prefix=API_PREFIX)
    app.register_blueprint(api_links.bp, url_prefix=API_PREFIX)
    app.register_blueprint(api_session.bp, url_prefix=API_PREFIX)
    app.register_blueprint(api_links.twin_bp)
    app.register_blueprint(api_slas.bp, url_prefix=API_PREFIX)

    @app.before_request
    def before() -> Any:
        g.started = time.perf_counter()
        g.user_id = None
        if not request.path.startswith(API_PREFIX + "/"):
            return None
        restart = twin().restart
        if restart is not None and restart.down():
            g.faulted = True
            return Response(BAD_GATEWAY_HTML, status=502, content_type="text/html")
        injected = _inject_faults()
        if injected is not None:
            g.faulted = True
            return injected
        _authenticate()
        return None

    @app.after_request
    def after(response: Response) -> Response:
        ctx = twin()
        if request.path.startswith(API_PREFIX + "/"):
            user = ctx.state.find("users", g.user_id) if g.get("user_id") else None
            ctx.requests.add(
                method=request.method, path=request.path, query=request.query_string.decode("latin-1"),
                status=response.status_code, user=user["login"] if user else None,
                user_id=user["id"] if user else None, time=ctx.state.now_iso(),
                duration_ms=round((time.perf_counter() - g.started) * 1000, 3), fault=bool(g.get("faulted")),
            )
        jobs = g.pop("jobs", [])
        if jobs and response.status_code < 400:
            # Zammad runs webhook jobs in its background worker, after the request committed.
            ctx.deliverer.reserve(len(jobs))
            response.call_on_close(lambda: ctx.deliverer.submit(jobs, reserved=True))
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Any:
        g.pop("jobs", None)
        response = jsonify(error.body())
        response.status_code = error.status
        response.headers.update(error.headers)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if request.path.startswith(API_PREFIX):
            message = f'No route matches [{request.method}] "{request.path}"'
            response = jsonify({"error": message, "error_human": message})
            response.status_code = error.code or 404
            return response
        return error

    _register_twin_routes(app)
    bulk.register(app)
    return app


def _register_twin_routes(app: Flask) -> None:
    @app.get("/_twin/clock")
    def clock_get() -> Any:
        clock = twin().clock
        return jsonify({"now": iso(clock.now()), "frozen": clock.frozen})

    @app.post("/_twin/clock")
    def clock_post() -> Any:
        clock = twin().clock
        data = request.get_json(silent=True, force=True) or {}
        frozen = data.get("frozen")
        frozen = None if frozen is None else bool(frozen)
        try:
            if data.get("set") is not None:
                clock.set(parse_time(data["set"]), frozen=frozen)
            elif data.get("advance_seconds") is not None:
                clock.advance(float(data["advance_seconds"]), frozen=frozen)
            elif frozen is not None:
                clock.set(clock.now(), frozen=frozen)
            else:
                raise ValueError("need set, advance_seconds or frozen")
        except (ValueError, TypeError, OverflowError) as exc:
            return jsonify({"error": str(exc)}), 422
        return jsonify({"now": iso(clock.now()), "frozen": clock.frozen})

    @app.get("/_twin/faults")
    def faults_get() -> Any:
        return jsonify(twin().faults.faults.to_json())

    @app.post("/_twin/faults")
    def faults_post() -> Any:
        data = request.get_json(silent=True, force=True) or {}
        try:
            faults = Faults.from_json(data)
        except (ValueError, TypeError) as exc:
            return jsonify({"error": str(exc)}), 422
        twin().faults.set(faults, seed=data.get("seed"))
        return jsonify(faults.to_json())

    @app.delete("/_twin/faults")
    def faults_delete() -> Any:
        twin().faults.clear()
        return jsonify(Faults().to_json())

    @app.get("/_twin/requests")
    def requests_get() -> Any:
        try:
            cursor = int(request.args.get("since", 0))
        except ValueError:
            return jsonify({"error": "since must be an integer"}), 422
        entries = twin().requests.since(cursor)
        return jsonify({"requests": entries, "next": entries[-1]["id"] if entries else cursor})

    @app.delete("/_twin/requests")
    def requests_delete() -> Any:
        twin().requests.clear()
        return jsonify({})

    @app.get("/_twin/notifications")
    def notifications_get() -> Any:
        return jsonify({"notifications": twin().notifications.entries()})

    @app.delete("/_twin/notifications")
    def notifications_delete() -> Any:
        twin().notifications.clear()
        return jsonify({"notifications": []})

    @app.get("/_twin/settings")
    def settings_get() -> Any:
        return jsonify(twin().state.settings)

    @app.post("/_twin/settings")
    def settings_post() -> Any:
        ctx = twin()
        data = request.get_json(silent=True, force=True)
        if not isinstance(data, dict):
            return jsonify({"error": "expected a JSON object of settings"}), 422
        unknown = sorted(set(data) - set(ctx.state.settings))
        if unknown:
            return jsonify({"error": f"unknown twin settings: {', '.join(unknown)}"}), 422
        if any(not isinstance(v, type(ctx.state.settings[k])) or (isinstance(v, str) and not v.strip()) for k, v in data.items()):
            return jsonify({"error": "settings keep their type (booleans; locale_default a locale such as es-ar)"}), 422
        with ctx.state.lock:
            ctx.state.settings.update(data)
            if ctx.restart is not None:
                ctx.restart.auto_shutdown = ctx.state.settings["auto_shutdown"]
        return jsonify(ctx.state.settings)

    @app.get("/_twin/restarts")
    def restarts_get() -> Any:
        restart = twin().restart
        return jsonify(restart.status() if restart is not None else {"restarts": 0, "down": False})

    @app.post("/_twin/restart")
    def restart_post() -> Any:
        restart = twin().restart
        if restart is not None:
            restart.restart_now()
        return jsonify(restart.status() if restart is not None else {"restarts": 0, "down": False})

    @app.get("/_twin/deliveries")
    def deliveries_get() -> Any:
        deliverer = twin().deliverer
        return jsonify({"deliveries": deliverer.entries(), "pending": deliverer.pending()})
