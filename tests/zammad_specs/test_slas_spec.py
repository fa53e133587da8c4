"""Port of Zammad's spec/requests/sla_spec.rb (zammad/zammad at ZAMMAD_COMMIT) against the twin.

Every example of the file is ported; none is left out.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.zammad_specs._sla_support import ADMIN_TOKEN, ZAMMAD_COMMIT, call
from zammad_sla_plugin.twin import TwinServer

SPEC = "spec/requests/sla_spec.rb"
assert len(ZAMMAD_COMMIT) == 40


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=ADMIN_TOKEN, time_scale=0.001) as server:
        yield server


def test_does_index_sla_with_nobody(twin: TwinServer) -> None:
    """sla_spec.rb: it 'does index sla with nobody'."""
    response = call(twin, "GET", "slas", token=None)
    assert response.status == 403
    assert isinstance(response.json, dict)
    assert response.json["error"] == "Authentication required"


def test_does_index_sla_with_admin(twin: TwinServer) -> None:
    """sla_spec.rb: it 'does index sla with admin'."""
    response = call(twin, "GET", "slas")
    assert response.status == 200
    assert isinstance(response.json, list)
    assert response.json is not None
    assert len(response.json) == 0

    response = call(twin, "GET", "slas?expand=true")
    assert response.status == 200
    assert isinstance(response.json, list)
    assert len(response.json) == 0

    response = call(twin, "GET", "slas?full=true")
    assert response.status == 200
    assert isinstance(response.json, dict)
    assert response.json["record_ids"] is not None  # be_truthy: [] is truthy in Ruby
    assert response.json["record_ids"] == []        # be_blank
    assert response.json["assets"] is not None
    assert response.json["assets"]["Calendar"]      # be_present
    assert response.json["assets"]
