"""Which language zammad-sla writes in: the policy's `locale`, else Zammad's `locale_default`.

Read once per process from Zammad's frontend configuration (GET /api/v1/signshow, see
`ZammadClient.frontend_config`). `setup`, `doctor` and the worker use the same answer.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from zammad_sla_plugin.core.i18n import language
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.zammad import ZammadClient, ZammadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EffectiveLocale:
    """The locale in use, where it came from, and the catalog that serves it."""

    locale: str | None  # e.g. "es-ar"; None: none configured anywhere (English)
    source: str  # "policy", "Zammad locale_default" or "default"

    def describe(self) -> str:
        """`es-ar (Zammad locale_default; catalog es)` for setup and doctor."""
        lang = language(self.locale)
        return f"{self.locale or 'en'} ({self.source}; catalog {lang.catalog})"


def zammad_locale_default(client: ZammadClient) -> str | None:
    """Zammad's system setting `locale_default` (None when Zammad does not say)."""
    value = client.frontend_config().get("locale_default")
    return value if isinstance(value, str) and value.strip() else None


def effective_locale(policy: Policy, client: ZammadClient) -> EffectiveLocale:
    """The policy's `locale` when set, else Zammad's `locale_default`, else English.

    A Zammad that refuses or lacks the endpoint (4xx) means English, with a warning;
    an unreachable one raises (the caller decides: `LocaleCache` writes in English for now).
    """
    if policy.locale:
        return EffectiveLocale(policy.locale, "policy")
    try:
        found = zammad_locale_default(client)
    except ZammadError as error:
        if error.status is None or error.status >= 500:
            raise
        log.warning("cannot read Zammad's locale_default (%s); writing in English", error)
        found = None
    return EffectiveLocale(found, "Zammad locale_default") if found else EffectiveLocale(None, "default")


class LocaleCache:
    """`effective_locale` read once, on first use (thread-safe).

    When Zammad cannot be asked (no answer, 5xx) the notes are written in the policy's
    locale or English rather than not at all, and Zammad is asked again after `retry_seconds`.
    """

    def __init__(self, policy: Policy, client: ZammadClient, retry_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy, self.client = policy, client
        self.retry_seconds, self.clock = retry_seconds, clock
        self._value: EffectiveLocale | None = None
        self._retry_at: float | None = None
        self._lock = threading.Lock()

    def get(self) -> EffectiveLocale:
        """The effective locale (read from Zammad the first time)."""
        with self._lock:
            if self._value is not None and (self._retry_at is None or self.clock() < self._retry_at):
                return self._value
            try:
                self._value, self._retry_at = effective_locale(self.policy, self.client), None
            except ZammadError as error:
                log.warning("cannot read Zammad's locale_default (%s); writing in %s for now", error, self.policy.locale or "en")
                self._value = EffectiveLocale(self.policy.locale, "default (Zammad did not answer)")
                self._retry_at = self.clock() + self.retry_seconds
            return self._value

    def locale(self) -> str | None:
        """Just the tag."""
        return self.get().locale
