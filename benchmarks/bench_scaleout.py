"""Scale-out benchmark: events per second with 1, 2 and 4 `zammad-sla worker` processes on one Redis queue.

    python benchmarks/bench_scaleout.py [--events 2000] [--workers 1,2,4] [--threads N] [--shared-cores] [--quick]

For each worker count, fresh: a private redis-server, the twin in its own process
(provisioned like `zammad-sla setup`, bulk-loaded with `--events` open tickets that already
carry an SLA status, as after a backfill) answering every /api/v1 call 20 ms late, and the
webhook receiver (`Sidecar.receiver()` under the production waitress settings, in this
process). The fixed event load: one signed Zammad webhook per ticket, sent by 8 threads
and queued by the receiver. The queued evaluations are then held back in the schedule
while N `zammad-sla worker` processes (each `ZAMMAD_SLA_WORKERS` threads) start, run their
start-up reconcile and wait idle on the queue; then all are released at once and the clock
runs until every ticket carries its evaluated status. Events per second = events / that
time: the workers' start-up is not in it.

Cores: the twin stands in for a Zammad that runs on machines of its own, so it gets a core
of its own (the last one this process may use) and everything measured (the workers, Redis,
the receiver) shares the others. Sharing every core with the twin measures the stand-in
more than the sidecar: a twin thread preempted by a worker while holding the twin's GIL
stalls every call in flight. `--shared-cores` runs without that partition, for comparison.

Printed per worker count: events/s, Zammad calls per event, the latency bound (every
thread waiting 20 ms per call, nothing else), per-lock waits (lock attempts beyond one per
evaluation, from Redis' command counts) and the CPU each process used while draining (% of
one core; the machine's total against all its cores). The peer is the one-worker run:
ratios 2/1 and 4/1, goal >= 3.2x from 1 to 4. From the CPU per event of the twin, the
workers and Redis the benchmark prints where this machine stops scaling.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from _support import (
    LATENCY_MS, REPO_ROOT, TOKEN, WEBHOOK_SECRET, RedisServer, TwinProcess, cpu_seconds, machine_cpu_seconds,
    partition_cores, send_events, sizes,
)  # fmt: skip

from huey.constants import EmptyData

from webhooks.server import create_receiver_server
from zammad_sla_plugin.demo.local_stack import free_port
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.runtime.queue import TicketQueue
from zammad_sla_plugin.runtime.settings import DEFAULT_WORKERS, load_settings
from zammad_sla_plugin.runtime.sidecar import Sidecar
from zammad_sla_plugin.runtime.status_store import status_store_for
from zammad_sla_plugin.core.times import format_utc

GOAL_4_OVER_1 = 3.2
FAR_FUTURE = 4102444800.0  # 2100-01-01: held tasks are not due
# Rescore every task in the schedule (a sorted set scored by due time) in one step.
_RESCORE_LUA = """
local items = redis.call('zrange', KEYS[1], 0, -1)
for _, item in ipairs(items) do redis.call('zadd', KEYS[1], ARGV[1], item) end
return #items
"""


@dataclass
class Run:
    """What one worker count measured."""

    workers: int
    threads: int
    events: int
    seconds: float
    calls: Counter[str]
    lock_attempts: int
    redis_commands: int
    cpu: dict[str, float]  # process -> CPU seconds while draining
    worker_cpu: list[float]
    machine_busy: float
    machine_total: float
    receive_s: float

    @property
    def rate(self) -> float:
        """Events (= evaluations: one event per ticket) per second."""
        return self.events / self.seconds

    @property
    def evaluations(self) -> int:
        """Evaluations seen by Zammad (one history read each)."""
        return self.calls["GET ticket_history"]

    @property
    def calls_per_event(self) -> float:
        """Zammad API calls per event."""
        return sum(self.calls.values()) / self.events

    def latency_bound(self) -> float:
        """Events/s if every thread only waited LATENCY_MS per call."""
        return self.workers * self.threads / (self.calls_per_event * LATENCY_MS / 1000)

    def ms_per_call(self) -> float:
        """Wall time each thread spent per Zammad call: LATENCY_MS plus the CPU work of both
        sides and the waits for a core (and for the twin's GIL) in between."""
        return 1000 * self.workers * self.threads / self.rate / self.calls_per_event

    def cpu_ms_per_event(self, name: str) -> float:
        """CPU milliseconds `name` used per event."""
        return 1000 * self.cpu[name] / self.events

    def others(self) -> float:
        """CPU of everything else on the machine while draining, in % of one core."""
        ours = sum(v for k, v in self.cpu.items() if k != "workers") + sum(self.worker_cpu)
        return max(0.0, 100 * (self.machine_busy - ours) / self.seconds)  # both read in clock ticks: no negatives

    def utilisation(self, name: str) -> float:
        """`name`'s CPU while draining, in % of one core."""
        return 100 * self.cpu[name] / self.seconds


def _kind(method: str, path: str) -> str:
    return f"{method} {path.split('/')[3]}"  # /api/v1/<resource>/...


def _blocked_pops(conn: Any) -> int:
    """Consumer threads waiting idle on the queue (BRPOP)."""
    return sum(1 for client in conn.client_list() if client.get("cmd") == "brpop")


def _wait(condition: Any, timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)


def _reconcile_settled(sidecar: Sidecar, mark_before: Any) -> bool:
    """The workers' start-up reconciles are over: the mark moved, nobody holds the reconcile
    lock, and the live chain's next run is the regular one an hour away (every worker
    registers the chain at start; a run that found the lock taken retries in seconds)."""
    hub = sidecar.huey
    if hub.get(Sidecar.RECONCILE_MARK, peek=True) == mark_before:
        return False
    if hub.storage.peek_data(f"{hub.name}.lock.periodic-reconcile") is not EmptyData:
        return False
    token = hub.get("periodic:reconcile", peek=True)
    soon = datetime.now(timezone.utc) + timedelta(minutes=10)
    return all(task.eta is not None and task.eta.replace(tzinfo=timezone.utc) > soon
               for task in hub.scheduled() if task.name == TicketQueue.TASK_PERIODIC and list(task.args) == ["reconcile", token])


def one_run(workers: int, threads: int, events: int, twin_cores: set[int] | None) -> Run:
    """Queue `events` events through the receiver, then drain them with `workers` processes
    (which, like Redis, inherit this process's cores; the twin runs on `twin_cores`)."""
    policy = load_policy()
    with RedisServer() as redis_url, TwinProcess(cores=twin_cores) as twin, tempfile.TemporaryDirectory() as data_dir:
        twin.provision()
        loaded = twin.bulk(tickets=events, closed_fraction=0.0, days=5, history_entries=6, seed=events,
                           ticket_fields={policy.attributes.status: "on_track"})
        ticket_ids = list(range(loaded["first_id"], loaded["last_id"] + 1))
        twin.latency()
        environment = {
            "ZAMMAD_URL": twin.url, "ZAMMAD_TOKEN": TOKEN, "ZAMMAD_SLA_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ZAMMAD_SLA_REDIS_URL": redis_url, "ZAMMAD_SLA_DATA_DIR": data_dir, "ZAMMAD_SLA_WORKERS": str(threads),
            "ZAMMAD_SLA_RECONCILE_SECONDS": "3600", "ZAMMAD_SLA_LISTEN": f"127.0.0.1:{free_port()}",
        }  # fmt: skip
        receiver = Sidecar(load_settings(environment), policy)
        server = create_receiver_server(receiver.receiver(), "127.0.0.1", 0)
        threading.Thread(target=server.run, name="receiver", daemon=True).start()
        try:
            return _drain(workers, threads, events, ticket_ids, twin, receiver, server, environment)
        finally:
            server.close()  # idle long since: no handler thread is still answering


def _drain(workers: int, threads: int, events: int, ticket_ids: list[int], twin: TwinProcess, receiver: Sidecar,
           server: Any, environment: dict[str, str]) -> Run:
    """Send the events, hold them, start the workers, release, time the drain."""
    receive_s = send_events(int(server.effective_port), ticket_ids)
    storage: Any = receiver.huey.storage
    rescore = storage.conn.register_script(_RESCORE_LUA)
    held = int(rescore(keys=[storage.schedule_key], args=[FAR_FUTURE]))
    if held != events:
        raise SystemExit(f"expected {events} queued evaluations, found {held}")
    # The workers' start-up reconcile must find nothing to do: every ticket has a status
    # and none was updated since this mark.
    receiver.huey.put(Sidecar.RECONCILE_MARK, format_utc(datetime.now(timezone.utc) + timedelta(minutes=1)))
    mark = receiver.huey.get(Sidecar.RECONCILE_MARK, peek=True)
    env = {**os.environ, **environment,
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-m", "zammad_sla_plugin.cli", "worker", "--log-level", "error"],
                              env=env, cwd=REPO_ROOT) for _ in range(workers)]
    try:
        _wait(lambda: _reconcile_settled(receiver, mark), 120, "the start-up reconciles", interval=0.2)
        _wait(lambda: _blocked_pops(storage.conn) >= workers * threads, 120, "idle workers")
        store = status_store_for(receiver.huey)
        twin.clear_log()
        pids = {"twin": twin.pid, "redis": _redis_pid(storage.conn), "this process (receiver idle)": os.getpid()}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        workers_before = [cpu_seconds(p.pid) for p in procs]
        machine_before = machine_cpu_seconds()
        storage.conn.config_resetstat()
        started = time.perf_counter()
        rescore(keys=[storage.schedule_key], args=[0])
        _wait(lambda: sum(store.counts().values()) >= events, 1800, "the evaluations")
        seconds = time.perf_counter() - started
        stats = storage.conn.info("commandstats")
        machine_after = machine_cpu_seconds()
        cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
        worker_cpu = [cpu_seconds(p.pid) - b for p, b in zip(procs, workers_before)]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)
    calls = Counter(_kind(c["method"], c["path"]) for c in twin.calls_since(0))
    cpu["workers"] = sum(worker_cpu)
    return Run(
        workers=workers, threads=threads, events=events, seconds=seconds, calls=calls,
        lock_attempts=int(stats.get("cmdstat_hsetnx", {}).get("calls", 0)),
        redis_commands=sum(int(v.get("calls", 0)) for k, v in stats.items() if k != "cmdstat_info"),
        cpu=cpu, worker_cpu=worker_cpu, machine_busy=machine_after[0] - machine_before[0],
        machine_total=machine_after[1] - machine_before[1], receive_s=receive_s,
    )  # fmt: skip


