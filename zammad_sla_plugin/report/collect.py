"""Fetch the tickets of a report period from Zammad, with their history and organization.

Two condition searches, merged by ticket id (plain selectors, so any Zammad 5.x/6.x answers
them; no expert-mode OR needed):

1. created in the period: `created_at after (absolute) start - 1 s`, sorted by created_at
   ascending, read until the first ticket created at or after the period end (created_at
   never changes, so offset paging on it is stable).
2. created before the period and touched since its start: `updated_at after (absolute)
   start - 1 s` and `created_at before (absolute) start`, sorted by id. Every ticket closed
   inside the period was updated (closed) at or after its start, so this is a superset of
   the "closed in the period" tickets; `outcome.ticket_outcome` keeps the right ones from
   their history. (`close_at` is not used: Zammad sets it at the *first* close only.)

"after (absolute)" is strict in Zammad, hence the one-second margin; exact bounds are
applied on our side. The organization filter compares organization names exactly,
ignoring case, before any history is fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol

from tqdm import tqdm

from zammad_sla_plugin.times import format_utc, parse_time

from .outcome import ReportPeriod, TicketRecord

SEARCH_PAGE_SIZE = 100
_MARGIN = timedelta(seconds=1)


class ReportSource(Protocol):
    """The Zammad calls the report makes (`ZammadClient` provides them)."""

    def search_tickets(self, condition: dict[str, Any], *, per_page: int = ..., sort_by: str = ...,
                       order_by: str = ..., expand: bool = ...) -> Iterator[dict[str, Any]]: ...  # noqa: D102

    def ticket_history(self, ticket_id: int) -> dict[str, Any]: ...  # noqa: D102

    def get_organization(self, org_id: int) -> dict[str, Any]: ...  # noqa: D102


def _after(instant: datetime) -> dict[str, str]:
    return {"operator": "after (absolute)", "value": format_utc(instant - _MARGIN) or ""}


def created_in_period_condition(period: ReportPeriod) -> dict[str, Any]:
    """Selector of search 1 (tickets created since the period start)."""
    return {"ticket.created_at": _after(period.start)}


def touched_since_start_condition(period: ReportPeriod) -> dict[str, Any]:
    """Selector of search 2 (older tickets updated since the period start)."""
    return {
        "ticket.updated_at": _after(period.start),
        "ticket.created_at": {"operator": "before (absolute)", "value": format_utc(period.start)},
    }


def candidate_tickets(source: ReportSource, period: ReportPeriod) -> Iterator[dict[str, Any]]:
    """Tickets that may belong to the period, each once (search 1, then search 2)."""
    seen: set[int] = set()
    created = source.search_tickets(
        created_in_period_condition(period), per_page=SEARCH_PAGE_SIZE, sort_by="created_at", order_by="asc"
    )
    for ticket in created:
        if parse_time(ticket.get("created_at"), "ticket.created_at") >= period.end:
            break  # sorted by creation: the rest were created after the period
        if ticket["id"] not in seen:
            seen.add(ticket["id"])
            yield ticket
    touched = source.search_tickets(
        touched_since_start_condition(period), per_page=SEARCH_PAGE_SIZE, sort_by="id", order_by="asc"
    )
    for ticket in touched:
        if ticket["id"] not in seen:
            seen.add(ticket["id"])
            yield ticket


class OrganizationCache:
    """Organizations by id, each fetched once per report."""

    def __init__(self, fetch: Callable[[int], dict[str, Any]]) -> None:
        self._fetch = fetch
        self._items: dict[int, dict[str, Any]] = {}

    def get(self, org_id: Any) -> dict[str, Any] | None:
        """The organization, or None for a ticket without one."""
        if org_id in (None, "", 0):
            return None
        key = int(org_id)
        if key not in self._items:
            self._items[key] = self._fetch(key)
        return self._items[key]


def _progress(iterable: Iterable[Any], enabled: bool, **kwargs: Any) -> Iterable[Any]:
    # tqdm writes to stderr, so a report sent to stdout stays clean.
    return tqdm(iterable, leave=False, dynamic_ncols=True, **kwargs) if enabled else iterable


def collect(
    source: ReportSource,
    period: ReportPeriod,
    organization: str | None = None,
    *,
    progress: bool = True,
) -> list[TicketRecord]:
    """The candidate tickets of `period` (optionally of one organization), with history and
    organization, in the order found."""
    organizations = OrganizationCache(source.get_organization)
    wanted = organization.casefold() if organization is not None else None
    chosen: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for ticket in _progress(candidate_tickets(source, period), progress, desc="searching tickets", unit="ticket"):
        org = organizations.get(ticket.get("organization_id"))
        if wanted is not None and (org is None or str(org.get("name", "")).casefold() != wanted):
            continue
        chosen.append((ticket, org))
    records = []
    for ticket, org in _progress(chosen, progress, desc="fetching history", unit="ticket", total=len(chosen)):
        records.append(TicketRecord(ticket=ticket, history=source.ticket_history(int(ticket["id"])), organization=org))
    return records
