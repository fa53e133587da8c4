"""Runtime settings of the sidecar, read from the environment.

Every problem in the environment is collected and reported at once (one message
listing all of them), so an operator fixes a deployment in one round trip.
Secrets are wrapped in `Secret` so they never leak through repr() or logs.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, NoReturn
from urllib.parse import urlsplit

DEFAULT_LISTEN = "127.0.0.1:8085"
DEFAULT_DATA_DIR = "./var"
DEFAULT_RECONCILE_SECONDS = 600.0
DEFAULT_WORKERS = 4
DEFAULT_COALESCE_SECONDS = 0.2

REDIS_SCHEMES = ("redis", "rediss", "unix")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

# HMAC-SHA1 keys shorter than this are guessable offline from one signed delivery.
MIN_SECRET_LENGTH = 32
# Values shipped in deploy/ examples: a secret equal to one of them was never changed.
PLACEHOLDER_SECRETS = frozenset({"change-me", "change-me-long-and-random", "change-me-to-a-long-random-string"})


class Secret:
    """A string that is never shown by repr()/str(); call `reveal()` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value (only where it is actually needed)."""
        return self._value

    def reveal_bytes(self) -> bytes:
        """Return the secret as UTF-8 bytes (e.g. as an HMAC key)."""
        return self._value.encode("utf-8")

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


class SettingsError(Exception):
    """The environment is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(self._message())

    def _message(self) -> str:
        count = len(self.problems)
        if count == 1:  # one problem, one line
            return f"invalid configuration: {self.problems[0]}"
        head = f"invalid configuration ({count} problems):"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


@dataclass(frozen=True)
class Settings:
    """Validated sidecar settings (see `load_settings` for the variables)."""

    zammad_url: str | None
    zammad_token: Secret | None = field(repr=False)
    webhook_secret: Secret | None = field(repr=False)
    listen_host: str
    listen_port: int
    data_dir: Path
    redis_url: str | None = field(repr=False)  # may embed a password
    config_path: Path | None
    public_url: str | None
    reconcile_seconds: float
    workers: int
    coalesce_seconds: float
    queue_fsync: bool = False

    @property
    def listen(self) -> str:
        """The listen address as `host:port` (IPv6 hosts in brackets)."""
        host = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        return f"{host}:{self.listen_port}"

    @property
    def queue_file(self) -> Path:
        """The SQLite queue file used when no Redis URL is configured."""
        return self.data_dir / "queue.sqlite3"


