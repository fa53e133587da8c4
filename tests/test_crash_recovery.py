"""What a crash leaves behind never holds a ticket back, and per-ticket keys of tickets
that are gone are pruned (in-process stack: twin + sidecar over loopback HTTP)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.e2e_support import after, expect, mismatches, wait_until
from zammad_sla_plugin.demo.local_stack import LocalStack
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.core.times import format_utc

POLICY = load_policy()


def now() -> datetime:
    return datetime.now(timezone.utc)


def test_reconcile_is_never_blocked_by_an_orphaned_marker(tmp_path: Path) -> None:
    with LocalStack(POLICY, tmp_path / "data") as stack:
        ticket = stack.create_ticket("Raised after a crash", "2 normal")
        ticket_id = int(ticket["id"])
        wait_until(lambda: stack.sidecar.recorded_next_check(ticket_id) is not None, timeout=20)
        # A killed process left a marker with no task; the raise to blocker is delivered
        # and coalesces into that marker, so only the reconcile can put it right.
        stack.sidecar.huey.put(f"pending:{ticket_id}", time.time())
        stack.agent.update_ticket(ticket_id, {"priority": "4 blocker"})
        stack.twin.wait_for_deliveries(10)
        assert stack.sidecar.reconcile() >= 1
        # Blocker runs on the 24x7 clock from creation: 60 and 360 minutes, known by hand.
        wanted = {ticket_id: expect(after(ticket, 60), after(ticket, 360))}
        wait_until(lambda: not mismatches(stack.admin, wanted, POLICY), timeout=20)
        assert stack.admin.get_ticket(ticket_id)["priority"] == "4 blocker"


def test_next_check_keys_of_vanished_tickets_are_pruned(tmp_path: Path) -> None:
    with LocalStack(POLICY, tmp_path / "data") as stack:
        ticket_id = int(stack.create_ticket("Still open", "3 high")["id"])
        wait_until(lambda: stack.sidecar.recorded_next_check(ticket_id) is not None, timeout=20)
        huey, past = stack.sidecar.huey, format_utc(now() - timedelta(hours=1))
        huey.put("sla-next:999998", past)  # a ticket deleted in Zammad, overdue
        stack.sidecar.reconcile()
        assert huey.get("sla-next:999998", peek=True) is None
        assert stack.sidecar.recorded_next_check(ticket_id) is not None  # open tickets keep theirs
        huey.put("sla-next:999999", past)
        stack.sidecar._evaluate(999999)  # its check fires: Zammad says 404
        assert huey.get("sla-next:999999", peek=True) is None
