"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from zammad_sla_plugin.demo.local_stack import free_port

if TYPE_CHECKING:
    from zammad_sla_plugin.demo.local_stack import LocalStack


def _pings(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private redis-server on a free loopback port (skips when not installed).

    CI installs Debian's redis-server (see .ci/run), so there these tests always run.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):  # .ci/run installs it: a missing server there is a broken CI, not a skip
            pytest.fail("redis-server is not on PATH although CI is set (.ci/run installs it)")
        pytest.skip("redis-server is not on PATH (apt-get install redis-server to run the Redis variant)")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _pings(url):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator["LocalStack"]:
    """Twin + sidecar on loopback, the twin's clock frozen at Tue 2026-03-10 13:00Z (10:00 in Buenos Aires)."""
    from tests.e2e_support import utc
    from zammad_sla_plugin.core.policy import load_policy
    from zammad_sla_plugin.demo.local_stack import LocalStack

    with LocalStack(load_policy(), tmp_path, virtual_now=utc("2026-03-10T13:00:00"), queue_options={"retry_delay": 0.05}) as running:
        yield running
