"""The single exception type raised by the Zammad client."""

from __future__ import annotations

import json
from typing import Any

import requests

# Keep error messages one line and short: they end up in logs and metrics labels.
_MAX_TEXT = 300


def _one_line(text: str) -> str:
    """Collapse whitespace (HTML error pages, stack traces) into one short line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_TEXT else flat[: _MAX_TEXT - 1] + "…"


class ZammadError(Exception):
    """A failed Zammad API call.

    `status` is the HTTP status, or None when no response arrived (connection refused,
    timeout, ...). `error`/`error_human` come from Zammad's JSON error body
    (`{"error": "...", "error_human": "..."}`) or, for non-JSON bodies, a one-line excerpt.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        method: str,
        path: str,
        error: str | None = None,
        error_human: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path
        self.error = error
        self.error_human = error_human

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields would be lost by the default Exception pickling (task queues
        # and multiprocessing pickle exceptions).
        return (
            _rebuild,
            (type(self), self.args[0] if self.args else "", self.status, self.method, self.path,
             self.error, self.error_human),
        )

    @property
    def not_found(self) -> bool:
        """True for HTTP 404."""
        return self.status == 404

    def __str__(self) -> str:
        detail = self.error_human or self.error or (self.args[0] if self.args else "")
        if self.status is None:
            return _one_line(f"Zammad {self.method} {self.path} failed: {detail}")
        return _one_line(f"Zammad {self.method} {self.path} failed with HTTP {self.status}: {detail}")


class ZammadNotFoundError(ZammadError):
    """HTTP 404: the object does not exist (or is not visible to the API user)."""


def _rebuild(
    cls: type[ZammadError],
    message: str,
    status: int | None,
    method: str,
    path: str,
    error: str | None,
    error_human: str | None,
) -> ZammadError:
    return cls(message, status=status, method=method, path=path, error=error, error_human=error_human)


def error_from_response(response: requests.Response, method: str, path: str) -> ZammadError:
    """Build the exception for a non-2xx response, reading Zammad's JSON error body."""
    error: str | None = None
    error_human: str | None = None
    body: Any = None
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        body = None
    if isinstance(body, dict):
        raw_error = body.get("error")
        raw_human = body.get("error_human")
        error = str(raw_error) if raw_error is not None else None
        error_human = str(raw_human) if raw_human is not None else None
    if error is None and error_human is None:
        text = response.text.strip() if response.content else ""
        error = _one_line(text) if text else (response.reason or "")
    cls = ZammadNotFoundError if response.status_code == 404 else ZammadError
    return cls(
        error_human or error or "",
        status=response.status_code,
        method=method,
        path=path,
        error=error,
        error_human=error_human,
    )


def error_from_exception(exc: requests.RequestException, method: str, path: str) -> ZammadError:
    """Build the exception for a request that got no HTTP response at all."""
    kind = type(exc).__name__
    return ZammadError(
        f"{kind}: {exc}",
        status=None,
        method=method,
        path=path,
        error=_one_line(f"{kind}: {exc}"),
    )
