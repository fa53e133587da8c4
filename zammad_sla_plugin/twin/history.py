"""Zammad's `histories` table and `History.list` rendering (app/models/history.rb)."""

from __future__ import annotations

import itertools
from typing import Any


class HistoryLog:
    """Append-only history rows, rendered exactly as `History.list` does."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def add(
        self,
        *,
        object: str,
        o_id: int,
        type: str,
        created_by_id: int,
        created_at: str,
        attribute: str | None = None,
        value_from: Any = None,
        value_to: Any = None,
        id_from: int | None = None,
        id_to: int | None = None,
        related_object: str | None = None,
        related_o_id: int | None = None,
    ) -> dict[str, Any]:
        """History.add: store one row (values as given; callers stringify like Zammad)."""
        row = {
            "id": next(self._ids), "object": object, "o_id": o_id, "type": type,
            "attribute": attribute, "value_from": value_from, "value_to": value_to,
            "id_from": id_from, "id_to": id_to, "related_object": related_object,
            "related_o_id": related_o_id, "created_by_id": created_by_id,
            "created_at": created_at,
        }
        self._rows.append(row)
        return row

    def remove(self, object: str, o_id: int) -> None:
        """History.remove: drop an object's own rows (on destroy)."""
        self._rows = [r for r in self._rows if not (r["object"] == object and r["o_id"] == o_id)]

    def rows(self, object: str, o_id: int, related: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Raw rows of an object and of related objects pointing at it, oldest first."""
        selected = [
            r for r in self._rows
            if (r["object"] == object and r["o_id"] == o_id)
            or (r["object"] in related and r["related_o_id"] == o_id)
        ]
        return sorted(selected, key=lambda r: (r["created_at"], r["id"]))

    @staticmethod
    def render(row: dict[str, Any]) -> dict[str, Any]:
        """One entry as History.list renders it (null pairs dropped, lookups by name)."""
        data: dict[str, Any] = {
            "id": row["id"],
            "sourceable_type": None,
            "sourceable_id": None,
            "sourceable_name": None,
            "o_id": row["o_id"],
            "related_o_id": row["related_o_id"],
            "value_from": row["value_from"],
            "value_to": row["value_to"],
            "id_from": row["id_from"],
            "id_to": row["id_to"],
            "created_by_id": row["created_by_id"],
            "created_at": row["created_at"],
            "object": row["object"],
            "type": row["type"],
        }
        # Zammad deletes history_attribute_id / related_history_object_id only when set
        # (replacing them with names), so null ones stay in the JSON.
        if row["attribute"] is not None:
            data["attribute"] = row["attribute"]
        else:
            data["history_attribute_id"] = None
        if row["related_object"] is not None:
            data["related_object"] = row["related_object"]
        else:
            data["related_history_object_id"] = None
        if data["related_o_id"] is None:
            del data["related_o_id"]
        if data["id_to"] is None and data["id_from"] is None:
            del data["id_to"], data["id_from"]
        if data["value_to"] is None and data["value_from"] is None:
            del data["value_to"], data["value_from"]
        return data
