"""Pipeline benchmark: webhook events end to end against the twin with 20 ms per API call.

    python benchmarks/bench_pipeline.py [--tickets 40] [--latency-ms 20]

Each ticket goes through five events that each change its SLA fields (create, priority
raised, waiting on the customer, reopened, closed), interleaved across tickets. The same
workload runs twice in one run, over real HTTP on loopback:
- zammad-sla: the real sidecar (2 reads per evaluation: ticket + history, organizations
  cached, tags read off the history; writes only differences);
- naive peer: the same pipeline with a textbook evaluator that reads ticket, history, tags
  and organization every time and writes every SLA field on every evaluation.
It prints events per second, Zammad API calls per event and per evaluation, and the p50/p95
latency from the event (the agent's update returning) to the sidecar's write-back.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zammad_sla_plugin.core.clock import SlaResult, evaluate  # noqa: E402
from zammad_sla_plugin.demo.local_stack import LocalStack  # noqa: E402
from zammad_sla_plugin.core.policy import load_policy  # noqa: E402
from zammad_sla_plugin.runtime.settings import DEFAULT_COALESCE_SECONDS, DEFAULT_WORKERS  # noqa: E402
from zammad_sla_plugin.runtime.worker import EvaluationOutcome, TicketEvaluator  # noqa: E402

STEPS: list[dict[str, Any] | None] = [None, {"priority": "3 high"}, {"state": "pending reminder"}, {"state": "open"}, {"state": "closed"}]


class NaiveEvaluator(TicketEvaluator):
    """The peer: reads everything every time, writes every field every time."""

    def run(self, ticket_id: int) -> EvaluationOutcome:
        ticket = self.client.get_ticket(ticket_id, expand=True)
        history = self.client.ticket_history(ticket_id)
        tags = set(self.client.ticket_tags(ticket_id))
        org_id = ticket.get("organization_id")
        organization = self.client.get_organization(int(org_id)) if org_id else None
        result: SlaResult = evaluate(ticket, history, organization, self.now(), self.policy)
        fields = self.desired_fields(result)
        self.client.update_ticket(ticket_id, fields)
        wanted, unwanted = self.desired_tags(result.status)
        for tag in wanted - tags:
            self.client.add_tag(ticket_id, tag)
        for tag in unwanted & tags:
            self.client.remove_tag(ticket_id, tag)
        return EvaluationOutcome(ticket_id, result, fields_written=fields)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run_once(label: str, tickets: int, latency_ms: int, naive: bool, workers: int) -> dict[str, float]:
    """Play the workload through a fresh stack; return the measurements."""
    policy = load_policy()
    with tempfile.TemporaryDirectory() as data_dir:
        stack = LocalStack(policy, data_dir, twin_latency_ms=latency_ms, coalesce_seconds=DEFAULT_COALESCE_SECONDS, workers=workers)
        stack.start()
        try:
            if naive:
                stack.sidecar.evaluator = NaiveEvaluator(stack.sidecar.client, policy, stack.sidecar.now)
            log_url = f"{stack.twin.url}/_twin/requests"
            cursor = stack.admin.session.get(log_url, timeout=10).json()["next"]
            sent: list[tuple[int, datetime]] = []
            ids: list[int] = []
            started = time.perf_counter()
            for step in STEPS:
                for n in range(tickets):
                    if step is None:
                        ids.append(int(stack.create_ticket(f"Bench {n}", "2 normal")["id"]))
                        sent.append((ids[-1], datetime.now(timezone.utc)))
                    else:
                        stack.agent.update_ticket(ids[n], step)
                        sent.append((ids[n], datetime.now(timezone.utc)))
            stack.settle(timeout=600, quiet_polls=5)
            elapsed = time.perf_counter() - started
            log = stack.admin.session.get(log_url, params={"since": cursor}, timeout=30).json()["requests"]
            ours = [r for r in log if r["user"] == stack.twin.api_login]
            org_reads = [r for r in ours if r["method"] == "GET" and "/organizations/" in r["path"]]
            reads = [r for r in ours if r["method"] == "GET" and r not in org_reads]
            writes = [r for r in ours if r["method"] != "GET"]
            metrics = stack.sidecar.metrics.render().decode()
        finally:
            stack.stop()
    evaluations = sum(float(v) for v in re.findall(r'zammad_sla_evaluations_total\{outcome="ok"\} (\S+)', metrics))
    puts: dict[int, list[datetime]] = {}
    for r in writes:
        match = re.fullmatch(r"/api/v1/tickets/(\d+)", r["path"])
        if r["method"] == "PUT" and match:
            puts.setdefault(int(match.group(1)), []).append(_time(r["time"]))
    latencies = []
    for ticket_id, at in sent:
        after = [t for t in puts.get(ticket_id, []) if t >= at.replace(microsecond=at.microsecond // 1000 * 1000)]
        if after:
            latencies.append((min(after) - at).total_seconds())
    events = len(sent)
    latencies.sort()
    return {
        "events": events, "seconds": elapsed, "events_per_s": events / elapsed,
        "evaluations": evaluations, "reads": len(reads), "writes": len(writes), "org_reads": len(org_reads),
        "reads_per_eval": len(reads) / max(evaluations, 1), "writes_per_eval": len(writes) / max(evaluations, 1),
        "calls_per_event": (len(reads) + len(org_reads) + len(writes)) / events,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "unmatched": events - len(latencies), "label": label,
    }  # type: ignore[dict-item]


def main() -> None:
    """Run both pipelines on the same workload and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="consumer threads (default: the sidecar's)")
    args = parser.parse_args()
    print(
        f"{args.tickets} tickets x {len(STEPS)} events, {args.latency_ms} ms added per Zammad API call, "
        f"{args.workers} worker threads, coalescing window {DEFAULT_COALESCE_SECONDS} s"
    )
    ours = run_once("zammad-sla", args.tickets, args.latency_ms, naive=False, workers=args.workers)
    peer = run_once("naive peer", args.tickets, args.latency_ms, naive=True, workers=args.workers)
    for r in (ours, peer):
        print(
            f"{r['label']:<11} {r['events']:.0f} events in {r['seconds']:5.1f}s = {r['events_per_s']:6.1f} events/s | "
            f"{r['evaluations']:.0f} evaluations, {r['reads_per_eval']:.2f} reads (+{r['org_reads']:.0f} organization "
            f"reads in all) + {r['writes_per_eval']:.2f} writes per evaluation, {r['calls_per_event']:.2f} API calls "
            f"per event | event->write-back "
            f"p50 {r['p50'] * 1000:6.0f} ms p95 {r['p95'] * 1000:6.0f} ms"
        )
    print(
        f"zammad-sla vs naive peer: {ours['events_per_s'] / peer['events_per_s']:.2f}x events/s, "
        f"{peer['calls_per_event'] / ours['calls_per_event']:.2f}x fewer API calls per event, "
        f"p95 latency {peer['p95'] / ours['p95']:.2f}x lower"
    )
    goals_met = ours["reads_per_eval"] <= 2.0 + 1e-9 and ours["p95"] < 1.0
    print(f"goals (<= 2 reads per evaluation, p95 < 1 s): {'met' if goals_met else 'NOT met'}")


if __name__ == "__main__":
    main()
