"""Memory benchmark: RSS of `zammad-sla serve` after evaluating 10k and 100k distinct tickets.

    python benchmarks/bench_memory.py [--points 10000,40000,70000,100000] [--threads 16] [--tracemalloc]
                                      [--quick]

The twin (its own process, 20 ms added per API call) is provisioned like `zammad-sla setup`
and bulk-loaded with as many open tickets as the last point, each carrying an SLA status as
after a backfill. `zammad-sla serve` (receiver + worker in one process, SQLite queue in a
temporary data dir, `--threads` evaluation threads) starts on it; its start-up reconcile
pages through every open ticket and queues none (the reconcile mark is set); its periodic
reconcile (every 10 minutes, the default) runs during long runs. Then one signed
webhook per ticket, for tickets never sent before, until each point's count of distinct
tickets has been evaluated (counted by `tickets_by_status` on /metrics). At each point the
process' RSS is read, with the part SQLite holds (its page caches: huey opens one connection
per thread, each caching up to 8 MB of the queue file), and the growth per 1000 tickets
between the points printed: the goal is under 150 MB at 100k and no growth per ticket beyond
bounded caches (the peer: the same process at the first point).

Where memory goes if it grows: `--tracemalloc` runs serve under tracemalloc (slower) and
prints the source lines whose Python allocations grew most between the last two points.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from _support import LATENCY_MS, REPO_ROOT, TOKEN, WEBHOOK_SECRET, TwinProcess, rss_mb, send_events, sizes

from zammad_sla_plugin.demo.local_stack import free_port
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.runtime.queue import build_huey
from zammad_sla_plugin.runtime.sidecar import Sidecar
from zammad_sla_plugin.core.times import format_utc

GOAL_MB = 150.0
# serve with a probe: SIGUSR1 writes $BENCH_PROBE.<n> (JSON: memory SQLite holds, e.g. page caches)
# and, traced, a tracemalloc snapshot beside it.
_SERVE = """
import ctypes, ctypes.util, itertools, json, os, signal, tracemalloc
traced = os.environ.get("BENCH_TRACEMALLOC") == "1"
if traced:
    tracemalloc.start()
sqlite = ctypes.CDLL(ctypes.util.find_library("sqlite3"))  # the library the sqlite3 module uses
sqlite.sqlite3_memory_used.restype = ctypes.c_int64
numbers = itertools.count()
def probe(*_):
    target = f"{os.environ['BENCH_PROBE']}.{next(numbers)}"
    if traced:
        tracemalloc.take_snapshot().dump(target + ".trace")
    with open(target + ".part", "w") as out:
        json.dump({"sqlite_mb": sqlite.sqlite3_memory_used() / 2**20}, out)
    os.replace(target + ".part", target)  # complete when it appears
signal.signal(signal.SIGUSR1, probe)
from zammad_sla_plugin.cli import main
main(["serve", "--log-level", "warning"], prog_name="zammad-sla")
"""


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _scrape(url: str) -> tuple[int, int]:
    """(tickets with a status, reconcile runs that finished) from serve's /metrics."""
    text = requests.get(f"{url}/metrics", timeout=30).text
    tracked = sum(int(float(v)) for v in re.findall(r"^zammad_sla_tickets_by_status\{[^}]*\} (\S+)$", text, re.M))
    reconciles = sum(int(float(v)) for v in re.findall(
        r'^zammad_sla_periodic_runs_total\{job="reconcile",outcome="ok"\} (\S+)$', text, re.M))
    return tracked, reconciles


