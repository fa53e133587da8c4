"""Port of Zammad's spec/requests/overview_spec.rb: creating overviews (link names made
unique, group_by direction)."""

from __future__ import annotations

from typing import Any

from tests.zammad_specs.conftest import Zammad

ZAMMAD_SPEC = "spec/requests/overview_spec.rb"
ZAMMAD_COMMIT = "24c3bdfd8748874cb5f16c4e618cf78cded47743"

VIEW = {"d": ["title", "customer", "state", "created_at"], "s": ["number", "title", "customer", "state", "created_at"],
        "m": ["number", "title", "customer", "state", "created_at"], "view_mode_default": "s"}


def _params(**extra: Any) -> dict[str, Any]:
    return {"name": "Overview2", "link": "my_overview", "roles": ["Agent"],
            "condition": {"ticket.state_id": {"operator": "is", "value": [1, 2, 3]}},
            "order": {"by": "created_at", "direction": "DESC"}, "view": VIEW, **extra}


def test_create_overviews(zammad: Zammad) -> None:
    """request handling > it 'does create overviews'"""
    admin = zammad.as_(zammad.admin())
    response = admin.post("overviews", _params())
    assert response.status == 201 and isinstance(response.json, dict), response.text
    assert (response.json["name"], response.json["link"]) == ("Overview2", "my_overview")
    response = admin.post("overviews", _params())
    assert response.status == 201 and isinstance(response.json, dict), response.text
    assert (response.json["name"], response.json["link"]) == ("Overview2", "my_overview_1")


def test_create_overview_with_group_by_direction(zammad: Zammad) -> None:
    """request handling > it 'does create an overview with group_by direction'"""
    response = zammad.as_(zammad.admin()).post("overviews", _params(group_by="priority", group_direction="ASC"))
    assert response.status == 201 and isinstance(response.json, dict), response.text
    assert (response.json["name"], response.json["link"]) == ("Overview2", "my_overview")
    assert (response.json["group_by"], response.json["group_direction"]) == ("priority", "ASC")
