"""The twin's bulk loader and the indexes it installs (history, articles, cached search)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
import requests

from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.twin.bulk import BulkSpec, IndexedHistoryLog, bulk_load
from zammad_sla_plugin.zammad import ZammadClient

NOW = datetime(2026, 3, 10, 13, 0, tzinfo=timezone.utc)


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token="t", now=NOW, frozen=True) as server:
        yield server


@pytest.fixture()
def client(twin: TwinServer) -> Iterator[ZammadClient]:
    with ZammadClient(twin.url, "t", retries=0) as c:
        yield c


def _replay(history: dict[str, Any]) -> dict[str, Any]:
    """Owner, state and priority ids after the history's updates."""
    final: dict[str, Any] = {}
    for entry in history["history"]:
        if entry["type"] == "updated" and entry.get("attribute") in ("owner", "state", "priority"):
            final[entry["attribute"] + "_id"] = entry["id_to"]
    return final


def test_bulk_tickets_have_history_consistent_with_their_columns(twin: TwinServer, client: ZammadClient) -> None:
    loaded = bulk_load(twin.state, BulkSpec(tickets=200, closed_fraction=0.5, history_entries=8, days=30, seed=3))
    assert len(loaded) == 200
    closed = 0
    for ticket_id in loaded:
        ticket = client.get_ticket(ticket_id, expand=True)
        history = client.ticket_history(ticket_id)
        entries = history["history"]
        assert entries[0]["type"] == "created" and entries[0]["created_at"] == ticket["created_at"]
        assert len(entries) == 8
        assert [e["created_at"] for e in entries] == sorted(e["created_at"] for e in entries)
        for column, value in _replay(history).items():
            assert ticket[column] == value
        assert entries[-1]["created_at"] == ticket["updated_at"]
        assert NOW.isoformat()[:10] >= ticket["created_at"][:10]
        if ticket["state"] == "closed":
            closed += 1
            assert ticket["close_at"] == entries[-1]["created_at"] and entries[-1]["value_to"] == "closed"
        else:
            assert ticket["close_at"] is None
    assert 60 < closed < 140
    # Ids continue after the bulk: the API's next ticket does not collide.
    created = client.request("POST", "tickets", json={"title": "after", "group": "Users", "customer_id": 2})
    assert created["id"] == loaded.stop


def test_same_spec_same_helpdesk(twin: TwinServer) -> None:
    with TwinServer(token="t", now=NOW, frozen=True) as other:
        spec = BulkSpec(tickets=50, seed=9)
        bulk_load(twin.state, spec)
        bulk_load(other.state, spec)
        assert twin.state.tables["tickets"] == other.state.tables["tickets"]


def _search(client: ZammadClient, condition: dict[str, Any], sort_by: str = "id", order_by: str = "asc") -> list[int]:
    return [t["id"] for t in client.search_tickets(condition, per_page=7, sort_by=sort_by, order_by=order_by)]


def test_cached_search_follows_changes_like_a_full_scan(twin: TwinServer, client: ZammadClient) -> None:
    bulk_load(twin.state, BulkSpec(tickets=60, closed_fraction=0.5, days=10, seed=5))
    state = twin.state
    open_condition = {"ticket.state_id": {"operator": "is not", "value": ["4", "5"]}}
    tagged = {"ticket.tags": {"operator": "contains all", "value": "vip"}}

    def expected(predicate: Any, key: str = "id", reverse: bool = False) -> list[int]:
        rows = [t for t in state.tables["tickets"].values() if predicate(t)]
        return [t["id"] for t in sorted(rows, key=lambda t: (t[key], t["id"]), reverse=reverse)]

    def check() -> None:
        assert _search(client, open_condition) == expected(lambda t: t["state_id"] not in (4, 5))
        assert _search(client, open_condition, "updated_at", "desc") == expected(
            lambda t: t["state_id"] not in (4, 5), "updated_at", reverse=True)
        assert _search(client, tagged) == expected(lambda t: "vip" in [x["name"] for x in state.tags.get(t["id"], [])])

    check()
    twin.clock.set(datetime(2026, 3, 11, tzinfo=timezone.utc), frozen=True)
    first_open = _search(client, open_condition)[0]
    client.update_ticket(first_open, {"state": "closed"})  # leaves the open result
    client.update_ticket(3, {"state": "open"})  # may join it
    client.update_ticket(10, {"title": "moved"})  # re-sorts by updated_at
    client.add_tag(12, "vip")
    client.request("POST", "tickets", json={"title": "new one", "group": "Users", "customer_id": 2})
    client.request("DELETE", "tickets/20")
    check()


def test_article_index_and_history_index_after_api_writes(twin: TwinServer, client: ZammadClient) -> None:
    bulk_load(twin.state, BulkSpec(tickets=5))
    assert isinstance(twin.state.history, IndexedHistoryLog)
    note = client.add_internal_note(2, "<p>hi</p>", subject="s")
    assert client.get_ticket(2)["article_ids"] == [note["id"]]
    history = client.ticket_history(2)["history"]
    assert history[-1]["object"] == "Ticket::Article" and history[-1]["o_id"] == note["id"]
    client.request("DELETE", "tickets/2")
    second = client.add_internal_note(3, "<p>x</p>")
    assert client.get_ticket(3)["article_ids"] == [second["id"]]


def test_bulk_endpoint(twin: TwinServer, client: ZammadClient) -> None:
    answer = requests.post(f"{twin.url}/_twin/bulk", json={"tickets": 30, "history_entries": 3}, timeout=10)
    assert answer.status_code == 201
    body = answer.json()
    assert (body["first_id"], body["last_id"]) == (1, 30) and body["spec"]["history_entries"] == 3
    assert len(client.ticket_history(30)["history"]) == 3
    for bad in ({}, {"tickets": 1, "colour": "red"}, {"tickets": -1}, {"tickets": 1, "closed_fraction": 2},
                {"tickets": "many"}):
        refused = requests.post(f"{twin.url}/_twin/bulk", json=bad, timeout=10)
        assert refused.status_code == 422, bad
        assert refused.json()["error"]
    assert len(twin.state.tables["tickets"]) == 30


def test_bulk_ticket_fields_fill_custom_attributes(twin: TwinServer, client: ZammadClient) -> None:
    twin.state.custom_columns["Ticket"].append("sla_status")  # as the migrations add a provisioned attribute
    loaded = bulk_load(twin.state, BulkSpec(tickets=3, ticket_fields={"sla_status": "on_track"}))
    assert {client.get_ticket(t)["sla_status"] for t in loaded} == {"on_track"}
    with pytest.raises(ValueError, match="colour"):
        bulk_load(twin.state, BulkSpec(tickets=3, ticket_fields={"colour": "red"}))
    refused = requests.post(f"{twin.url}/_twin/bulk", json={"tickets": 2, "ticket_fields": {"colour": "red"}}, timeout=10)
    assert refused.status_code == 422 and "colour" in refused.json()["error"]
    refused = requests.post(f"{twin.url}/_twin/bulk", json={"tickets": 2, "ticket_fields": "red"}, timeout=10)
    assert refused.status_code == 422
    assert len(twin.state.tables["tickets"]) == 3
