"""Contract tests: every recorded real Zammad exchange on an endpoint the twin implements is
replayed against the twin, and the twin's response must have the recorded shape.

Covered endpoints (method + path template):
  POST/GET /api/v1/tickets, GET/PUT/DELETE /api/v1/tickets/:id, GET /api/v1/tickets/search,
  GET /api/v1/ticket_history/:id, GET /api/v1/tags, POST /api/v1/tags/add,
  DELETE /api/v1/tags/remove, POST /api/v1/ticket_articles, GET /api/v1/ticket_articles/:id,
  GET /api/v1/ticket_articles/by_ticket/:id, GET/POST /api/v1/users,
  GET/PUT/DELETE /api/v1/users/:id, GET /api/v1/users/me, GET /api/v1/users/search,
  POST /api/v1/organizations, DELETE /api/v1/organizations/:id, GET/POST /api/v1/groups,
  GET/PUT/DELETE /api/v1/groups/:id, POST /api/v1/ticket_states,
  GET/PUT/DELETE /api/v1/ticket_states/:id, POST /api/v1/ticket_priorities,
  GET/PUT/DELETE /api/v1/ticket_priorities/:id.

Excluded (the twin does not implement them): /api/v1/links*, /api/v1/ticket_merge/*,
/api/v1/tag_list*, /api/v1/tag_search, /api/v1/ticket_attachment/*.

Shape rules: the status must match; every key of a recorded object must exist in the twin's
object with a compatible JSON type (null is compatible with anything; int and float are both
"number"); lists and id-keyed maps (all keys digits, e.g. assets) compare element shapes:
each recorded element must match some twin element, and a non-empty recorded collection
needs a non-empty twin one. `preferences` is free-form and only type-checked. Recorded
request bodies are replayed with recorded ids mapped to twin fixtures and names made unique.

Value rules, wherever the recording pins a value down independently of the installation:
- echo: a request field the recorded response returned unchanged must come back from the twin
  as the value the replay sent (names, titles, emails, flags, ids);
- errors: `error` and `error_human` of 4xx bodies equal the recorded text, with the recorded
  id replaced by the one the replay asked for;
- scalar bodies (e.g. `true` from tags/add) are equal;
- pagination: a recorded full page (`per_page` items) must be a full page in the twin too;
- names Zammad installs by default and the replay's fixtures reproduce (state "new", priority
  "2 normal", group "Users", no owner "-"; article sender "Agent", type "note", content type
  "text/plain") are equal.
Where a recording cannot be reproduced by the replay, the exchange is listed in
`KNOWN_DIFFERENCES` with the reason; the test checks the difference is still there.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.recorded import Exchange, all_exchanges
from zammad_sla_plugin.twin import TwinServer

TOKEN = "contract"
EXCLUDED = re.compile(r"^/api/v1/(ticket_merge|tag_list|tag_search|ticket_attachment)")
FREE_FORM_KEYS = frozenset({"preferences"})
_unique = itertools.count(1)


def _template(path: str) -> str:
    return re.sub(r"/\d+", "/:id", path)


EXCHANGES = [e for e in all_exchanges() if not EXCLUDED.match(e.path)]


class Client:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token token={TOKEN}"

    def raw(self, method: str, path: str, query: dict[str, str] | None = None, json: Any = None) -> requests.Response:
        return self.session.request(method, self.url + path, params=query, json=json, timeout=5)

    def ok(self, method: str, path: str, json: Any = None, query: dict[str, str] | None = None) -> Any:
        response = self.raw(method, path, query, json)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with TwinServer(token=TOKEN, time_scale=0.001) as twin:
        api = Client(twin.url)
        # Recorded instances have an admin inside an organization; mirror that so assets
        # carry an Organization like the recordings do.
        api.ok("PUT", "/api/v1/users/3", {"organization_id": 1})
        yield api


# ----------------------------------------------------------------------------- shapes
def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"


def _id_map(value: dict[str, Any]) -> bool:
    return bool(value) and all(k.isdigit() for k in value)


def shape_problems(recorded: Any, actual: Any, where: str = "$") -> list[str]:
    """Why `actual` does not have the shape of `recorded` (empty list: it does)."""
    if recorded is None or actual is None:
        return []
    if _kind(recorded) != _kind(actual):
        return [f"{where}: recorded {_kind(recorded)}, twin {_kind(actual)}"]
    if isinstance(recorded, list):
        return _collection(recorded, actual, where)
    if isinstance(recorded, dict):
        if where.rsplit(".", 1)[-1] in FREE_FORM_KEYS:
            return []
        if _id_map(recorded):
            return _collection(list(recorded.values()), list(actual.values()), where + "{id}")
        problems = [f"{where}: key {key!r} missing in twin" for key in recorded if key not in actual]
        for key, value in recorded.items():
            if key in actual:
                problems.extend(shape_problems(value, actual[key], f"{where}.{key}"))
        return problems
    return []


def _collection(recorded: list[Any], actual: list[Any], where: str) -> list[str]:
    if recorded and not actual:
        return [f"{where}: recorded {len(recorded)} elements, twin none"]
    problems: list[str] = []
    for index, element in enumerate(recorded):
        candidates = [shape_problems(element, other, f"{where}[{index}]") for other in actual]
        best = min(candidates, key=len) if candidates else []
        problems.extend(best)
    return problems


def test_shape_checker_catches_differences() -> None:
    assert shape_problems({"a": 1, "b": [{"c": "x"}]}, {"a": 2, "b": [{"c": "y"}], "extra": 1}) == []
    assert shape_problems({"a": 1}, {}) == ["$: key 'a' missing in twin"]
    assert shape_problems({"a": 1}, {"a": "1"}) == ["$.a: recorded number, twin string"]
    assert shape_problems({"a": None}, {"a": {"x": 1}}) == []
    assert shape_problems([{"x": 1}], []) == ["$: recorded 1 elements, twin none"]
    assert shape_problems({"7": {"x": 1}}, {"9": {"y": 1}}) == ["${id}[0]: key 'x' missing in twin"]


# ----------------------------------------------------------------------------- fixtures
def _uniq(text: str) -> str:
    return f"{text}-{next(_unique)}"


def _wants_organization(exchange: Exchange) -> bool:
    """Recorded ticket(s) belonged to an organization (so names/assets include one)."""
    body = exchange.response_json
    tickets = body if isinstance(body, list) else [body]
    return any(isinstance(t, dict) and "number" in t and t.get("organization_id") is not None for t in tickets)


def _ticket(api: Client, title: str = "__pytest__", attachments: bool = False, organization: bool = False) -> dict[str, Any]:
    article: dict[str, Any] = {"body": "..."}
    customer: Any = 2 if organization else "guess:pytest@localhost.local"  # user 2 is in organization 1
    ticket = api.ok("POST", "/api/v1/tickets", {"title": title, "group": "Users",
                                                "customer_id": customer, "article": article})
    if attachments:
        api.ok("POST", "/api/v1/ticket_articles", {"ticket_id": ticket["id"], "body": "a", "type": "note", "internal": True,
                                                   "attachments": [{"filename": "a.txt", "data": "YQ==", "mime-type": "text/plain"}]})
    return ticket


def _article_with(api: Client, attachments: bool) -> dict[str, Any]:
    ticket = _ticket(api)
    files = [{"filename": "a.txt", "data": "YQ==", "mime-type": "text/plain"}] if attachments else []
    return api.ok("POST", "/api/v1/ticket_articles", {"ticket_id": ticket["id"], "body": "b", "type": "note",
                                                      "internal": True, "attachments": files})


def _make(api: Client, resource: str, like: Any = None) -> dict[str, Any]:
    """A fresh record; `like` (the recorded response) asks for agents/members when it had them."""
    like = like if isinstance(like, dict) else {}
    payload: dict[str, Any] = {"name": _uniq("pytest")}
    if resource == "ticket_states":
        payload["state_type_id"] = 1
    if resource == "users":
        payload = {"email": f"{_uniq('fixture')}@example.com"}
        if like.get("group_ids"):
            payload.update(role_ids=[1, 2], group_ids={"1": ["full"]})
    record = api.ok("POST", f"/api/v1/{resource}", payload)
    if resource == "groups" and like.get("user_ids"):
        api.ok("POST", "/api/v1/users", {"email": f"{_uniq('member')}@example.com", "role_ids": [2],
                                         "group_ids": {str(record["id"]): ["full"]}})
    return record


def _request_body(exchange: Exchange) -> Any:
    body = exchange.request_json
    if not isinstance(body, dict):
        return body
    body = dict(body)
    if "name" in body and isinstance(body["name"], str):
        body["name"] = _uniq(body["name"])
    if isinstance(body.get("email"), str) and "@" in body["email"]:
        local, domain = body["email"].split("@", 1)
        body["email"] = f"{_uniq(local)}@{domain}"
    return body


def _replay(api: Client, exchange: Exchange) -> requests.Response:
    """Set up fixtures for `exchange`, then send the equivalent request to the twin."""
    method, template, query, status = exchange.method, _template(exchange.path), dict(exchange.query), exchange.status
    body = _request_body(exchange)
    resource = template.split("/")[3]
    if status == 404:
        return api.raw(method, re.sub(r"/\d+$", "/999999", exchange.path), query, body)
    organization = _wants_organization(exchange)
    if template == "/api/v1/tickets" and method == "GET":
        _ticket(api, organization=organization)
        return api.raw(method, template, query)
    if template == "/api/v1/tickets/search":
        term = query.get("query", "").split(":", 1)[-1]
        _ticket(api, term, organization=organization)
        if exchange.response_json in ([], None) or (isinstance(exchange.response_json, dict) and not exchange.response_json.get("tickets")):
            query["query"] = _uniq("nothing-matches")
        return api.raw(method, template, query)
    if template in ("/api/v1/tickets/:id", "/api/v1/ticket_history/:id"):
        ticket = _ticket(api, organization=organization)
        return api.raw(method, template.replace(":id", str(ticket["id"])), query, body)
    if template in ("/api/v1/tags", "/api/v1/tags/add", "/api/v1/tags/remove"):
        ticket = _ticket(api)
        if template == "/api/v1/tags":
            if exchange.response_json and exchange.response_json.get("tags"):
                api.ok("POST", "/api/v1/tags/add", {"item": "x", "object": "Ticket", "o_id": ticket["id"]})
            query["o_id"] = str(ticket["id"])
        else:
            body = {**body, "o_id": ticket["id"]}
        return api.raw(method, template, query, body)
    if template == "/api/v1/ticket_articles" and method == "POST":
        return api.raw(method, template, query, {**body, "ticket_id": _ticket(api)["id"]})
    if template == "/api/v1/ticket_articles/:id":
        article = _article_with(api, bool(exchange.response_json and exchange.response_json.get("attachments")))
        return api.raw(method, f"/api/v1/ticket_articles/{article['id']}", query)
    if template == "/api/v1/ticket_articles/by_ticket/:id":
        ticket = _ticket(api, attachments=True)
        return api.raw(method, f"/api/v1/ticket_articles/by_ticket/{ticket['id']}", query)
    if resource in ("links", "links/add", "links/remove") or template.startswith("/api/v1/links"):
        return _replay_link(api, exchange, query, body)
    if template == "/api/v1/users/me":
        return api.raw(method, template, query)
    if template == "/api/v1/users/search":
        first = _uniq("Searchable")
        agent = any(isinstance(u, dict) and u.get("group_ids") for u in exchange.response_json or [])
        api.ok("POST", "/api/v1/users", {"firstname": first, "lastname": "Person",
                                         **({"role_ids": [1, 2], "group_ids": {"1": ["full"]}} if agent else {})})
        return api.raw(method, template, {**query, "query": first})
    if template.endswith("/:id") and method == "DELETE" and resource == "users" and status == 422:
        user = _make(api, "users")
        api.ok("POST", "/api/v1/tickets", {"title": "ref", "group": "Users", "customer_id": user["id"]})
        return api.raw(method, f"/api/v1/users/{user['id']}", query)
    if method == "GET" and template == f"/api/v1/{resource}":
        wanted = int(query.get("page", 1)) * int(query.get("per_page", 1))
        existing = len(api.ok("GET", f"/api/v1/{resource}", query={"per_page": "500"}))
        for _ in range(max(0, wanted - existing)):
            _make(api, resource)
        return api.raw(method, template, query)
    if method == "POST" and template == f"/api/v1/{resource}":
        return api.raw(method, template, query, body)
    if template == f"/api/v1/{resource}/:id":
        record = _make(api, resource, exchange.response_json)
        return api.raw(method, f"/api/v1/{resource}/{record['id']}", query, body)
    raise AssertionError(f"no replay rule for {method} {template}")


def _replay_link(api: Client, exchange: Exchange, query: dict[str, str], body: Any) -> requests.Response:
    """Links between two fresh tickets, of the recorded type when the recorded answer had one."""
    source, target = _ticket(api), _ticket(api)
    recorded = exchange.response_json
    link_type = (body or {}).get("link_type") or "normal"
    if exchange.path.endswith("/remove"):  # recorded: removed from the other ticket's side
        link_type = {"child": "parent", "parent": "child"}.get(link_type, "normal")
    if isinstance(recorded, dict) and recorded.get("links"):
        link_type = {"child": "parent", "parent": "child"}.get(recorded["links"][0]["link_type"], "normal")
    pair = {"link_type": link_type, "link_object_source": "Ticket", "link_object_source_number": source["number"],
            "link_object_target": "Ticket", "link_object_target_value": target["id"]}
    if exchange.path.endswith("/add"):
        return api.raw("POST", exchange.path, query, pair)
    api.ok("POST", "/api/v1/links/add", pair)
    if exchange.path.endswith("/remove"):
        return api.raw("DELETE", exchange.path, query, {**body, "link_object_source_value": target["id"],
                                                        "link_object_target_value": source["id"]})
    if isinstance(recorded, dict) and not recorded.get("links"):
        return api.raw("GET", exchange.path, {**query, "link_object_value": str(_ticket(api)["id"])})
    return api.raw("GET", exchange.path, {**query, "link_object_value": str(source["id"])})


# ----------------------------------------------------------------------------- values
# Values the replay's fixtures reproduce: a fresh ticket of the default group and priority, no
# owner; articles an agent posts as notes.
FIXTURE_VALUES = {
    "ticket": {"state": "new", "priority": "2 normal", "group": "Users", "owner": "-"},
    "article": {"sender": "Agent", "type": "note", "content_type": "text/plain"},
}
# Recorded values the replay cannot reproduce: exchange source -> why.
KNOWN_DIFFERENCES = {
    "test_tickets/test_lazy_attribute_caching.log#1": "Zammad's welcome ticket 1 had been opened and assigned; the replay's ticket is new",
    "test_tickets/test_ticket_merge.log#8": "the recorded ticket was merged; the twin does not implement ticket_merge",
}


def _sent(response: requests.Response) -> tuple[str, Any]:
    """The path and JSON body the replay actually sent."""
    body = response.request.body
    return urlsplit(response.request.url or "").path, json.loads(body) if body else None


def _kind_of(record: dict[str, Any]) -> str | None:
    if "number" in record and "title" in record:
        return "ticket"
    if "sender" in record and "ticket_id" in record:
        return "article"
    return None


def _records(body: Any) -> list[Any]:
    return body if isinstance(body, list) else [body]


def value_problems(exchange: Exchange, response: requests.Response) -> list[str]:
    """Where the twin's values differ from those the recording pins down (see the module doc)."""
    recorded, actual = exchange.response_json, response.json() if response.content else None
    sent_path, sent_body = _sent(response)
    problems: list[str] = []
    if isinstance(recorded, (bool, int, str)) and recorded != actual:
        problems.append(f"$: recorded {recorded!r}, twin {actual!r}")
    if exchange.status >= 400 and isinstance(recorded, dict) and isinstance(actual, dict):
        recorded_id, sent_id = exchange.path.rsplit("/", 1)[-1], sent_path.rsplit("/", 1)[-1]
        for key in ("error", "error_human"):
            want = str(recorded.get(key)).replace(f"'id'={recorded_id}", f"'id'={sent_id}")
            if actual.get(key) != want:
                problems.append(f"$.{key}: expected {want!r}, twin {actual.get(key)!r}")
    if isinstance(exchange.request_json, dict) and isinstance(recorded, dict) and isinstance(actual, dict):
        for key, value in exchange.request_json.items():
            if recorded.get(key) == value and actual.get(key) != sent_body.get(key):
                problems.append(f"$.{key}: sent {sent_body.get(key)!r}, twin echoed {actual.get(key)!r}")
    per_page = int(exchange.query.get("per_page", 0))
    if isinstance(recorded, list) and per_page and len(recorded) == per_page and len(actual or []) != per_page:
        problems.append(f"$: recorded a full page of {per_page}, twin {len(actual or [])}")
    pairs = list(zip(_records(recorded), _records(actual)))
    for index, (want_record, have_record) in enumerate(pairs):
        if not isinstance(want_record, dict) or not isinstance(have_record, dict):
            continue
        for key, value in FIXTURE_VALUES.get(_kind_of(want_record) or "", {}).items():
            if key in want_record and want_record[key] != have_record.get(key):
                problems.append(f"$[{index}].{key}: recorded {want_record[key]!r}, twin {have_record.get(key)!r}")
            elif key in want_record and want_record[key] != value:
                problems.append(f"$[{index}].{key}: recorded {want_record[key]!r}, not the fixture's {value!r}")
    return problems


