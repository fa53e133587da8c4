"""Twin triggers and webhook delivery, received by a real local HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import requests

from zammad_sla_plugin.twin import TwinServer

TOKEN = "secret"
SIGNING = "s3cr3t-signing-token"
API_USER = 3


class Receiver:
    """Records every POST; answers with queued status codes (then 200)."""

    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.hits.append({"headers": dict(self.headers), "raw": raw, "at": time.monotonic(), "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    # time_scale 0.001: retry waits of 10/20/30/40 s become 10/20/30/40 ms.
    with TwinServer(token=TOKEN, time_scale=0.001, now=datetime(2026, 3, 10, 12, tzinfo=timezone.utc)) as server:
        yield server


def call(twin: TwinServer, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
    response = requests.request(method, twin.url + "/api/v1" + path, timeout=5,
                                headers={"Authorization": f"Token token={TOKEN}", **kwargs.pop("headers", {})}, **kwargs)
    assert response.status_code == expect, response.text
    return response.json() if response.content else None


def setup_hook(twin: TwinServer, receiver: Receiver, condition: dict[str, Any], mode: str = "always",
               name: str = "zz SLA sidecar webhook") -> None:
    webhook = call(twin, "POST", "/webhooks", 201, json={
        "name": f"hook for {name}", "endpoint": receiver.url, "signature_token": SIGNING, "ssl_verify": False, "active": True})
    call(twin, "POST", "/triggers", 201, json={
        "name": name, "active": True, "activator": "action", "execution_condition_mode": mode,
        "condition": condition, "perform": {"notification.webhook": {"webhook_id": str(webhook["id"])}}})


def new_ticket(twin: TwinServer, **extra: Any) -> dict[str, Any]:
    return call(twin, "POST", "/tickets", 201, json={"title": "Printer", "group": "Users", "customer_id": 2,
                                                      "article": {"body": "hi"}, **extra})


def settle(twin: TwinServer) -> None:
    # Fired jobs count as pending from the moment the triggering request committed.
    assert twin.wait_for_deliveries(10)


UPDATE_NOT_ME = {"ticket.action": {"operator": "is", "value": "update"},
                 "ticket.updated_by_id": {"operator": "is not", "pre_condition": "specific", "value": [str(API_USER)]}}


def test_signed_delivery_headers_and_payload(twin: TwinServer, receiver: Receiver) -> None:
    setup_hook(twin, receiver, {"ticket.action": {"operator": "is", "value": "create"}})
    ticket = new_ticket(twin)
    settle(twin)
    assert len(receiver.hits) == 1
    hit = receiver.hits[0]
    expected = "sha1=" + hmac.new(SIGNING.encode(), hit["raw"], hashlib.sha1).hexdigest()
    assert hit["headers"]["X-Hub-Signature"] == expected
    assert hit["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert hit["headers"]["User-Agent"] == "Zammad User Agent"
    assert hit["headers"]["X-Zammad-Trigger"] == "zz SLA sidecar webhook"
    assert len(hit["headers"]["X-Zammad-Delivery"]) == 36
    payload = json.loads(hit["raw"])
    assert set(payload) == {"ticket", "article"}
    t = payload["ticket"]
    assert t["id"] == ticket["id"] and t["state"] == "new" and t["state_id"] == 1
    assert t["priority"]["name"] == "2 normal" and t["owner"]["login"] == "-"
    assert t["customer"]["login"] == "nicole.braun@zammad.org" and t["organization"]["name"] == "Zammad Foundation"
    assert t["group"]["name"] == "Users" and t["created_by"]["id"] == API_USER
    assert "preferences" not in t["customer"] and "tags" not in t
    assert list(t) == sorted(t)
    assert payload["article"]["body"] == "hi" and payload["article"]["created_by"]["id"] == API_USER


def test_excluded_user_gets_no_delivery(twin: TwinServer, receiver: Receiver) -> None:
    setup_hook(twin, receiver, UPDATE_NOT_ME)
    ticket = new_ticket(twin)
    call(twin, "PUT", f"/tickets/{ticket['id']}", json={"priority_id": 3})  # by the API user: excluded
    settle(twin)
    assert receiver.hits == []
    call(twin, "PUT", f"/tickets/{ticket['id']}", json={"priority_id": 1}, headers={"From": "4"})
    settle(twin)
    assert len(receiver.hits) == 1
    payload = json.loads(receiver.hits[0]["raw"])
    assert payload["ticket"]["updated_by_id"] == 4 and payload["article"] == {}


def test_selective_vs_always(twin: TwinServer, receiver: Receiver) -> None:
    condition = {"operator": "AND", "conditions": [
        {"name": "ticket.action", "operator": "is", "value": "update"},
        {"operator": "OR", "conditions": [{"name": "ticket.state_id", "operator": "has changed"},
                                          {"name": "ticket.priority_id", "operator": "has changed"}]}]}
    setup_hook(twin, receiver, condition, mode="selective", name="a selective")
    setup_hook(twin, receiver, {"ticket.action": {"operator": "is", "value": "update"},
                                "ticket.priority_id": {"operator": "is", "value": ["1", "2", "3"]}},
               mode="selective", name="b selective on priority")
    setup_hook(twin, receiver, {"ticket.action": {"operator": "is", "value": "update"}}, mode="always", name="c always")
    ticket = new_ticket(twin)
    call(twin, "PUT", f"/tickets/{ticket['id']}", json={"title": "only title"})
    settle(twin)
    assert [h["headers"]["X-Zammad-Trigger"] for h in receiver.hits] == ["c always"]
    receiver.hits.clear()
    call(twin, "PUT", f"/tickets/{ticket['id']}", json={"priority": "3 high"})
    settle(twin)
    assert sorted(h["headers"]["X-Zammad-Trigger"] for h in receiver.hits) == ["a selective", "b selective on priority", "c always"]


def test_retries_with_scaled_waits_then_success(twin: TwinServer, receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 302]
    setup_hook(twin, receiver, {"ticket.action": {"operator": "is", "value": "create"}})
    new_ticket(twin)
    settle(twin)
    assert [h["status"] for h in receiver.hits] == [500, 500, 302, 200]
    gaps = [b["at"] - a["at"] for a, b in zip(receiver.hits, receiver.hits[1:])]
    assert gaps[0] >= 0.010 and gaps[1] >= 0.020 and gaps[2] >= 0.030
    assert len({h["headers"]["X-Zammad-Delivery"] for h in receiver.hits}) == 1
    log = requests.get(twin.url + "/_twin/deliveries", timeout=5).json()["deliveries"]
    assert [(e["attempt"], e["status"], e["ok"]) for e in log] == [(1, 500, False), (2, 500, False), (3, 302, False), (4, 200, True)]


def test_gives_up_after_five_attempts(twin: TwinServer, receiver: Receiver) -> None:
    receiver.statuses = [503] * 10
    setup_hook(twin, receiver, {"ticket.action": {"operator": "is", "value": "create"}})
    new_ticket(twin)
    settle(twin)
    assert len(receiver.hits) == 5
    assert requests.get(twin.url + "/_twin/deliveries", timeout=5).json()["deliveries"][-1]["final"] is True


def test_tag_change_fires_nothing_and_article_fires_update(twin: TwinServer, receiver: Receiver) -> None:
    setup_hook(twin, receiver, {"ticket.action": {"operator": "is", "value": "update"}})
    ticket = new_ticket(twin)
    call(twin, "POST", "/tags/add", 201, json={"item": "vip", "object": "Ticket", "o_id": ticket["id"]})
    call(twin, "DELETE", "/tags/remove", json={"item": "vip", "object": "Ticket", "o_id": ticket["id"]})
    settle(twin)
    assert receiver.hits == []
    call(twin, "POST", "/ticket_articles", 201, json={"ticket_id": ticket["id"], "body": "note", "internal": True})
    settle(twin)
    assert len(receiver.hits) == 1 and json.loads(receiver.hits[0]["raw"])["article"]["body"] == "note"


def test_unsigned_when_no_token_and_inactive_trigger(twin: TwinServer, receiver: Receiver) -> None:
    webhook = call(twin, "POST", "/webhooks", 201, json={"name": "plain", "endpoint": receiver.url})
    call(twin, "POST", "/triggers", 201, json={"name": "on", "condition": {"ticket.action": {"operator": "is", "value": "create"}},
                                             "perform": {"notification.webhook": {"webhook_id": webhook["id"]}}})
    call(twin, "POST", "/triggers", 201, json={"name": "off", "active": False,
                                             "condition": {"ticket.action": {"operator": "is", "value": "create"}},
                                             "perform": {"notification.webhook": {"webhook_id": webhook["id"]}}})
    new_ticket(twin)
    settle(twin)
    assert len(receiver.hits) == 1 and "X-Hub-Signature" not in receiver.hits[0]["headers"]
