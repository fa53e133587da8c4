"""The Flask receiver for Zammad's signed webhooks.

It only authenticates, parses and queues: no SLA logic and no Zammad calls, so
it acknowledges within milliseconds (Zammad gives up on slow or failing
endpoints after 5 attempts and the event is then lost until a reconcile).

Checks, in order: size (413) -> signature (401) -> JSON (400) -> ticket id (422).
The ticket id is `payload["ticket"]["id"]`: a positive integer Zammad can have
(at most 2^63 - 1, its bigint primary key), or a string of ASCII digits (what a
custom payload template such as `"#{ticket.id}"` renders). Every response the app
itself gives, errors included, is JSON; waitress refuses a body announced larger
than `MAX_BODY_BYTES` from the headers alone (see webhooks/server.py).

`POST /webhooks/zammad` is answered by a plain WSGI function in front of Flask
(`_WebhookRoute`): Flask's request and response machinery cost several times what the
webhook's own work does, and every delivery pays for it. Everything else, and the same
handler reached through Flask's own route, goes through Flask.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, Callable, Protocol

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import get_content_length, get_input_stream

from webhooks.ticket_id import raw_ticket_id, ticket_id_in



class ReceiverMetrics(Protocol):
    """What the receiver counts and serves at /metrics (the sidecar's Prometheus metrics).

    A protocol, so this inbound adapter does not depend on the runtime package.
    """

    content_type: str

    def event_received(self) -> None: ...  # noqa: D102
    def event_rejected(self, reason: str) -> None: ...  # noqa: D102
    def event_duplicate(self) -> None: ...  # noqa: D102
    def render(self) -> bytes: ...  # noqa: D102


class NoMetrics:
    """Counts nothing; /metrics is empty (for a receiver built without the sidecar's metrics)."""

    content_type = "text/plain; version=0.0.4; charset=utf-8"

    def event_received(self) -> None:
        """Nothing to count."""

    def event_rejected(self, reason: str) -> None:
        """Nothing to count."""

    def event_duplicate(self) -> None:
        """Nothing to count."""

    def render(self) -> bytes:
        """An empty exposition."""
        return b""

# The largest body Zammad's default payload can have, with room to spare:
# - the article body: at most 1,500,000 characters (Ticket::Article#check_body in
#   app/models/ticket/article.rb);
# - rendered as JSON, one character takes at most 6 bytes: Rails escapes <, >, & and
#   U+2028/U+2029 as \u003c etc. and control characters as \u00XX (6 bytes each); any
#   other character is raw UTF-8, at most 4 bytes. 1,500,000 x 6 = 9,000,000 bytes;
# - the ticket object (every column and custom attribute, nested owner, customer,
#   organization, group...) and the article's other fields and attachment list:
#   a few KB usually, so the remaining 1,485,760 bytes (1.4 MiB) are ample.
# 10 MiB in all. Anything larger is not from Zammad and is refused unread.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Zammad's ticket ids are a bigint primary key.
MAX_TICKET_ID = 2**63 - 1
WEBHOOK_PATH = "/webhooks/zammad"

_SIGNATURE = re.compile(r"sha1=([0-9a-fA-F]{40})")
_DIGITS = re.compile(r"[0-9]{1,18}")
_MAX_DELIVERY_ID = 200

Enqueue = Callable[[int, "str | None"], bool]
Readiness = Callable[[], list[str]]
Explain = Callable[[int, str], dict[str, Any]]

logger = logging.getLogger(__name__)


class _Rejected(Exception):
    """A webhook delivery that fails a check; becomes a JSON error response."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def signature_for(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature` value Zammad sends for `body` (sha1=<hex HMAC>)."""
    return "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()


def _verify_signature(secret: bytes, body: bytes, header: str | None) -> None:
    if not header:
        raise _Rejected(401, "signature_missing", "missing X-Hub-Signature header")
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        raise _Rejected(401, "signature_malformed", "malformed X-Hub-Signature header (expected sha1=<40 hex>)")
    expected = hmac.new(secret, body, hashlib.sha1).hexdigest()
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise _Rejected(401, "signature_invalid", "X-Hub-Signature does not match the body")


def _ticket_id_of(body: bytes) -> int:
    """The ticket id of a delivery's body, or a 400 (not JSON) / 422 (no ticket id) rejection."""
    try:
        raw = raw_ticket_id(body)
    except ValueError:  # UnicodeDecodeError included
        raise _Rejected(400, "bad_json", "body is not valid JSON") from None
    except RecursionError:
        raise _Rejected(400, "bad_json", "body is JSON nested too deeply") from None
    return _valid_ticket_id(raw)


def ticket_id_from(payload: Any) -> int:
    """Extract `payload["ticket"]["id"]` as a positive int or raise a 422 rejection."""
    return _valid_ticket_id(ticket_id_in(payload))


def _valid_ticket_id(raw: Any) -> int:
    if isinstance(raw, bool):  # bool is an int subclass; True is not ticket 1
        raw = None
    if isinstance(raw, str) and _DIGITS.fullmatch(raw):
        raw = int(raw)
    if not isinstance(raw, int) or not 0 < raw <= MAX_TICKET_ID:
        raise _Rejected(
            422, "no_ticket_id", f"payload has no ticket id (expected an integer 1..{MAX_TICKET_ID} at ticket.id)"
        )
    return raw


def _delivery_id(header: str | None) -> str | None:
    value = (header or "").strip()
    if not value:
        return None
    if len(value) > _MAX_DELIVERY_ID or not value.isprintable():
        # Bound what we store per delivery; a digest still de-duplicates.
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


class LookupFailed(Exception):
    """Raised by an `explain` callable: answer `status` with `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def caller_token(header: str | None) -> str | None:
    """The Zammad API token in `Authorization: Token token=...` (or `Bearer ...`)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "token":
        value = value.strip()
        return value.removeprefix("token=").strip() or None
    return None


def _error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


def create_app(
    *,
    secret: bytes,
    enqueue: Enqueue,
    readiness: Readiness | None = None,
    metrics: ReceiverMetrics | None = None,
    explain: Explain | None = None,
) -> Flask:
    """Build the receiver app.

    `enqueue(ticket_id, delivery_id)` must store the event durably and return
    False when the delivery id was seen before. `readiness()` returns a list of
    problems (empty when ready). `metrics` counts events and is served at /metrics
    (nothing is counted if none is given). `explain(ticket_id, caller_token)` serves
    `GET /tickets/<id>/sla`; it reads Zammad with the caller's own token, so Zammad
    decides who may see which ticket, and raises `LookupFailed` to refuse.
    """
    if not secret:
        raise ValueError("the webhook secret must not be empty")
    metrics = metrics if metrics is not None else NoMetrics()
    app = Flask(__name__)
    # One byte over the limit: werkzeug silently truncates a streamed (chunked)
    # body at MAX_CONTENT_LENGTH, so we read limit+1 bytes and refuse if we got them.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1

    def reject(exc: _Rejected) -> tuple[int, dict[str, Any]]:
        metrics.event_rejected(exc.reason)
        logger.info("webhook rejected (%s): %s", exc.reason, exc.message)
        return exc.status, {"error": exc.message}

    def receive(environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Handle one delivery (its WSGI environ): (HTTP status, JSON document)."""
        metrics.event_received()
        try:
            # Refuse by the announced size before reading a byte...
            length = get_content_length(environ)
            if length is not None and length > MAX_BODY_BYTES:
                raise _Rejected(413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes")
            try:
                # ...and enforce while reading (chunked bodies announce nothing). One byte
                # over the limit: a streamed body is cut at the limit, so read one more
                # byte and refuse if it came. As Flask's `request.get_data()` reads it.
                body: bytes | None = get_input_stream(environ, max_content_length=MAX_BODY_BYTES + 1).read()
            except RequestEntityTooLarge:
                body = None
            if body is None or len(body) > MAX_BODY_BYTES:
                raise _Rejected(413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes")
            _verify_signature(secret, body, environ.get("HTTP_X_HUB_SIGNATURE"))
            ticket_id = _ticket_id_of(body)
        except _Rejected as exc:
            return reject(exc)
        delivery_id = _delivery_id(environ.get("HTTP_X_ZAMMAD_DELIVERY"))
        try:
            queued = bool(enqueue(ticket_id, delivery_id))
        except Exception:
            # Not acknowledged: Zammad retries the delivery later.
            logger.exception("could not queue ticket %s (delivery %s)", ticket_id, delivery_id)
            metrics.event_rejected("queue_unavailable")
            return 503, {"error": "queue unavailable, retry later"}
        if not queued:
            metrics.event_duplicate()
        return 202, {"queued": queued, "ticket_id": ticket_id}

    @app.post(WEBHOOK_PATH)
    def receive_webhook() -> tuple[Response, int]:
        # `_WebhookRoute` answers POSTs here first; the route keeps Flask's 405 for other
        # methods, and the same answer for anyone serving Flask's own wsgi_app.
        status, document = receive(request.environ)
        return jsonify(document), status

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        return jsonify({"status": "ok"}), 200

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        if readiness is None:
            return jsonify({"status": "ready", "problems": []}), 200
        try:
            problems = [str(p) for p in readiness()]
        except Exception as exc:  # a crashing check means "not ready", not a 500
            logger.exception("readiness check failed")
            problems = [f"readiness check failed: {type(exc).__name__}: {exc}"]
        if problems:
            return jsonify({"status": "not ready", "problems": problems}), 503
        return jsonify({"status": "ready", "problems": []}), 200

    @app.get("/tickets/<int:ticket_id>/sla")
    def ticket_sla(ticket_id: int) -> tuple[Response, int]:
        if explain is None:
            return _error(404, "explanations are not served by this process")
        token = caller_token(request.headers.get("Authorization"))
        if token is None:
            return _error(401, "send your Zammad API token: Authorization: Token token=<token>")
        try:
            return jsonify(explain(ticket_id, token)), 200
        except LookupFailed as exc:
            return _error(exc.status, exc.message)

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(metrics.render(), status=200, content_type=metrics.content_type)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        # 404/405/413 raised by Flask itself: JSON as well, never HTML.
        status = exc.code or 500
        if status == 413 and request.path == WEBHOOK_PATH:
            metrics.event_rejected("too_large")
        return _error(status, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception) -> tuple[Response, int]:
        logger.exception("unhandled error")
        return _error(500, "internal error")

    app.wsgi_app = _WebhookRoute(app.wsgi_app, receive)  # type: ignore[method-assign]
    return app


StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _WebhookRoute:
    """WSGI middleware: answers `POST /webhooks/zammad` itself, passes the rest to Flask.

    The answer is the one Flask gives for the same route (same status, JSON body and
    Content-Type), without building a request context, matching URL rules, running
    hooks and signals, or a response object.
    """

    def __init__(self, app: WSGIApp, receive: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]) -> None:
        self.app = app
        self._receive = receive

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != WEBHOOK_PATH:
            return self.app(environ, start_response)
        try:
            status, document = self._receive(environ)
        except Exception:
            logger.exception("unhandled error")
            status, document = 500, {"error": "internal error"}
        body = _render(document)
        start_response(_STATUS_LINES[status], [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def _render(document: dict[str, Any]) -> bytes:
    """`document` as Flask's jsonify renders it outside debug mode (sorted keys, no spaces).

    The acknowledgement every delivery gets is formatted directly: json.dumps costs
    several times as much, on every request.
    """
    if document.keys() == {"queued", "ticket_id"} and type(document["ticket_id"]) is int:
        return b'{"queued":%s,"ticket_id":%d}\n' % (b"true" if document["queued"] is True else b"false",
                                                     document["ticket_id"])
    return (json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n").encode()
