"""Bulk loading for scale benchmarks: 100k tickets with history in seconds, and the indexes
that keep the twin's per-call cost flat at that size.

`bulk_load(state, BulkSpec(tickets=100_000))` writes ticket rows and their history rows
straight into the tables (no API round trips, no triggers, no webhooks), in the shapes the
API writes them: a `created` row, then `updated` rows for owner, state and priority changes
as `HasHistory` records them (names in `value_*`, ids in `id_*`). Closed tickets end with
a `closed` state change and carry `close_at`. Everything is drawn from a seeded RNG, so a
spec always yields the same helpdesk. Bulk tickets have no articles and no tags.

The first bulk load also installs three indexes on that state (`install_indexes`), because
at 100k tickets the twin's plain scans dominate every benchmark:
- history rows by ticket (a history GET was a scan of every row ever written);
- article ids by ticket (every ticket rendering scanned every article);
- ticket search results: the matching, sorted ticket list of one condition is kept and
  brought up to date from the tickets whose history changed since (every search page was a
  full scan with a selector evaluation per ticket). Exact for conditions on ticket
  columns and tags; conditions on customers or organizations see their changes only when
  one of the ticket's own rows changes.

`POST /_twin/bulk` with the `BulkSpec` fields as JSON does the same over HTTP (for
`zammad-sla twin`).
"""

from __future__ import annotations

import bisect
import json
import random
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from typing import Any, Callable

from flask import Flask, jsonify, request

from .context import actor_id, body, paginate, truthy, twin
from .history import HistoryLog
from .records import new_ticket
from .selector import Context, matches, normalize
from .state import TwinState
from .tickets import ticket_tags
from .util import iso, parse_time

AGENT_IDS = (4, 5)  # the seeded agents
CUSTOMER_IDS = (2, 6, 7)  # the seeded customers (organizations 1, 2, 2)
PRIORITIES = ("1 low", "2 normal", "3 high")
OPEN, PENDING, CLOSED, NEW = "open", "pending reminder", "closed", "new"
SEARCH_CACHE_SIZE = 8


