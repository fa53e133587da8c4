"""Backfill benchmark: `zammad-sla backfill` over 1k / 10k / 20k open tickets, 20 ms per API call.

    python benchmarks/bench_backfill.py [--sizes 1000,10000,20000] [--baseline-size 500]
                                        [--concurrency N ...] [--quick]

For each size a fresh twin (its own process) is provisioned like `zammad-sla setup` and
bulk-loaded with that many open tickets created over the last 5 days (6 history rows
each; as many again closed tickets beside them, which the selection must not cost pages
for), then every /api/v1 call is answered 20 ms late. The backfill runs in a child process
(the command's code path: the candidate search paged through while `Backfill`'s thread
pool evaluates each ticket with the record the search brings, progress file, no progress bar), first
run, so every ticket gets its SLA fields written (and notes and tags where at risk or
breached). Printed: wall time, tickets per second, Zammad calls per ticket, peak RSS. The
peer: the same backfill one ticket at a time (concurrency 1) on `--baseline-size` tickets
in the same run. Also printed: effective parallelism, Zammad calls x 20 ms / wall time after start-up
(how many of the threads are kept waiting on Zammad on average; goal at the default concurrency 10: >= 8x), and
the CPU seconds of the backfill and of the twin. Goal: 20k tickets in under 90 s.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from _support import LATENCY_MS, TOKEN, TwinProcess, cpu_seconds, peak_rss_mb, run_child, sizes

NOW = datetime(2026, 3, 11, 15, 0, tzinfo=timezone.utc)  # a Wednesday, noon in Buenos Aires
GOAL_SECONDS_20K = 90.0


def child(url: str, concurrency: int) -> None:
    """Run one backfill and print its measurements as JSON."""
    from zammad_sla_plugin.admin.backfill import (
        PROGRESS_FILENAME, Backfill, ProgressFile, candidate_tickets, client_factory, evaluator_factory, selected,
    )  # fmt: skip
    from zammad_sla_plugin.core.policy import load_policy

    policy = load_policy()
    make_client = client_factory(url, TOKEN)
    started, cpu_started = time.perf_counter(), cpu_seconds(os.getpid())
    with make_client() as lister, tempfile.TemporaryDirectory() as data_dir:
        runner = Backfill(evaluator_factory(make_client, policy, lambda: NOW),
                          ProgressFile(Path(data_dir) / PROGRESS_FILENAME), concurrency=concurrency, show_progress=False)
        # As `zammad-sla backfill` runs it: one pass, the search is the selection.
        summary = runner.run(listing=lambda: selected(candidate_tickets(lister, policy), policy))
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu_s": cpu_seconds(os.getpid()) - cpu_started,
                      "tickets": summary.evaluated, "failed": len(summary.failed), "changed": summary.changed,
                      "statuses": summary.statuses, "peak_rss_mb": peak_rss_mb()}))


def parallelism(result: dict[str, object]) -> float:
    """Zammad calls x their added latency / wall time after start-up: threads kept waiting on Zammad."""
    return float(result["calls"]) * LATENCY_MS / 1000 / float(result["seconds"])  # type: ignore[arg-type]


def measure(size: int, concurrencies: list[int]) -> dict[int, dict[str, object]]:
    """A provisioned twin with `size` open (and `size` closed) tickets; one backfill per concurrency."""
    results = {}
    for concurrency in concurrencies:
        with TwinProcess(now=NOW) as twin:
            twin.provision()
            twin.bulk(tickets=size, days=5, closed_fraction=0.0, history_entries=6, seed=size)
            twin.bulk(tickets=size, days=365, closed_fraction=1.0, history_entries=6, seed=size + 1)
            twin.latency()
            twin.clear_log()
            twin_cpu = cpu_seconds(twin.pid)
            result = run_child(__file__, "--child", twin.url, str(concurrency))
            result["twin_cpu_s"] = cpu_seconds(twin.pid) - twin_cpu
            calls = twin.calls_since(0)
            result["calls"] = len(calls)
            result["searches"] = sum(1 for c in calls if c["path"].endswith("/tickets/search"))
            result["kinds"] = Counter(f"{c['method']} {c['path'].split('/')[3]}" for c in calls)
            results[concurrency] = result
    return results


def main() -> None:
    """Run the sizes and the sequential peer; print the curve and the ratios."""
    from zammad_sla_plugin.admin.backfill import DEFAULT_CONCURRENCY

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,20000", help="open tickets, comma-separated")
    parser.add_argument("--baseline-size", type=int, default=500, help="open tickets for the sequential peer")
    parser.add_argument("--concurrency", type=int, action="append",
                        help=f"concurrency to measure at every size (repeatable; default {DEFAULT_CONCURRENCY})")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,5000 and a 300-ticket peer")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    wanted = sizes("1000,5000") if args.quick else sizes(args.sizes)
    baseline_size = 300 if args.quick else args.baseline_size
    concurrencies = args.concurrency or [DEFAULT_CONCURRENCY]
    print(f"first backfill of N open tickets (N closed beside them), twin in its own process, 20 ms added per API call; "
          f"concurrency {concurrencies} (default {DEFAULT_CONCURRENCY}); peer: sequential on {baseline_size} tickets")
    peer = measure(baseline_size, [1])[1]
    peer_rate = float(peer["tickets"]) / float(peer["seconds"])  # type: ignore[arg-type]
    peer_parallelism = parallelism(peer)
    print(f"  sequential peer   {peer['tickets']:>6} tickets {peer['seconds']:7.1f} s {peer_rate:7.1f} tickets/s "
          f"{float(peer['calls']) / float(peer['tickets']):.2f} calls/ticket (-> {20000 / peer_rate:5.0f} s for 20k), "  # type: ignore[arg-type]
          f"effective parallelism {peer_parallelism:.2f}x")
    rows = []
    for size in wanted:
        for concurrency, r in measure(size, concurrencies).items():
            rate = float(r["tickets"]) / float(r["seconds"])  # type: ignore[arg-type]
            rows.append((size, concurrency, r, rate))
            print(f"  concurrency {concurrency:<3} {r['tickets']:>6} tickets {r['seconds']:7.1f} s {rate:7.1f} tickets/s "
                  f"({r['searches']} search pages) "
                  f"{float(r['calls']) / float(r['tickets']):.2f} calls/ticket, {r['failed']} failed, "  # type: ignore[arg-type]
                  f"peak RSS {r['peak_rss_mb']:5.1f} MB | {rate / peer_rate:4.1f}x sequential | statuses {r['statuses']}")
            print(f"    {r['calls']} calls x {LATENCY_MS} ms in {r['seconds']:.2f} s: effective parallelism {parallelism(r):.2f}x "
                  f"(sequential {peer_parallelism:.2f}x: {parallelism(r) / peer_parallelism:.1f}x it); CPU: backfill "
                  f"{r['cpu_s']:.2f} s, twin {r['twin_cpu_s']:.2f} s")
    for concurrency in concurrencies:
        mine = [row for row in rows if row[1] == concurrency]
        (n0, _, r0, _), (n1, _, r1, _) = mine[0], mine[-1]
        growth = (float(r1["seconds"]) / float(r0["seconds"])) / (n1 / n0)  # type: ignore[arg-type]
        print(f"concurrency {concurrency}: time growth {n0}->{n1} relative to linear {growth:.2f} (1.00 = linear)")
        at_20k = next((row for row in mine if row[0] == 20000), None)
        if at_20k is not None:
            ok = float(at_20k[2]["seconds"]) < GOAL_SECONDS_20K  # type: ignore[arg-type]
            print(f"  goal (20k in < {GOAL_SECONDS_20K:.0f} s) at concurrency {concurrency}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
