"""The per-ticket explanation: every counted and excluded interval, labelled."""

from __future__ import annotations

import json
from datetime import datetime

from click.testing import CliRunner

from tests.sla_builders import history, owner_change, state_change, ticket
from zammad_sla_plugin.cli import main
from zammad_sla_plugin.core.explain import explain, explain_text
from zammad_sla_plugin.core.policy import load_policy

POLICY = load_policy()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_nights_weekends_and_holidays_by_name() -> None:
    # Low ticket, Fri 2026-03-20 17:00 local; Mon 23 and Tue 24 March are holidays.
    out = explain(ticket("2026-03-20T20:00:00Z", priority="1 low"), history(), None, at("2026-03-25T14:00:00Z"), POLICY)
    resolution = out["clocks"]["resolution"]
    assert [(e["from"], e["to"], e["reason"]) for e in resolution["excluded"]] == [
        ("2026-03-20T21:00:00Z", "2026-03-21T03:00:00Z", "outside working hours"),
        ("2026-03-21T03:00:00Z", "2026-03-23T03:00:00Z", "weekend"),
        ("2026-03-23T03:00:00Z", "2026-03-24T03:00:00Z", "holiday: Bridge Public Holiday"),
        ("2026-03-24T03:00:00Z", "2026-03-25T03:00:00Z", "holiday: National Day of Remembrance for Truth and Justice"),
        ("2026-03-25T03:00:00Z", "2026-03-25T12:00:00Z", "outside working hours"),
    ]
    assert [(c["from"], c["to"], c["minutes"]) for c in resolution["counted"]] == [
        ("2026-03-20T20:00:00Z", "2026-03-20T21:00:00Z", 60),
        ("2026-03-25T12:00:00Z", "2026-03-25T14:00:00Z", 120),
    ]
    # counted + excluded cover [created, now) exactly
    total = sum(c["minutes"] for c in resolution["counted"]) + sum(e["minutes"] for e in resolution["excluded"])
    assert total == (at("2026-03-25T14:00:00Z") - at("2026-03-20T20:00:00Z")).total_seconds() / 60
    assert sum(p["minutes"] for p in resolution["projected"]) == 2700 - 180
    assert resolution["due_at"] == "2026-03-31T20:00:00Z"
    assert resolution["due_at_local"] == "2026-03-31T17:00:00-03:00"
    assert out["severity"]["priority"] == "1 low" and out["severity"]["severity"] == "low"


def test_pauses_and_closed_spans_are_excluded_with_the_state() -> None:
    hist = history(
        owner_change("2026-03-10T13:30:00Z", 1, 5),
        state_change("2026-03-10T14:00:00Z", "open", "pending reminder"),
        state_change("2026-03-10T15:00:00Z", "pending reminder", "open"),
        state_change("2026-03-10T16:00:00Z", "open", "closed"),
    )
    out = explain(ticket("2026-03-10T13:00:00Z", owner_id=5, state="closed"), hist, None, at("2026-03-10T18:00:00Z"), POLICY)
    resolution = out["clocks"]["resolution"]
    assert [(e["from"], e["reason"]) for e in resolution["excluded"]] == [
        ("2026-03-10T14:00:00Z", "paused: state pending reminder"),
        ("2026-03-10T16:00:00Z", "closed: state closed"),
    ]
    assert resolution["counted_minutes"] == 120 and resolution["paused_minutes"] == 60
    first = out["clocks"]["first_response"]
    assert first["counted"] == [{"from": "2026-03-10T13:00:00Z", "to": "2026-03-10T13:30:00Z", "minutes": 30}]
    assert first["excluded"] == []
    assert first["met_at"] == "2026-03-10T13:30:00Z"


def test_24x7_conditions_say_which_one_decided() -> None:
    org = {"id": 7, "sla_24x7_integrations": True}
    out = explain(ticket("2026-03-10T13:00:00Z", sla_integration="aivo_built"), history(), org, at("2026-03-10T13:00:00Z"), POLICY)
    support = out["support_24x7"]
    assert support["applies"] is False
    assert [c["met"] for c in support["conditions"]] == [True, True, True, False]
    assert support["conditions"][-1]["condition"] == "created outside working hours"


def test_feature_request_explains_its_scope() -> None:
    out = explain(ticket("2026-03-10T13:00:00Z", sla_kind="feature_request"), history(), None, at("2026-03-11T13:00:00Z"), POLICY)
    assert "out of the SLA scope" in out["scope"]
    assert "clocks" not in out
    assert "out of the SLA scope" in explain_text(out)


def test_compute_explain_prints_local_intervals() -> None:
    item = {"ticket": ticket("2026-03-20T20:00:00Z", priority="1 low"), "history": history(), "now": "2026-03-25T14:00:00Z"}
    result = CliRunner().invoke(main, ["compute", "--explain"], input=json.dumps(item))
    assert result.exit_code == 0, result.output
    assert "excluded Mon 2026-03-23 00:00 -> Tue 2026-03-24 00:00  1440 min  holiday: Bridge Public Holiday" in result.stdout
    assert "due 2026-03-31T17:00:00-03:00 (2026-03-31T20:00:00Z)" in result.stdout
