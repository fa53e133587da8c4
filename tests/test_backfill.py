"""`zammad-sla backfill` against the Zammad twin: all open tickets through the worker path,
a second run changes nothing, an interrupted run resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from click.testing import CliRunner, Result

from zammad_sla_plugin.admin import provision
from zammad_sla_plugin.admin.backfill import PROGRESS_FILENAME, Backfill, ProgressFile, select_tickets
from zammad_sla_plugin.cli import main
from zammad_sla_plugin.core.clock import STATUSES
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.twin import TwinServer
from tests.admin_support import TOKEN, api
from zammad_sla_plugin.runtime.worker import EvaluationOutcome, TicketEvaluator
from zammad_sla_plugin.zammad import ZammadClient, ZammadError

POLICY = load_policy()


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    # The twin clock starts at the real time, like the evaluator's clock in the CLI.
    with TwinServer(token=TOKEN, time_scale=0.001) as server:
        with ZammadClient(server.url, TOKEN) as client:
            for attribute in provision.desired_attributes(POLICY):
                client.create_object_attribute(attribute)
            client.execute_migrations()
        assert server.wait_until_up()  # Zammad restarts to apply migrations
        yield server


@pytest.fixture()
def env(twin: TwinServer, tmp_path: Path) -> dict[str, str | None]:
    return {"ZAMMAD_URL": twin.url, "ZAMMAD_TOKEN": TOKEN, "ZAMMAD_TOKEN_FILE": None,
            "ZAMMAD_SLA_DATA_DIR": str(tmp_path), "ZAMMAD_SLA_CONFIG": None, "ZAMMAD_SLA_REDIS_URL": None}  # fmt: skip


def make_tickets(twin: TwinServer) -> tuple[list[int], int]:
    """Five open tickets (assorted priorities/owners) and one closed; returns (open ids, closed id)."""
    open_ids = []
    for title, priority, owner in (("a", "3 high", None), ("b", "2 normal", 4), ("c", "1 low", None),
                                   ("d", "2 normal", None), ("e", "3 high", 5)):  # fmt: skip
        ticket = api(twin, "POST", "tickets", 201, json={
            "title": title, "group": "Users", "customer_id": 6, "priority": priority, "article": {"body": title}})
        if owner:
            api(twin, "PUT", f"tickets/{ticket['id']}", json={"owner_id": owner, "state": "open"})
        open_ids.append(ticket["id"])
    closed = api(twin, "POST", "tickets", 201, json={"title": "done", "group": "Users", "customer_id": 6,
                                                     "article": {"body": "x"}})  # fmt: skip
    api(twin, "PUT", f"tickets/{closed['id']}", json={"state": "closed"})
    return open_ids, closed["id"]


def requested(twin: TwinServer, since: int = 0) -> list[str]:
    log = requests.get(f"{twin.url}/_twin/requests", params={"since": since}, timeout=5).json()["requests"]
    return [f"{r['method']} {r['path']}" for r in log]


def cursor(twin: TwinServer) -> int:
    return int(requests.get(f"{twin.url}/_twin/requests", timeout=5).json()["next"])


def run(env: dict[str, str | None], *args: str) -> Result:
    result = CliRunner().invoke(main, ["backfill", "--no-progress", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_backfill_evaluates_open_tickets_then_changes_nothing(twin: TwinServer, env: dict[str, str | None], tmp_path: Path) -> None:
    open_ids, closed_id = make_tickets(twin)
    first = run(env, "--concurrency", "3")
    assert first.exit_code == 0, first.output
    assert "selected 5 ticket(s)" in first.output
    assert "evaluated 5: 5 changed, 0 unchanged, 0 failed" in first.output
    for ticket_id in open_ids:
        ticket = api(twin, "GET", f"tickets/{ticket_id}")
        assert ticket["sla_status"] == "on_track" and ticket["sla_resolution_due_at"]
    assert api(twin, "GET", f"tickets/{closed_id}")["sla_status"] is None
    assert not (tmp_path / PROGRESS_FILENAME).exists()  # a finished run leaves no progress behind

    start = cursor(twin)
    second = run(env, "--concurrency", "2")
    assert second.exit_code == 0, second.output
    assert "evaluated 5: 0 changed, 5 unchanged, 0 failed" in second.output
    assert "statuses: on_track 5" in second.output
    calls = requested(twin, start)
    # One search (a read-only POST) selects the open tickets and brings their records:
    # nothing is written, no ticket read one by one, one history read per ticket.
    assert [r for r in calls if not r.startswith("GET ")] == ["POST /api/v1/tickets/search"]
    assert not [r for r in calls if r.startswith("GET /api/v1/tickets")]
    assert sorted(r for r in calls if "ticket_history" in r) == sorted(f"GET /api/v1/ticket_history/{t}" for t in open_ids)


def test_closed_since_adds_recently_closed_tickets(twin: TwinServer, env: dict[str, str | None]) -> None:
    _, closed_id = make_tickets(twin)
    result = run(env, "--closed-since", "2000-01-01")
    assert result.exit_code == 0, result.output
    assert "selected 6 ticket(s)" in result.output
    assert api(twin, "GET", f"tickets/{closed_id}")["sla_status"] in STATUSES  # evaluated and written
    bad = run(env, "--closed-since", "last week")
    assert bad.exit_code == 2 and "is not a date" in bad.output


class _Interrupting(TicketEvaluator):
    """The real evaluator, but Ctrl-C arrives when it reaches `stop_at`."""

    stop_at = -1

    def run(self, ticket_id: int, ticket: dict[str, Any] | None = None) -> EvaluationOutcome:
        if ticket_id == self.stop_at:
            raise KeyboardInterrupt
        return super().run(ticket_id, ticket)


def test_interrupted_run_resumes_and_skips_done_tickets(twin: TwinServer, tmp_path: Path) -> None:
    open_ids, _ = make_tickets(twin)
    progress = ProgressFile(tmp_path / PROGRESS_FILENAME)
    now = lambda: datetime.now(timezone.utc)  # noqa: E731

    class StopAtThird(_Interrupting):
        stop_at = open_ids[2]

    interrupted = Backfill(lambda: StopAtThird(ZammadClient(twin.url, TOKEN), POLICY, now), progress,
                           concurrency=1, show_progress=False).run(open_ids)  # fmt: skip
    assert interrupted.interrupted and interrupted.evaluated == 2
    assert progress.done() == set(open_ids[:2])

    start = cursor(twin)
    resumed = Backfill(lambda: TicketEvaluator(ZammadClient(twin.url, TOKEN), POLICY, now), progress,
                       concurrency=2, show_progress=False).run(open_ids)  # fmt: skip
    assert (resumed.skipped_done, resumed.evaluated, resumed.changed, resumed.failed) == (2, 3, 3, {})
    fetched = {int(r.split("/")[-1]) for r in requested(twin, start) if r.startswith("GET /api/v1/tickets/")}
    assert fetched == set(open_ids[2:])
    assert not progress.path.exists()


def test_failures_are_reported_and_retried_on_the_next_run(twin: TwinServer, env: dict[str, str | None], tmp_path: Path) -> None:
    open_ids, _ = make_tickets(twin)
    requests.post(f"{twin.url}/_twin/faults", timeout=5,
                  json={"error_rate": 1, "status": 422, "paths": f"/api/v1/ticket_history/{open_ids[1]}$"})  # fmt: skip
    failed = run(env)
    assert failed.exit_code == 1
    assert f"failed ticket {open_ids[1]}: Zammad GET /api/v1/ticket_history/{open_ids[1]} failed with HTTP 422" in failed.output
    assert ProgressFile(tmp_path / PROGRESS_FILENAME).done() == set(open_ids) - {open_ids[1]}
    requests.delete(f"{twin.url}/_twin/faults", timeout=5)
    retried = run(env)
    assert retried.exit_code == 0, retried.output
    assert "4 already done in an earlier run (resumed)" in retried.output
    assert "evaluated 1: 1 changed" in retried.output
    restarted = run(env, "--restart")
    assert "evaluated 5: 0 changed, 5 unchanged" in restarted.output


def test_tickets_the_listing_misses_are_read_by_id(twin: TwinServer, tmp_path: Path) -> None:
    open_ids, _ = make_tickets(twin)
    now = lambda: datetime.now(timezone.utc)  # noqa: E731
    with ZammadClient(twin.url, TOKEN) as lister:
        records = {t: lister.get_ticket(t, expand=True) for t in open_ids}

    def skips_one() -> Iterator[dict[str, Any]]:  # as offset paging does when an earlier ticket leaves
        yield from (records[t] for t in open_ids if t != open_ids[1])

    def fails_midway() -> Iterator[dict[str, Any]]:
        yield records[open_ids[0]]
        raise ZammadError("search failed", status=502, method="POST", path="tickets/search")

    for listing, read_by_id in ((skips_one, {open_ids[1]}), (fails_midway, set(open_ids[1:]))):
        start = cursor(twin)
        summary = Backfill(lambda: TicketEvaluator(ZammadClient(twin.url, TOKEN), POLICY, now),
                           ProgressFile(tmp_path / PROGRESS_FILENAME), concurrency=2,
                           show_progress=False).run(open_ids, restart=True, listing=listing)  # fmt: skip
        assert (summary.evaluated, summary.failed) == (5, {})
        calls = requested(twin, start)
        assert {int(r.split("/")[-1]) for r in calls if r.startswith("GET /api/v1/tickets/")} == read_by_id
        assert len([r for r in calls if "ticket_history" in r]) == 5


def test_select_tickets() -> None:
    tickets = [
        {"id": 3, "state": "open"}, {"id": 1, "state": "new"}, {"id": 2, "state": "pending reminder"},
        {"id": 4, "state": "merged"},
        {"id": 5, "state": "closed", "close_at": "2026-01-10T00:00:00Z", "updated_at": "2026-01-10T00:00:00Z"},
        {"id": 6, "state": "closed", "close_at": None, "updated_at": "2026-02-10T00:00:00Z"},
    ]
    assert select_tickets(tickets, POLICY) == [1, 2, 3]
    since = datetime(2026, 2, 1, tzinfo=timezone.utc)
    assert select_tickets(tickets, POLICY, since) == [1, 2, 3, 6]


def test_progress_file_ignores_a_torn_line(tmp_path: Path) -> None:
    progress = ProgressFile(tmp_path / "p.jsonl")
    progress.record(7)
    progress.record(9)
    with progress.path.open("a") as handle:
        handle.write("garbage\n1")  # "12\n" cut short by a crash must not mark ticket 1 done
    assert progress.done() == {7, 9}


REPO_ROOT = Path(__file__).resolve().parent.parent


def test_killed_mid_run_resume_evaluates_nothing_twice_and_misses_nothing(
    twin: TwinServer, env: dict[str, str | None], tmp_path: Path
) -> None:
    open_ids = [api(twin, "POST", "tickets", 201, json={"title": f"t{n}", "group": "Users", "customer_id": 6,
                                                         "priority": "2 normal", "article": {"body": "x"}})["id"]
                for n in range(40)]  # fmt: skip
    # Slow enough that the kill lands in the middle, with evaluations in flight.
    requests.post(f"{twin.url}/_twin/faults", json={"latency_ms": 15}, timeout=5).raise_for_status()
    progress = ProgressFile(tmp_path / PROGRESS_FILENAME)
    environment = {**os.environ, **{k: v for k, v in env.items() if v is not None},
                   "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    for name in (k for k, v in env.items() if v is None):
        environment.pop(name, None)
    start = cursor(twin)
    proc = subprocess.Popen([sys.executable, "-m", "zammad_sla_plugin.cli", "backfill", "--no-progress", "--concurrency", "4"],
                            env=environment, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(progress.done()) < 10 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL  # killed, not finished
    recorded = progress.done()
    assert 10 <= len(recorded) < len(open_ids)
    settled = -1
    while settled != cursor(twin):  # the calls the killed process had in flight are answered still
        settled = cursor(twin)
        time.sleep(0.2)
    first_run = requested(twin, start)

    resumed_from = settled
    resumed = run(env, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert f"selected {len(open_ids)} ticket(s), {len(recorded)} already done in an earlier run (resumed)" in resumed.output
    second_run = requested(twin, resumed_from)
    # A ticket recorded before the kill is not evaluated again; every other one is, once.
    evaluated_again = sorted(int(r.split("/")[-1]) for r in second_run if "ticket_history" in r)
    assert evaluated_again == sorted(set(open_ids) - recorded)
    # In-flight evaluations are repeated, but what they had written is not written twice.
    writes = Counter(r for r in first_run + second_run if r.startswith("PUT /api/v1/tickets/"))
    assert sorted(writes) == sorted(f"PUT /api/v1/tickets/{t}" for t in open_ids) and set(writes.values()) == {1}
    assert all(api(twin, "GET", f"tickets/{t}")["sla_status"] for t in open_ids)
    assert not progress.path.exists()
    again = run(env, "--resume")
    assert again.exit_code == 2 and "no interrupted run to resume" in again.output
    assert run(env, "--resume", "--restart").exit_code == 2