def _wait_for(url: str, tracked: int, proc: subprocess.Popen[bytes], twin: TwinProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _scrape(url)[0] < tracked:
        if proc.poll() is not None:
            raise SystemExit(f"zammad-sla serve exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {tracked} evaluated tickets")
        twin.clear_log()  # the twin logs every call: keep its memory flat over a long run
        time.sleep(2)


class Probe:
    """Asks serve (SIGUSR1) for the memory SQLite holds and, traced, a tracemalloc snapshot."""

    def __init__(self, proc: subprocess.Popen[bytes], path: str, traced: bool) -> None:
        self.proc, self.path, self.traced = proc, path, traced
        self.count = 0
        self.snapshots: list[tracemalloc.Snapshot] = []

    def __call__(self) -> float:
        """SQLite's memory in MB (its page caches, mostly)."""
        target = Path(f"{self.path}.{self.count}")
        self.count += 1
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 300
        while not target.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("serve did not answer the memory probe")
            time.sleep(0.2)
        if self.traced:
            self.snapshots.append(tracemalloc.Snapshot.load(f"{target}.trace"))
        return float(json.loads(target.read_text())["sqlite_mb"])


def _wait_until_reconciled(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 900
    while True:
        try:
            if _scrape(url)[1] >= 1:
                return
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("serve did not start and reconcile")
        time.sleep(0.5)


def main() -> None:
    """Start serve, evaluate up to each point, print RSS and growth."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", default="10000,40000,70000,100000",
                        help="distinct tickets evaluated at each reading")
    parser.add_argument("--threads", type=int, default=16, help="ZAMMAD_SLA_WORKERS of serve")
    parser.add_argument("--tracemalloc", action="store_true", help="trace serve's allocations (slower)")
    parser.add_argument("--quick", action="store_true", help="points 2000,20000")
    args = parser.parse_args()
    points = sizes("2000,20000") if args.quick else sizes(args.points)
    policy = load_policy()
    print(f"RSS of `zammad-sla serve` ({args.threads} evaluation threads, SQLite queue) after evaluating N distinct "
          f"tickets, one webhook each; twin in its own process with {points[-1]} open tickets, {LATENCY_MS} ms "
          f"added per API call{'; under tracemalloc' if args.tracemalloc else ''}")
    with TwinProcess() as twin, tempfile.TemporaryDirectory() as data_dir:
        twin.provision()
        loaded = twin.bulk(tickets=points[-1], closed_fraction=0.0, days=5, history_entries=6, seed=7,
                           ticket_fields={policy.attributes.status: "on_track"})
        ticket_ids = list(range(loaded["first_id"], loaded["last_id"] + 1))
        twin.latency()
        hub = build_huey(data_dir=data_dir)
        # Every ticket has a status and none changed since this mark: the start-up reconcile queues nothing.
        hub.put(Sidecar.RECONCILE_MARK, format_utc(datetime.now(timezone.utc) + timedelta(minutes=1)))
        hub.storage.close()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "ZAMMAD_URL": twin.url, "ZAMMAD_TOKEN": TOKEN, "ZAMMAD_SLA_WEBHOOK_SECRET": WEBHOOK_SECRET,
               "ZAMMAD_SLA_DATA_DIR": data_dir, "ZAMMAD_SLA_LISTEN": f"127.0.0.1:{port}",
               "ZAMMAD_SLA_WORKERS": str(args.threads), "BENCH_PROBE": str(Path(data_dir) / "probe"),
               "BENCH_TRACEMALLOC": "1" if args.tracemalloc else "",
               "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.Popen([sys.executable, "-c", _SERVE], env=env, cwd=REPO_ROOT)
        probe = Probe(proc, env["BENCH_PROBE"], args.tracemalloc)
        readings: list[tuple[int, float]] = []
        try:
            _wait_until_reconciled(url, proc)
            print(f"  after start and the start-up reconcile over {len(ticket_ids)} open tickets: "
                  f"RSS {rss_mb(proc.pid):6.1f} MB, of which SQLite {probe():5.1f} MB")
            sent = 0
            started = time.perf_counter()
            for point in points:
                send_events(port, ticket_ids[sent:point])
                sent = point
                _wait_for(url, point, proc, twin, timeout=7200)
                elapsed = time.perf_counter() - started
                readings.append((point, rss_mb(proc.pid)))
                print(f"  {point:>7} distinct tickets evaluated: RSS {readings[-1][1]:6.1f} MB, of which SQLite "
                      f"{probe():5.1f} MB (peak RSS {_peak_mb(proc.pid):6.1f} MB) | {elapsed:6.0f} s since the first "
                      f"event, {point / elapsed:5.1f} tickets/s, {_scrape(url)[1]} reconcile run(s) so far")
        finally:
            proc.terminate()
            proc.wait(120)
    for (n0, rss0), (n1, rss1) in zip(readings, readings[1:]):
        print(f"RSS growth {n0} -> {n1} tickets: {rss1 - rss0:+.1f} MB, {(rss1 - rss0) / ((n1 - n0) / 1000):+.3f} MB "
              f"per 1000 tickets")
    (n0, rss0), (n1, rss1) = readings[0], readings[-1]
    print(f"{n1} tickets at {rss1 / rss0:.2f}x the RSS at {n0} ({(rss1 - rss0) / ((n1 - n0) / 1000):+.3f} MB per 1000 "
          f"tickets)")
    print(f"goal (< {GOAL_MB:.0f} MB at {n1}): {'met' if rss1 < GOAL_MB else 'NOT met'}")
    if len(probe.snapshots) >= 2:
        print(f"tracemalloc: Python allocations grown most from the {n0}-ticket point to the {n1}-ticket point:")
        for stat in probe.snapshots[-1].compare_to(probe.snapshots[-2], "lineno")[:15]:
            print(f"  {stat}")


if __name__ == "__main__":
    main()
