"""Report benchmark: `zammad-sla report` for a month of 1k / 10k / 20k tickets, 20 ms per API call.

    python benchmarks/bench_report.py [--sizes 1000,10000,20000] [--baseline-size 1000] [--quick]

For each size a fresh twin (its own process) is bulk-loaded with that many tickets created
in March 2026 (70 % closed, 6 history rows each) and answers every /api/v1 call 20 ms late.
The report for March then runs in a child process (`make_report`, the command's code path,
without the progress bar) at the default concurrency: wall time, tickets per second, API
calls and the child's peak RSS. The peer: the same report fetching histories one at a time
(concurrency 1, the previous behaviour) on `--baseline-size` tickets in the same run; being
sequential, its rate does not depend on the size. Goal: 20k tickets in under 60 s and at
least 6x the sequential rate; peak RSS flat in the ticket count (only each ticket's small
outcome is kept).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, datetime, timezone

from _support import TOKEN, TwinProcess, peak_rss_mb, run_child, sizes

NOW = datetime(2026, 4, 1, 3, 0, tzinfo=timezone.utc)  # end of March in Buenos Aires
GOAL_SECONDS_20K, GOAL_SPEEDUP = 60.0, 6.0


def child(url: str, concurrency: int) -> None:
    """Run the report once and print its measurements as JSON."""
    from zammad_sla_plugin.core.policy import load_policy
    from zammad_sla_plugin.report.command import make_report
    from zammad_sla_plugin.report.outcome import ReportPeriod
    from zammad_sla_plugin.zammad import ZammadClient

    policy = load_policy()
    period = ReportPeriod(date(2026, 3, 1), date(2026, 4, 1), policy.business_calendar.timezone)
    before = peak_rss_mb()
    started = time.perf_counter()
    with ZammadClient(url, TOKEN) as client:
        document = make_report(client, policy, period, None, NOW, concurrency=concurrency,
                               make_source=lambda: ZammadClient(url, TOKEN))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "tickets": document["totals"]["tickets"],
                      "errors": len(document["errors"]), "rss_start_mb": before, "peak_rss_mb": peak_rss_mb()}))


def measure(size: int, concurrencies: list[int]) -> dict[int, dict[str, float]]:
    """Load a twin with `size` March tickets; run the report at each concurrency."""
    from zammad_sla_plugin.report.collect import SEARCH_PAGE_SIZE

    results = {}
    with TwinProcess(now=NOW) as twin:
        loaded = twin.bulk(tickets=size, days=30.9, closed_fraction=0.7, history_entries=6, seed=size)
        twin.latency()
        for concurrency in concurrencies:
            twin.clear_log()
            result = run_child(__file__, "--child", twin.url, str(concurrency))
            result["calls"] = len(twin.calls_since(0))
            result["pages"] = -(-size // SEARCH_PAGE_SIZE)
            result["load_s"] = loaded["seconds"]
            results[concurrency] = result
    return results


def main() -> None:
    """Run the sizes and the sequential peer; print the curve and the ratios."""
    from zammad_sla_plugin.report.collect import DEFAULT_CONCURRENCY

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,20000", help="tickets in the month, comma-separated")
    parser.add_argument("--baseline-size", type=int, default=1000, help="tickets for the sequential peer")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--quick", action="store_true", help="sizes 1000,5000 and a 500-ticket peer")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    wanted = sizes("1000,5000") if args.quick else sizes(args.sizes)
    baseline_size = 500 if args.quick else args.baseline_size
    print(f"report for one month, {args.concurrency} parallel history fetches (default), twin in its own process, "
          f"20 ms added per API call; peer: sequential fetching on {baseline_size} tickets")
    peer = measure(baseline_size, [1])[1]
    peer_rate = peer["tickets"] / peer["seconds"]
    print(f"  sequential peer {peer['tickets']:>6} tickets {peer['seconds']:7.1f} s {peer_rate:7.1f} tickets/s "
          f"{peer['calls']:>6} API calls (-> {20000 / peer_rate:5.0f} s for 20k)")
    rows = []
    for size in wanted:
        r = measure(size, [args.concurrency])[args.concurrency]
        rate = r["tickets"] / r["seconds"]
        rows.append((size, r, rate))
        print(f"  concurrency {args.concurrency:<2} {r['tickets']:>6} tickets {r['seconds']:7.1f} s {rate:7.1f} tickets/s "
              f"{r['calls']:>6} API calls ({r['calls'] / r['tickets']:.3f}/ticket) peak RSS {r['peak_rss_mb']:6.1f} MB "
              f"(+{r['peak_rss_mb'] - r['rss_start_mb']:5.1f} MB over start) | speedup vs sequential {rate / peer_rate:4.1f}x"
              f" | twin bulk load {r['load_s']:.1f} s")
    first, last = rows[0], rows[-1]
    growth = (last[1]["seconds"] / first[1]["seconds"]) / (last[0] / first[0])
    rss_per_1k = (last[1]["peak_rss_mb"] - first[1]["peak_rss_mb"]) / ((last[0] - first[0]) / 1000)
    print(f"time growth {first[0]}->{last[0]} tickets relative to linear: {growth:.2f} (1.00 = linear); "
          f"peak RSS growth {rss_per_1k:.2f} MB per 1000 tickets")
    at_20k = next((r for r in rows if r[0] == 20000), None)
    if at_20k is not None:
        ok = at_20k[1]["seconds"] < GOAL_SECONDS_20K and at_20k[2] / peer_rate >= GOAL_SPEEDUP
        print(f"goals (20k in < {GOAL_SECONDS_20K:.0f} s, >= {GOAL_SPEEDUP:.0f}x sequential): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