def _response(method: str, path: str, sent: Any, body: Any) -> requests.Response:
    response = requests.Response()
    response.request = requests.Request(method, f"http://twin{path}", json=sent).prepare()
    response._content = json.dumps(body).encode()
    return response


def _exchange(method: str, path: str, request: Any, status: int, body: Any, query: dict[str, str] | None = None) -> Exchange:
    return Exchange("x.log#0", method, path, query or {}, request, status, body, False)


def test_value_checker_catches_differences() -> None:
    echo = _exchange("POST", "/api/v1/groups", {"name": "a", "note": "n"}, 201, {"name": "a", "note": "n", "id": 4})
    assert value_problems(echo, _response("POST", "/api/v1/groups", {"name": "b", "note": "n"}, {"name": "b", "note": "n"})) == []
    assert value_problems(echo, _response("POST", "/api/v1/groups", {"name": "b", "note": "n"}, {"name": "a", "note": "n"})) == [
        "$.name: sent 'b', twin echoed 'a'"]
    missing = _exchange("GET", "/api/v1/tickets/6", None, 404, {"error": "Couldn't find Ticket with 'id'=6",
                                                                "error_human": "Couldn't find Ticket with 'id'=6"})
    twin_404 = {"error": "Couldn't find Ticket with 'id'=99", "error_human": "Not found"}
    assert value_problems(missing, _response("GET", "/api/v1/tickets/99", None, twin_404)) == [
        "$.error_human: expected \"Couldn't find Ticket with 'id'=99\", twin 'Not found'"]
    page = _exchange("GET", "/api/v1/users", None, 200, [{"id": 1}, {"id": 2}], {"per_page": "2"})
    assert value_problems(page, _response("GET", "/api/v1/users", None, [{"id": 1}])) == ["$: recorded a full page of 2, twin 1"]
    ticket = _exchange("GET", "/api/v1/tickets/1", None, 200, {"number": "1", "title": "t", "state": "new", "group": "Users"})
    assert value_problems(ticket, _response("GET", "/api/v1/tickets/3", None, {"number": "9", "title": "u", "state": "open",
                                                                                "group": "Users"})) == [
        "$[0].state: recorded 'new', twin 'open'"]
    added = _exchange("POST", "/api/v1/tags/add", {"item": "x"}, 201, True)
    assert value_problems(added, _response("POST", "/api/v1/tags/add", {"item": "x"}, False)) == ["$: recorded True, twin False"]


@pytest.mark.parametrize("exchange", EXCHANGES, ids=[f"{e.source}:{e.method}:{_template(e.path)}" for e in EXCHANGES])
def test_recorded_exchange(client: Client, exchange: Exchange) -> None:
    response = _replay(client, exchange)
    assert response.status_code == exchange.status, response.text
    actual = response.json() if response.content else None
    if exchange.response_json is not None:
        assert actual is not None, "twin returned no JSON body"
    problems = shape_problems(exchange.response_json, actual)
    assert not problems, "\n".join(problems[:20])
    values = value_problems(exchange, response)
    if exchange.source in KNOWN_DIFFERENCES:
        assert values, f"no longer differs ({KNOWN_DIFFERENCES[exchange.source]}): remove it from KNOWN_DIFFERENCES"
    else:
        assert not values, "\n".join(values[:20])


def test_recordings_are_present() -> None:
    # The contract is only meaningful with the recordings (tests/fixtures/zammad/recorded/).
    assert len(EXCHANGES) > 100
    assert set(KNOWN_DIFFERENCES) <= {e.source for e in EXCHANGES}
