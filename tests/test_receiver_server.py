"""The receiver under hostile or extreme traffic, through the real waitress server
configured by webhooks/server.py: oversize bodies, slowloris, the largest body Zammad
can send, deep JSON, impossible ticket ids, and readiness probes that cannot starve
webhook deliveries."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from tests.test_receiver import SECRET, SpyQueue, payload, post, rejected
from webhooks.app import MAX_BODY_BYTES, MAX_TICKET_ID, WEBHOOK_PATH, create_app, signature_for
from webhooks.server import create_receiver_server
from zammad_sla_plugin.runtime.metrics import Metrics
from zammad_sla_plugin.runtime.sidecar import CachedCheck

ZAMMAD_BODY_LIMIT = 1_500_000  # characters, Ticket::Article#check_body


@pytest.fixture
def spy(tmp_path: Path) -> SpyQueue:
    return SpyQueue(tmp_path / "data")


def serve(app: Any, **overrides: Any) -> Iterator[tuple[str, int]]:
    server = create_receiver_server(app, "127.0.0.1", 0, **overrides)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.effective_port
    finally:
        server.close()
        thread.join(5)


@pytest.fixture
def receiver(spy: SpyQueue) -> Iterator[tuple[str, int]]:
    yield from serve(create_app(secret=SECRET, enqueue=spy))


def signed_post(address: tuple[str, int], body: bytes, timeout: float = 10) -> requests.Response:
    host, port = address
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Hub-Signature": signature_for(SECRET, body)}
    return requests.post(f"http://{host}:{port}{WEBHOOK_PATH}", data=body, headers=headers, timeout=timeout)


def largest_zammad_payload() -> bytes:
    """Zammad's default payload with an article body of 1,500,000 characters, each
    rendered as Rails renders '<' in JSON (\\u003c, 6 bytes): the worst case in bytes."""
    document = {
        "ticket": {"id": 4711, "title": "A very large HTML mail", "state": "open", "priority": {"name": "2 normal"},
                   "owner": {"login": "-"}, "customer": {"email": "emily@example.com"}},
        "article": {"id": 9, "ticket_id": 4711, "content_type": "text/html", "body": "BODY",
                    "attachments": [{"id": n, "filename": f"image{n}.png", "size": 1234,
                                     "preferences": {"Content-Type": "image/png"}} for n in range(50)]},
    }  # fmt: skip
    text = json.dumps(document).replace('"BODY"', '"' + "\\u003c" * ZAMMAD_BODY_LIMIT + '"')
    return text.encode()


def test_the_largest_body_zammad_can_send_is_accepted(receiver: tuple[str, int], spy: SpyQueue) -> None:
    body = largest_zammad_payload()
    assert len(json.loads(body)["article"]["body"]) == ZAMMAD_BODY_LIMIT
    assert 9_000_000 < len(body) <= MAX_BODY_BYTES
    resp = signed_post(receiver, body, timeout=30)
    assert resp.status_code == 202 and resp.json() == {"queued": True, "ticket_id": 4711}
    assert spy.submitted == [(4711, None)]


def raw_request(address: tuple[str, int], head: bytes, timeout: float = 5) -> bytes:
    """Send `head` only (no body) and return what the server answers before closing."""
    with socket.create_connection(address, timeout=timeout) as conn:
        conn.sendall(head)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
        return answer


def test_oversize_body_is_refused_from_its_headers_without_reading_it(receiver: tuple[str, int], spy: SpyQueue) -> None:
    # Announced one byte over what Zammad can send, and never sent: the answer must
    # come from the headers alone (before, the server waited for 10 MiB that never came).
    head = (f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: sla\r\nContent-Type: application/json\r\n"
            f"X-Hub-Signature: sha1={'0' * 40}\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n").encode()  # fmt: skip
    started = time.monotonic()
    answer = raw_request(receiver, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5
    huge = f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: sla\r\nContent-Length: 50000000\r\n\r\n".encode()
    assert raw_request(receiver, huge).startswith(b"HTTP/1.1 413")
    assert spy.submitted == [] and spy.nothing_queued()


def test_signed_deliveries_answered_while_200_connections_hang(receiver: tuple[str, int], spy: SpyQueue) -> None:
    idle: list[socket.socket] = []
    try:
        for n in range(200):  # slowloris: half-sent requests that never finish
            conn = socket.create_connection(receiver, timeout=5)
            conn.sendall(f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: sla\r\nX-Slow-{n}: ".encode())
            idle.append(conn)
        for ticket_id in range(1, 6):
            started = time.monotonic()
            resp = signed_post(receiver, payload(ticket_id), timeout=5)
            elapsed = time.monotonic() - started
            assert resp.status_code == 202 and elapsed < 1.0, (resp.status_code, elapsed)
    finally:
        for conn in idle:
            conn.close()
    assert [ticket for ticket, _ in spy.submitted] == [1, 2, 3, 4, 5]


def test_deeply_nested_json_is_400_not_500(spy: SpyQueue) -> None:
    metrics = Metrics()
    client = create_app(secret=SECRET, enqueue=spy, metrics=metrics).test_client()
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"ticket": ' * 50_000 + b"1" + b"}" * 50_000):
        resp = post(client, body)
        assert resp.status_code == 400 and "nested" in resp.get_json()["error"]
    assert rejected(metrics, "bad_json") == 2 and spy.nothing_queued()


@pytest.mark.parametrize("raw", ["2**63", "2**64", "10**30", "-(2**63)"])
def test_ticket_id_zammad_cannot_have_is_422(spy: SpyQueue, raw: str) -> None:
    body = json.dumps({"ticket": {"id": eval(raw)}}).encode()  # noqa: S307 - a literal from the list above
    resp = post(create_app(secret=SECRET, enqueue=spy).test_client(), body)
    assert resp.status_code == 422 and spy.nothing_queued()


def test_largest_ticket_id_zammad_can_have_is_accepted(spy: SpyQueue) -> None:
    body = json.dumps({"ticket": {"id": MAX_TICKET_ID}}).encode()
    resp = post(create_app(secret=SECRET, enqueue=spy).test_client(), body)
    assert resp.status_code == 202 and resp.get_json()["ticket_id"] == MAX_TICKET_ID


# -- readiness -----------------------------------------------------------------------------
def wait_for(predicate: Callable[[], bool], timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.01)
    return predicate()


def test_readiness_probes_cannot_starve_webhook_deliveries(spy: SpyQueue) -> None:
    started = threading.Event()

    def hanging_zammad() -> list[str]:  # Zammad accepting connections but never answering
        started.set()
        time.sleep(3)
        return ["Zammad not reachable with our token: read timeout"]

    app = create_app(secret=SECRET, enqueue=spy, readiness=CachedCheck(hanging_zammad))
    for address in serve(app, threads=2):
        host, port = address
        probes = [threading.Thread(target=requests.get, args=(f"http://{host}:{port}/readyz",), kwargs={"timeout": 10})
                  for _ in range(20)]  # fmt: skip
        for probe in probes:
            probe.start()
        assert started.wait(5)
        began = time.monotonic()
        resp = signed_post(address, payload(5), timeout=5)
        assert resp.status_code == 202 and time.monotonic() - began < 1.0
        for probe in probes:
            probe.join(10)


def test_sidecar_readiness_is_one_short_attempt(tmp_path: Path) -> None:
    from zammad_sla_plugin.core.policy import load_policy
    from zammad_sla_plugin.runtime.settings import load_settings
    from zammad_sla_plugin.runtime.sidecar import Sidecar

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        env = {"ZAMMAD_URL": f"http://127.0.0.1:{port}", "ZAMMAD_TOKEN": "t", "ZAMMAD_SLA_DATA_DIR": str(tmp_path)}
        sidecar = Sidecar(load_settings(env), load_policy())
        began = time.monotonic()
        assert sidecar.readiness() == ["readiness check in progress"]  # at once, not after the timeout
        assert time.monotonic() - began < 1.0
        assert wait_for(lambda: sidecar.readiness() != ["readiness check in progress"], 8)
        took = time.monotonic() - began
        problems = sidecar.readiness()
        assert len(problems) == 1 and problems[0].startswith("Zammad not reachable"), problems
        assert took < 6, took  # one attempt with a 3 s read timeout, not 4 retries
        began = time.monotonic()
        assert sidecar.readiness() == problems and time.monotonic() - began < 0.5  # cached


def test_waitress_queue_depth_warnings_are_rate_limited() -> None:
    import logging

    from webhooks.server import RateLimitedLog

    now = [0.0]
    limiter = RateLimitedLog(60.0, clock=lambda: now[0])
    records = [logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1, "Task queue depth is %d", (n,), None)
               for n in range(500)]  # fmt: skip
    passed = [r for r in records[:499] if limiter.filter(r)]
    now[0] = 61.0
    assert len(passed) == 1 and limiter.filter(records[499])
    assert records[499].getMessage() == "Task queue depth is 499 (498 similar messages suppressed)"
