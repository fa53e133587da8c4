"""Runtime settings of the sidecar, read from the environment (pydantic-settings).

Every problem in the environment is collected and reported at once (one message
listing all of them), so an operator fixes a deployment in one round trip.
Secrets are `Secret`s (pydantic `SecretStr`), so they never leak through repr() or logs;
each can also come from a file named by `NAME_FILE` (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import os
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Mapping, NoReturn
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_LISTEN = ("127.0.0.1", 8085)
DEFAULT_DATA_DIR = "./var"
DEFAULT_RECONCILE_SECONDS = 600.0
DEFAULT_WORKERS = 4
DEFAULT_COALESCE_SECONDS = 0.2

REDIS_SCHEMES = ("redis", "rediss", "unix")

# HMAC-SHA1 keys shorter than this are guessable offline from one signed delivery.
MIN_SECRET_LENGTH = 32
# Values shipped in deploy/ examples: a secret equal to one of them was never changed.
PLACEHOLDER_SECRETS = frozenset({"change-me", "change-me-long-and-random", "change-me-to-a-long-random-string"})

# Error type of our own validators: their message is the whole problem text.
_PROBLEM = "settings_problem"
# Pydantic's own error types, worded for an operator (after "NAME: 'value' ").
_PYDANTIC_ERRORS = {
    "float_parsing": "is not a number",
    "finite_number": "is not a finite number",
    "int_parsing": "is not an integer",
    "int_from_float": "is not an integer",
    "greater_than": "must be positive",
    "greater_than_equal": "must be zero or positive",
    "bool_parsing": "is not a boolean (use on/off, true/false, 1/0)",
}


class Secret(SecretStr):
    """A pydantic `SecretStr` (masked in repr/str); `reveal()` returns the value where it is needed."""

    def reveal(self) -> str:
        """Return the secret value (only where it is actually needed)."""
        return self.get_secret_value()

    def reveal_bytes(self) -> bytes:
        """Return the secret as UTF-8 bytes (e.g. as an HMAC key)."""
        return self.get_secret_value().encode("utf-8")


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


def _problem(text: str) -> PydanticCustomError:
    # The text goes in as context, so braces in a value are never read as template fields.
    return PydanticCustomError(_PROBLEM, "{problem}", {"problem": text})


class _OrFile:
    """Field marker: the value comes from NAME or from the file named by NAME_FILE (not both)."""


OR_FILE = _OrFile()


@dataclass(frozen=True)
class _NameOrFile:
    """The raw NAME / NAME_FILE values of a secret, resolved by `Settings._read_name_file`."""

    name: str
    value: str | None
    file: str | None


@dataclass(frozen=True)
class _Unset:
    """A variable `load_settings` requires is not set (reported by `Settings._required`)."""

    name: str


@dataclass(frozen=True)
class _Environment:
    """What `Settings()` reads: an environment mapping, and which fields must be set."""

    environ: Mapping[str, str]
    required: frozenset[str] = frozenset()


# `load_settings` sets this for the duration of one `Settings()` (a context variable: each
# thread has its own); without it, `Settings()` reads the process environment.
_ENVIRONMENT: ContextVar[_Environment | None] = ContextVar("zammad_sla_environment", default=None)


class _EnvironmentSource(PydanticBaseSettingsSource):
    """Field values from one environment mapping (`os.environ`, or a test's dict).

    A blank value counts as unset (`FOO=` in a compose file); values are stripped. A field
    marked `OR_FILE` gets NAME and NAME_FILE together, for the one NAME_FILE validator; an
    unset required field gets `_Unset`, so its problem is listed with all the others.
    """

    def __init__(self, settings_cls: type[BaseSettings], environment: _Environment) -> None:
        super().__init__(settings_cls)
        self.environment = environment

    def _get(self, name: str) -> str | None:
        value = self.environment.environ.get(name)
        return value.strip() if value is not None and value.strip() else None

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The value of `field`'s variable (its alias), or None if unset."""
        name = field.alias or field_name
        value: Any = self._get(name)
        if OR_FILE in field.metadata:
            file = self._get(f"{name}_FILE")
            value = _NameOrFile(name, value, file) if value is not None or file is not None else None
        if value is None and field_name in self.environment.required:
            value = _Unset(name)
        return value, name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                found[key] = value
        return found


def _check_http_url(value: str, name: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError as error:  # e.g. an unclosed IPv6 bracket: http://[::1
        raise _problem(f"{name}: {value!r} is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _problem(f"{name}: {value!r} is not an http(s) URL with a host")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise _problem(f"{name}: {value!r} has an invalid port") from None
    return value.rstrip("/")


class Settings(BaseSettings):
    """Validated sidecar settings (see `load_settings` for the variables)."""

    model_config = SettingsConfigDict(frozen=True, hide_input_in_errors=True)

    zammad_url: str | None = Field(default=None, alias="ZAMMAD_URL")
    zammad_token: Annotated[Secret | None, OR_FILE] = Field(default=None, alias="ZAMMAD_TOKEN", repr=False)
    webhook_secret: Annotated[Secret | None, OR_FILE] = Field(default=None, alias="ZAMMAD_SLA_WEBHOOK_SECRET", repr=False)
    listen_address: tuple[str, int] = Field(default=DEFAULT_LISTEN, alias="ZAMMAD_SLA_LISTEN")  # host:port
    data_dir: Path = Field(default=Path(DEFAULT_DATA_DIR), alias="ZAMMAD_SLA_DATA_DIR")
    redis_url: str | None = Field(default=None, alias="ZAMMAD_SLA_REDIS_URL", repr=False)  # may embed a password
    config_path: Path | None = Field(default=None, alias="ZAMMAD_SLA_CONFIG")
    public_url: str | None = Field(default=None, alias="ZAMMAD_SLA_PUBLIC_URL")
    reconcile_seconds: float = Field(default=DEFAULT_RECONCILE_SECONDS, alias="ZAMMAD_SLA_RECONCILE_SECONDS", gt=0, allow_inf_nan=False)
    workers: int = Field(default=DEFAULT_WORKERS, alias="ZAMMAD_SLA_WORKERS", gt=0)
    # 0 is meaningful here: evaluate on every event without a coalescing window.
    coalesce_seconds: float = Field(default=DEFAULT_COALESCE_SECONDS, alias="ZAMMAD_SLA_COALESCE_SECONDS", ge=0, allow_inf_nan=False)
    queue_fsync: bool = Field(default=False, alias="ZAMMAD_SLA_QUEUE_FSYNC")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read the environment `load_settings` gives (else the process's), with NAME_FILE secrets."""
        environment = _ENVIRONMENT.get() or _Environment(os.environ)
        return init_settings, _EnvironmentSource(settings_cls, environment)

    @property
    def listen_host(self) -> str:
        """The host (or IP) to listen on, IPv6 without brackets."""
        return self.listen_address[0]

    @property
    def listen_port(self) -> int:
        """The TCP port to listen on."""
        return self.listen_address[1]

    @property
    def listen(self) -> str:
        """The listen address as `host:port` (IPv6 hosts in brackets)."""
        host = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        return f"{host}:{self.listen_port}"

    @field_validator("zammad_token", "webhook_secret", mode="before")
    @classmethod
    def _read_name_file(cls, raw: object) -> object:
        """The NAME_FILE convention: NAME holds the secret, or NAME_FILE names a file holding it."""
        if not isinstance(raw, _NameOrFile):
            return raw
        file_name = f"{raw.name}_FILE"
        if raw.file is None:
            return raw.value
        if raw.value is not None:
            raise _problem(f"{raw.name} and {file_name} are both set; set only one")
        try:
            content = Path(raw.file).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise _problem(f"{file_name}: cannot read {raw.file!r}: {reason}") from None
        value = content.strip()  # secret files usually end in a newline
        if not value:
            raise _problem(f"{file_name}: file {raw.file!r} is empty")
        return value

    @field_validator("zammad_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An http(s) URL with a host and a valid port, without a trailing slash."""
        return None if value is None else _check_http_url(value, _variable(info))

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        """A redis://, rediss:// or unix:// URL (never echoed: it may carry a password)."""
        if value is None:
            return None
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = urlsplit("invalid:")
        if parts.scheme not in REDIS_SCHEMES or not (parts.hostname or parts.path):
            schemes = ", ".join(f"{s}://" for s in REDIS_SCHEMES)
            raise _problem(f"ZAMMAD_SLA_REDIS_URL: not a Redis URL (expected one of {schemes})")
        return value

    @field_validator("listen_address", mode="before")
    @classmethod
    def _host_port(cls, value: object) -> object:
        """`host:port`, `[ipv6]:port` -> (host, port)."""
        if not isinstance(value, str):
            return value
        host, sep, port_text = value.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise _problem(f"ZAMMAD_SLA_LISTEN: {value!r} is not host:port with a port in 1..65535")
        return host, int(port_text)

    @field_validator("data_dir", "config_path")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("zammad_url", "zammad_token", "webhook_secret", mode="before")
    @classmethod
    def _required(cls, raw: object) -> object:
        """A variable `load_settings` was asked to require (see its `require_*` flags)."""
        if not isinstance(raw, _Unset):
            return raw
        if raw.name == "ZAMMAD_URL":
            raise _problem(f"{raw.name} is required but not set (e.g. http://zammad:8080)")
        raise _problem(f"{raw.name} (or {raw.name}_FILE) is required but not set")


def variable_names() -> list[str]:
    """Every environment variable the settings read, NAME_FILE variants included."""
    names: list[str] = []
    for field_name, field in Settings.model_fields.items():
        name = field.alias or field_name
        names += [name, f"{name}_FILE"] if OR_FILE in field.metadata else [name]
    return names


def _variable(info: ValidationInfo) -> str:
    """The environment variable of the field being validated."""
    assert info.field_name is not None
    return Settings.model_fields[info.field_name].alias or info.field_name


def _describe(error: ErrorDetails) -> str:
    """One problem line for one pydantic error, naming the variable."""
    if error["type"] == _PROBLEM:
        return error["msg"]
    name = ".".join(str(part) for part in error["loc"])
    wording = _PYDANTIC_ERRORS.get(error["type"])
    if wording is None:
        return f"{name}: {error['msg']}"
    return f"{name}: {error['input']!r} {wording}"


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
    required = {"zammad_url", "zammad_token"} if require_zammad else set()
    if require_webhook_secret:
        required.add("webhook_secret")
    token = _ENVIRONMENT.set(_Environment(environ, frozenset(required)))
    try:
        return Settings()
    except ValidationError as error:
        # `from None`: the pydantic error would repeat inputs (a Redis password) in a traceback.
        raise SettingsError([_describe(e) for e in error.errors(include_url=False)]) from None
    finally:
        _ENVIRONMENT.reset(token)


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