class _Reader:
    """Reads variables from one environment mapping, collecting problems."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        # An empty value (e.g. `FOO=` in a compose file) counts as unset.
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def secret(self, name: str, *, required: bool) -> Secret | None:
        """Read NAME or NAME_FILE (exactly one of them)."""
        file_name = f"{name}_FILE"
        direct = self.environ.get(name)
        path = self.raw(file_name)
        if direct is not None and direct.strip() and path is not None:
            self.problems.append(f"{name} and {file_name} are both set; set only one")
            return None
        if path is not None:
            try:
                content = Path(path).expanduser().read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
                self.problems.append(f"{file_name}: cannot read {path!r}: {reason}")
                return None
            value = content.strip()  # secret files usually end in a newline
            if not value:
                self.problems.append(f"{file_name}: file {path!r} is empty")
                return None
            return Secret(value)
        if direct is not None and direct.strip():
            return Secret(direct.strip())
        if required:
            self.problems.append(f"{name} (or {file_name}) is required but not set")
        return None

    def http_url(self, name: str, *, required: bool) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.problems.append(f"{name} is required but not set (e.g. http://zammad:8080)")
            return None
        try:
            parts = urlsplit(value)
        except ValueError as error:  # e.g. an unclosed IPv6 bracket: http://[::1
            self.problems.append(f"{name}: {value!r} is not a valid URL ({error})")
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problems.append(f"{name}: {value!r} is not an http(s) URL with a host")
            return None
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            self.problems.append(f"{name}: {value!r} has an invalid port")
            return None
        return value.rstrip("/")

    def redis_url(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = urlsplit("invalid:")
        if parts.scheme not in REDIS_SCHEMES or not (parts.hostname or parts.path):
            schemes = ", ".join(f"{s}://" for s in REDIS_SCHEMES)
            # Never echo the value: it may carry a password.
            self.problems.append(f"{name}: not a Redis URL (expected one of {schemes})")
            return None
        return value

    def listen(self, name: str, default: str) -> tuple[str, int]:
        value = self.raw(name) or default
        host, sep, port_text = value.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            self.problems.append(f"{name}: {value!r} is not host:port with a port in 1..65535")
            return "", 0
        return host, int(port_text)

    def number(self, name: str, default: float, *, allow_zero: bool = False) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            self.problems.append(f"{name}: {value!r} is not a number")
            return default
        if number != number or number in (float("inf"), float("-inf")):
            self.problems.append(f"{name}: {value!r} is not a finite number")
        elif number < 0 or (number == 0 and not allow_zero):
            bound = "zero or positive" if allow_zero else "positive"
            self.problems.append(f"{name}: {value!r} must be {bound}")
        return number

    def integer(self, name: str, default: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            self.problems.append(f"{name}: {value!r} is not an integer")
            return default
        if number <= 0:
            self.problems.append(f"{name}: {value!r} must be a positive integer")
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.problems.append(f"{name}: {value!r} is not a boolean (use on/off, true/false, 1/0)")
        return default

    def path(self, name: str, default: str | None) -> Path | None:
        value = self.raw(name) or default
        return Path(value).expanduser() if value is not None else None


def load_settings(
    environ: Mapping[str, str] = os.environ,
    *,
    require_zammad: bool = True,
    require_webhook_secret: bool = False,
) -> Settings:
    """Read and validate the sidecar settings from `environ`.

    Variables: ZAMMAD_URL, ZAMMAD_TOKEN[_FILE], ZAMMAD_SLA_WEBHOOK_SECRET[_FILE],
    ZAMMAD_SLA_LISTEN, ZAMMAD_SLA_DATA_DIR, ZAMMAD_SLA_REDIS_URL, ZAMMAD_SLA_CONFIG,
    ZAMMAD_SLA_PUBLIC_URL, ZAMMAD_SLA_RECONCILE_SECONDS, ZAMMAD_SLA_WORKERS,
    ZAMMAD_SLA_COALESCE_SECONDS, ZAMMAD_SLA_QUEUE_FSYNC. `require_zammad` makes ZAMMAD_URL and the token
    mandatory; `require_webhook_secret` the webhook secret (the receiver needs it).
    Raises `SettingsError` listing every problem found.
    """
    r = _Reader(environ)
    zammad_url = r.http_url("ZAMMAD_URL", required=require_zammad)
    zammad_token = r.secret("ZAMMAD_TOKEN", required=require_zammad)
    webhook_secret = r.secret("ZAMMAD_SLA_WEBHOOK_SECRET", required=require_webhook_secret)
    listen_host, listen_port = r.listen("ZAMMAD_SLA_LISTEN", DEFAULT_LISTEN)
    data_dir = r.path("ZAMMAD_SLA_DATA_DIR", DEFAULT_DATA_DIR)
    redis_url = r.redis_url("ZAMMAD_SLA_REDIS_URL")
    config_path = r.path("ZAMMAD_SLA_CONFIG", None)
    public_url = r.http_url("ZAMMAD_SLA_PUBLIC_URL", required=False)
    reconcile_seconds = r.number("ZAMMAD_SLA_RECONCILE_SECONDS", DEFAULT_RECONCILE_SECONDS)
    workers = r.integer("ZAMMAD_SLA_WORKERS", DEFAULT_WORKERS)
    # 0 is meaningful here: evaluate on every event without a coalescing window.
    coalesce_seconds = r.number("ZAMMAD_SLA_COALESCE_SECONDS", DEFAULT_COALESCE_SECONDS, allow_zero=True)
    queue_fsync = r.boolean("ZAMMAD_SLA_QUEUE_FSYNC", False)
    if r.problems:
        raise SettingsError(r.problems)
    assert data_dir is not None  # has a default
    return Settings(
        zammad_url=zammad_url,
        zammad_token=zammad_token,
        webhook_secret=webhook_secret,
        listen_host=listen_host,
        listen_port=listen_port,
        data_dir=data_dir,
        redis_url=redis_url,
        config_path=config_path,
        public_url=public_url,
        reconcile_seconds=reconcile_seconds,
        workers=workers,
        coalesce_seconds=coalesce_seconds,
        queue_fsync=queue_fsync,
    )


def secret_warnings(settings: Settings) -> list[str]:
    """Warnings about a weak webhook secret (short, or an example file's placeholder)."""
    if settings.webhook_secret is None:
        return []
    value = settings.webhook_secret.reveal()
    if value in PLACEHOLDER_SECRETS or value.lower().startswith("change-me"):
        return ["ZAMMAD_SLA_WEBHOOK_SECRET is still the example's placeholder: anyone can sign webhooks; "
                "set a random one (openssl rand -hex 32) and run `zammad-sla setup`"]
    if len(value) < MIN_SECRET_LENGTH:
        return [f"ZAMMAD_SLA_WEBHOOK_SECRET is only {len(value)} characters long; use at least "
                f"{MIN_SECRET_LENGTH} random characters (openssl rand -hex 32) and run `zammad-sla setup`"]
    return []


def settings_or_exit(
    environ: Mapping[str, str] = os.environ,
    *,
    require_zammad: bool = True,
    require_webhook_secret: bool = False,
) -> Settings:
    """`load_settings` for CLIs: on error print the message to stderr and exit 2."""
    try:
        return load_settings(
            environ, require_zammad=require_zammad, require_webhook_secret=require_webhook_secret
        )
    except SettingsError as exc:
        _exit_with(str(exc))


def _exit_with(message: str) -> NoReturn:
    print(f"zammad-sla: {message}", file=sys.stderr)
    raise SystemExit(2)
