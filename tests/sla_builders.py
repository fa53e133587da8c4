"""Builders for hand-made tickets and history in Zammad's shapes (REST `expand=true`)."""

from __future__ import annotations

from itertools import count
from typing import Any

_ids = count(1000)


def ticket(created_at: str, priority: str = "3 high", state: str = "open", owner_id: int = 1, **extra: Any) -> dict[str, Any]:
    """A ticket as `GET /api/v1/tickets/:id?expand=true` returns it (the fields we read)."""
    return {
        "id": 42,
        "created_at": created_at,
        "state": state,
        "state_id": 2,
        "priority": priority,
        "priority_id": 3,
        "owner_id": owner_id,
        "organization_id": 7,
        **extra,
    }


def owner_change(at: str, id_from: int, id_to: int, o_id: int = 42) -> dict[str, Any]:
    """A history entry for an owner change (id 1 is nobody, shown as "-")."""
    return {
        "id": next(_ids), "o_id": o_id, "object": "Ticket", "type": "updated", "attribute": "owner",
        "value_from": "-" if id_from == 1 else f"Agent {id_from}", "value_to": "-" if id_to == 1 else f"Agent {id_to}",
        "id_from": id_from, "id_to": id_to, "created_by_id": 3, "created_at": at,
    }  # fmt: skip


def state_change(at: str, value_from: str, value_to: str, o_id: int = 42) -> dict[str, Any]:
    """A history entry for a state change (Zammad writes state names and ids)."""
    return {
        "id": next(_ids), "o_id": o_id, "object": "Ticket", "type": "updated", "attribute": "state",
        "value_from": value_from, "value_to": value_to, "id_from": 2, "id_to": 4,
        "created_by_id": 3, "created_at": at,
    }  # fmt: skip


def history(*entries: dict[str, Any]) -> dict[str, Any]:
    """The body of `GET /api/v1/ticket_history/:id`."""
    return {"history": list(entries), "assets": {}}
