"""Shared by the admin-command tests: the twin's token, the sidecar's environment, raw API calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from zammad_sla_plugin.twin import TwinServer

TOKEN = "secret"
SECRET = "webhook-signing-secret"
PUBLIC = "http://127.0.0.1:8085"


def sidecar_env(twin: TwinServer, data_dir: Path) -> dict[str, str | None]:
    """The environment of a sidecar pointed at `twin` (None unsets a variable)."""
    return {
        "ZAMMAD_URL": twin.url, "ZAMMAD_TOKEN": TOKEN, "ZAMMAD_TOKEN_FILE": None,
        "ZAMMAD_SLA_WEBHOOK_SECRET": SECRET, "ZAMMAD_SLA_WEBHOOK_SECRET_FILE": None,
        "ZAMMAD_SLA_PUBLIC_URL": PUBLIC, "ZAMMAD_SLA_DATA_DIR": str(data_dir), "ZAMMAD_SLA_CONFIG": None,
        "ZAMMAD_SLA_REDIS_URL": None,
    }  # fmt: skip


def api(twin: TwinServer, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
    """One raw REST call to the twin with the admin token; asserts the status code."""
    headers = {"Authorization": f"Token token={TOKEN}", **kwargs.pop("headers", {})}
    response = requests.request(method, f"{twin.url}/api/v1/{path}", headers=headers, timeout=5, **kwargs)
    assert response.status_code == expect, response.text
    return response.json() if response.content else None
