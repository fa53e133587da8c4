"""Loader for the real Zammad traffic recorded under `tests/fixtures/zammad/recorded/`.

Two formats live there:
- `test_*/*.log`: JSON lines, each request line (method, url, status_code, request_json)
  followed by its response body line (zammadoo's test suite against Zammad 6.2.0);
- `zammad_py/*.json`: decoded VCR cassettes, a list of exchanges with `method`, `uri`,
  `request_body`, `status`, `response_body` (zammad-py's tests against Zammad 6.x).
Both are turned into `Exchange` records so client and twin tests can replay them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlsplit

RECORDED_DIR = Path(__file__).resolve().parent / "fixtures" / "zammad" / "recorded"


@dataclass(frozen=True)
class Exchange:
    """One recorded HTTP request with its response."""

    source: str  # "<file>#<index>"
    method: str
    path: str  # e.g. "/api/v1/tickets/424"
    query: dict[str, str]
    request_json: Any
    status: int
    response_json: Any  # None when the body was empty or not JSON
    is_fixture: bool  # zammadoo set-up call (URL ended in "#fixture")


def _split(url: str) -> tuple[str, dict[str, str], bool]:
    is_fixture = url.endswith("#fixture")
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query)), is_fixture


def _parse_body(text: str | None) -> Any:
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _log_exchanges(path: Path) -> Iterator[Exchange]:
    # Bodies may be binary (attachments) and contain newlines, so each body is read by
    # the `content_size` its request line announces rather than line by line.
    data = path.read_bytes()
    position = 0
    index = 0
    while position < len(data):
        end = data.find(b"\n", position)
        end = len(data) if end < 0 else end
        line = data[position:end].strip()
        position = end + 1
        if not line:
            continue
        request = json.loads(line)
        size = int(request.get("content_size") or 0)
        raw = data[position : position + size]
        position += size
        if position < len(data) and data[position : position + 1] == b"\n":
            position += 1
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (UnicodeDecodeError, ValueError):
            body = None
        route, query, is_fixture = _split(request["url"])
        yield Exchange(
            source=f"{path.parent.name}/{path.name}#{index}",
            method=request["method"].upper(),
            path=route,
            query=query,
            request_json=request.get("request_json"),
            status=int(request["status_code"]),
            response_json=body,
            is_fixture=is_fixture,
        )
        index += 1


def _cassette_exchanges(path: Path) -> Iterator[Exchange]:
    for index, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        route, query, is_fixture = _split(item["uri"])
        yield Exchange(
            source=f"zammad_py/{path.name}#{index}",
            method=item["method"].upper(),
            path=route,
            query=query,
            request_json=_parse_body(item.get("request_body")),
            status=int(item["status"]),
            response_json=_parse_body(item.get("response_body")),
            is_fixture=is_fixture,
        )


def all_exchanges() -> list[Exchange]:
    """Every recorded exchange, in file order (the fixtures are part of the repository)."""
    logs = sorted(RECORDED_DIR.glob("test_*/*.log"))
    cassettes = sorted((RECORDED_DIR / "zammad_py").glob("*.json"))
    if not logs or not cassettes:
        raise FileNotFoundError(f"recorded Zammad traffic missing under {RECORDED_DIR}")
    exchanges: list[Exchange] = []
    for log in logs:
        exchanges.extend(_log_exchanges(log))
    for cassette in cassettes:
        exchanges.extend(_cassette_exchanges(cassette))
    return exchanges
