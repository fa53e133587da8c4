"""`zammad-sla backfill`: evaluate existing tickets through the worker's own path.

The tickets (every open ticket, plus closed ones since a date on request, found by two
condition searches) are evaluated by `TicketEvaluator.run` on a bounded thread pool while
the search is paged through: one `ZammadClient` and evaluator per thread, since a requests
session must not be shared across threads. Each evaluation gets the ticket's search
record, so it does not read the ticket again (1 read per ticket plus a share of a search
page), and the pool starts with the first page instead of waiting for a selection pass.

Resuming: every finished ticket id is appended (and flushed) to a progress file in the
data dir by the thread that evaluated it, as soon as it is done, so an interrupted run
(Ctrl-C, crash, kill -9) continues where it stopped: a ticket recorded is never evaluated
again, one not recorded (failed, or in flight at the kill) is. A run that ends with no
failures removes the file: the next backfill starts from scratch.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.zammad.read_ahead import read_ahead
from zammad_sla_plugin.core.times import format_utc, parse_time
from zammad_sla_plugin.runtime.per_thread import PerThread
from zammad_sla_plugin.runtime.worker import EvaluationOutcome, TicketEvaluator
from zammad_sla_plugin.zammad import ZammadClient, ZammadError

PROGRESS_FILENAME = "backfill-progress.jsonl"
SEARCH_PAGE_SIZE = 200  # Zammad's maximum per_page
DEFAULT_CONCURRENCY = 10
MAX_CONCURRENCY = 32

log = logging.getLogger(__name__)

EvaluatorFactory = Callable[[], TicketEvaluator]
Listing = Callable[[], Iterable[dict[str, Any]]]
Work = tuple[int, "dict[str, Any] | None"]


@dataclass
class BackfillSummary:
    """What a backfill run did."""

    selected: int = 0
    skipped_done: int = 0
    evaluated: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    listing_failed: str | None = None  # the search broke off: tickets after it were not seen

    @property
    def complete(self) -> bool:
        """Every selected ticket was evaluated (nothing failed, interrupted or unlisted)."""
        return not (self.failed or self.interrupted or self.listing_failed)

    def lines(self) -> list[str]:
        """The human summary."""
        out = [
            f"selected {self.selected} ticket(s)"
            + (f", {self.skipped_done} already done in an earlier run (resumed)" if self.skipped_done else ""),
            f"evaluated {self.evaluated}: {self.changed} changed, {self.unchanged} unchanged, {len(self.failed)} failed",
        ]
        if self.statuses:
            out.append("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())))
        for ticket_id, reason in sorted(self.failed.items()):
            out.append(f"  failed ticket {ticket_id}: {reason}")
        if self.listing_failed:
            out.append(f"listing the tickets failed: {self.listing_failed}; run `zammad-sla backfill` again to resume")
        if self.interrupted:
            out.append("interrupted: run `zammad-sla backfill` again to resume")
        return out


class ProgressFile:
    """Append-only record of finished ticket ids (one JSON number per line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle: TextIO | None = None  # kept open: one write per ticket, not an open and close

    def done(self) -> set[int]:
        """Ids recorded by earlier runs.

        Only newline-terminated lines count: a crash mid-write leaves a fragment ("1" of
        "12") that must not mark another ticket as done.
        """
        if not self.path.exists():
            return set()
        ids: set[int] = set()
        for line in self.path.read_text(encoding="utf-8").split("\n")[:-1]:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, int):
                ids.add(value)
        return ids

    def record(self, ticket_id: int) -> None:
        """Append one finished id and flush it to the OS (it survives the process being killed)."""
        with self._lock:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self.path.open("a", encoding="utf-8")
            self._handle.write(f"{int(ticket_id)}\n")
            self._handle.flush()

    def close(self) -> None:
        """Close the file (records are flushed already); the next record opens it again."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def clear(self) -> None:
        """Forget all progress."""
        self.close()
        self.path.unlink(missing_ok=True)


def candidate_tickets(client: ZammadClient, policy: Policy, closed_since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The tickets `select_tickets` chooses from, found by condition search (each once).

    Open tickets (state not closed or merged), plus, with `closed_since`, closed tickets
    updated since then (a ticket's `updated_at` is never before its `close_at`). Searching
    costs pages of the selected tickets only, where listing every ticket would cost pages
    of every ticket ever closed. Both searches sort by id, stable while tickets change.
    """
    states = client.ticket_states()
    closed = [str(s["id"]) for s in states if s.get("name") in policy.states.closed]
    stopped = closed + [str(s["id"]) for s in states if s.get("name") in policy.states.merged]
    searches: list[dict[str, Any]] = [{"ticket.state_id": {"operator": "is not", "value": stopped}}]
    if closed_since is not None and closed:
        searches.append({
            "ticket.state_id": {"operator": "is", "value": closed},
            "ticket.updated_at": {"operator": "after (absolute)", "value": format_utc(closed_since - timedelta(seconds=1))},
        })  # fmt: skip
    seen: set[int] = set()
    for condition in searches:
        for ticket in client.search_tickets(condition, per_page=SEARCH_PAGE_SIZE, sort_by="id", order_by="asc"):
            if int(ticket["id"]) not in seen:
                seen.add(int(ticket["id"]))
                yield ticket


