"""End to end with real processes and the real clock: exact-time escalation, kill -9 and
restart of `zammad-sla serve`, and two `zammad-sla worker` processes sharing a Redis queue."""

from __future__ import annotations

import os
import random
import signal
import threading
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Iterator

import pytest
import requests

from tests.e2e_support import after, expect, mismatches, notes, wait_until
from zammad_sla_plugin.demo.local_stack import AGENT_ID, LocalStack
from zammad_sla_plugin.core.policy import Policy, default_policy_text, load_policy

POLICY = load_policy()


def fast_policy(tmp_path: Path) -> tuple[Policy, Path]:
    """High tickets on the 24x7 clock with a 6-second first response, warning at 50 %."""
    text = (
        default_policy_text()
        .replace("warning_threshold = 0.8", "warning_threshold = 0.5")
        .replace(
            'clock = "business"\nfirst_response_minutes = 120\nresolution_minutes = 480',
            'clock = "24x7"\nfirst_response_minutes = 0.1\nresolution_minutes = 60',
        )
    )
    path = tmp_path / "fast.toml"
    path.write_text(text)
    return load_policy(path), path


def status_changes(stack: LocalStack, ticket_id: int) -> dict[str, datetime]:
    """When the sidecar wrote each sla_status value, from the ticket's history."""
    out = {}
    for entry in stack.admin.ticket_history(ticket_id)["history"]:
        if entry.get("attribute") == "sla_status" and entry.get("value_to"):
            out[entry["value_to"]] = datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))
    return out


def test_escalations_fire_at_the_instant_with_no_update(tmp_path: Path) -> None:
    policy, _ = fast_policy(tmp_path)
    with LocalStack(policy, tmp_path / "data", queue_options={"min_check_delay": 0.2}) as stack:
        ticket = stack.create_ticket("Nobody takes this", "3 high")
        created = datetime.fromisoformat(ticket["created_at"].replace("Z", "+00:00"))
        changes = wait_until(lambda: (c := status_changes(stack, int(ticket["id"]))).get("breached") and c, timeout=20)
        # at risk at 50 % of 6 s, breached at 6 s: each within a second of its instant
        assert abs(changes["at_risk"] - (created + timedelta(seconds=3))) < timedelta(seconds=1)
        assert abs(changes["breached"] - (created + timedelta(seconds=6))) < timedelta(seconds=1)
        # Notes and tags are written after the status: wait for them, not for a moment.
        wait_until(lambda: [n["subject"] for n in notes(stack.admin, int(ticket["id"]))] == ["SLA at risk", "SLA breached"], timeout=10)
        wait_until(lambda: stack.admin.ticket_tags(int(ticket["id"])) == ["sla-breached"], timeout=10)


