"""`zammad-sla import-zammad-slas` end to end: the twin holds Zammad SLAs and calendars, the CLI
reads them over REST and writes a policy file."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner, Result

from tests.admin_support import TOKEN, api
from zammad_sla_plugin.cli import main
from zammad_sla_plugin.core.policy import default_policy_text
from zammad_sla_plugin.twin import TwinServer

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def hours(*frames: list[str]) -> dict[str, Any]:
    return {d: {"active": d in WEEKDAYS, "timeframes": [list(f) for f in frames]} for d in (*WEEKDAYS, "sat", "sun")}


def seed(twin: TwinServer) -> dict[str, int]:
    """Two calendars (one with a lunch break and a holiday) and two SLAs, through Zammad's API."""
    brasil = api(twin, "POST", "calendars", 201, json={
        "name": "Brasil", "timezone": "America/Sao_Paulo", "business_hours": hours(["09:00", "12:00"], ["13:00", "18:00"]),
        "public_holidays": {"2026-04-21": {"active": True, "summary": "Tiradentes"},
                            "2026-05-01": {"active": False, "summary": "Dia do Trabalhador"}},
    })
    berlin = api(twin, "POST", "calendars", 201, json={
        "name": "Berlin", "timezone": "Europe/Berlin", "business_hours": hours(["08:00", "16:00"]), "public_holidays": {},
    })
    gold = api(twin, "POST", "slas", 201, json={
        "name": "Gold BR", "calendar_id": brasil["id"], "first_response_time": 120, "solution_time": 600, "update_time": 90,
        "condition": {"ticket.priority_id": {"operator": "is", "value": ["3"]}},
    })
    standard = api(twin, "POST", "slas", 201, json={
        "name": "Standard", "calendar_id": berlin["id"], "first_response_time": 240, "solution_time": 960, "condition": {},
    })
    return {"brasil": brasil["id"], "berlin": berlin["id"], "gold": gold["id"], "standard": standard["id"]}


@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, time_scale=0.001) as server:
        yield server