def _redis_pid(conn: Any) -> int:
    return int(conn.info("server")["process_id"])


def main() -> None:
    """Run each worker count and print the curve, the ratios and where scaling stops."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000, help="events (one per ticket) per run")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts, comma-separated")
    parser.add_argument("--threads", type=int, default=DEFAULT_WORKERS,
                        help=f"ZAMMAD_SLA_WORKERS of each worker (default {DEFAULT_WORKERS})")
    parser.add_argument("--quick", action="store_true", help="600 events")
    parser.add_argument("--shared-cores", action="store_true",
                        help="run the twin on the same cores as the workers (no partition)")
    args = parser.parse_args()
    partition = None if args.shared_cores else partition_cores()
    if partition is not None:
        # Before any thread or child starts: they inherit this thread's cores.
        os.sched_setaffinity(0, partition[1])
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # the receiver here is saturated on purpose
    events = 600 if args.quick else args.events
    counts = sizes(args.workers)
    cores = os.cpu_count() or 1
    print(f"{events} webhook events (one per ticket) through the receiver into one Redis queue, drained by N "
          f"`zammad-sla worker` processes x {args.threads} threads; twin in its own process, {LATENCY_MS} ms added "
          f"per API call; {cores} cores; peer: the 1-worker run")
    if partition is not None:
        print(f"cores: the twin on {sorted(partition[0])} (Zammad's machine); workers, Redis and the receiver on "
              f"{sorted(partition[1])}")
    else:
        print("cores: shared by the twin, the workers, Redis and the receiver"
              + ("" if args.shared_cores else " (no partition possible here)"))
    runs: list[Run] = []
    for workers in counts:
        r = one_run(workers, args.threads, events, partition[0] if partition else None)
        runs.append(r)
        per_worker = " ".join(f"{100 * c / r.seconds:.0f}" for c in r.worker_cpu)
        print(f"  {workers} worker(s): {r.events} events in {r.seconds:6.1f} s = {r.rate:6.1f} events/s "
              f"(latency bound {r.latency_bound():6.1f}/s: {100 * r.rate / r.latency_bound():3.0f} %) | "
              f"{r.calls_per_event:.2f} calls/event at {r.ms_per_call():.1f} ms each per thread, {r.evaluations} evaluations, "
              f"{r.lock_attempts - r.evaluations} lock waits, {r.redis_commands / r.events:.1f} Redis commands/event | "
              f"receiver queued them at {r.events / r.receive_s:.0f}/s")
        mix = ", ".join(f"{kind} {n / r.events:.2f}" for kind, n in sorted(r.calls.items()))
        print(f"      calls per event: {mix}")
        print(f"      CPU % of one core while draining: workers {r.utilisation('workers'):.0f} ({per_worker}), "
              f"twin {r.utilisation('twin'):.0f}, redis {r.utilisation('redis'):.0f}, "
              f"bench {r.utilisation('this process (receiver idle)'):.0f}, other jobs on the machine "
              f"{r.others():.0f}; machine {100 * r.machine_busy / r.machine_total:.0f} % of {cores} cores busy | "
              f"CPU ms/event: workers "
              f"{r.cpu_ms_per_event('workers'):.2f}, twin {r.cpu_ms_per_event('twin'):.2f}, "
              f"redis {r.cpu_ms_per_event('redis'):.2f}")
    base = runs[0]
    for r in runs[1:]:
        print(f"ratio {r.workers}/{base.workers} workers: {r.rate / base.rate:.2f}x events/s "
              f"(ideal {r.workers / base.workers:.1f}x)")
    last = runs[-1]
    if base.workers == 1 and last.workers == 4:
        ratio = last.rate / base.rate
        print(f"goal (>= {GOAL_4_OVER_1}x from 1 to 4 workers): {'met' if ratio >= GOAL_4_OVER_1 else 'NOT met'} "
              f"({ratio:.2f}x)")
    # Where it stops: each component's CPU per event caps the rate at (its cores) / (its CPU per event).
    twin_cap = 1000 / last.cpu_ms_per_event("twin")  # one process, one GIL: one core at most
    latency = f"Zammad latency at {last.latency_bound():.0f} events/s with {last.workers}x{last.threads} threads"
    if partition is not None:
        ours_ms = sum(last.cpu_ms_per_event(n) for n in ("workers", "redis"))
        ours_cap = len(partition[1]) * 1000 / ours_ms
        print(f"where it stops here: workers+redis ({ours_ms:.1f} CPU ms/event) on their {len(partition[1])} "
              f"core(s) at {ours_cap:.0f} events/s; the twin on its core at {twin_cap:.0f} events/s; {latency}")
        return
    total_ms = sum(last.cpu_ms_per_event(n) for n in ("workers", "twin", "redis"))
    machine_cap = cores * 1000 / total_ms
    print(f"where it stops here: twin (one Python process, one core) caps at {twin_cap:.0f} events/s; all of "
          f"workers+twin+redis ({total_ms:.1f} CPU ms/event) on {cores} cores at {machine_cap:.0f} events/s; {latency}")


if __name__ == "__main__":
    main()
