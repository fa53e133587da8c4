"""Webhook delivery like TriggerWebhookJob: background, signed, 5 attempts with growing waits.

The payload is built at each attempt from the current state (ActiveJob re-loads the
ticket by GlobalID when it runs); a ticket deleted meanwhile discards the job.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from typing import Any

import requests

from .payload import webhook_payload
from .state import TwinState
from .triggers import DeliveryJob

ATTEMPTS = 5
BASE_WAIT_SECONDS = 10.0  # retry_on wait: executions * 10 seconds


def signature(body: bytes, token: str) -> str:
    """`X-Hub-Signature` value: sha1=<hex HMAC-SHA1 of the raw body>."""
    return "sha1=" + hmac.new(token.encode("utf-8"), body, hashlib.sha1).hexdigest()


class Deliverer:
    """Runs delivery jobs on background threads and keeps a log of every attempt."""

    def __init__(self, state: TwinState, time_scale: float, base_url: str = "http://localhost") -> None:
        self.state = state
        self.time_scale = time_scale
        self.base_url = base_url
        self.log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._reserved = 0
        self._session = requests.Session()

    def reserve(self, count: int) -> None:
        """Announce `count` jobs that `submit` will start soon (they count as pending)."""
        with self._log_lock:
            self._reserved += count

    def submit(self, jobs: list[DeliveryJob], reserved: bool = False) -> None:
        """Start delivering `jobs` (call after the triggering response was sent)."""
        for job in jobs:
            thread = threading.Thread(target=self._run, args=(job,), name=f"twin-webhook-{job.delivery_id[:8]}", daemon=True)
            with self._log_lock:
                if reserved:
                    self._reserved -= 1
                if self._stop.is_set():
                    continue
                self._threads.add(thread)
            thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Cancel pending waits and let running attempts finish."""
        self._stop.set()
        with self._log_lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def pending(self) -> int:
        """Jobs still running or waiting for a retry."""
        with self._log_lock:
            return self._reserved + sum(1 for t in self._threads if t.is_alive() or not t.ident)

    def entries(self) -> list[dict[str, Any]]:
        """Copy of the attempt log."""
        with self._log_lock:
            return [dict(e) for e in self.log]

    def _record(self, job: DeliveryJob, attempt: int, **fields: Any) -> None:
        entry = {
            "id": next(self._ids), "delivery_id": job.delivery_id, "trigger_id": job.trigger_id,
            "trigger": job.trigger_name, "webhook_id": job.webhook_id, "ticket_id": job.ticket_id,
            "article_id": job.article_id, "attempt": attempt, "time": self.state.now_iso(),
            "url": None, "status": None, "ok": False, "error": None, "final": False,
        }
        entry.update(fields)
        with self._log_lock:
            self.log.append(entry)

    def _prepare(self, job: DeliveryJob) -> tuple[dict[str, Any], bytes] | str:
        with self.state.lock:
            webhook = self.state.find("webhooks", job.webhook_id)
            if webhook is None or not webhook["active"]:
                return "webhook missing or inactive"
            ticket = self.state.find("tickets", job.ticket_id)
            if ticket is None:
                return "ticket deleted (job discarded)"
            article = self.state.find("articles", job.article_id) if job.article_id else None
            body = json.dumps(webhook_payload(self.state, ticket, article, self.base_url)).encode("utf-8")
            return dict(webhook), body

    def _run(self, job: DeliveryJob) -> None:
        try:
            for attempt in range(1, ATTEMPTS + 1):
                prepared = self._prepare(job)
                if isinstance(prepared, str):
                    self._record(job, attempt, error=prepared, final=True)
                    return
                webhook, body = prepared
                if self._attempt(job, attempt, webhook, body):
                    return
                if attempt == ATTEMPTS or self._stop.wait(attempt * BASE_WAIT_SECONDS * self.time_scale):
                    return
        finally:
            with self._log_lock:
                self._threads.discard(threading.current_thread())

    def _attempt(self, job: DeliveryJob, attempt: int, webhook: dict[str, Any], body: bytes) -> bool:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Zammad User Agent",
            "X-Zammad-Trigger": job.trigger_name,
            "X-Zammad-Delivery": job.delivery_id,
        }
        if webhook.get("signature_token"):
            headers["X-Hub-Signature"] = signature(body, webhook["signature_token"])
        if webhook.get("bearer_token"):
            headers["Authorization"] = f"Bearer {webhook['bearer_token']}"
        auth = None
        if webhook.get("basic_auth_username"):
            auth = (webhook["basic_auth_username"], webhook.get("basic_auth_password") or "")
        method = str(webhook.get("http_method") or "post").upper()
        try:
            response = self._session.request(
                method, webhook["endpoint"], data=body, headers=headers, auth=auth,
                timeout=(4, 30), verify=bool(webhook.get("ssl_verify", True)), allow_redirects=False,
            )
        except requests.RequestException as exc:
            self._record(job, attempt, url=webhook["endpoint"], error=f"{type(exc).__name__}: {exc}",
                         final=attempt == ATTEMPTS)
            return False
        ok = 200 <= response.status_code < 300
        self._record(job, attempt, url=webhook["endpoint"], status=response.status_code, ok=ok,
                     final=ok or attempt == ATTEMPTS)
        return ok