def run(twin: TwinServer, *args: str, token: str = TOKEN) -> Result:
    env = {"ZAMMAD_URL": twin.url, "ZAMMAD_TOKEN": token, "ZAMMAD_TOKEN_FILE": None, "ZAMMAD_SLA_CONFIG": None}
    result = CliRunner().invoke(main, ["import-zammad-slas", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_writes_the_default_policy_with_both_slas_as_contracts(twin: TwinServer, tmp_path: Path) -> None:
    ids = seed(twin)
    out = tmp_path / "policy.toml"
    result = run(twin, "--output", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith(default_policy_text())
    data = tomllib.loads(text)
    gold, standard = data["contracts"]
    assert gold["name"] == "Gold BR" and gold["match"] == {"severity": ["high"]}
    assert gold["calendar"] == {
        "timezone": "America/Sao_Paulo", "holidays_country": "", "holidays_subdiv": "", "closed_dates": ["2026-04-21"],
        "coverage": "business", "hours": {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in WEEKDAYS},
    }
    assert gold["severities"]["high"] == {"clock": "business", "first_response_minutes": 120, "resolution_minutes": 600}
    assert standard["name"] == "Standard" and "match" not in standard
    assert standard["calendar"]["timezone"] == "Europe/Berlin" and standard["calendar"]["hours"]["mon"] == [["08:00", "16:00"]]
    assert standard["severities"]["medium"] == {"clock": "business", "first_response_minutes": 240, "resolution_minutes": 960}
    assert f"# Zammad SLA #{ids['gold']} 'Gold BR'" in text and f"# calendar: Zammad calendar #{ids['brasil']} 'Brasil'" in text
    # what cannot be expressed is printed and written next to its contract
    for fragment in ("update_time = 90 min not imported", "2026-05-01 Dia do Trabalhador", "first agent reply"):
        assert fragment in result.stderr and fragment in text, fragment
    assert "2 Zammad SLA(s) -> 2 contract(s) written to" in result.stderr
    # the loader's own view of the file: Zammad's fallback SLA takes the place of the default contract
    assert "warning: the written policy: the default contract 'default' is never used: 'Standard'" in result.stderr
    assert "error:" not in result.stderr


def test_appends_to_the_config_policy_and_writes_stdout(twin: TwinServer, tmp_path: Path) -> None:
    seed(twin)
    config = tmp_path / "mine.toml"
    config.write_text(default_policy_text().replace("warning_threshold = 0.8", "warning_threshold = 0.7"), encoding="utf-8")
    result = run(twin, "--config", str(config), "-o", "-")
    assert result.exit_code == 0, result.output
    data = tomllib.loads(result.stdout)
    assert data["warning_threshold"] == 0.7 and [c["name"] for c in data["contracts"]] == ["Gold BR", "Standard"]


def test_never_overwrites_without_force(twin: TwinServer, tmp_path: Path) -> None:
    seed(twin)
    out = tmp_path / "policy.toml"
    out.write_text("keep me", encoding="utf-8")
    result = run(twin, "--output", str(out))
    assert result.exit_code == 2
    assert "exists; pass --force" in result.stderr and out.read_text(encoding="utf-8") == "keep me"
    assert not [r for r in twin.context.requests.since(0) if r["method"] == "GET"]  # refused before asking Zammad
    forced = run(twin, "--output", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert "[[contracts]]" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.toml"]  # no temporary file left behind


def test_output_is_required(twin: TwinServer) -> None:
    result = run(twin)
    assert result.exit_code == 2 and "--output" in result.output


def test_a_token_without_admin_sla_fails_and_writes_nothing(tmp_path: Path) -> None:
    with TwinServer(token=TOKEN, time_scale=0.001, api_permissions=["ticket.agent", "admin.calendar"]) as twin:
        out = tmp_path / "policy.toml"
        result = run(twin, "--output", str(out))
    assert result.exit_code == 1
    assert "cannot read Zammad's SLAs and calendars" in result.stderr and "Not authorized" in result.stderr
    assert not out.exists()


def test_no_slas_writes_the_policy_alone(twin: TwinServer, tmp_path: Path) -> None:
    out = tmp_path / "policy.toml"
    result = run(twin, "--output", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "Zammad has no SLAs" in text and "contracts" not in tomllib.loads(text)


def test_the_imported_policy_computes_the_deadlines_zammad_would(twin: TwinServer, tmp_path: Path) -> None:
    """Round trip: the written file, loaded back, gives the escalation times Zammad computes from its
    SLAs (lib/escalation.rb: biz.time(minutes, :minutes).after(created_at) on the SLA's calendar,
    active public holidays closed). The expected instants are worked out by hand below."""
    from tests.sla_builders import history, ticket
    from zammad_sla_plugin.core.clock import evaluate
    from zammad_sla_plugin.core.policy import load_policy

    seed(twin)
    out = tmp_path / "policy.toml"
    assert run(twin, "--output", str(out)).exit_code == 0
    policy = load_policy(out)

    def due(created_at: str, priority: str) -> tuple[str | None, str | None, str | None]:
        result = evaluate(ticket(created_at, priority=priority), history(), None,
                          datetime.fromisoformat(created_at.replace("Z", "+00:00")), policy).to_dict()
        return result["contract"], result["first_response"]["due_at"], result["resolution"]["due_at"]

    # "Gold BR" (priority 3 high): calendar Brasil, America/Sao_Paulo (UTC-3), Mon-Fri 09-12 + 13-18,
    # Tue 2026-04-21 (Tiradentes) closed; first_response_time 120, solution_time 600.
    # Created Mon 04-20 16:30 local (19:30Z). First response: Mon 16:30-18:00 = 90, Tue closed,
    # Wed 09:00 + 30 -> Wed 09:30 local = 12:30Z. Solution: 90 Mon + Wed 09-12 (180) + 13-18 (300) = 570,
    # Thu 09:00 + 30 -> Thu 09:30 local = 12:30Z.
    assert due("2026-04-20T19:30:00Z", "3 high") == ("Gold BR", "2026-04-22T12:30:00Z", "2026-04-23T12:30:00Z")
    # Created Thu 04-23 11:30 local (14:30Z), across the lunch break. First response: 11:30-12:00 = 30,
    # 13:00 + 90 -> 14:30 local = 17:30Z. Solution: 30 + Thu 13-18 (300) + Fri 09-12 (180) = 510,
    # Fri 13:00 + 90 -> Fri 14:30 local = 17:30Z.
    assert due("2026-04-23T14:30:00Z", "3 high") == ("Gold BR", "2026-04-23T17:30:00Z", "2026-04-24T17:30:00Z")
    # "Standard" (no condition: Zammad's fallback for every other ticket): calendar Berlin, Europe/Berlin
    # (CEST, UTC+2), Mon-Fri 08-16; first_response_time 240, solution_time 960.
    # Created Fri 04-24 15:00 local (13:00Z). First response: Fri 15-16 = 60, Mon 04-27 08:00 + 180 ->
    # 11:00 local = 09:00Z. Solution: 60 Fri + 480 Mon = 540, Tue 04-28 08:00 + 420 -> 15:00 local = 13:00Z.
    assert due("2026-04-24T13:00:00Z", "2 normal") == ("Standard", "2026-04-27T09:00:00Z", "2026-04-28T13:00:00Z")


def test_a_written_policy_the_loader_refuses_is_reported() -> None:
    from zammad_sla_plugin.cli.import_slas import _load_check

    problems, warnings = _load_check(default_policy_text() + '\n[[contracts]]\nname = "ops@acme"\n')
    assert warnings == [] and len(problems) == 1 and "'ops@acme'" in problems[0]


def test_contracts_already_in_the_config_keep_their_names(twin: TwinServer, tmp_path: Path) -> None:
    seed(twin)
    config = tmp_path / "mine.toml"
    config.write_text(default_policy_text() + '\n[[contracts]]\nname = "Gold BR"\n[contracts.match]\ntag = ["gold"]\n', encoding="utf-8")
    result = run(twin, "--config", str(config), "-o", "-")
    assert result.exit_code == 0, result.output
    assert [c["name"] for c in tomllib.loads(result.stdout)["contracts"]] == ["Gold BR", "Gold BR (2)", "Standard"]


def test_an_unwritable_output_is_a_clear_error(twin: TwinServer, tmp_path: Path) -> None:
    result = run(twin, "--output", str(tmp_path / "missing-dir" / "policy.toml"))
    assert result.exit_code == 1 and "cannot write" in result.stderr and "No such file or directory" in result.stderr
