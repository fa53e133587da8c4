"""Typed Zammad REST client built on zammad-py with a hardened session."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Callable

import requests
from zammad_py import ZammadAPI
from zammad_py.api import Object, Resource

from .http_dates import parse_http_date
from .session import HardenedSession, HeaderAuth, OnRequest, Timeout

# Server-side page-size caps (app/controllers/tickets_controller.rb: index uses
# paginate_with(max: 100), search paginate_with(max: 200, default: 50)). Asking for more
# would silently get fewer rows back and break "stop on a short page".
TICKETS_MAX_PER_PAGE = 100
SEARCH_MAX_PER_PAGE = 200


class _Webhook(Resource):
    path_attribute = "webhooks"


class _Trigger(Resource):
    path_attribute = "triggers"


class _Overview(Resource):
    path_attribute = "overviews"


def normalize_base_url(url: str) -> str:
    """Zammad base URL without trailing slash or `/api/v1` ("http://zammad:8080")."""
    base = url.strip().rstrip("/")
    if base.endswith("/api/v1"):
        base = base[: -len("/api/v1")]
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"Zammad URL must start with http:// or https://: {url!r}")
    return base


def _json_or_none(response: requests.Response) -> Any:
    if not response.content or not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        return None


class ZammadClient:
    """Zammad REST client: zammad-py's `ZammadAPI` on a `HardenedSession`.

    Every call has connect/read timeouts, bounded retries (idempotent calls only, see
    `HardenedSession`) and raises `ZammadError` (`ZammadNotFoundError` for 404).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: Timeout = (5, 30),
        retries: int = 4,
        backoff_factor: float = 0.5,
        on_behalf_of: str | None = None,
        on_request: OnRequest | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retry_after: float = 60.0,
    ) -> None:
        """Connect lazily to Zammad at `url` with API token `token`.

        `on_behalf_of` sets the `From` header (user id, login or email) so Zammad acts as
        that user. `sleep` and `backoff_factor` are injectable so tests do not wait.
        """
        if not token:
            raise ValueError("a Zammad API token is required")
        self.base_url = normalize_base_url(url)
        self.api_url = f"{self.base_url}/api/v1/"
        # zammad-py builds the auth header ("Token token=...") and its resource helpers;
        # we swap its bare session for the hardened one, keeping its headers.
        self._api = ZammadAPI(url=self.api_url, http_token=token)
        session = HardenedSession(
            timeout=timeout,
            retries=retries,
            backoff_factor=backoff_factor,
            max_retry_after=max_retry_after,
            on_request=on_request,
            sleep=sleep,
        )
        headers = dict(self._api.session.headers)
        session.auth = HeaderAuth(headers.pop("Authorization"))  # never displaced by ~/.netrc
        session.headers.update(headers)
        session.headers["Accept"] = "application/json"
        session.headers["User-Agent"] = "zammad-sla (zammad-py)"
        if on_behalf_of:
            # zammad-py would send the deprecated X-On-Behalf-Of; Zammad's docs use `From`.
            session.headers["From"] = on_behalf_of
        self._api.session.close()
        self._api.session = session
        self.session: HardenedSession = session
        self._objects = Object(connection=self._api)
        self._webhooks = _Webhook(connection=self._api)
        self._triggers = _Trigger(connection=self._api)
        self._overviews = _Overview(connection=self._api)

    # -- plumbing ---------------------------------------------------------------------

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def __enter__(self) -> "ZammadClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _url(self, path: str) -> str:
        return self.api_url + path.lstrip("/")

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        kwargs: dict[str, Any] = {}
        if params is not None:
            kwargs["params"] = dict(params)
        if json is not None:
            kwargs["json"] = json
        return self.session.request(method, self._url(path), idempotent=idempotent, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Call any endpoint under /api/v1 (path like "tickets/1"); returns parsed JSON or None."""
        return _json_or_none(self._send(method, path, params=params, json=json, idempotent=idempotent))

    # -- tickets ----------------------------------------------------------------------

    def get_ticket(self, ticket_id: int, expand: bool = True) -> dict[str, Any]:
        """GET /api/v1/tickets/:id; with `expand` Zammad adds state/priority/owner/... names."""
        params = {"expand": "true"} if expand else None
        return self.request("GET", f"tickets/{int(ticket_id)}", params=params)

    def update_ticket(self, ticket_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /api/v1/tickets/:id with any ticket columns (custom attributes included)."""
        # A plain PUT is idempotent and retried; with an `article` every repeat would add
        # another article, so then it gets the POST treatment.
        repeatable = "article" not in fields
        return self.request("PUT", f"tickets/{int(ticket_id)}", json=dict(fields), idempotent=repeatable)

    def list_tickets(self, page: int = 1, per_page: int = 100, expand: bool = True) -> list[dict[str, Any]]:
        """One page of GET /api/v1/tickets (ordered by id ascending)."""
        per_page = max(1, min(per_page, TICKETS_MAX_PER_PAGE))
        result = self._api.ticket.all(
            page=page,
            filters={"per_page": per_page, "expand": "true" if expand else "false"},
        )
        return list(result)

    def iter_tickets(self, per_page: int = 100, expand: bool = True) -> Iterator[dict[str, Any]]:
        """Every visible ticket, page by page, stopping on a short page."""
        per_page = max(1, min(per_page, TICKETS_MAX_PER_PAGE))
        page = 1
        while True:
            items = self.list_tickets(page=page, per_page=per_page, expand=expand)
            yield from items
            if len(items) < per_page:
                return
            page += 1

    # Ticket search by selector. What Zammad reads (zammad/zammad):
    # - config/routes/ticket.rb: /api/v1/tickets/search is routed for GET *and* POST, so
    #   we POST a JSON body; nested conditions (expert mode: {"operator": "AND",
    #   "conditions": [...]}) do not survive Rails' bracketed query-string encoding.
    # - app/controllers/tickets_controller.rb#search: `params.require(:condition).permit!`
    #   then Ticket.search(query:, condition: params[:condition].to_h,
    #   limit: pagination.limit, offset: pagination.offset, order_by:, sort_by:).
    #   Paging comes from paginate_with(max: 200, default: 50)
    #   (app/controllers/concerns/can_paginate/pagination.rb: limit = per_page || limit,
    #   offset = (page - 1) * limit). `expand` is read by response_expand?
    #   (ActiveModel boolean cast); `full` is NOT read from the request by this action
    #   (Ticket.search defaults full to true internally), so we do not send it.
    # - app/models/concerns/can_search.rb (used by app/models/ticket/search.rb in 6.x/7.x):
    #   Elasticsearch is used only when `query` is present; a condition-only search runs
    #   selector2sql on the database, so it is exact and not Lucene. sort_by/order_by may
    #   be a string or parallel arrays (default updated_at desc).
    # - Response: expand=true -> a JSON list of tickets (attributes_with_association_names);
    #   otherwise {"tickets": [ids], "tickets_count": n, "assets": {"Ticket": {"<id>": {...}}}}
    #   (recorded: test_tickets/test_ticket_search.log).
    def search_tickets(
        self,
        condition: Mapping[str, Any],
        *,
        per_page: int = 100,
        sort_by: str | Sequence[str] = "updated_at",
        order_by: str | Sequence[str] = "asc",
        expand: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Tickets matching a Zammad selector `condition`, paged, each yielded once.

        Offset paging over a mutable sort key can skip a ticket that moves while we page
        (e.g. updated mid-scan with sort_by updated_at); callers that need completeness
        should bound the condition by time or sort by id.
        """
        per_page = max(1, min(per_page, SEARCH_MAX_PER_PAGE))
        seen: set[int] = set()
        page = 1
        while True:
            body = {
                "condition": dict(condition),
                "page": page,
                "per_page": per_page,
                "sort_by": sort_by if isinstance(sort_by, str) else list(sort_by),
                "order_by": order_by if isinstance(order_by, str) else list(order_by),
                "expand": bool(expand),
            }
            # A search changes nothing server-side, so this POST is safe to retry.
            data = self.request("POST", "tickets/search", json=body, idempotent=True)
            tickets, count = self._search_page(data)
            for ticket in tickets:
                ticket_id = ticket.get("id")
                if isinstance(ticket_id, int):
                    if ticket_id in seen:
                        continue
                    seen.add(ticket_id)
                yield ticket
            if count < per_page:
                return
            page += 1

    def _search_page(self, data: Any) -> tuple[list[dict[str, Any]], int]:
        """Tickets of one search answer and how many rows the page held."""
        if isinstance(data, list):
            return data, len(data)
        if not isinstance(data, dict):
            return [], 0
        ids = [int(i) for i in data.get("tickets") or []]
        assets = (data.get("assets") or {}).get("Ticket") or {}
        tickets: list[dict[str, Any]] = []
        for ticket_id in ids:
            ticket = assets.get(str(ticket_id))
            # Assets normally carry every listed ticket; if not, fetch rather than drop it.
            tickets.append(ticket if ticket is not None else self.get_ticket(ticket_id, expand=False))
        return tickets, len(ids)

    def ticket_history(self, ticket_id: int) -> dict[str, Any]:
        """GET /api/v1/ticket_history/:id -> {"history": [...oldest first], "assets": {...}}."""
        return self.request("GET", f"ticket_history/{int(ticket_id)}")

    # -- tags -------------------------------------------------------------------------

    def ticket_tags(self, ticket_id: int) -> list[str]:
        """Tags of a ticket (GET /api/v1/tags?object=Ticket&o_id=N)."""
        data = self._api.ticket.tags(int(ticket_id))
        return list((data or {}).get("tags") or [])

    def add_tag(self, ticket_id: int, tag: str) -> None:
        """POST /api/v1/tags/add. Zammad's tag_add is a no-op for a present tag, so this
        POST is idempotent and may be retried like a GET."""
        payload = {"item": tag, "object": "Ticket", "o_id": int(ticket_id)}
        self._send("POST", "tags/add", json=payload, idempotent=True)

    def remove_tag(self, ticket_id: int, tag: str) -> None:
        """DELETE /api/v1/tags/remove with a JSON body."""
        self._api.ticket_tag.remove(int(ticket_id), tag, "Ticket")

    # -- articles ---------------------------------------------------------------------

    def add_internal_note(self, ticket_id: int, body_html: str, subject: str | None = None) -> dict[str, Any]:
        """Create an internal HTML note by the agent (POST /api/v1/ticket_articles; never retried
        once sent, a duplicate note is worse than a reported failure)."""
        payload: dict[str, Any] = {
            "ticket_id": int(ticket_id),
            "body": body_html,
            "content_type": "text/html",
            "type": "note",
            "internal": True,
            "sender": "Agent",
        }
        if subject is not None:
            payload["subject"] = subject
        return self._api.ticket_article.create(payload)

    # -- reference data ---------------------------------------------------------------

    def get_organization(self, org_id: int) -> dict[str, Any]:
        """GET /api/v1/organizations/:id."""
        return self._api.organization.find(int(org_id))

    def get_user(self, user_id: int) -> dict[str, Any]:
        """GET /api/v1/users/:id (the customer's e-mail, for contract selectors)."""
        return self._api.user.find(int(user_id))

    def ticket_states(self) -> list[dict[str, Any]]:
        """All ticket states (each with state_type_id and ignore_escalation)."""
        return list(self.request("GET", "ticket_states") or [])

    def get_ticket_state(self, state_id: int) -> dict[str, Any]:
        """GET /api/v1/ticket_states/:id."""
        return self._api.ticket_state.find(int(state_id))

    def ticket_priorities(self) -> list[dict[str, Any]]:
        """All ticket priorities."""
        return list(self.request("GET", "ticket_priorities") or [])

    def get_ticket_priority(self, priority_id: int) -> dict[str, Any]:
        """GET /api/v1/ticket_priorities/:id."""
        return self._api.ticket_priority.find(int(priority_id))

    def create_priority(self, name: str, **fields: Any) -> dict[str, Any]:
        """POST /api/v1/ticket_priorities (admin)."""
        return self._api.ticket_priority.create({"name": name, **fields})

    def me(self) -> dict[str, Any]:
        """The API user (GET /api/v1/users/me)."""
        return self._api.user.me()

    def server_time(self) -> datetime | None:
        """Zammad's clock from the `Date` header of GET /api/v1/users/me (UTC), if present."""
        return parse_http_date(self._send("GET", "users/me").headers.get("Date"))

    def frontend_config(self) -> dict[str, Any]:
        """Zammad's frontend settings (`config` of GET /api/v1/signshow), e.g. `locale_default`.

        sessions_controller.rb#show renders every `frontend: true` setting to any valid
        session or token, unlike GET /api/v1/settings (admin.* plus each setting's own
        permission: admin.system for locale_default), which the sidecar's token lacks on purpose.
        """
        body = self.request("GET", "signshow")
        config = body.get("config") if isinstance(body, dict) else None
        return config if isinstance(config, dict) else {}

    # -- SLAs and calendars (zammad-sla import-zammad-slas) ------------------------

    def _index_all(self, path: str, per_page: int = 500) -> list[dict[str, Any]]:
        # model_index_render pages at 500 rows (paginate_with(default: 500)): read to a short page.
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = list(self.request("GET", path, params={"page": page, "per_page": per_page}) or [])
            rows.extend(batch)
            if len(batch) < per_page:
                return rows
            page += 1

    def slas(self) -> list[dict[str, Any]]:
        """GET /api/v1/slas, every page (needs admin.sla)."""
        return self._index_all("slas")

    def calendars(self) -> list[dict[str, Any]]:
        """GET /api/v1/calendars, every page (needs admin.calendar)."""
        return self._index_all("calendars")

    def groups(self) -> list[dict[str, Any]]:
        """GET /api/v1/groups, every page (needs admin.group)."""
        return self._index_all("groups")

    # -- object manager ---------------------------------------------------------------

    def object_attributes(self) -> list[dict[str, Any]]:
        """GET /api/v1/object_manager_attributes (all objects' attributes)."""
        return list(self.request("GET", "object_manager_attributes") or [])

    def create_object_attribute(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/v1/object_manager_attributes; run `execute_migrations` afterwards."""
        return self._objects.create(dict(payload))

    def update_object_attribute(self, attr_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /api/v1/object_manager_attributes/:id."""
        return self._objects.update(int(attr_id), dict(payload))

    def delete_object_attribute(self, attr_id: int) -> None:
        """DELETE /api/v1/object_manager_attributes/:id."""
        self._objects.destroy(int(attr_id))

    def execute_migrations(self) -> None:
        """POST /api/v1/object_manager_attributes_execute_migrations (Zammad restarts)."""
        self._objects.execute_migrations()

    # -- webhooks, triggers, overviews ------------------------------------------------

    def webhooks(self) -> list[dict[str, Any]]:
        """GET /api/v1/webhooks."""
        return list(self.request("GET", "webhooks") or [])

    def create_webhook(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/v1/webhooks."""
        return self._webhooks.create(dict(payload))

    def update_webhook(self, webhook_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /api/v1/webhooks/:id."""
        return self._webhooks.update(int(webhook_id), dict(payload))

    def delete_webhook(self, webhook_id: int) -> None:
        """DELETE /api/v1/webhooks/:id."""
        self._webhooks.destroy(int(webhook_id))

    def triggers(self) -> list[dict[str, Any]]:
        """GET /api/v1/triggers."""
        return list(self.request("GET", "triggers") or [])

    def create_trigger(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/v1/triggers."""
        return self._triggers.create(dict(payload))

    def update_trigger(self, trigger_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /api/v1/triggers/:id."""
        return self._triggers.update(int(trigger_id), dict(payload))

    def delete_trigger(self, trigger_id: int) -> None:
        """DELETE /api/v1/triggers/:id."""
        self._triggers.destroy(int(trigger_id))

    def overviews(self) -> list[dict[str, Any]]:
        """GET /api/v1/overviews."""
        return list(self.request("GET", "overviews") or [])

    def create_overview(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/v1/overviews."""
        return self._overviews.create(dict(payload))

    def update_overview(self, overview_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /api/v1/overviews/:id."""
        return self._overviews.update(int(overview_id), dict(payload))

    def delete_overview(self, overview_id: int) -> None:
        """DELETE /api/v1/overviews/:id."""
        self._overviews.destroy(int(overview_id))
