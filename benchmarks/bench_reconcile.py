"""Reconcile benchmark: one periodic reconcile over 1k / 10k / 100k open tickets, 20 ms per call.

    python benchmarks/bench_reconcile.py [--sizes 1000,10000,100000] [--quick]

For each size the twin (in this process: reconcile pages sequentially, so it barely competes
for the GIL) is bulk-loaded with that many open tickets (plus a quarter as many closed
ones), every ticket already carrying an SLA status as after a backfill, and answers every
/api/v1 call 20 ms late. A sidecar (SQLite queue, no consumer running) then reconciles:
- cold: first run ever, nothing known, so every open ticket is queued;
- quiet: the next run with nothing changed: nothing may be queued;
- 1 % changed: 1 % of the tickets updated in Zammad, 1 % with an overdue check.
Printed per run: Zammad calls (search pages and the states lookup), tickets queued, wall
time. The baseline is the number of search pages needed to list the open tickets at
Zammad's maximum page size (200): the calls per run must grow no faster than that.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone

from _support import LATENCY_MS, SECRET, TOKEN, TwinProcess, sizes

from zammad_sla_plugin.demo.local_stack import free_port
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.runtime.settings import load_settings
from zammad_sla_plugin.runtime.sidecar import Sidecar
from zammad_sla_plugin.core.times import format_utc
from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.twin.bulk import BulkSpec, bulk_load

NOW = datetime(2026, 3, 11, 15, 0, tzinfo=timezone.utc)

def one_size(size: int) -> list[tuple[str, int, int, int, float]]:
    """(run, calls, search pages, queued, seconds) for the three runs."""
    policy = load_policy()
    rows = []
    with TwinServer(token=TOKEN, now=NOW, frozen=True) as twin, tempfile.TemporaryDirectory() as data_dir:

        helper = TwinProcess()  # its provisioning works on any twin URL
        helper.url = twin.url
        helper.provision()
        loaded = bulk_load(twin.state, BulkSpec(tickets=size, closed_fraction=0.0, days=20, seed=size))
        bulk_load(twin.state, BulkSpec(tickets=size // 4, closed_fraction=1.0, days=365, seed=size + 1))
        for ticket_id in loaded:
            twin.state.tables["tickets"][ticket_id]["sla_status"] = "on_track"
        twin.context.faults.set(twin.context.faults.faults.__class__(latency_ms=LATENCY_MS))
        settings = load_settings({"ZAMMAD_URL": twin.url, "ZAMMAD_TOKEN": TOKEN, "ZAMMAD_SLA_WEBHOOK_SECRET": SECRET,
                                  "ZAMMAD_SLA_DATA_DIR": data_dir, "ZAMMAD_SLA_LISTEN": f"127.0.0.1:{free_port()}"})
        sidecar = Sidecar(settings, policy, now=lambda: twin.clock.now())
        rng = random.Random(size)
        for label in ("cold", "quiet", "1 % changed"):
            if label == "1 % changed":
                for ticket_id in rng.sample(list(loaded), max(1, size // 100)):
                    sidecar.huey.delete(f"pending:{ticket_id}")
                    twin.state.tables["tickets"][ticket_id]["title"] = "changed"
                    twin.state.tables["tickets"][ticket_id]["updated_at"] = format_utc(twin.clock.now())
                    twin.state.history.add(object="Ticket", o_id=ticket_id, type="updated", created_by_id=4,
                                           created_at=twin.state.now_iso(), attribute="title", value_from="",
                                           value_to="changed")
                for ticket_id in rng.sample(list(loaded), max(1, size // 100)):
                    sidecar.huey.delete(f"pending:{ticket_id}")
                    sidecar.huey.put(f"sla-next:{ticket_id}", format_utc(twin.clock.now() - timedelta(minutes=1)))
            elif label == "quiet":
                for ticket_id in loaded:  # as if the consumer had evaluated the cold run's queue
                    sidecar.huey.delete(f"pending:{ticket_id}")
            twin.clock.set(twin.clock.now() + timedelta(minutes=10), frozen=True)
            twin.context.requests.clear()
            started = time.perf_counter()
            queued = sidecar.reconcile()
            seconds = time.perf_counter() - started
            calls = twin.context.requests.since(0)
            pages = sum(1 for c in calls if c["path"].endswith("/tickets/search"))
            rows.append((label, len(calls), pages, queued, seconds))
    return rows

def main() -> None:
    """Measure the sizes and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,10000")
    args = parser.parse_args()
    wanted = sizes("1000,10000") if args.quick else sizes(args.sizes)
    print(f"reconcile runs, {LATENCY_MS} ms added per API call; baseline: search pages needed to list the open "
          f"tickets at 200 per page")
    print(f"{'open tickets':>12} {'run':<12} {'API calls':>9} {'search pages':>12} {'pages needed':>12} "
          f"{'calls/needed':>12} {'queued':>7} {'wall s':>7}")
    for size in wanted:
        needed = -(-size // 200)
        for label, calls, pages, queued, seconds in one_size(size):
            print(f"{size:>12} {label:<12} {calls:>9} {pages:>12} {needed:>12} {calls / needed:>12.2f} {queued:>7} "
                  f"{seconds:>7.1f}")

if __name__ == "__main__":
    main()
