"""The client's SLA, calendar and group listings (used by `import-zammad-slas`), against `responses`."""

from __future__ import annotations

from typing import Iterator

import pytest
import responses
from responses import matchers

from zammad_sla_plugin.zammad import ZammadClient, ZammadError

BASE = "http://zammad.test"
API = f"{BASE}/api/v1"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def client() -> Iterator[ZammadClient]:
    with ZammadClient(BASE, "tok", retries=0, sleep=lambda _s: None) as made:
        yield made


def _page(mock: responses.RequestsMock, path: str, page: int, rows: list[dict[str, object]]) -> None:
    mock.get(f"{API}/{path}", json=rows,
             match=[matchers.query_param_matcher({"page": str(page), "per_page": "500"}),
                    matchers.header_matcher({"Authorization": "Token token=tok"})])


def test_slas_reads_every_page_until_a_short_one(mock: responses.RequestsMock, client: ZammadClient) -> None:
    _page(mock, "slas", 1, [{"id": i, "name": f"SLA {i}"} for i in range(1, 501)])
    _page(mock, "slas", 2, [{"id": 501, "name": "SLA 501"}])
    slas = client.slas()
    assert [s["id"] for s in slas] == list(range(1, 502))


@pytest.mark.parametrize("method, path", [("calendars", "calendars"), ("groups", "groups")])
def test_calendars_and_groups_single_page(mock: responses.RequestsMock, client: ZammadClient, method: str, path: str) -> None:
    rows = [{"id": 1, "name": "Default"}, {"id": 2, "name": "BR"}]
    _page(mock, path, 1, rows)
    assert getattr(client, method)() == rows


def test_empty_list_is_one_call(mock: responses.RequestsMock, client: ZammadClient) -> None:
    _page(mock, "slas", 1, [])
    assert client.slas() == []


def test_missing_permission_is_a_zammad_error(mock: responses.RequestsMock, client: ZammadClient) -> None:
    mock.get(f"{API}/slas", status=403, json={"error": "Not authorized", "error_human": "Not authorized"})
    with pytest.raises(ZammadError) as caught:
        client.slas()
    assert caught.value.status == 403 and "Not authorized" in str(caught.value)
