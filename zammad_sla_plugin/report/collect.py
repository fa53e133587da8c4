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

Histories are fetched on a bounded thread pool (`concurrency` calls at a time, each thread
with its own source, since a requests session must not be shared across threads) while the
search pages stream in, read up to two pages ahead by a thread of their own: at most
2 x `concurrency` tickets are in flight, and each record is handed on as soon as its history
arrives, so memory does not grow with the ticket count.
With a progress bar, a second thread counts the candidates (search pages only) so the bar
gets its total and an ETA.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any, Protocol

from tqdm import tqdm

from zammad_sla_plugin.core.contracts import customer_domain
from zammad_sla_plugin.runtime.per_thread import PerThread, close_if_closable
from zammad_sla_plugin.zammad.read_ahead import read_ahead
from zammad_sla_plugin.core.times import format_utc, parse_time

from .limits import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from .outcome import ReportPeriod, TicketRecord

__all__ = ["DEFAULT_CONCURRENCY", "MAX_CONCURRENCY", "ReportSource", "iter_records"]

SEARCH_PAGE_SIZE = 200  # Zammad's maximum per_page: half the search calls of 100
READ_AHEAD = 2 * SEARCH_PAGE_SIZE  # tickets the search thread may be ahead: two pages
_MARGIN = timedelta(seconds=1)

log = logging.getLogger(__name__)


class ReportSource(Protocol):
    """The Zammad calls the report makes (`ZammadClient` provides them)."""

    def search_tickets(self, condition: dict[str, Any], *, per_page: int = ..., sort_by: str = ...,
                       order_by: str = ..., expand: bool = ...) -> Iterator[dict[str, Any]]: ...  # noqa: D102

    def ticket_history(self, ticket_id: int) -> dict[str, Any]: ...  # noqa: D102

    def get_organization(self, org_id: int) -> dict[str, Any]: ...  # noqa: D102

    def get_user(self, user_id: int) -> dict[str, Any]: ...  # noqa: D102


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
    """Records (organizations, customers) by id, each fetched once per report."""

    def __init__(self, fetch: Callable[[int], dict[str, Any]]) -> None:
        self._fetch = fetch
        self._items: dict[int, dict[str, Any]] = {}

    def get(self, org_id: Any) -> dict[str, Any] | None:
        """The record, or None for a ticket without one."""
        if org_id in (None, "", 0):
            return None
        key = int(org_id)
        if key not in self._items:
            self._items[key] = self._fetch(key)
        return self._items[key]


def chosen_tickets(
    source: ReportSource, period: ReportPeriod, organization: str | None
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The candidate tickets (with their organization) that pass the organization filter."""
    organizations = OrganizationCache(source.get_organization)
    wanted = organization.casefold() if organization is not None else None
    for ticket in candidate_tickets(source, period):
        org = organizations.get(ticket.get("organization_id"))
        if wanted is not None and (org is None or str(org.get("name", "")).casefold() != wanted):
            continue
        yield ticket, org


def with_customers(
    source: ReportSource, chosen: Iterator[tuple[dict[str, Any], dict[str, Any] | None]]
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]]:
    """Each chosen ticket with its customer's user record (each customer fetched once), for
    contracts that select on the customer's e-mail domain. Not fetched when the ticket itself
    gives the domain (its `customer` login is the address: Zammad logs e-mail customers in by it)."""
    customers = OrganizationCache(source.get_user)
    for ticket, org in chosen:
        known = customer_domain(ticket, None) is not None
        yield ticket, org, None if known else customers.get(ticket.get("customer_id"))


class _Counter(threading.Thread):
    """Counts the tickets `iter_records` will fetch and gives the bar its total."""

    def __init__(self, source: ReportSource, period: ReportPeriod, organization: str | None, bar: tqdm) -> None:
        super().__init__(name="report-count", daemon=True)
        self.source, self.period, self.organization, self.bar = source, period, organization, bar
        self.stopped = threading.Event()

    def run(self) -> None:
        counted = 0
        try:
            for _ in chosen_tickets(self.source, self.period, self.organization):
                if self.stopped.is_set():
                    return
                counted += 1
        except Exception:  # the count only feeds the progress bar; the fetch reports errors
            log.debug("counting report tickets failed", exc_info=True)
            return
        self.bar.total = counted
        self.bar.refresh()


def iter_records(
    source: ReportSource,
    period: ReportPeriod,
    organization: str | None = None,
    *,
    make_source: Callable[[], ReportSource] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool = True,
    customers: bool = False,
) -> Iterator[TicketRecord]:
    """The candidate tickets of `period` (optionally of one organization) with history and
    organization (and customer, with `customers`), as their histories arrive (not in search order).

    `source` runs the searches in the calling thread; history calls run on `concurrency`
    threads, each with its own source from `make_source` (default: `source` itself, for
    sources that are thread-safe).
    """
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
    sources = PerThread(make_source or (lambda: source))
    # tqdm writes to stderr, so a report sent to stdout stays clean.
    bar = tqdm(total=None, desc="fetching history", unit="ticket", leave=False, dynamic_ncols=True,
               disable=not progress)
    counter = _Counter(make_source() if make_source else source, period, organization, bar) if progress else None
    if counter is not None:
        counter.start()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="report")
    running: dict[Future[dict[str, Any]], tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]] = {}

    def fetch(ticket_id: int) -> dict[str, Any]:
        return sources.get().ticket_history(ticket_id)

    def finished(wait_for_all: bool) -> Iterator[TicketRecord]:
        while running and (wait_for_all or len(running) >= 2 * concurrency):
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                ticket, org, customer = running.pop(future)
                bar.update(1)
                yield TicketRecord(ticket=ticket, history=future.result(), organization=org, customer=customer)

    try:
        # Search pages are read ahead in their own thread: the pool never waits for a page.
        chosen = chosen_tickets(source, period, organization)
        tickets = with_customers(source, chosen) if customers else ((ticket, org, None) for ticket, org in chosen)
        for ticket, org, customer in read_ahead(tickets, READ_AHEAD, name="report-search"):
            running[pool.submit(fetch, int(ticket["id"]))] = (ticket, org, customer)
            yield from finished(wait_for_all=False)
        yield from finished(wait_for_all=True)
    finally:
        if counter is not None:
            counter.stopped.set()
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        sources.close()
        if counter is not None and make_source is not None:
            # A count still running fails on the closed session and just stops.
            close_if_closable(counter.source)