@dataclass(frozen=True)
class BulkSpec:
    """What to load: `tickets` created over the `days` before the twin's now.

    `closed_fraction` of them end closed; each has `history_entries` history rows
    (the `created` row included, at least 1). `ticket_fields` gives every ticket these
    values of custom attributes (e.g. an SLA status, as after a backfill); the others
    stay empty.
    """

    tickets: int
    closed_fraction: float = 0.7
    history_entries: int = 6
    days: float = 365.0
    seed: int = 1
    ticket_fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tickets < 0:
            raise ValueError("tickets must be >= 0")
        if not 0 <= self.closed_fraction <= 1:
            raise ValueError("closed_fraction must be between 0 and 1")
        if self.history_entries < 1:
            raise ValueError("history_entries must be >= 1")
        if self.days <= 0:
            raise ValueError("days must be > 0")
        if not isinstance(self.ticket_fields, dict):
            raise ValueError("ticket_fields must be an object")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "BulkSpec":
        """Build from a request body; raises ValueError (unknown key, bad value)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        if "tickets" not in data:
            raise ValueError("tickets is required")
        casts: dict[str, Callable[[Any], Any]] = {
            "tickets": int, "closed_fraction": float, "history_entries": int, "days": float, "seed": int,
            "ticket_fields": dict,
        }
        return cls(**{key: casts[key](value) for key, value in data.items()})


# -- indexes ---------------------------------------------------------------------------------
class IndexedHistoryLog(HistoryLog):
    """`HistoryLog` with rows indexed by object and by related object.

    `changes` lists, per row added or removed, the ticket it concerns (its version is the
    list's length), so caches can catch up with what changed since they were built.
    """

    def __init__(self, rows: list[dict[str, Any]] | None = None, next_id: int = 1) -> None:
        super().__init__()
        self._ids = iter(range(next_id, 1 << 62))  # type: ignore[assignment]  # any int iterator serves
        self._own: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._related: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.changes: list[int] = []
        for row in rows or []:
            self._index(row)

    @property
    def version(self) -> int:
        """Grows with every row added or removed."""
        return len(self.changes)

    def _index(self, row: dict[str, Any]) -> None:
        self._own.setdefault((row["object"], row["o_id"]), []).append(row)
        if row["related_object"] is not None:
            self._related.setdefault((row["related_object"], row["related_o_id"]), []).append(row)
        self.changes.append(row["o_id"] if row["object"] == "Ticket" else row["related_o_id"] or 0)

    def append_row(self, row: dict[str, Any]) -> None:
        """Store a fully built row (bulk loading), assigning its id."""
        row["id"] = next(self._ids)
        self._index(row)

    def add(self, **kwargs: Any) -> dict[str, Any]:  # noqa: D102 - as HistoryLog.add
        row = super().add(**kwargs)
        self._rows.clear()  # the index holds the rows
        self._index(row)
        return row

    def remove(self, object: str, o_id: int) -> None:  # noqa: D102 - as HistoryLog.remove
        for row in self._own.pop((object, o_id), []):
            if row["related_object"] is not None:
                related = self._related.get((row["related_object"], row["related_o_id"]), [])
                related[:] = [r for r in related if r is not row]
        self.changes.append(o_id if object == "Ticket" else 0)

    def rows(self, object: str, o_id: int, related: tuple[str, ...] = ()) -> list[dict[str, Any]]:  # noqa: D102
        selected = list(self._own.get((object, o_id), []))
        for row in self._related.get((object, o_id), []):
            if row["object"] in related:
                selected.append(row)
        return sorted(selected, key=lambda r: (r["created_at"], r["id"]))


class ArticleIndex:
    """Article ids by ticket, caught up incrementally with the (append-mostly) articles table."""

    def __init__(self, table: dict[int, dict[str, Any]]) -> None:
        self._table = table
        self._by_ticket: dict[int, list[int]] = {}
        self._count = 0
        self._last: int | None = None

    def ids(self, ticket_id: int) -> list[int]:
        """Ids of a ticket's articles, oldest first (TwinState.article_ids)."""
        self._sync()
        return sorted(self._by_ticket.get(ticket_id, ()))

    def _sync(self) -> None:
        table = self._table
        last = next(reversed(table)) if table else None
        if len(table) == self._count and last == self._last:
            return
        fresh: list[int] = []
        appended = self._last is None or self._last in table
        if appended:
            for key in reversed(table):
                if key == self._last:
                    break
                fresh.append(key)
        if not appended or len(fresh) != len(table) - self._count:  # something was deleted: start over
            self._by_ticket, fresh = {}, list(reversed(table))
        for key in reversed(fresh):
            self._by_ticket.setdefault(table[key]["ticket_id"], []).append(key)
        self._count, self._last = len(table), last


_SORTABLE_TIMES = {"created_at", "updated_at", "pending_time", "close_at", "escalation_at",
                   "first_response_at", "last_contact_at"}


class SearchResult:
    """The tickets matching one search, sorted like /tickets/search sorts them."""

    def __init__(self, state: TwinState, tree: dict[str, Any], query: str, sort_by: str, user_id: int) -> None:
        self.state, self.tree, self.query, self.sort_by, self.user_id = state, tree, query, sort_by, user_id
        self.present: list[tuple[Any, int]] = []  # ascending (value, id)
        self.missing: list[int] = []  # sort value unset: after the others, by id
        self.keys: dict[int, tuple[Any, int] | None] = {}
        history = state.history
        self.version = history.version if isinstance(history, IndexedHistoryLog) else 0
        for ticket in state.tables["tickets"].values():
            if self._matches(ticket):
                key = self.keys[ticket["id"]] = self._key(ticket)
                if key is None:
                    self.missing.append(ticket["id"])
                else:
                    self.present.append(key)
        self.present.sort()
        self.missing.sort()

    def _key(self, ticket: dict[str, Any]) -> tuple[Any, int] | None:
        value = ticket.get(self.sort_by)
        if value is None:
            return None
        if self.sort_by in _SORTABLE_TIMES and isinstance(value, str):
            return (parse_time(value).timestamp(), ticket["id"])
        return (value, ticket["id"])

    def _matches(self, ticket: dict[str, Any]) -> bool:
        query = self.query.lower()
        if query and query != "*" and query not in (ticket["title"] or "").lower() \
                and query not in ticket["number"].lower():
            return False
        ctx = Context(ticket=ticket, tags=ticket_tags(self.state, ticket["id"]), current_user_id=self.user_id)
        return matches(self.state, self.tree, ctx)

    def _place(self, ticket_id: int) -> None:
        ticket = self.state.tables["tickets"].get(ticket_id)
        if ticket is None or not self._matches(ticket):
            return
        key = self._key(ticket)
        self.keys[ticket_id] = key
        if key is None:
            bisect.insort(self.missing, ticket_id)
        else:
            bisect.insort(self.present, key)

    def _drop(self, ticket_id: int) -> None:
        if ticket_id not in self.keys:
            return
        key = self.keys.pop(ticket_id)
        if key is None:
            self.missing.pop(bisect.bisect_left(self.missing, ticket_id))
        else:
            self.present.pop(bisect.bisect_left(self.present, key))

    def catch_up(self, history: IndexedHistoryLog) -> None:
        """Re-place the tickets whose history changed since this result was built."""
        for ticket_id in set(history.changes[self.version:]):
            self._drop(ticket_id)
            self._place(ticket_id)
        self.version = history.version

    def ordered(self, descending: bool) -> "OrderedIds":
        """All matching ids in answer order, as a sliceable view (pages cost their size only)."""
        return OrderedIds(self, descending)


class OrderedIds:
    """`present` (either direction) then `missing`, sliced without building the whole list."""

    def __init__(self, result: SearchResult, descending: bool) -> None:
        self.result, self.descending = result, descending

    def __len__(self) -> int:
        return len(self.result.present) + len(self.result.missing)

    def __getitem__(self, window: slice) -> list[int]:
        start, stop, _step = window.indices(len(self))
        present, missing = self.result.present, self.result.missing
        out = []
        for position in range(start, stop):
            if position < len(present):
                out.append(present[len(present) - 1 - position if self.descending else position][1])
            else:
                out.append(missing[position - len(present)])
        return out


class SearchCache:
    """A few recent search results, kept current through the indexed history."""

    def __init__(self, state: TwinState) -> None:
        self.state = state
        self._results: OrderedDict[str, SearchResult] = OrderedDict()

    def result(self, tree: dict[str, Any], query: str, sort_by: str, user_id: int) -> SearchResult:
        """The (cached, caught-up) result of one search."""
        columns = tuple(self.state.custom_columns["Ticket"])
        key = json.dumps([tree, query, sort_by, user_id, columns], sort_keys=True, default=str)
        history = self.state.history
        found = self._results.pop(key, None)
        if found is None or not isinstance(history, IndexedHistoryLog):
            found = SearchResult(self.state, tree, query, sort_by, user_id)
        else:
            found.catch_up(history)
        self._results[key] = found
        while len(self._results) > SEARCH_CACHE_SIZE:
            self._results.popitem(last=False)
        return found


def install_indexes(state: TwinState) -> None:
    """Swap in the indexed history, the article index and the search cache (idempotent)."""
    with state.lock:
        if isinstance(state.history, IndexedHistoryLog):
            return
        old = state.history
        rows = list(old._rows)
        state.history = IndexedHistoryLog(rows, next_id=max((r["id"] for r in rows), default=0) + 1)
        index = ArticleIndex(state.tables["articles"])
        state.article_ids = index.ids  # type: ignore[method-assign]
        state.search_cache = SearchCache(state)  # type: ignore[attr-defined]


# -- loading ---------------------------------------------------------------------------------
def _update_row(column: str, old: Any, new: Any, names: dict[str, dict[int, str]], at: str) -> dict[str, Any]:
    table = names[column]
    return {
        "id": 0, "object": "Ticket", "o_id": 0, "type": "updated", "attribute": column[:-3],
        "value_from": table.get(old, "") if old is not None else "", "value_to": table.get(new, ""),
        "id_from": old, "id_to": new, "related_object": None, "related_o_id": None,
        "created_by_id": AGENT_IDS[0], "created_at": at,
    }


def _lifecycle(rng: random.Random, closed: bool, steps: int, ids: dict[str, int]) -> list[tuple[str, int]]:
    """The (column, new id) changes of one ticket: assignment, work, waits, maybe a close."""
    changes: list[tuple[str, int]] = []
    state = ids[NEW]
    for step in range(steps):
        last = step == steps - 1
        if last and closed:
            changes.append(("state_id", ids[CLOSED]))
            continue
        kind = step % 4 if step else 0
        if kind == 0:
            changes.append(("owner_id", AGENT_IDS[rng.randrange(len(AGENT_IDS))]))
        elif kind == 1 or kind == 3:
            state = ids[PENDING] if state == ids[OPEN] else ids[OPEN]
            changes.append(("state_id", state))
        else:
            changes.append(("priority_id", ids[PRIORITIES[rng.randrange(len(PRIORITIES))]]))
    return changes


def bulk_load(state: TwinState, spec: BulkSpec) -> range:
    """Add `spec.tickets` tickets with history; returns their ids."""
    install_indexes(state)
    rng = random.Random(spec.seed)
    with state.lock:
        lookups = {
            "state_id": {s["id"]: s["name"] for s in state.tables["states"].values()},
            "priority_id": {p["id"]: p["name"] for p in state.tables["priorities"].values()},
            "owner_id": {u["id"]: state.fullname(u) for u in state.tables["users"].values()},
        }
        ids = {name: ident for table in ("state_id", "priority_id") for ident, name in lookups[table].items()}
        customers = [state.tables["users"][c] for c in CUSTOMER_IDS]
        now = state.clock.now()
        span = spec.days * 86400.0
        custom = {column: None for column in state.custom_columns["Ticket"]}
        unknown = set(spec.ticket_fields) - set(custom)
        if unknown:
            raise ValueError(f"ticket_fields: no custom ticket attribute(s) {', '.join(sorted(unknown))}")
        custom.update(spec.ticket_fields)
        history = state.history
        assert isinstance(history, IndexedHistoryLog)
        first = state.next_id("tickets")
        for ticket_id in range(first, first + spec.tickets):
            closed = rng.random() < spec.closed_fraction
            age = rng.random() * span
            created = now - timedelta(seconds=age)
            # Closed tickets lived hours to two weeks; open ones are still going.
            lifetime = min(age, rng.uniform(3600, 14 * 86400)) if closed else age
            offsets = sorted(rng.random() * lifetime for _ in range(spec.history_entries - 1))
            customer = customers[rng.randrange(len(customers))]
            row = new_ticket(
                id=ticket_id, group_id=1, priority_id=ids[PRIORITIES[rng.randrange(len(PRIORITIES))]],
                state_id=ids[NEW], organization_id=customer["organization_id"], number=str(next(state.ticket_number)),
                title=f"Bulk ticket {ticket_id}", owner_id=1, customer_id=customer["id"],
                created_by_id=customer["id"], updated_by_id=customer["id"], created_at=iso(created),
                updated_at=iso(created),
            )
            row.update(custom)
            history.append_row({
                "id": 0, "object": "Ticket", "o_id": ticket_id, "type": "created", "attribute": None,
                "value_from": None, "value_to": None, "id_from": None, "id_to": None, "related_object": None,
                "related_o_id": None, "created_by_id": customer["id"], "created_at": row["created_at"],
            })
            for offset, (column, new) in zip(offsets, _lifecycle(rng, closed, len(offsets), ids)):
                at = str(iso(created + timedelta(seconds=offset)))
                if row[column] == new:  # an assignment or priority change must change something
                    choices = AGENT_IDS if column == "owner_id" else tuple(ids[p] for p in PRIORITIES)
                    new = choices[(choices.index(new) + 1) % len(choices)]
                entry = _update_row(column, row[column], new, lookups, at)
                entry["o_id"] = ticket_id
                history.append_row(entry)
                row[column] = new
                row["updated_at"], row["updated_by_id"] = at, AGENT_IDS[0]
                if column == "state_id" and new == ids[CLOSED]:
                    row["close_at"] = row["last_close_at"] = at
            state.tables["tickets"][ticket_id] = row
        state.reserve_ids("tickets", first + spec.tickets)
    return range(first, first + spec.tickets)


# -- HTTP ------------------------------------------------------------------------------------
def register(app: Flask) -> None:
    """Add `POST /_twin/bulk` and route /api/v1/tickets/search through the search cache."""
    original = app.view_functions["tickets.tickets_search"]

    def tickets_search() -> Any:
        state = twin().state
        cache: SearchCache | None = getattr(state, "search_cache", None)
        if cache is None:
            return original()
        from .api_tickets import _nested_args, search_response  # the same parsing and rendering as the plain search

        params = {**_nested_args(), **body()}
        query = str(params.get("query") or "").strip()
        if ":" in query and query.split(":", 1)[0] in ("title", "number"):
            query = query.split(":", 1)[1].strip()
        descending = str(params.get("order_by") or "desc").lower() == "desc"
        with state.lock:
            found = cache.result(normalize(params.get("condition")), query, str(params.get("sort_by") or "updated_at"),
                                 actor_id())
            page = [state.tables["tickets"][i] for i in paginate(found.ordered(descending), 50, 200)]  # type: ignore[arg-type]
            return search_response(state, page, truthy(params.get("expand")))

    app.view_functions["tickets.tickets_search"] = tickets_search

    @app.post("/_twin/bulk")
    def bulk_post() -> Any:
        data = request.get_json(silent=True, force=True) or {}
        try:
            spec = BulkSpec.from_json(data)
        except (ValueError, TypeError) as exc:
            return jsonify({"error": str(exc)}), 422
        started = time.perf_counter()
        try:
            loaded = bulk_load(twin().state, spec)
        except ValueError as exc:  # ticket_fields naming an attribute the twin does not have
            return jsonify({"error": str(exc)}), 422
        return jsonify({"spec": asdict(spec), "first_id": loaded.start, "last_id": loaded.stop - 1,
                        "seconds": round(time.perf_counter() - started, 3)}), 201
