"""Benchmark the webhook receiver: acknowledged webhooks per second and ack latency.

    python benchmarks/bench_receiver.py [--requests 8000] [--threads 32] [--no-consumer] [--queue-fsync]

Starts, each in its own subprocess under waitress on 127.0.0.1 with the receiver's
production settings (webhooks/server.py: threads, connection and body limits):
- "receiver": the real app (HMAC check, JSON parse, durable SQLite TicketQueue
  submit) with the in-process consumer running, as in `zammad-sla serve`; its
  evaluation sleeps `--evaluate-ms` (default 20) in place of the Zammad calls;
- "bare": the peer, the same waitress + Flask returning 202 without verifying or
  queueing anything.
Then this process sends the same signed Zammad default payloads (unique
X-Zammad-Delivery per request, 500 distinct tickets) over keep-alive
connections: first 1000 one at a time (ack latency on a quiet system), then
`--requests` from `--threads` concurrent senders (default 32: saturated throughput
and latency), and reports the receiver's overhead relative to the bare peer.
Senders and servers share this machine's cores, so the peer's figures bound what
any receiver can show here. `--no-consumer` leaves the evaluation threads out
(where the time goes: receiving, or the queue consumer competing for the CPU);
`--queue-fsync` fsyncs every queue commit (ZAMMAD_SLA_QUEUE_FSYNC=on).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from webhooks.server import THREADS  # noqa: E402

PAYLOAD_FILE = REPO_ROOT / "tests" / "fixtures" / "zammad" / "docs-examples" / "default_payload_admin_docs_example.json"
SECRET = b"bench-secret"
PATH = "/webhooks/zammad"
TICKETS = 500
SEQUENTIAL = 1000  # requests sent one at a time before the concurrent run


# -- server side (runs in the subprocess) ------------------------------------------------
def _serve(
    kind: str, data_dir: str, threads: int, evaluate_ms: float, consume: bool, fsync: bool, journal: bool = True
) -> None:
    import logging

    from flask import Flask, jsonify

    from webhooks.server import create_receiver_server, freeze_startup_heap

    # waitress warns "Task queue depth is N" whenever all its threads are busy,
    # which a saturating benchmark does on purpose.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    handle = None
    if kind == "receiver":
        from webhooks.app import create_app
        from zammad_sla_plugin.runtime.metrics import Metrics
        from zammad_sla_plugin.runtime.queue import TicketQueue, build_huey, start_consumer

        def evaluate(ticket_id: int) -> None:
            time.sleep(evaluate_ms / 1000)  # stands in for the Zammad round trips

        from zammad_sla_plugin.runtime.journal import journal_for

        metrics = Metrics()
        queue = TicketQueue(build_huey(data_dir=data_dir, sqlite_fsync=fsync), evaluate, metrics=metrics)
        metrics.set_queue_depth_source(queue.depth)
        enqueue = queue.submit
        if journal and not fsync:  # as `Sidecar.open_journal` does for `zammad-sla serve`
            delivery_journal = journal_for(queue, data_dir)
            delivery_journal.open()
            enqueue = delivery_journal.submit
        app = create_app(secret=SECRET, enqueue=enqueue, metrics=metrics)
        # As `Sidecar.start_consumer` does in `zammad-sla serve`.
        handle = start_consumer(queue.huey, 2, max_poll_delay=0.1) if consume else None
    else:
        app = Flask("bare")

        @app.post(PATH)
        def bare() -> Any:
            return jsonify({"queued": True, "ticket_id": 0}), 202

    server = create_receiver_server(app, "127.0.0.1", 0, threads=threads)
    freeze_startup_heap()  # as `zammad-sla serve` does, for both servers
    print(f"listening {server.effective_port}", flush=True)
    try:
        server.run()
    finally:
        if handle is not None:
            handle.stop(timeout=5)


# -- client side ----------------------------------------------------------------------------
def _bodies() -> list[tuple[bytes, str]]:
    import hashlib
    import hmac

    document = json.loads(PAYLOAD_FILE.read_text())
    bodies = []
    for ticket_id in range(1, TICKETS + 1):
        document["ticket"]["id"] = ticket_id
        body = json.dumps(document).encode()
        bodies.append((body, "sha1=" + hmac.new(SECRET, body, hashlib.sha1).hexdigest()))
    return bodies


def _worker(port: int, jobs: range, bodies: list[tuple[bytes, str]], run: str) -> tuple[list[float], int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    acknowledged = 0
    for i in jobs:
        body, signature = bodies[i % len(bodies)]
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Hub-Signature": signature,
            "X-Zammad-Delivery": f"{run}-{i}",
        }
        start = time.perf_counter()
        conn.request("POST", PATH, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        acknowledged += response.status == 202
    conn.close()
    return latencies, acknowledged


def _quantile_ms(latencies: list[float], q: int) -> float:
    return statistics.quantiles(latencies, n=100)[q - 1] * 1000


def _measure(port: int, requests: int, threads: int, bodies: list[tuple[bytes, str]], run: str) -> dict[str, float]:
    _worker(port, range(min(300, requests)), bodies, run + "-warmup")
    # One client at a time: the ack latency Zammad sees on a quiet system.
    single, _ = _worker(port, range(SEQUENTIAL), bodies, run + "-sequential")
    chunks = [range(t, requests, threads) for t in range(threads)]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda jobs: _worker(port, jobs, bodies, run), chunks))
    elapsed = time.perf_counter() - start
    latencies = sorted(lat for lats, _ in results for lat in lats)
    acknowledged = sum(ack for _, ack in results)
    return {
        "acknowledged": acknowledged,
        "per_second": acknowledged / elapsed,
        "p50_ms": _quantile_ms(latencies, 50),
        "p99_ms": _quantile_ms(latencies, 99),
        "seconds": elapsed,
        "single_p50_ms": _quantile_ms(single, 50),
        "single_p99_ms": _quantile_ms(single, 99),
    }


def _start(kind: str, data_dir: str, args: argparse.Namespace) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--data-dir", data_dir, "--server-threads", str(args.server_threads),
         "--evaluate-ms", str(args.evaluate_ms), *(["--no-consumer"] if args.no_consumer else []),
         *(["--queue-fsync"] if args.queue_fsync else []), *(["--no-journal"] if args.no_journal else [])],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "listening":
        proc.kill()
        raise SystemExit(f"{kind} server did not start")
    return proc, int(line[1])


def main() -> None:
    """Parse arguments and run the benchmark (or serve, in the subprocess)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=8000, help="concurrent webhooks per server (default 8000)")
    parser.add_argument("--threads", type=int, default=32, help="concurrent senders (default 32)")
    parser.add_argument(
        "--server-threads", type=int, default=THREADS, help=f"waitress threads (default {THREADS}, as in serve)"
    )
    parser.add_argument("--no-consumer", action="store_true", help="run the receiver without evaluation threads")
    parser.add_argument("--queue-fsync", action="store_true", help="fsync every queue commit (ZAMMAD_SLA_QUEUE_FSYNC=on)")
    parser.add_argument(
        "--no-journal", action="store_true", help="acknowledge after the queue commit, without the delivery journal"
    )
    parser.add_argument(
        "--evaluate-ms",
        type=float,
        default=20.0,
        help="simulated duration of one evaluation in the in-process consumer (default 20; 0 = no-op worst case)",
    )
    parser.add_argument("--serve", choices=["receiver", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(
            args.serve, args.data_dir, args.server_threads, args.evaluate_ms, not args.no_consumer, args.queue_fsync,
            not args.no_journal,
        )
        return

    bodies = _bodies()
    print(
        f"{args.requests} signed webhooks ({len(bodies[0][0])} bytes, {TICKETS} tickets) per server, "
        f"{args.threads} concurrent keep-alive senders, waitress threads={args.server_threads}, "
        + ("no consumer" if args.no_consumer else f"consumer: 2 threads, {args.evaluate_ms:g} ms per evaluation")
        + (", queue fsync on" if args.queue_fsync else "")
        + (", no journal" if args.no_journal or args.queue_fsync else ", journal")
    )
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as data_dir:
        for kind in ("receiver", "bare"):
            proc, port = _start(kind, data_dir, args)
            try:
                results[kind] = _measure(port, args.requests, args.threads, bodies, f"{kind}-{time.time_ns()}")
            finally:
                proc.terminate()
                proc.wait(10)
    for kind, label in (("receiver", f"receiver, {args.threads} senders"), ("bare", f"bare waitress+flask, {args.threads} senders")):
        r = results[kind]
        print(
            f"{label:32s} {r['acknowledged']:6.0f} acked in {r['seconds']:5.1f}s  "
            f"{r['per_second']:7.0f}/s  p50 {r['p50_ms']:5.2f} ms  p99 {r['p99_ms']:5.2f} ms  "
            f"| one at a time: p50 {r['single_p50_ms']:5.2f} ms  p99 {r['single_p99_ms']:5.2f} ms"
        )
    full, bare = results["receiver"], results["bare"]
    print(
        f"receiver vs bare waitress+flask (same run): {full['per_second'] / bare['per_second']:.2f}x the throughput, "
        f"{full['p99_ms'] / bare['p99_ms']:.2f}x the p99 (goal: >= 0.85x, <= 1.5x)"
    )
    print(
        f"overhead vs bare waitress+flask: {bare['per_second'] / full['per_second']:.2f}x throughput, "
        f"{full['p50_ms'] / bare['p50_ms']:.2f}x p50 latency, {full['p99_ms'] / bare['p99_ms']:.2f}x p99 latency "
        f"(one at a time: {full['single_p50_ms'] / bare['single_p50_ms']:.2f}x p50)"
    )
    if full["acknowledged"] != args.requests:
        raise SystemExit(f"only {full['acknowledged']:.0f} of {args.requests} webhooks were acknowledged")


if __name__ == "__main__":
    main()
