"""Shared pieces of the scale benchmarks: the twin in its own process, bulk loading over
`/_twin/bulk`, provisioning like `zammad-sla setup`, a private redis-server, RSS readings.

Webhook events are sent like Zammad sends them (`send_events`: the default payload, signed).
The twin runs in a separate process so its request handling does not share a GIL with the
code being measured (in production Zammad is another machine).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without install

from webhooks.app import WEBHOOK_PATH, signature_for  # noqa: E402
from zammad_sla_plugin.demo.local_stack import free_port  # noqa: E402

TOKEN = "bench-token"
SECRET = "bench-secret"
WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdef"  # 32+ characters: no start-up warning
PAYLOAD_FILE = REPO_ROOT / "tests" / "fixtures" / "zammad" / "docs-examples" / "default_payload_admin_docs_example.json"
SENDERS = 8
LATENCY_MS = 20

_TWIN_MAIN = """
import logging, os, sys, signal, threading
if sys.argv[4]:  # its own cores, taken before any thread starts (threads inherit them)
    os.sched_setaffinity(0, {int(c) for c in sys.argv[4].split(",")})
from datetime import datetime
from zammad_sla_plugin.twin import TwinServer
# waitress warns "Task queue depth is N" whenever every thread is busy, which a
# saturating benchmark does on purpose (bench_receiver does the same).
logging.getLogger("waitress.queue").setLevel(logging.ERROR)
now = datetime.fromisoformat(sys.argv[3]) if sys.argv[3] else None
server = TwinServer(token=sys.argv[1], threads=int(sys.argv[2]), now=now, frozen=now is not None, time_scale=0.001)
server.start()
print(server.url, flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
done.wait()
server.stop()
"""


class TwinProcess:
    """`TwinServer` in a child process; `url` once started."""

    def __init__(self, *, threads: int = 32, latency_ms: float = LATENCY_MS, now: datetime | None = None,
                 cores: set[int] | None = None) -> None:
        """`cores`: the CPUs the twin runs on (None: wherever the scheduler puts it)."""
        self.threads, self.latency_ms, self.now, self.cores = threads, latency_ms, now, cores
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.http = requests.Session()

    def __enter__(self) -> "TwinProcess":
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _TWIN_MAIN, TOKEN, str(self.threads), self.now.isoformat() if self.now else "",
             ",".join(str(c) for c in sorted(self.cores or ()))],
            stdout=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.proc.kill()
            raise SystemExit("the twin did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)

    @property
    def pid(self) -> int:
        """The twin's process id."""
        assert self.proc is not None
        return self.proc.pid

    def bulk(self, **spec: Any) -> dict[str, Any]:
        """POST /_twin/bulk (see zammad_sla_plugin.twin.bulk.BulkSpec)."""
        answer = self.http.post(f"{self.url}/_twin/bulk", json=spec, timeout=600)
        answer.raise_for_status()
        return answer.json()

    def latency(self, on: bool = True) -> None:
        """Add (or remove) the per-call latency on every /api/v1 call."""
        self.http.post(f"{self.url}/_twin/faults", json={"latency_ms": self.latency_ms if on else 0},
                       timeout=10).raise_for_status()

    def calls_since(self, cursor: int) -> list[dict[str, Any]]:
        """API calls logged after `cursor` (0 after `clear_log`: everything since)."""
        return list(self.http.get(f"{self.url}/_twin/requests", params={"since": cursor}, timeout=600).json()["requests"])

    def clear_log(self) -> None:
        """Forget the logged calls (keeps the twin's memory flat during long runs)."""
        self.http.delete(f"{self.url}/_twin/requests", timeout=60).raise_for_status()

    def provision(self) -> None:
        """Provision like `zammad-sla setup` (attributes, trigger, webhook to a dead port)."""
        from zammad_sla_plugin.core.policy import load_policy
        from zammad_sla_plugin.admin.provision import ApplyContext, apply_plan, plan_setup
        from zammad_sla_plugin.zammad import ZammadClient

        with ZammadClient(self.url, TOKEN) as admin, ZammadClient(self.url, TOKEN, retries=0, timeout=(1, 2)) as probe:

            def alive() -> bool:  # the twin restarts after migrations, as Zammad does
                try:
                    probe.me()
                except Exception:
                    return False
                return True

            plan = plan_setup(admin, load_policy(), webhook_url=f"http://127.0.0.1:{free_port()}/webhooks/zammad",
                              secret=SECRET)
            apply_plan(plan, ApplyContext(client=admin, echo=lambda line: None, poll_interval=0.02,
                                          migration_timeout=60, restart_grace=5, alive=alive))


def rss_mb(pid: int) -> float:
    """Resident set size of a process now, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, summed over its cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), sum(values) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    """This process' peak RSS so far, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def partition_cores() -> tuple[set[int], set[int]] | None:
    """(the twin's core, every other core) of the ones this process may use, or None with
    fewer than two or no affinity control (not Linux).

    Zammad does not run on the sidecar's cores in production. A twin sharing cores with
    the processes measured gets preempted while a thread of it holds its GIL, which stalls
    every call in flight; its own core keeps the stand-in's CPU out of the measurement.
    """
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return {cores[-1]}, set(cores[:-1])


class RedisServer:
    """A private redis-server on a free loopback port (as tests/conftest.py starts one)."""

    def __enter__(self) -> str:
        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not on PATH (apt-get install redis-server)")
        port = free_port()
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis.from_url(self.url).ping():
                    return self.url
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def run_child(script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run `script` (a benchmark in child mode) and return the JSON it prints last."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
                   **(env or {})}
    done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, env=environment,
                          cwd=REPO_ROOT, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"{Path(script).name} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def sizes(text: str) -> list[int]:
    """`1000,10000` -> [1000, 10000]."""
    return [int(part) for part in text.split(",") if part.strip()]


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive slices of `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def send_events(port: int, ticket_ids: list[int], secret: str = WEBHOOK_SECRET) -> float:
    """Deliver one signed Zammad default payload per ticket to the receiver on `port`
    (SENDERS keep-alive senders, each building its bodies as it goes); seconds taken."""
    template = json.loads(PAYLOAD_FILE.read_text())
    failures: list[str] = []

    def sender(batch: list[int]) -> None:
        document = json.loads(json.dumps(template))  # each sender edits its own copy
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for ticket_id in batch:
            document["ticket"]["id"] = ticket_id
            body = json.dumps(document).encode()
            conn.request("POST", WEBHOOK_PATH, body=body, headers={
                "Content-Type": "application/json; charset=utf-8", "X-Zammad-Delivery": f"bench-{ticket_id}",
                "X-Hub-Signature": signature_for(secret.encode(), body),
            })  # fmt: skip
            answer = conn.getresponse()
            answer.read()
            if answer.status != 202:
                failures.append(f"ticket {ticket_id}: {answer.status}")
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(batch,))
               for batch in chunks(ticket_ids, -(-len(ticket_ids) // SENDERS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"the receiver refused {len(failures)} event(s): {failures[:5]}")
    return time.perf_counter() - started
