"""Per-app shared objects and request helpers used by the API blueprints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, current_app, g, request

from .clock import TwinClock
from .delivery import Deliverer
from .notifications import NotificationLog, recipients
from .observability import FaultInjector, RequestLog
from .restart import RestartSimulator
from .state import TwinState
from .tickets import Transaction
from .triggers import fired_jobs


@dataclass
class TwinContext:
    """Everything a request handler may touch."""

    state: TwinState
    clock: TwinClock
    token: str
    api_user_id: int
    deliverer: Deliverer
    faults: FaultInjector = field(default_factory=FaultInjector)
    requests: RequestLog = field(default_factory=RequestLog)
    notifications: NotificationLog = field(default_factory=NotificationLog)
    restart: RestartSimulator | None = None
    # More tokens, each of its own user (e.g. the test harness's admin): token -> user id.
    tokens: dict[str, int] = field(default_factory=dict)


def twin() -> TwinContext:
    """The TwinContext of the running app."""
    return current_app.config["TWIN"]


def add_crud_routes(bp: Blueprint, name: str, index: Callable[..., Any], show: Callable[..., Any],
                    create: Callable[..., Any], update: Callable[..., Any], destroy: Callable[..., Any]) -> None:
    """Rails `resources :<name>` on `bp`: endpoints `<name>_index|show|create|update|destroy`,
    the names ENDPOINT_PERMISSIONS keys on; member routes take `<int:ident>`."""
    member = f"/{name}/<int:ident>"
    for path, action, view, method in ((f"/{name}", "index", index, "GET"), (member, "show", show, "GET"),
                                       (f"/{name}", "create", create, "POST"), (member, "update", update, "PUT"),
                                       (member, "destroy", destroy, "DELETE")):
        bp.add_url_rule(path, f"{name}_{action}", view, methods=[method])


def body() -> dict[str, Any]:
    """JSON body merged over query args (Rails merges both into `params`)."""
    data: dict[str, Any] = dict(request.args.items())
    payload = request.get_json(silent=True, force=True) if request.data else None
    if isinstance(payload, dict):
        data.update(payload)
    return data


def actor_id() -> int:
    """Id of the user the request acts as (token user or `From` header user)."""
    return int(g.user_id)


def truthy(value: Any) -> bool:
    """Rails-ish boolean param."""
    return value is True or str(value).lower() in ("true", "1", "yes")


def expand() -> bool:
    """`expand=true` requested."""
    return truthy(body().get("expand"))


def paginate(items: list[Any], default: int, maximum: int) -> list[Any]:
    """CanPaginate: `page` (1-based) and `per_page` (or `limit`), capped at `maximum`."""
    params = body()
    try:
        page = max(int(params.get("page") or 1), 1)
        per_page = int(params.get("per_page") or params.get("limit") or default)
    except (TypeError, ValueError):
        page, per_page = 1, default
    per_page = max(1, min(per_page, maximum))
    start = (page - 1) * per_page
    return items[start:start + per_page]


def commit(transaction: Transaction) -> None:
    """Evaluate triggers and notifications for a finished transaction; deliveries start after the response."""
    ctx = twin()
    jobs = fired_jobs(ctx.state, transaction)
    g.setdefault("jobs", []).extend(jobs)
    ctx.notifications.extend(recipients(ctx.state, transaction))


def acting_user() -> dict[str, Any]:
    """The user row the request acts as."""
    return twin().state.get("users", actor_id())
