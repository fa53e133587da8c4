"""The harness of the conformance suite: a fresh twin per example, seeded like the request
specs' factories, and a client per user (`authenticated_as`).

Each module ports one Zammad spec file (`ZAMMAD_SPEC`, read at `ZAMMAD_COMMIT`); each test
names the `it '...'` example it ports in its docstring, first line, as
`<context> > it '<example>'`. tests/zammad_specs/README.md lists what was left out and why.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
import requests

from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.twin.records import GROUP_COLUMNS, ORGANIZATION_COLUMNS, blank
from zammad_sla_plugin.twin.seed import add_user
from zammad_sla_plugin.twin.tickets import add_tag, create_article, create_ticket, update_ticket

START = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
_names = itertools.count(1)


def truthy(value: Any) -> bool:
    """RSpec's `be_truthy`: Ruby truth, where only nil and false are false ({} and "" are true)."""
    return value is not None and value is not False


@dataclass
class User:
    """A seeded user and the token it authenticates with."""

    id: int
    login: str
    email: str
    firstname: str
    lastname: str
    token: str


class Response:
    """What a request spec sees: `status` and `json` (the spec's `json_response`)."""

    def __init__(self, raw: requests.Response) -> None:
        self.raw = raw
        self.status = raw.status_code
        self.text = raw.text
        self.headers = raw.headers
        try:
            self.json: Any = raw.json()
        except ValueError:
            self.json = None


class Client:
    """HTTP as one user (`authenticated_as(user)`), optionally acting `From` another."""

    def __init__(self, url: str, token: str, from_: Any = None) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token token={token}"
        if from_ is not None:
            self.session.headers["From"] = str(from_)

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Response:
        return Response(self.session.request(method, f"{self.url}/api/v1/{path.lstrip('/')}", params=params,
                                             json=json, timeout=10))

    def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Response:
        return self.request("POST", path, params=params, json=json if json is not None else {})

    def put(self, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Response:
        return self.request("PUT", path, params=params, json=json if json is not None else {})

    def delete(self, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Response:
        return self.request("DELETE", path, params=params, json=json)


class Zammad:
    """A fresh twin with the spec factories: users by role, groups, organizations, tickets."""

    def __init__(self, server: TwinServer) -> None:
        self.server = server
        self.state = server.state

    # -- factories (run inside the twin, like FactoryBot inside Rails) -----------------
    def user(self, roles: list[str], *, firstname: str = "", lastname: str = "", login: str | None = None,
             email: str | None = None, groups: Any = None, organization_id: int | None = None) -> User:
        """`create(:admin | :agent | :customer | :agent_and_customer, ...)`; `groups="all"`
        is `groups: Group.all` (full access), a list of ids full access to those."""
        n = next(_names)
        login = login or f"{'-'.join(r.lower() for r in roles)}{n}@example.com"
        with self.state.lock:
            if groups == "all":
                groups = {gid: ["full"] for gid in self.state.tables["groups"]}
            elif isinstance(groups, list):
                groups = {gid: ["full"] for gid in groups}
            row = add_user(self.state, login, firstname or f"First{n}", lastname or f"Last{n}", roles=roles,
                           groups=groups, organization_id=organization_id, email=email)
        return User(row["id"], row["login"], row["email"], row["firstname"], row["lastname"],
                    self.server.token_for(row["id"]))

    def admin(self, **kwargs: Any) -> User:
        kwargs.setdefault("groups", "all")
        return self.user(["Admin", "Agent"], **kwargs)

    def agent(self, **kwargs: Any) -> User:
        return self.user(["Agent"], **kwargs)

    def customer(self, **kwargs: Any) -> User:
        return self.user(["Customer"], **kwargs)

    def grant(self, user: User, group_id: int, accesses: list[str]) -> None:
        """`user.group_names_access_map = {group => accesses}` for one group."""
        with self.state.lock:
            self.state.tables["users"][user.id]["_group_ids"][group_id] = list(accesses)

    def revoke(self, user: User, group_id: int) -> None:
        with self.state.lock:
            self.state.tables["users"][user.id]["_group_ids"].pop(group_id, None)

    def group(self, name: str | None = None, **values: Any) -> int:
        """`create(:group)` (full access for the harness admin is not implied)."""
        name = name or f"Group {next(_names)}"
        with self.state.lock:
            now = self.state.now_iso()
            row = blank(GROUP_COLUMNS, name=name, name_last=name, follow_up_possible="yes",
                        follow_up_assignment=True, active=True, shared_drafts=True, note="",
                        created_by_id=1, updated_by_id=1, created_at=now, updated_at=now)
            row.update(values)
            return int(self.state.insert("groups", row)["id"])

    def organization(self, name: str | None = None, **values: Any) -> int:
        name = name or f"Organization {next(_names)}"
        with self.state.lock:
            now = self.state.now_iso()
            row = blank(ORGANIZATION_COLUMNS, name=name, shared=True, domain="", domain_assignment=False,
                        active=True, vip=False, note="", created_by_id=1, updated_by_id=1,
                        created_at=now, updated_at=now)
            row.update(values)
            return int(self.state.insert("organizations", row)["id"])

    def ticket(self, *, group_id: int = 1, customer_id: int = 2, title: str = "Test Ticket", actor_id: int = 1,
               **values: Any) -> dict[str, Any]:
        """`create(:ticket, ...)`: no article, created and updated by `actor_id` (1 = system)."""
        with self.state.lock:
            tx = create_ticket(self.state, {"title": title, "group_id": group_id, "customer_id": customer_id,
                                            **values}, actor_id)
            return dict(self.state.tables["tickets"][tx.ticket_id])

    def update(self, ticket_id: int, actor_id: int = 1, **values: Any) -> None:
        with self.state.lock:
            update_ticket(self.state, self.state.tables["tickets"][ticket_id], values, actor_id)

    def article(self, ticket_id: int, actor_id: int = 1, **values: Any) -> dict[str, Any]:
        """`create(:ticket_article, ...)` (a customer note unless told otherwise)."""
        params = {"type": "note", "sender": "Customer", "body": "some body", **values}
        with self.state.lock:
            return dict(create_article(self.state, self.state.tables["tickets"][ticket_id], params, actor_id))

    def tag(self, ticket_id: int, name: str) -> None:
        with self.state.lock:
            add_tag(self.state, ticket_id, name, 1)

    def as_(self, user: User, from_: Any = None) -> Client:
        """`authenticated_as(user)` (with `from:`)."""
        return Client(self.server.url, user.token, from_)


@pytest.fixture
def zammad() -> Iterator[Zammad]:
    """A fresh twin per example (the specs run each example on a fresh database)."""
    with TwinServer(token="zammad-specs", time_scale=0.001, now=START, frozen=True, threads=4) as server:
        yield Zammad(server)
