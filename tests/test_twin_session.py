"""The twin's GET /api/v1/signshow: Zammad's frontend settings (locale_default) for any valid token.

Zammad: app/controllers/sessions_controller.rb#show renders `config` (every setting with
`frontend: true`, db/seeds/settings.rb: `locale_default` is one, default `en-us`) to any
authenticated user; GET /api/v1/settings instead needs admin.* and the setting's own
permission (admin.system), which the sidecar's token does not hold.
"""

from __future__ import annotations

import requests

from zammad_sla_plugin.admin.provision import REQUIRED_PERMISSIONS
from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.zammad import ZammadClient


def test_signshow_serves_locale_default_to_a_token_without_admin_system() -> None:
    with TwinServer(token="t", api_permissions=sorted(REQUIRED_PERMISSIONS)) as twin:
        client = ZammadClient(twin.url, "t", retries=0)
        assert client.frontend_config() == {"locale_default": "en-us"}  # Zammad's seeded default
        changed = requests.post(f"{twin.url}/_twin/settings", json={"locale_default": "es-ar"}, timeout=5)
        assert changed.status_code == 200
        body = client.request("GET", "signshow")
        assert body["config"]["locale_default"] == "es-ar"
        assert body["session"]["login"] == "zammad-sla@example.com"
        assert "admin.system" not in REQUIRED_PERMISSIONS  # read without the setting's own permission


def test_signshow_needs_a_valid_token_and_settings_keep_their_type() -> None:
    with TwinServer(token="t") as twin:
        wrong = requests.get(f"{twin.url}/api/v1/signshow", headers={"Authorization": "Token token=nope"}, timeout=5)
        assert wrong.status_code == 401
        for bad in ({"locale_default": True}, {"locale_default": " "}, {"tag_new": "yes"}):
            assert requests.post(f"{twin.url}/_twin/settings", json=bad, timeout=5).status_code == 422
