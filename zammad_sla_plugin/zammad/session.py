"""The hardened requests session behind the Zammad client.

zammad-py's `ZammadAPI` uses a bare `requests.Session`: no timeouts, no retries and
`HTTPError(text)` without a status. Every request zammad-py or our client makes goes
through `HardenedSession.request`, so timeouts, retries, error mapping and the
per-attempt metrics hook live here and nowhere else.
"""

from __future__ import annotations

import logging
import os
import re
import time
from datetime import datetime, timezone
from typing import Any, Callable, Union
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies
from urllib3.exceptions import MaxRetryError, NewConnectionError

from .errors import error_from_exception, error_from_response
from .http_dates import parse_http_date

log = logging.getLogger(__name__)

Timeout = Union[float, tuple[float, float]]
OnRequest = Callable[[str, str, Union[int, None], float], None]

# Safe to repeat by HTTP semantics. POST/PATCH are not, unless a caller says otherwise.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Transient answers from Zammad or the proxy in front of it.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")


def endpoint_template(url: str) -> str:
    """Metrics label for a URL: the path from `/api/` on, numeric ids replaced by `{id}`.

    >>> endpoint_template("http://z:8080/api/v1/tickets/42?expand=true")
    '/api/v1/tickets/{id}'
    """
    path = urlsplit(url).path or "/"
    start = path.find("/api/")
    if start > 0:  # Zammad served under a sub-path: drop the prefix for stable labels
        path = path[start:]
    return _NUMERIC_SEGMENT.sub("/{id}", path)


def _nothing_sent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (connect refused/timed out).

    requests wraps urllib3's MaxRetryError; a NewConnectionError reason (refused, DNS,
    connect timeout) means the TCP connection was never established, so even a POST
    can be repeated safely. Anything else (reset mid-request, read timeout) is ambiguous.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        cause = exc.args[0]
        if isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError):
            return True
        if isinstance(cause, NewConnectionError):
            return True
    return False


def _transient(exc: requests.RequestException) -> bool:
    """Errors worth retrying for an idempotent request."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # certificate problems do not fix themselves
    return isinstance(
        exc,
        (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ),
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = parse_http_date(value)
    if when is None:
        return None
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


class HeaderAuth(AuthBase):
    """Sends a fixed `Authorization` value (Zammad's "Token token=..." or "Bearer ...").

    Set as the session's `auth` rather than as a session header: requests lets credentials
    from ~/.netrc replace an `Authorization` header (its documented precedence) but never
    a session's `auth`, so a netrc entry for the Zammad host cannot swap the API token for
    basic auth. It also spares the netrc lookup on every call.
    """

    def __init__(self, value: str) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.value
        return request

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HeaderAuth) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


class HardenedSession(requests.Session):
    """`requests.Session` with default timeouts, bounded retries and Zammad error mapping.

    Retry policy: idempotent requests (GET/HEAD/OPTIONS/PUT/DELETE, or any request sent
    with `idempotent=True`) are retried on connection errors, timeouts and HTTP
    429/502/503/504, honouring Retry-After. Other requests (POST, PATCH) are retried only
    when the connection was refused before anything was sent. Waits are
    `backoff_factor * 2**attempt` seconds (capped at `max_backoff`) through the injectable
    `sleep`, so tests run with a zero factor or a recording fake.

    Non-2xx answers (after retries) raise `ZammadError`; so do failures without a
    response (`status=None`). `on_request(method, endpoint_template, status, seconds)` is
    called once per attempt.
    """

    def __init__(
        self,
        *,
        timeout: Timeout = (5.0, 30.0),
        retries: int = 4,
        backoff_factor: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        on_request: OnRequest | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__()
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.default_timeout = timeout
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.on_request = on_request
        self._sleep = sleep
        self._clock = clock
        self._environment: dict[tuple[str, str], tuple[dict[str, str], str | None]] = {}

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        """requests' own merge, with the environment (proxy variables, REQUESTS_CA_BUNDLE /
        CURL_CA_BUNDLE) read once per scheme and host instead of on every request: the proxy
        lookup walks every environment variable twice, about 1 ms of CPU per call here, as
        much as the rest of a call's client-side work."""
        if not self.trust_env or (proxies and "no_proxy" in proxies):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        key = urlsplit(url)[:2]
        found = self._environment.get(key)
        if found is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            found = self._environment[key] = (get_environ_proxies(url), bundle)
        environment_proxies, bundle = found
        if proxies is not None:  # as requests: the environment fills what the caller left out
            proxies = {**environment_proxies, **proxies}
        if (verify is True or verify is None) and bundle:
            verify = bundle
        if not self.proxies:  # merge_setting's result without its per-call type checks (costly in requests >= 2.33)
            merged = {k: v for k, v in (proxies or {}).items() if v is not None}
        else:
            merged = merge_setting(proxies, self.proxies)
        return {"proxies": merged, "stream": merge_setting(stream, self.stream),
                "verify": merge_setting(verify, self.verify), "cert": merge_setting(cert, self.cert)}

    def backoff(self, attempt: int) -> float:
        """Wait before retry number `attempt + 1` (attempt counts from 0)."""
        return min(self.max_backoff, self.backoff_factor * (2**attempt))

    def request(  # type: ignore[override]
        self,
        method: str | bytes,
        url: str | bytes,
        *args: Any,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with timeout and retries; raise `ZammadError` unless the answer is 2xx/3xx.

        `idempotent` overrides the method-based default (e.g. True for Zammad's tag add,
        False for a PUT that also creates an article).
        """
        verb = (method.decode() if isinstance(method, bytes) else method).upper()
        target = url.decode() if isinstance(url, bytes) else url
        template = endpoint_template(target)
        path = urlsplit(target).path
        repeatable = verb in IDEMPOTENT_METHODS if idempotent is None else idempotent
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout

        attempt = 0
        while True:
            started = self._clock()
            try:
                response = super().request(verb, target, *args, **kwargs)
            except requests.RequestException as exc:
                self._notify(verb, template, None, self._clock() - started)
                retry = _transient(exc) if repeatable else _nothing_sent(exc)
                if retry and attempt < self.retries:
                    delay = self.backoff(attempt)
                    log.info("Zammad %s %s: %s; retry %d in %.2fs", verb, template, exc, attempt + 1, delay)
                    self._sleep(delay)
                    attempt += 1
                    continue
                raise error_from_exception(exc, verb, path) from exc

            self._notify(verb, template, response.status_code, self._clock() - started)
            if response.status_code in RETRY_STATUSES and repeatable and attempt < self.retries:
                wait = self._retry_delay(response, attempt)
                if wait is not None:
                    log.info(
                        "Zammad %s %s: HTTP %d; retry %d in %.2fs",
                        verb, template, response.status_code, attempt + 1, wait,
                    )
                    response.close()
                    self._sleep(wait)
                    attempt += 1
                    continue
            if response.status_code >= 400:
                raise error_from_response(response, verb, path)
            return response

    def _retry_delay(self, response: requests.Response, attempt: int) -> float | None:
        """Wait before the next attempt, or None to give up (Retry-After beyond our cap)."""
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            return self.backoff(attempt)
        if retry_after > self.max_retry_after:
            # Blocking a worker for longer is worse than failing; the caller reschedules.
            return None
        return retry_after

    def _notify(self, method: str, template: str, status: int | None, seconds: float) -> None:
        if self.on_request is None:
            return
        try:
            self.on_request(method, template, status, seconds)
        except Exception:  # a broken metrics hook must not break Zammad calls
            log.exception("on_request hook failed")
