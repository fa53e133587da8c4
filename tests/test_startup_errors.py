"""Every startup or configuration error of `serve` / `worker` is one line and exit 2."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from zammad_sla_plugin.demo.local_stack import free_port
from zammad_sla_plugin.core.policy import PolicyError, load_policy
from zammad_sla_plugin.runtime.settings import load_settings, secret_warnings

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "a" * 64


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ZAMMAD_", "ZAMMAD_SLA_"))}
    return subprocess.run(
        [sys.executable, "-m", "zammad_sla_plugin.cli", *args], env={**base, **env}, capture_output=True, text=True,
        timeout=timeout, cwd=ROOT,
    )  # fmt: skip


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"ZAMMAD_URL": "http://127.0.0.1:9", "ZAMMAD_TOKEN": "t", "ZAMMAD_SLA_WEBHOOK_SECRET": GOOD_SECRET,
            "ZAMMAD_SLA_DATA_DIR": str(tmp_path / "data"), "ZAMMAD_SLA_LISTEN": f"127.0.0.1:{free_port()}", **extra}  # fmt: skip


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "listening" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


def test_unclosed_ipv6_url(tmp_path: Path) -> None:
    assert_one_line_exit_2(run(["serve"], base_env(tmp_path, ZAMMAD_URL="http://[::1")), "ZAMMAD_URL", "not a valid URL")


def test_busy_listen_port(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run(["serve"], base_env(tmp_path, ZAMMAD_SLA_LISTEN=f"127.0.0.1:{port}"))
    assert_one_line_exit_2(result, f"cannot listen on 127.0.0.1:{port}", "Address already in use")


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_data_dir_that_is_a_file(tmp_path: Path, command: str) -> None:
    (tmp_path / "data").write_text("not a directory")
    assert_one_line_exit_2(run([command], base_env(tmp_path)), "cannot open the queue", "not a directory")


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_redis_down(tmp_path: Path, command: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run([command], base_env(tmp_path, ZAMMAD_SLA_REDIS_URL=f"redis://127.0.0.1:{port}/0"))
    assert_one_line_exit_2(result, "Redis queue not writable", "ConnectionError")


def test_non_utf8_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_bytes(b'[calendar]\ntimezone = "Am\xe9rica/Buenos_Aires"\n')
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(policy)
    assert_one_line_exit_2(run(["serve"], base_env(tmp_path, ZAMMAD_SLA_CONFIG=str(policy))), "not UTF-8")


def test_deeply_nested_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    # Garbage left by earlier tests (sockets, sessions) must not be finalized at the parser's
    # recursion limit: its __del__ would fail there and pytest reports that as this test's error.
    gc.collect()
    gc.disable()
    try:
        with pytest.raises(PolicyError, match="nested too deeply"):
            load_policy(policy)
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("secret", "warned"),
    [("change-me-to-a-long-random-string", "placeholder"), ("change-me", "placeholder"), ("short-secret", "only 12"),
     (GOOD_SECRET, None)],
)  # fmt: skip
def test_weak_webhook_secret_is_warned_about(secret: str, warned: str | None) -> None:
    settings = load_settings({"ZAMMAD_SLA_WEBHOOK_SECRET": secret}, require_zammad=False)
    warnings = secret_warnings(settings)
    assert (warned is None and warnings == []) or (len(warnings) == 1 and warned in warnings[0])
    assert all(secret not in warning for warning in warnings)  # never printed


def test_serve_warns_about_a_placeholder_secret_at_start(tmp_path: Path) -> None:
    env = base_env(tmp_path, ZAMMAD_SLA_WEBHOOK_SECRET="change-me-to-a-long-random-string",
                   ZAMMAD_SLA_REDIS_URL="redis://127.0.0.1:1/0")  # fmt: skip  # stops right after the warning
    result = run(["serve"], env)
    assert "WARNING" in result.stderr and "placeholder" in result.stderr and result.returncode == 2
