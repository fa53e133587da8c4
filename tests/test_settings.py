"""Tests for zammad_sla_plugin.runtime.settings: defaults, validation, secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from zammad_sla_plugin.runtime.settings import Secret, SettingsError, load_settings, settings_or_exit, variable_names

BASE = {"ZAMMAD_URL": "http://zammad:8080/", "ZAMMAD_TOKEN": "tok-123"}


def test_defaults() -> None:
    s = load_settings(BASE)
    assert s.zammad_url == "http://zammad:8080"  # trailing slash dropped
    assert s.zammad_token is not None and s.zammad_token.reveal() == "tok-123"
    assert s.webhook_secret is None
    assert (s.listen_host, s.listen_port, s.listen) == ("127.0.0.1", 8085, "127.0.0.1:8085")
    assert s.data_dir == Path("./var")
    assert s.redis_url is None and s.config_path is None and s.public_url is None
    assert (s.reconcile_seconds, s.workers, s.coalesce_seconds) == (600.0, 4, 0.2)


def test_all_values_parsed(tmp_path: Path) -> None:
    env = {
        **BASE,
        "ZAMMAD_SLA_WEBHOOK_SECRET": "hook",
        "ZAMMAD_SLA_LISTEN": "[::1]:9000",
        "ZAMMAD_SLA_DATA_DIR": str(tmp_path),
        "ZAMMAD_SLA_REDIS_URL": "redis://:pw@redis:6379/0",
        "ZAMMAD_SLA_CONFIG": str(tmp_path / "policy.toml"),
        "ZAMMAD_SLA_PUBLIC_URL": "https://sla.example.org",
        "ZAMMAD_SLA_RECONCILE_SECONDS": "30",
        "ZAMMAD_SLA_WORKERS": "4",
        "ZAMMAD_SLA_COALESCE_SECONDS": "0",
    }
    s = load_settings(env)
    assert s.webhook_secret == Secret("hook")
    assert (s.listen_host, s.listen_port, s.listen) == ("::1", 9000, "[::1]:9000")
    assert s.data_dir == tmp_path
    assert s.redis_url == "redis://:pw@redis:6379/0"
    assert s.config_path == tmp_path / "policy.toml"
    assert s.public_url == "https://sla.example.org"
    assert (s.reconcile_seconds, s.workers, s.coalesce_seconds) == (30.0, 4, 0.0)


def test_secrets_from_files_are_stripped(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("file-token\n")
    (tmp_path / "hook").write_text("  file-hook \n")
    env = {
        "ZAMMAD_URL": "https://z.example",
        "ZAMMAD_TOKEN_FILE": str(tmp_path / "token"),
        "ZAMMAD_SLA_WEBHOOK_SECRET_FILE": str(tmp_path / "hook"),
    }
    s = load_settings(env, require_webhook_secret=True)
    assert s.zammad_token is not None and s.zammad_token.reveal() == "file-token"
    assert s.webhook_secret is not None and s.webhook_secret.reveal_bytes() == b"file-hook"


def test_secrets_never_in_repr(tmp_path: Path) -> None:
    env = {**BASE, "ZAMMAD_SLA_WEBHOOK_SECRET": "hook-value", "ZAMMAD_SLA_REDIS_URL": "redis://:redispw@r:6379"}
    s = load_settings(env)
    text = repr(s) + str(s) + repr(s.zammad_token) + str(s.webhook_secret)
    for secret in ("tok-123", "hook-value", "redispw"):
        assert secret not in text


def test_every_problem_is_listed(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("x")
    env = {
        "ZAMMAD_URL": "zammad:8080",  # no scheme
        "ZAMMAD_TOKEN": "a",
        "ZAMMAD_TOKEN_FILE": str(tmp_path / "token"),  # both set
        "ZAMMAD_SLA_WEBHOOK_SECRET_FILE": str(tmp_path / "missing"),  # unreadable
        "ZAMMAD_SLA_LISTEN": "localhost",  # no port
        "ZAMMAD_SLA_REDIS_URL": "http://:secretpw@redis",
        "ZAMMAD_SLA_PUBLIC_URL": "ftp://x",
        "ZAMMAD_SLA_RECONCILE_SECONDS": "0",
        "ZAMMAD_SLA_WORKERS": "two",
        "ZAMMAD_SLA_COALESCE_SECONDS": "-1",
    }
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    problems = info.value.problems
    assert len(problems) == 9, problems
    message = str(info.value)
    assert message.startswith("invalid configuration (9 problems):")
    for name in (
        "ZAMMAD_URL:",
        "ZAMMAD_TOKEN and ZAMMAD_TOKEN_FILE are both set",
        "ZAMMAD_SLA_WEBHOOK_SECRET_FILE: cannot read",
        "ZAMMAD_SLA_LISTEN:",
        "ZAMMAD_SLA_REDIS_URL:",
        "ZAMMAD_SLA_PUBLIC_URL:",
        "ZAMMAD_SLA_RECONCILE_SECONDS:",
        "ZAMMAD_SLA_WORKERS:",
        "ZAMMAD_SLA_COALESCE_SECONDS:",
    ):
        assert name in message
    assert "secretpw" not in message


def test_missing_required_values() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"ZAMMAD_URL": ""}, require_webhook_secret=True)
    assert len(info.value.problems) == 3
    assert "ZAMMAD_URL is required" in str(info.value)
    assert "ZAMMAD_TOKEN (or ZAMMAD_TOKEN_FILE) is required" in str(info.value)
    assert "ZAMMAD_SLA_WEBHOOK_SECRET (or ZAMMAD_SLA_WEBHOOK_SECRET_FILE) is required" in str(info.value)


def test_zammad_optional_when_not_required() -> None:
    s = load_settings({}, require_zammad=False)
    assert s.zammad_url is None and s.zammad_token is None


@pytest.mark.parametrize(
    "listen",
    ["127.0.0.1:0", "127.0.0.1:70000", ":8085", "127.0.0.1:http", "[::1]"],
)
def test_bad_listen(listen: str) -> None:
    with pytest.raises(SettingsError, match="ZAMMAD_SLA_LISTEN"):
        load_settings({**BASE, "ZAMMAD_SLA_LISTEN": listen})


def test_empty_secret_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SettingsError, match="is empty"):
        load_settings({"ZAMMAD_URL": "http://z", "ZAMMAD_TOKEN_FILE": str(tmp_path / "empty")})


def test_settings_or_exit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        settings_or_exit({"ZAMMAD_SLA_WORKERS": "0"})
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("zammad-sla: invalid configuration (3 problems):")
    assert "ZAMMAD_SLA_WORKERS" in err
    assert settings_or_exit(BASE).zammad_url == "http://zammad:8080"


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("ZAMMAD_", "ZAMMAD_SLA_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ZAMMAD_URL", "http://from-env:1")
    monkeypatch.setenv("ZAMMAD_TOKEN", "t")
    assert load_settings().zammad_url == "http://from-env:1"


def test_secrets_are_pydantic_secret_strings() -> None:
    s = load_settings({**BASE, "ZAMMAD_SLA_WEBHOOK_SECRET": "hook-value"})
    assert isinstance(s.zammad_token, SecretStr) and isinstance(s.webhook_secret, SecretStr)
    assert "hook-value" not in s.model_dump_json()


def test_variable_names_include_the_file_variants() -> None:
    names = variable_names()
    assert {"ZAMMAD_TOKEN", "ZAMMAD_TOKEN_FILE", "ZAMMAD_SLA_WEBHOOK_SECRET_FILE", "ZAMMAD_SLA_QUEUE_FSYNC"} <= set(names)
    assert "ZAMMAD_URL_FILE" not in names and len(names) == len(set(names))


def test_values_are_shown_verbatim_in_problems() -> None:
    # Braces in a value must not be taken for message-template fields.
    with pytest.raises(SettingsError) as info:
        load_settings({**BASE, "ZAMMAD_URL": "{zammad}", "ZAMMAD_SLA_QUEUE_FSYNC": "maybe"})
    assert "ZAMMAD_URL: '{zammad}' is not an http(s) URL" in str(info.value)
    assert "ZAMMAD_SLA_QUEUE_FSYNC: 'maybe' is not a boolean" in str(info.value)


def test_problem_lists_do_not_carry_the_pydantic_error() -> None:
    # The pydantic error repeats raw inputs; a traceback of SettingsError must not show it.
    with pytest.raises(SettingsError) as info:
        load_settings({**BASE, "ZAMMAD_SLA_REDIS_URL": "http://:secretpw@redis"})
    assert info.value.__cause__ is None and info.value.__suppress_context__
