"""`/readyz` never takes longer than a probe waits (Kubernetes' default `timeoutSeconds: 1`).

With Zammad hung (a real listening socket that accepts and reads but never answers), the
receiver answers every probe within a second from the last known state, while one
background check at a time refreshes it; webhook deliveries are unaffected.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from webhooks.app import WEBHOOK_PATH, signature_for
from webhooks.server import create_receiver_server
from zammad_sla_plugin.runtime.readiness import IN_PROGRESS, CachedCheck
from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.twin.server import serve_until_stopped

PROBE_TIMEOUT = 1.0  # seconds: Kubernetes' default, and what deploy/kubernetes/zammad-sla.yaml sets
SECRET = "readiness-secret"


def wait_for(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.01)
    return predicate()


class SwitchableZammad:
    """A TCP front for the twin: `up` forwards each connection to it; `hung` accepts
    connections, reads what comes and never answers (the socket stays open until the
    caller gives up). Counts the hung connections open at once."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.hung = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open_hung = 0
        self.most_hung_at_once = 0
        self.hung_connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            handler = self._hang if self.hung else self._forward
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    def _hang(self, conn: socket.socket, upstream: socket.socket | None = None) -> None:
        with self.lock:
            self.open_hung += 1
            self.hung_connections += 1
            self.most_hung_at_once = max(self.most_hung_at_once, self.open_hung)
        conn.settimeout(0.1)
        with conn:
            while not self._stop.is_set():
                try:
                    if not conn.recv(65536):
                        break  # the client gave up and closed
                except socket.timeout:
                    continue
                except OSError:
                    break
        if upstream is not None:
            upstream.close()
        with self.lock:
            self.open_hung -= 1

    def _forward(self, conn: socket.socket) -> None:
        # Requests from the client go to the twin until Zammad "hangs": from then on this
        # (kept-alive) connection swallows requests too, as a hung Zammad's would.
        upstream = socket.create_connection(self.target)

        def back() -> None:
            try:
                while data := upstream.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

        threading.Thread(target=back, daemon=True).start()
        try:
            while not self.hung:
                conn.settimeout(0.05)
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    conn.close()
                    upstream.close()
                    return
                if self.hung:
                    break
                upstream.sendall(data)
        except OSError:
            conn.close()
            upstream.close()
            return
        self._hang(conn, upstream)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()


@pytest.fixture
def zammad() -> Iterator[tuple[TwinServer, SwitchableZammad]]:
    with TwinServer(token="ready-token", time_scale=0.001) as twin:
        front = SwitchableZammad((twin.host, twin.port))
        try:
            yield twin, front
        finally:
            front.close()


def _probe(base: str) -> tuple[int, dict[str, object], float]:
    began = time.monotonic()
    response = requests.get(f"{base}/readyz", timeout=PROBE_TIMEOUT)
    return response.status_code, response.json(), time.monotonic() - began


def test_readyz_answers_within_a_second_while_zammad_hangs(tmp_path: Path, zammad: tuple[TwinServer, SwitchableZammad]) -> None:
    from zammad_sla_plugin.core.policy import load_policy
    from zammad_sla_plugin.runtime.settings import load_settings
    from zammad_sla_plugin.runtime.sidecar import Sidecar

    twin, front = zammad
    env = {"ZAMMAD_URL": f"http://127.0.0.1:{front.port}", "ZAMMAD_TOKEN": twin.token,
           "ZAMMAD_SLA_DATA_DIR": str(tmp_path), "ZAMMAD_SLA_WEBHOOK_SECRET": SECRET}
    sidecar = Sidecar(load_settings(env), load_policy(), readiness_ttl=0.05)
    server = create_receiver_server(sidecar.receiver(), "127.0.0.1", 0, threads=4)
    stopping = threading.Event()
    thread = threading.Thread(target=serve_until_stopped, args=(server, stopping), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        # Zammad answers: the first probe already waits for the (fast) check.
        status, document, took = _probe(base)
        assert (status, document) == (200, {"status": "ready", "problems": []}) and took < PROBE_TIMEOUT

        front.hung = True
        time.sleep(0.1)  # the known state is now older than the TTL: the next probe refreshes
        answers: list[tuple[int, dict[str, object], float]] = []
        lock = threading.Lock()

        def probe() -> None:
            answer = _probe(base)
            with lock:
                answers.append(answer)

        probes = [threading.Thread(target=probe) for _ in range(12)]
        for p in probes:
            p.start()
        for p in probes:
            p.join(5)
        assert len(answers) == 12 and all(took < PROBE_TIMEOUT for _, _, took in answers), answers
        # From the last known state: still ready, while one check hangs on Zammad.
        assert {(s, json.dumps(d, sort_keys=True)) for s, d, _ in answers} == {(200, '{"problems": [], "status": "ready"}')}
        assert wait_for(lambda: front.hung_connections >= 1, 5)

        # Deliveries are unaffected while the check hangs.
        body = json.dumps({"ticket": {"id": 42}}).encode()
        began = time.monotonic()
        delivery = requests.post(f"{base}{WEBHOOK_PATH}", data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-Hub-Signature": signature_for(SECRET.encode(), body),
            "X-Zammad-Delivery": "hung-1"})
        assert delivery.status_code == 202 and time.monotonic() - began < PROBE_TIMEOUT

        # Once the background check gives up (3 s read timeout), probes report it, still at once.
        def not_ready() -> bool:
            status, document, took = _probe(base)
            assert took < PROBE_TIMEOUT
            return status == 503
        assert wait_for(not_ready, 10)
        status, document, took = _probe(base)
        problems = document["problems"]
        assert status == 503 and isinstance(problems, list) and took < PROBE_TIMEOUT
        assert len(problems) == 1 and str(problems[0]).startswith("Zammad not reachable with our token"), problems
        assert front.most_hung_at_once == 1  # one background check at a time, however many probes

        # Zammad back: ready again.
        front.hung = False
        assert wait_for(lambda: _probe(base)[0] == 200, 10)
    finally:
        front.hung = False
        stopping.set()
        thread.join(5)