class Process:
    """A `zammad-sla` subcommand in its own process, logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log_file: IO[bytes] = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zammad_sla_plugin.cli", *args, "--log-level", "warning"],
            env={**os.environ, **env}, stdout=self.log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log_file.close()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


def healthy(listen: str) -> bool:
    try:
        return requests.get(f"http://{listen}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_sidecar_killed_and_restarted_loses_nothing(tmp_path: Path, processes: list[Process]) -> None:
    with LocalStack(POLICY, tmp_path / "data").start(sidecar=False) as stack:
        env = {**stack.environ, "ZAMMAD_SLA_RECONCILE_SECONDS": "3600"}

        def serve() -> Process:
            processes.append(Process(["serve"], env, tmp_path / "serve.log"))
            wait_until(lambda: healthy(env["ZAMMAD_SLA_LISTEN"]), timeout=30)
            return processes[-1]

        sidecar = serve()
        # "4 blocker" runs on the 24x7 clock (60 / 360 min), so deadlines follow from created_at alone.
        tickets = [stack.create_ticket(f"Before {n}", "4 blocker") for n in range(8)]
        ids = [int(ticket["id"]) for ticket in tickets]
        for ticket_id in ids[:4]:
            stack.agent.update_ticket(ticket_id, {"owner_id": AGENT_ID})
        stack.twin.wait_for_deliveries(10)
        sidecar.kill()  # kill -9 with events queued or being evaluated
        # While it is down, Zammad's webhook attempts fail and (time-scaled) give up.
        tickets += [stack.create_ticket(f"While down {n}", "4 blocker") for n in range(4)]
        ids = [int(ticket["id"]) for ticket in tickets]
        stack.agent.update_ticket(ids[5], {"state": "pending reminder"})
        stack.twin.wait_for_deliveries(10)
        lost = {e["ticket_id"] for e in stack.twin.deliverer.entries() if e["attempt"] == 5 and not e["ok"]}
        assert set(ids[8:]) <= lost, "Zammad should have given up on the events sent while we were down"
        serve()  # the restart replays the durable queue and reconciles what Zammad gave up on
        wanted = {int(t["id"]): expect(after(t, 60), after(t, 360)) for t in tickets}
        wanted[ids[5]] = expect(after(tickets[5], 60), None, "paused")  # pending reminder pauses resolution
        # Locks the killed process held expire within one 30 s lease.
        wait_until(lambda: not mismatches(stack.admin, wanted, POLICY), timeout=90, interval=0.5)


def test_repeated_kill_9_during_bursts_loses_nothing(tmp_path: Path, processes: list[Process]) -> None:
    reconcile_seconds = 30
    rng = random.Random(20261129)
    with LocalStack(POLICY, tmp_path / "data").start(sidecar=False) as stack:
        env = {**stack.environ, "ZAMMAD_SLA_RECONCILE_SECONDS": str(reconcile_seconds)}

        def serve() -> Process:
            processes.append(Process(["serve"], env, tmp_path / "serve.log"))
            wait_until(lambda: healthy(env["ZAMMAD_SLA_LISTEN"]), timeout=30)
            return processes[-1]

        tickets = [stack.create_ticket(f"Burst {n}", "2 normal") for n in range(6)]
        ids = [int(t["id"]) for t in tickets]
        priorities = ["1 low", "2 normal", "3 high"]
        for round_ in range(3):
            sidecar = serve()
            # A burst of real changes, and kill -9 at a random point of it.
            killer = threading.Timer(rng.uniform(0.02, 0.5), sidecar.kill)
            killer.start()
            for ticket_id in ids * 3:
                stack.agent.update_ticket(ticket_id, {"priority": rng.choice(priorities)})
            killer.join()
            # Real changes while it is down: Zammad gives up delivering them. The last round
            # raises every ticket to blocker, whose 24x7 deadlines are known by hand.
            for ticket_id in (ids if round_ == 2 else rng.sample(ids, 2)):
                stack.agent.update_ticket(ticket_id, {"priority": "4 blocker"})
            stack.twin.wait_for_deliveries(10)
        serve()
        # Right within one reconcile interval of the restart, whatever the kills left behind:
        # a priority change re-measures from creation, so blocker = created + 60 / + 360 min.
        wanted = {int(t["id"]): expect(after(t, 60), after(t, 360)) for t in tickets}
        wait_until(lambda: not mismatches(stack.admin, wanted, POLICY), timeout=reconcile_seconds, interval=0.5)


def test_redis_queue_with_two_worker_processes(tmp_path: Path, processes: list[Process], redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    with LocalStack(POLICY, tmp_path / "data", redis_url=redis_url).start(consumer=False) as stack:
        env = {**stack.environ, "ZAMMAD_SLA_RECONCILE_SECONDS": "3600"}
        for n in range(2):
            processes.append(Process(["worker"], env, tmp_path / f"worker{n}.log"))
        tickets = [stack.create_ticket(f"Scaled {n}", "3 high") for n in range(12)]
        ids = [int(ticket["id"]) for ticket in tickets]
        for ticket_id in ids:  # a burst of events per ticket: coalesced, never evaluated in parallel
            stack.agent.update_ticket(ticket_id, {"owner_id": AGENT_ID})
            stack.agent.update_ticket(ticket_id, {"priority": "4 blocker"})
        # Now a blocker, 24x7 from creation (60 / 360 min); assigned, so on track.
        wanted = {int(t["id"]): expect(after(t, 60), after(t, 360)) for t in tickets}
        wait_until(lambda: not mismatches(stack.admin, wanted, POLICY), timeout=60, interval=0.5)
        assert all(process.proc.poll() is None for process in processes), "a worker died"
        for ticket_id in ids:
            assert stack.admin.get_ticket(ticket_id)["sla_status"] == "on_track"
            assert notes(stack.admin, ticket_id) == []
