"""Tests for the webhook receiver (webhooks/app.py), queueing into a real SQLite TicketQueue."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from flask import request
from flask.testing import FlaskClient
from waitress.server import create_server

from webhooks.app import MAX_BODY_BYTES, WEBHOOK_PATH, create_app, signature_for, ticket_id_from
from zammad_sla_plugin.runtime.metrics import Metrics
from zammad_sla_plugin.runtime.queue import TicketQueue, build_huey

SECRET = b"s3cret-token"
DOCS_EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "zammad" / "docs-examples"


class SpyQueue:
    """A real SQLite TicketQueue (no consumer) that records what was submitted."""

    def __init__(self, data_dir: Path) -> None:
        self.queue = TicketQueue(build_huey(data_dir=data_dir), lambda t: None, coalesce_seconds=30)
        self.submitted: list[tuple[int, str | None]] = []

    def __call__(self, ticket_id: int, delivery_id: str | None) -> bool:
        queued = self.queue.submit(ticket_id, delivery_id)
        self.submitted.append((ticket_id, delivery_id))
        return queued

    def nothing_queued(self) -> bool:
        return self.queue.scheduled() == 0 and self.queue.depth() == 0


@pytest.fixture
def spy(tmp_path: Path) -> SpyQueue:
    return SpyQueue(tmp_path / "data")


@pytest.fixture
def metrics(spy: SpyQueue) -> Metrics:
    return Metrics(queue_depth=spy.queue.depth)


@pytest.fixture
def client(spy: SpyQueue, metrics: Metrics) -> FlaskClient:
    return create_app(secret=SECRET, enqueue=spy, metrics=metrics).test_client()


def post(client: FlaskClient, body: bytes, *, signature: str | None = "auto", delivery: str | None = None) -> Any:
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Zammad User Agent"}
    if signature == "auto":
        signature = signature_for(SECRET, body)
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    if delivery is not None:
        headers["X-Zammad-Delivery"] = delivery
    return client.post(WEBHOOK_PATH, data=body, headers=headers)


def payload(ticket_id: Any = 42) -> bytes:
    return json.dumps({"ticket": {"id": ticket_id, "state": "open"}, "article": {}}).encode()


def rejected(metrics: Metrics, reason: str) -> float:
    return metrics.registry.get_sample_value("zammad_sla_events_rejected_total", {"reason": reason}) or 0.0


# -- accepted --------------------------------------------------------------------------
def test_valid_webhook_is_queued(client: FlaskClient, spy: SpyQueue, metrics: Metrics) -> None:
    resp = post(client, payload(42), delivery="d-1")
    assert resp.status_code == 202
    assert resp.get_json() == {"queued": True, "ticket_id": 42}
    assert spy.submitted == [(42, "d-1")]
    assert spy.queue.is_pending(42) and spy.queue.scheduled() == 1
    assert metrics.registry.get_sample_value("zammad_sla_events_received_total") == 1


def test_real_documented_default_payload_is_accepted(client: FlaskClient, spy: SpyQueue) -> None:
    body = (DOCS_EXAMPLES / "default_payload_admin_docs_example.json").read_bytes()
    expected = json.loads(body)["ticket"]["id"]
    resp = post(client, body)
    assert resp.status_code == 202 and resp.get_json()["ticket_id"] == expected
    assert spy.submitted == [(expected, None)]


def test_duplicate_delivery_acknowledged_not_queued(client: FlaskClient, spy: SpyQueue, metrics: Metrics) -> None:
    assert post(client, payload(7), delivery="same").get_json() == {"queued": True, "ticket_id": 7}
    resp = post(client, payload(7), delivery="same")
    assert resp.status_code == 202
    assert resp.get_json() == {"queued": False, "ticket_id": 7}
    assert spy.queue.scheduled() == 1
    assert metrics.registry.get_sample_value("zammad_sla_events_duplicate_total") == 1


def test_numeric_string_ticket_id_accepted(client: FlaskClient, spy: SpyQueue) -> None:
    resp = post(client, payload("123"))
    assert resp.status_code == 202 and resp.get_json()["ticket_id"] == 123


def test_uppercase_hex_signature_accepted(client: FlaskClient, spy: SpyQueue) -> None:
    body = payload(9)
    resp = post(client, body, signature="sha1=" + signature_for(SECRET, body)[5:].upper())
    assert resp.status_code == 202


def test_overlong_delivery_id_is_digested(client: FlaskClient, spy: SpyQueue) -> None:
    long_id = "x" * 500
    assert post(client, payload(1), delivery=long_id).get_json()["queued"] is True
    assert post(client, payload(1), delivery=long_id).get_json()["queued"] is False
    stored = spy.submitted[0][1]
    assert stored is not None and stored.startswith("sha256:") and len(stored) < 100


# -- rejected ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "signature_missing"),
        ("", "signature_missing"),
        ("sha1=nothex", "signature_malformed"),
        ("sha256=" + "0" * 64, "signature_malformed"),
        ("sha1=" + "0" * 40, "signature_invalid"),
    ],
)
def test_bad_signature_is_401(client: FlaskClient, spy: SpyQueue, metrics: Metrics, signature, reason) -> None:
    resp = post(client, payload(), signature=signature)
    assert resp.status_code == 401
    assert resp.is_json and "error" in resp.get_json()
    assert spy.submitted == [] and spy.nothing_queued()
    assert rejected(metrics, reason) == 1


def test_signature_with_other_secret_is_401(client: FlaskClient, spy: SpyQueue) -> None:
    body = payload()
    assert post(client, body, signature=signature_for(b"other", body)).status_code == 401
    assert spy.nothing_queued()


def test_signature_over_other_body_is_401(client: FlaskClient, spy: SpyQueue) -> None:
    # The HMAC covers the raw bytes: re-serialised JSON with the same meaning fails.
    body = payload(5)
    tampered = json.dumps(json.loads(body), indent=2).encode()
    assert post(client, tampered, signature=signature_for(SECRET, body)).status_code == 401
    assert spy.nothing_queued()


def test_non_json_is_400(client: FlaskClient, spy: SpyQueue, metrics: Metrics) -> None:
    for body in (b"not json", b"\xff\xfe", b""):
        resp = post(client, body)
        assert resp.status_code == 400 and resp.is_json
    assert spy.submitted == [] and spy.nothing_queued()
    assert rejected(metrics, "bad_json") == 3


@pytest.mark.parametrize(
    "document",
    [{"article": {}}, {"ticket": {}}, {"ticket": {"id": 0}}, {"ticket": {"id": -3}}, {"ticket": {"id": 1.5}},
     {"ticket": {"id": True}}, {"ticket": {"id": "12a"}}, {"ticket": {"id": " 12"}}, {"ticket": 12}, [1, 2], "x"],
)
def test_missing_ticket_id_is_422(client: FlaskClient, spy: SpyQueue, metrics: Metrics, document: Any) -> None:
    resp = post(client, json.dumps(document).encode())
    assert resp.status_code == 422
    assert "ticket id" in resp.get_json()["error"]
    assert spy.submitted == [] and spy.nothing_queued()
    assert rejected(metrics, "no_ticket_id") == 1


def test_oversized_body_is_413_before_signature(client: FlaskClient, spy: SpyQueue, metrics: Metrics) -> None:
    body = b'{"ticket": {"id": 1}, "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    resp = post(client, body)  # correctly signed, still too large
    assert resp.status_code == 413 and resp.is_json
    resp = post(client, body, signature=None)  # size is checked before the signature
    assert resp.status_code == 413
    assert spy.submitted == [] and spy.nothing_queued()
    assert rejected(metrics, "too_large") == 2


def test_body_at_the_limit_is_accepted(client: FlaskClient, spy: SpyQueue) -> None:
    head = b'{"ticket": {"id": 1}, "pad": "'
    body = head + b"x" * (MAX_BODY_BYTES - len(head) - 2) + b'"}'
    assert len(body) == MAX_BODY_BYTES
    assert post(client, body).status_code == 202


def test_check_order_signature_before_json(client: FlaskClient) -> None:
    assert post(client, b"not json", signature=None).status_code == 401
    assert post(client, b'{"no": "ticket"}', signature="sha1=" + "0" * 40).status_code == 401


def test_queue_failure_is_503_not_acknowledged(metrics: Metrics) -> None:
    def broken(ticket_id: int, delivery_id: str | None) -> bool:
        raise OSError("disk full")

    client = create_app(secret=SECRET, enqueue=broken, metrics=metrics).test_client()
    resp = post(client, payload())
    assert resp.status_code == 503 and resp.is_json
    assert rejected(metrics, "queue_unavailable") == 1


def test_unknown_route_and_method_are_json(client: FlaskClient) -> None:
    resp = client.get("/nope")
    assert resp.status_code == 404 and resp.is_json
    resp = client.get(WEBHOOK_PATH)
    assert resp.status_code == 405 and resp.is_json


def test_webhooks_skip_flask_and_answer_as_flask_would(tmp_path: Path) -> None:
    fast = create_app(secret=SECRET, enqueue=SpyQueue(tmp_path / "a"), metrics=Metrics())
    through_flask = create_app(secret=SECRET, enqueue=SpyQueue(tmp_path / "b"), metrics=Metrics())
    through_flask.wsgi_app = through_flask.wsgi_app.app  # type: ignore[attr-defined]  # unwrap the plain-WSGI route
    flask_saw: list[str] = []
    fast.before_request(lambda: flask_saw.append(request.path))
    cases = [
        (payload(42), "auto", "d-1"), (payload(42), "auto", "d-1"), (payload(42), "sha1=" + "0" * 40, None),
        (b"not json", "auto", None), (payload("x"), "auto", None), (b"x" * (MAX_BODY_BYTES + 1), None, None),
    ]  # fmt: skip
    for body, signature, delivery in cases:
        ours, theirs = (post(app.test_client(), body, signature=signature, delivery=delivery) for app in (fast, through_flask))
        assert (ours.status_code, ours.data, ours.content_type) == (
            theirs.status_code, theirs.data, theirs.content_type,
        )  # fmt: skip  (the same bytes: the acknowledgement is formatted without json.dumps)
    assert flask_saw == []  # every webhook was answered before Flask
    fast.test_client().get("/healthz")
    assert flask_saw == ["/healthz"]


def test_unexpected_error_in_a_webhook_is_a_logged_json_500(spy: SpyQueue, caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    metrics.event_received = lambda: 1 / 0  # type: ignore[method-assign]  # a bug on the webhook path
    resp = post(create_app(secret=SECRET, enqueue=spy, metrics=metrics).test_client(), payload())
    assert resp.status_code == 500 and resp.get_json() == {"error": "internal error"}
    assert "unhandled error" in caplog.text and "ZeroDivisionError" in caplog.text
    assert spy.nothing_queued()


def test_empty_secret_refused(spy: SpyQueue) -> None:
    with pytest.raises(ValueError):
        create_app(secret=b"", enqueue=spy)


# -- health, readiness, metrics ---------------------------------------------------------------
def test_healthz(client: FlaskClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def test_readyz(spy: SpyQueue) -> None:
    problems: list[str] = []
    client = create_app(secret=SECRET, enqueue=spy, readiness=lambda: list(problems)).test_client()
    assert client.get("/readyz").status_code == 200
    problems.append("zammad unreachable: connection refused")
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "not ready", "problems": ["zammad unreachable: connection refused"]}


def test_readyz_when_check_crashes(spy: SpyQueue) -> None:
    def crash() -> list[str]:
        raise RuntimeError("boom")

    resp = create_app(secret=SECRET, enqueue=spy, readiness=crash).test_client().get("/readyz")
    assert resp.status_code == 503 and "boom" in resp.get_json()["problems"][0]


def test_readyz_without_check(spy: SpyQueue) -> None:
    assert create_app(secret=SECRET, enqueue=spy).test_client().get("/readyz").status_code == 200


def test_metrics_exposition(client: FlaskClient, metrics: Metrics) -> None:
    post(client, payload(3), delivery="a")
    post(client, payload(4), delivery="b")
    post(client, b"junk", signature=None)
    metrics.api_call("get", "/api/v1/tickets/42?expand=true", 200, 0.05)
    metrics.api_call("put", "/api/v1/tickets/42", 500, 0.2)
    metrics.set_ticket_status(3, "ok")
    metrics.set_ticket_status(4, "ok")
    metrics.set_ticket_status(3, "breached")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain")
    text = resp.get_data(as_text=True)
    assert "zammad_sla_events_received_total 3.0" in text
    assert 'zammad_sla_events_rejected_total{reason="signature_missing"} 1.0' in text
    assert "zammad_sla_queue_depth 0.0" in text  # both waiting in the coalescing window
    assert 'zammad_sla_zammad_api_calls_total{endpoint="/api/v1/tickets/:id",method="GET",status="200"} 1.0' in text
    assert 'zammad_sla_zammad_api_errors_total{endpoint="/api/v1/tickets/:id"} 1.0' in text
    assert 'zammad_sla_zammad_api_seconds_count{endpoint="/api/v1/tickets/:id"} 2.0' in text
    assert 'zammad_sla_tickets_by_status{status="ok"} 1.0' in text
    assert 'zammad_sla_tickets_by_status{status="breached"} 1.0' in text


def test_metrics_objects_are_independent() -> None:
    a, b = Metrics(), Metrics()
    a.event_received()
    assert a.registry.get_sample_value("zammad_sla_events_received_total") == 1
    assert b.registry.get_sample_value("zammad_sla_events_received_total") == 0
    b.set_ticket_status(1, "ok")
    b.set_ticket_status(1, None)
    assert b.registry.get_sample_value("zammad_sla_tickets_by_status", {"status": "ok"}) == 0


def test_ticket_id_from_helper() -> None:
    assert ticket_id_from({"ticket": {"id": 5}}) == 5
    assert ticket_id_from({"ticket": {"id": "0005"}}) == 5


# -- through a real waitress server --------------------------------------------------------------
@pytest.fixture
def live_server(spy: SpyQueue, metrics: Metrics) -> Iterator[str]:
    app = create_app(secret=SECRET, enqueue=spy, metrics=metrics)
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(5)


def test_through_waitress(live_server: str, spy: SpyQueue) -> None:
    with requests.Session() as http:
        body = payload(77)
        headers = {"X-Hub-Signature": signature_for(SECRET, body), "X-Zammad-Delivery": "w-1"}
        resp = http.post(live_server + WEBHOOK_PATH, data=body, headers=headers, timeout=5)
        assert resp.status_code == 202 and resp.json() == {"queued": True, "ticket_id": 77}
        resp = http.post(live_server + WEBHOOK_PATH, data=body, headers=headers, timeout=5)
        assert resp.json() == {"queued": False, "ticket_id": 77}
        bad = http.post(live_server + WEBHOOK_PATH, data=body, headers={"X-Hub-Signature": "sha1=" + "1" * 40})
        assert bad.status_code == 401 and bad.headers["Content-Type"] == "application/json"

        def chunks() -> Iterator[bytes]:  # chunked: no Content-Length announced
            for _ in range(MAX_BODY_BYTES // 65536 + 2):
                yield b"x" * 65536

        big = http.post(live_server + WEBHOOK_PATH, data=chunks(), headers={"X-Hub-Signature": "sha1=" + "1" * 40})
        assert big.status_code == 413 and big.json()["error"]
        assert http.get(live_server + "/healthz").json() == {"status": "ok"}
        assert "zammad_sla_events_received_total 4.0" in http.get(live_server + "/metrics").text
    assert spy.queue.scheduled() == 1


def _streamed_environ(body: bytes, signature: str) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=WEBHOOK_PATH, method="POST", input_stream=io.BytesIO(body)).get_environ()
    environ.pop("CONTENT_LENGTH", None)  # a streamed (chunked) body announces no size
    environ["wsgi.input_terminated"] = True
    environ["HTTP_X_HUB_SIGNATURE"] = signature
    return environ


@pytest.mark.parametrize(("size", "status"), [(MAX_BODY_BYTES + 1, 413), (MAX_BODY_BYTES, 202)])
def test_streamed_body_limit_enforced_while_reading(spy: SpyQueue, size: int, status: int) -> None:
    from werkzeug.test import run_wsgi_app

    head = b'{"ticket": {"id": 1}, "pad": "'
    body = head + b"x" * (size - len(head) - 2) + b'"}'
    app = create_app(secret=SECRET, enqueue=spy)
    _, status_line, _ = run_wsgi_app(app, _streamed_environ(body, signature_for(SECRET, body)))
    assert int(status_line.split()[0]) == status
    assert spy.nothing_queued() == (status == 413)