def test_a_fast_check_is_waited_for_and_a_slow_one_is_not() -> None:
    release = threading.Event()
    calls: list[int] = []

    def check() -> list[str]:
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)
        return [f"state {len(calls)}"]

    now = [0.0]
    cached = CachedCheck(check, ttl=10, clock=lambda: now[0], answer_within=0.2)
    assert cached() == ["state 1"]  # fast: the first probe gets the fresh answer
    now[0] = 11.0
    began = time.monotonic()
    assert cached() == ["state 1"]  # slow: the last known state, after at most answer_within
    assert time.monotonic() - began < 0.5 and cached.refreshing
    assert cached() == ["state 1"] and len(calls) == 2  # no second check while one runs
    release.set()
    assert wait_for(lambda: not cached.refreshing, 5)
    assert cached() == ["state 2"] and len(calls) == 2  # fresh for the TTL


def test_before_the_first_check_finishes_the_answer_is_in_progress() -> None:
    release = threading.Event()
    cached = CachedCheck(lambda: [] if release.wait(5) else ["never"], answer_within=0.05)
    assert cached() == [IN_PROGRESS]  # not ready, at once
    release.set()
    assert wait_for(lambda: cached() == [], 5)


def test_a_crashing_check_is_a_problem_with_its_reason() -> None:
    def crash() -> list[str]:
        raise RuntimeError("disk\nfull")

    cached = CachedCheck(crash)
    assert cached() == ["readiness check failed: RuntimeError: disk full"]


def test_the_manifests_readiness_probe_waits_one_second() -> None:
    yaml = pytest.importorskip("yaml")
    manifest = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes" / "zammad-sla.yaml"
    [deployment] = [d for d in yaml.safe_load_all(manifest.read_text()) if d and d.get("kind") == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    probe = container["readinessProbe"]
    assert probe["httpGet"]["path"] == "/readyz" and probe["timeoutSeconds"] == PROBE_TIMEOUT
    assert probe["periodSeconds"] >= CachedCheck(list).ttl  # a probe per kept answer, not more


def test_a_journal_that_cannot_reach_the_queue_makes_the_sidecar_not_ready(
    tmp_path: Path, zammad: tuple[TwinServer, SwitchableZammad]
) -> None:
    from zammad_sla_plugin.core.policy import load_policy
    from zammad_sla_plugin.runtime.settings import load_settings
    from zammad_sla_plugin.runtime.sidecar import Sidecar

    twin, front = zammad
    env = {"ZAMMAD_URL": f"http://127.0.0.1:{front.port}", "ZAMMAD_TOKEN": twin.token,
           "ZAMMAD_SLA_DATA_DIR": str(tmp_path), "ZAMMAD_SLA_WEBHOOK_SECRET": SECRET}
    sidecar = Sidecar(load_settings(env), load_policy())
    sidecar.receiver()  # opens the journal
    journal = sidecar.journal
    assert journal is not None

    def locked(events: object) -> object:
        raise OSError("database is locked")

    sidecar.queue.submit_many = locked  # type: ignore[method-assign,assignment]
    try:
        assert journal.submit(5, "stuck-1") is True  # acknowledged: it is in the journal
        assert wait_for(lambda: journal.failing_since is not None, 5)
        assert sidecar._check_readiness() == []  # a moment's failure is no reason to go unready
        journal.failing_since = time.time() - 60
        problems = sidecar._check_readiness()
        assert len(problems) == 1 and "webhook deliveries acknowledged but not queued for 60s: 1" in problems[0], problems
        assert "database is locked" in problems[0] and sidecar.busy()
    finally:
        del sidecar.queue.submit_many  # the real one again: the close queues the delivery
        sidecar.close_journal()
    assert sidecar.queue.submit(5, "stuck-1") is False


def test_no_journal_where_the_queue_itself_is_as_durable_as_the_answer_must_be(tmp_path: Path) -> None:
    from zammad_sla_plugin.core.policy import load_policy
    from zammad_sla_plugin.runtime.settings import load_settings
    from zammad_sla_plugin.runtime.sidecar import Sidecar

    env = {"ZAMMAD_URL": "http://127.0.0.1:9", "ZAMMAD_TOKEN": "t" * 20, "ZAMMAD_SLA_DATA_DIR": str(tmp_path),
           "ZAMMAD_SLA_WEBHOOK_SECRET": SECRET, "ZAMMAD_SLA_QUEUE_FSYNC": "on"}
    sidecar = Sidecar(load_settings(env), load_policy())
    assert sidecar.journal is None and sidecar.open_journal() == sidecar.queue.submit
