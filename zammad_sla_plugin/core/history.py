"""Reading the body of `GET /api/v1/ticket_history/:id` in Zammad's order."""

from __future__ import annotations

from typing import Any


def ordered_entries(history: Any) -> list[dict[str, Any]]:
    """The history entries sorted by (created_at, id), as Zammad lists them.

    Accepts `{"history": [...], "assets": {...}}` or a bare list; sorting again makes
    hand-made input behave like Zammad's, and positions in the result are causal order.
    """
    entries = history.get("history", []) if isinstance(history, dict) else history or []
    rows = [entry for entry in entries if isinstance(entry, dict)]
    return sorted(rows, key=lambda entry: (str(entry.get("created_at") or ""), int(entry.get("id") or 0)))
