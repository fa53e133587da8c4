"""`HardenedSession` reads the proxy and CA-bundle environment once per host, with requests' result;
the environment's netrc never replaces the API token."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses

from zammad_sla_plugin.zammad import ZammadClient
from zammad_sla_plugin.zammad import session as session_module
from zammad_sla_plugin.zammad.session import HardenedSession

URLS = ("https://zammad.example/api/v1/tickets/1", "https://internal.example/api/v1/users/me",
        "http://zammad.example/api/v1/tickets/2")  # fmt: skip


@pytest.mark.parametrize(
    "explicit",
    [
        {"proxies": None, "verify": None},
        {"proxies": {"https": "http://other.example:8080"}, "verify": None},
        {"proxies": {}, "verify": False},
        {"proxies": {}, "verify": "/etc/ssl/own.pem"},
    ],
)
def test_same_settings_as_requests(monkeypatch: pytest.MonkeyPatch, explicit: dict[str, Any]) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/zammad.pem")
    ours, plain = HardenedSession(), requests.Session()

    def settings(session: requests.Session, url: str) -> dict[str, Any]:
        proxies = dict(explicit["proxies"]) if explicit["proxies"] is not None else None
        return session.merge_environment_settings(url, proxies, None, explicit["verify"], None)

    for _ in range(2):  # the second time from the cache
        for url in URLS:
            assert settings(ours, url) == settings(plain, url), url


def test_environment_is_read_once_per_scheme_and_host(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []

    def lookup(url: str, no_proxy: str | None = None) -> dict[str, str]:
        looked_up.append(url)
        return {}

    monkeypatch.setattr(session_module, "get_environ_proxies", lookup)
    session = HardenedSession()
    for url in (*URLS, *URLS):
        session.merge_environment_settings(url, None, None, None, None)
    assert len(looked_up) == 3
    session.trust_env = False  # then the environment is not consulted at all, as in requests
    assert session.merge_environment_settings(URLS[0], None, None, None, None)["proxies"] == {}
    assert len(looked_up) == 3


@responses.activate
def test_netrc_entry_for_the_zammad_host_does_not_replace_the_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # requests puts credentials from ~/.netrc over an Authorization header set on the session
    # (its documented precedence); the API token must win, since basic auth would act as
    # whichever user the admin's netrc names, or fail.
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine zammad.example login admin@example.com password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    responses.get("https://zammad.example/api/v1/users/me", json={"id": 3})
    with ZammadClient("https://zammad.example", "the-token") as client:
        client.request("GET", "users/me")
    assert responses.calls[0].request.headers["Authorization"] == "Token token=the-token"
    plain = requests.get("https://zammad.example/api/v1/users/me", headers={"Authorization": "Token token=x"})
    assert plain.request.headers["Authorization"].startswith("Basic ")  # the precedence this guards against