def selected(
    tickets: Iterable[dict[str, Any]], policy: Policy, closed_since: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """The open tickets of `tickets`, plus those closed since `closed_since`, in their order.

    Merged tickets are never selected (the SLA excludes them). A closed ticket's closing
    time is `close_at`, or `updated_at` when Zammad left `close_at` empty.
    """
    closed = set(policy.states.closed)
    merged = set(policy.states.merged)
    for ticket in tickets:
        state = ticket.get("state")
        if state in merged:
            continue
        if state in closed:
            if closed_since is None:
                continue
            when = ticket.get("close_at") or ticket.get("updated_at") or ticket.get("created_at")
            if not when or parse_time(when, "close_at") < closed_since:
                continue
        yield ticket


def select_tickets(
    tickets: Iterable[dict[str, Any]], policy: Policy, closed_since: datetime | None = None
) -> list[int]:
    """Ids (ascending) of the tickets `selected` chooses."""
    return sorted({int(ticket["id"]) for ticket in selected(tickets, policy, closed_since)})


class Backfill:
    """Runs the evaluations with bounded concurrency and resumable progress."""

    def __init__(
        self,
        make_evaluator: EvaluatorFactory,
        progress: ProgressFile,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        show_progress: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.make_evaluator = make_evaluator
        self.progress = progress
        self.concurrency = concurrency
        self.show_progress = show_progress
        # Each thread evaluates with its own Zammad connection.
        self._evaluators: PerThread[TicketEvaluator] = PerThread(make_evaluator, lambda e: e.client.close())

    def _evaluate(self, ticket_id: int, ticket: dict[str, Any] | None) -> EvaluationOutcome:
        evaluator = self._evaluators.get()
        outcome = evaluator.run(ticket_id) if ticket is None else evaluator.run(ticket_id, ticket)
        # Recorded by this thread the moment it is done: a kill -9 then repeats only the
        # evaluations in flight, and no worker waits for the main loop to get round to it.
        self.progress.record(ticket_id)
        return outcome

    def run(
        self, ticket_ids: list[int] | None = None, *, restart: bool = False, listing: Listing | None = None
    ) -> BackfillSummary:
        """Evaluate the selected tickets, skipping those an earlier run finished (unless `restart`).

        Without `ticket_ids`, `listing` is the selection: every ticket it brings (expanded
        search records, see `selected`) is evaluated with its record, the first ones while
        the search is still paging. With `ticket_ids` (already selected), `listing` lists
        them again for their records, and those it does not bring (offset paging skips one
        when an earlier ticket leaves the result; a failed page) are read by id afterwards.
        A page is read just before its tickets are evaluated (at most 2 x concurrency are
        queued), so a record is seconds old at most, about as fresh as a read; a change in
        between also sends the running sidecar a webhook.
        """
        if ticket_ids is None and listing is None:
            raise ValueError("give the ticket ids, the listing, or both")
        if restart:
            self.progress.clear()
        done = self.progress.done()
        summary = BackfillSummary()
        if ticket_ids is None:
            assert listing is not None
            remaining, total = _listed(listing, done, summary), None
        else:
            todo = [t for t in ticket_ids if t not in done]
            summary.selected, summary.skipped_done = len(ticket_ids), len(ticket_ids) - len(todo)
            remaining, total = _work(todo, listing), len(todo)
        bar = tqdm(total=total, unit="ticket", desc="backfill", disable=not self.show_progress, leave=True)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="backfill")
        running: dict[Future[EvaluationOutcome], int] = {}
        try:
            # Keep at most 2x concurrency submitted: an interrupt then has little to cancel.
            self._top_up(pool, remaining, running)
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._harvest(future, running.pop(future), summary)
                    bar.update(1)
                self._top_up(pool, remaining, running)
        except KeyboardInterrupt:
            summary.interrupted = True
            for future in running:
                future.cancel()
        finally:
            remaining.close()  # stops the listing's read-ahead thread
            pool.shutdown(wait=True, cancel_futures=True)
            # Evaluations that were in flight when interrupted still count if they finished.
            for future, ticket_id in running.items():
                if future.done() and not future.cancelled() and not isinstance(future.exception(), KeyboardInterrupt):
                    self._harvest(future, ticket_id, summary)
            bar.close()
            self._evaluators.close()
            self.progress.close()
        if summary.complete:
            self.progress.clear()
        return summary

    def _top_up(self, pool: ThreadPoolExecutor, remaining: Iterator[Work],
                running: dict[Future[EvaluationOutcome], int]) -> None:
        while len(running) < 2 * self.concurrency:
            work = next(remaining, None)
            if work is None:
                return
            running[pool.submit(self._evaluate, *work)] = work[0]

    def _harvest(self, future: Future[EvaluationOutcome], ticket_id: int, summary: BackfillSummary) -> None:
        error = future.exception()
        if isinstance(error, KeyboardInterrupt):
            raise error
        if error is not None:
            # ZammadError messages already say what failed; others get their type for context.
            summary.failed[ticket_id] = str(error) if isinstance(error, ZammadError) else f"{type(error).__name__}: {error}"
            return
        outcome = future.result()
        summary.evaluated += 1
        if outcome.changed:
            summary.changed += 1
        else:
            summary.unchanged += 1
        status = outcome.result.status
        summary.statuses[status] = summary.statuses.get(status, 0) + 1


def _listed(listing: Listing, done: set[int], summary: BackfillSummary) -> Generator[Work, None, None]:
    """(ticket id, its record) for every ticket `listing` brings that is not `done`, counting
    the selection in `summary` as it goes; a failed search ends it (`listing_failed`)."""
    try:
        # Pages are read ahead in their own thread, so the pool never waits for one.
        for ticket in read_ahead(listing(), 2 * SEARCH_PAGE_SIZE, name="backfill-search"):
            ticket_id = int(ticket["id"])
            summary.selected += 1
            if ticket_id in done:
                summary.skipped_done += 1
                continue
            yield ticket_id, ticket
    except ZammadError as error:
        log.warning("backfill: listing the tickets failed (%s)", error)
        summary.listing_failed = str(error)


def _work(todo: list[int], listing: Listing | None) -> Generator[Work, None, None]:
    """(ticket id, its search record or None) for every id in `todo`, each once: first those
    `listing` brings, in its order, then the rest."""
    wanted = set(todo)
    if listing is not None:
        try:
            # Pages are read ahead in their own thread, so the pool never waits for one.
            for ticket in read_ahead(listing(), 2 * SEARCH_PAGE_SIZE, name="backfill-search"):
                ticket_id = int(ticket["id"])
                if ticket_id in wanted:
                    wanted.discard(ticket_id)
                    yield ticket_id, ticket
        except ZammadError as error:
            log.warning("backfill: listing the tickets failed (%s); reading the rest one by one", error)
    for ticket_id in todo:
        if ticket_id in wanted:
            yield ticket_id, None


def client_factory(url: str, token: str, **options: Any) -> Callable[[], ZammadClient]:
    """A factory of independent clients (one per thread)."""
    return lambda: ZammadClient(url, token, **options)


def evaluator_factory(
    make_client: Callable[[], ZammadClient], policy: Policy, now: Callable[[], datetime]
) -> EvaluatorFactory:
    """A factory of evaluators, each on its own client."""
    return lambda: TicketEvaluator(make_client(), policy, now)
