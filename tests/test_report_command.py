"""`zammad-sla report` end to end against the Zammad twin, seeded through its REST API.

The twin's clock is set (POST /_twin/clock) before every step, so tickets are created,
assigned and closed at known instants. Default Aivo policy: Mon-Fri 09:00-18:00 Buenos Aires
(UTC-3); high = 2 h / 8 h, medium = 4 h / 45 h, business time. Mon 2 March 2026 09:00 local
is 12:00 UTC.

The seeded tickets and what the March 2026 report must say about them (hand-computed):

    T1 Acme high    assigned +1 h, closed +4 h                     FR met     res met
    T2 Acme high    assigned +3 h, closed Tue 12:00 local (12 h)   FR failed  res failed
    T3 Zeta high    assigned +30 min, never closed                 FR met     res failed (breached, open)
    T4 Acme normal  assigned +1 h, closed +2 h (medium)            FR met     res met
    T5 Acme high    sla_origin=customer with evidence, closed +1 h excluded
    T6 Zeta low     sla_kind=feature_request                       not applicable
    T7 Acme high    created Wed 25 Feb, assigned +30 min, closed   FR met     res failed (28 h)
                    Mon 2 Mar 10:00 local: in the report, month 2026-02
    T8 Acme high    created and closed in February                 not in the report
    T9 Acme high    created 2 April                                not in the report
    T10 Acme high   created 10 Feb, edited 5 March, still open     not in the report
    T11 Acme "5 odd" a priority the policy does not map            listed under errors, in no figure
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from click.testing import CliRunner, Result

from zammad_sla_plugin.cli import main
from zammad_sla_plugin.twin import TwinServer

TOKEN = "report-token"


class Seeder:
    """Drives the twin over HTTP: its clock and the REST API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token token={TOKEN}"

    def at(self, when: str) -> "Seeder":
        response = self.session.post(f"{self.url}/_twin/clock", json={"set": when, "frozen": True}, timeout=5)
        assert response.status_code == 200, response.text
        return self

    def call(self, method: str, path: str, **payload: Any) -> dict[str, Any]:
        response = self.session.request(method, f"{self.url}/api/v1{path}", json=payload, timeout=5)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def ticket(self, org_id: int, priority: str = "3 high", **extra: Any) -> int:
        created = self.call("POST", "/tickets", title=extra.pop("title", "Integration down"), group="Users",
                            customer_id="guess:buyer@example.com", organization_id=org_id, priority=priority,
                            article={"body": "help", "type": "email", "sender": "Customer"}, **extra)
        return int(created["id"])

    def update(self, ticket_id: int, **fields: Any) -> None:
        self.call("PUT", f"/tickets/{ticket_id}", **fields)


def seed(twin: TwinServer) -> dict[str, int]:
    """The tickets of the module docstring, created in chronological order."""
    api = Seeder(twin.url).at("2026-02-01T12:00:00Z")
    for name in ("sla_origin", "sla_kind", "sla_origin_evidence"):
        api.call("POST", "/object_manager_attributes", name=name, object="Ticket", display=name, active=True,
                 data_type="input", data_option={"type": "text", "maxlength": 50})
    api.call("POST", "/object_manager_attributes_execute_migrations")
    assert twin.wait_until_up()  # Zammad restarts to apply migrations
    api.call("POST", "/ticket_priorities", name="5 odd")
    acme = int(api.call("POST", "/organizations", name="Acme")["id"])
    zeta = int(api.call("POST", "/organizations", name="Zeta")["id"])
    ids: dict[str, int] = {}
    ids["T10"] = api.at("2026-02-10T12:00:00Z").ticket(acme)
    ids["T8"] = api.at("2026-02-20T12:00:00Z").ticket(acme)
    api.at("2026-02-27T12:00:00Z").update(ids["T8"], state="closed")
    ids["T7"] = api.at("2026-02-25T12:00:00Z").ticket(acme)
    api.at("2026-02-25T12:30:00Z").update(ids["T7"], owner_id=4, state="open")
    api.at("2026-03-02T12:00:00Z")
    ids["T1"] = api.ticket(acme, title="Widget broken")
    ids["T2"] = api.ticket(acme)
    ids["T3"] = api.ticket(zeta)
    ids["T4"] = api.ticket(acme, priority="2 normal")
    ids["T5"] = api.ticket(acme, sla_origin="customer", sla_origin_evidence="Their proxy dropped our calls")
    ids["T6"] = api.ticket(zeta, priority="1 low", sla_kind="feature_request")
    ids["T11"] = api.ticket(acme, priority="5 odd")
    api.at("2026-03-02T12:30:00Z").update(ids["T3"], owner_id=5, state="open")
    api.at("2026-03-02T13:00:00Z")
    api.update(ids["T1"], owner_id=4, state="open")
    api.update(ids["T4"], owner_id=4, state="open")
    api.update(ids["T5"], state="closed")
    api.update(ids["T7"], state="closed")
    api.at("2026-03-02T14:00:00Z").update(ids["T4"], state="closed")
    api.at("2026-03-02T15:00:00Z").update(ids["T2"], owner_id=5, state="open")
    api.at("2026-03-02T16:00:00Z").update(ids["T1"], state="closed")
    api.at("2026-03-03T15:00:00Z").update(ids["T2"], state="closed")
    api.at("2026-03-05T12:00:00Z").update(ids["T10"], title="Still broken")
    ids["T9"] = api.at("2026-04-02T12:00:00Z").ticket(acme)
    return ids


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, time_scale=0.001, now=datetime(2026, 2, 1, 12, tzinfo=timezone.utc),
                    frozen=True) as server:
        server.ids = seed(server)  # type: ignore[attr-defined]
        yield server


def run(twin: TwinServer | None, *args: str, env: dict[str, str] | None = None) -> Result:
    environment = {"ZAMMAD_URL": twin.url if twin else "", "ZAMMAD_TOKEN": TOKEN, "ZAMMAD_SLA_CONFIG": ""}
    environment.update(env or {})
    return CliRunner().invoke(main, ["report", *args], env=environment)


MARCH = ("--from", "2026-03-01", "--to", "2026-04-01")


def group(groups: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(g for g in groups if g["key"] == key)


def test_json_report_figures(twin: TwinServer) -> None:
    result = run(twin, *MARCH, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    ids = twin.ids  # type: ignore[attr-defined]
    assert sorted(t["id"] for t in doc["tickets"]) == sorted(ids[n] for n in ("T1", "T2", "T3", "T4", "T5", "T6", "T7"))
    totals = doc["totals"]
    assert (totals["tickets"], totals["in_scope"], totals["excluded"], totals["not_applicable"]) == (7, 5, 1, 1)
    assert totals["first_response"] == {"met": 4, "failed": 1, "pending": 0, "met_pct": 80.0}
    assert totals["resolution"] == {"met": 2, "failed": 3, "pending": 0, "met_pct": 40.0}
    assert totals["breached_open"] == 1
    # assignment 0.5, 0.5, 1, 1, 3 h; resolution 2, 4, 12, 28 h (working hours)
    assert totals["time_to_assignment_hours"] == {"count": 5, "median": 1.0, "p90": 3.0}
    assert totals["time_to_resolution_hours"] == {"count": 4, "median": 8.0, "p90": 28.0}
    high = group(doc["by_severity"], "high")
    assert (high["tickets"], high["in_scope"], high["excluded"]) == (5, 4, 1)
    assert high["first_response"]["met_pct"] == 75.0 and high["resolution"]["met_pct"] == 25.0
    assert group(doc["by_severity"], "medium")["resolution"]["met_pct"] == 100.0
    low = group(doc["by_severity"], "low")
    assert (low["not_applicable"], low["resolution"]["met_pct"]) == (1, None)
    assert [g["key"] for g in doc["by_severity"]] == ["high", "medium", "low"]
    acme, zeta = group(doc["by_organization"], "Acme"), group(doc["by_organization"], "Zeta")
    assert (acme["first_response"]["met_pct"], acme["resolution"]["met_pct"]) == (75.0, 50.0)
    assert (zeta["tickets"], zeta["resolution"]["met_pct"], zeta["breached_open"]) == (2, 0.0, 1)
    assert [(g["key"], g["tickets"]) for g in doc["by_month"]] == [("2026-02", 1), ("2026-03", 6)]
    t3 = next(t for t in doc["tickets"] if t["id"] == ids["T3"])
    assert t3["breached_open"] and t3["closed_at"] is None and t3["evaluated_at"] == "2026-04-01T03:00:00Z"
    t2 = next(t for t in doc["tickets"] if t["id"] == ids["T2"])
    assert t2["closed_at"] == "2026-03-03T15:00:00Z" and t2["time_to_resolution_hours"] == 12.0
    assert doc["report"]["organization"] is None
    assert [e["ticket_id"] for e in doc["errors"]] == [ids["T11"]] and "'5 odd'" in doc["errors"][0]["error"]
    assert f"ticket {ids['T11']} skipped" in result.stderr
    assert "fetching history" in result.stderr  # the progress bar went to stderr


@pytest.mark.parametrize("concurrency", ["1", "5"])
def test_same_report_at_any_concurrency(twin: TwinServer, concurrency: str) -> None:
    reference = json.loads(run(twin, *MARCH, "--format", "json", "--no-progress").stdout)
    result = run(twin, *MARCH, "--format", "json", "--no-progress", "--concurrency", concurrency)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    for document in (doc, reference):
        document["report"].pop("generated_at")
    assert doc == reference


def test_organization_filter(twin: TwinServer) -> None:
    result = run(twin, *MARCH, "--organization", "zeta", "--format", "json", "--no-progress")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["report"]["organization"] == "zeta"
    assert {t["organization"] for t in doc["tickets"]} == {"Zeta"}
    assert doc["totals"]["tickets"] == 2 and doc["totals"]["resolution"]["met_pct"] == 0.0
    assert doc["totals"]["not_applicable"] == 1 and result.stderr == ""


def test_csv_report_to_file(twin: TwinServer, tmp_path: Path) -> None:
    target = tmp_path / "march.csv"
    result = run(twin, *MARCH, "--format", "csv", "--output", str(target), "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and str(target) in result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    keys = [(row["scope"], row["key"]) for row in rows]
    assert keys == [("total", "total"), ("severity", "high"), ("severity", "medium"), ("severity", "low"),
                    ("organization", "Acme"), ("organization", "Zeta"), ("month", "2026-02"), ("month", "2026-03")]
    total = rows[0]
    assert (total["tickets"], total["resolution_met_pct"], total["first_response_met_pct"]) == ("7", "40.0", "80.0")
    assert (total["time_to_resolution_median_hours"], total["time_to_resolution_p90_hours"]) == ("8.0", "28.0")
    low = rows[3]
    assert low["resolution_met_pct"] == "" and low["not_applicable"] == "1"  # n/a is empty, not 0


def test_html_report_is_self_contained(twin: TwinServer, tmp_path: Path) -> None:
    target = tmp_path / "march.html"
    result = run(twin, *MARCH, "--format", "html", "--output", str(target), "--no-progress")
    assert result.exit_code == 0, result.stderr
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for chart in ("first_response-by-month", "resolution-by-month", "resolution-vs-target"):
        assert f'data-chart="{chart}"' in page
    assert "http://" not in page and "https://" not in page and "<script" not in page and "<link" not in page
    assert "Breached tickets that are still open count as failed" in page
    assert "left out of the percentages" in page and "neither met nor failed" in page
    assert "40.0 %" in page and "80.0 %" in page and "Mon-Fri 09:00-18:00" in page
    assert page.count('class="dot"') == 5  # decided resolutions: T1 T2 T3 T4 T7
    assert "Widget broken" in page
    assert "Tickets that could not be evaluated" in page and "5 odd" in page


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "2026-03-01", "--to", "2026-03-01"), "must be after --from"),
    (("--from", "2026-04-01", "--to", "2026-03-01"), "must be after --from"),
    (("--from", "2026-13-01", "--to", "2026-04-01"), "is not a date"),
    (("--from", "yesterday", "--to", "2026-04-01"), "is not a date"),
    (("--to", "2026-04-01"), "Missing option '--from'"),
    ((*MARCH, "--format", "pdf"), "Invalid value for '--format'"),
    ((*MARCH, "--organization", " "), "must not be empty"),
    ((*MARCH, "--concurrency", "0"), "Invalid value for '--concurrency'"),
    ((*MARCH, "--concurrency", "33"), "Invalid value for '--concurrency'"),
])  # fmt: skip
def test_bad_arguments_exit_2(args: tuple[str, ...], message: str) -> None:
    result = run(None, *args, env={"ZAMMAD_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_settings_exit_2() -> None:
    result = run(None, *MARCH, env={"ZAMMAD_URL": "", "ZAMMAD_TOKEN": ""})
    assert result.exit_code == 2
    assert "ZAMMAD_URL" in result.stderr and "ZAMMAD_TOKEN" in result.stderr


def test_zammad_error_exit_1(twin: TwinServer) -> None:
    result = run(twin, *MARCH, "--no-progress", env={"ZAMMAD_TOKEN": "wrong"})
    assert result.exit_code == 1
    assert "cannot read from Zammad" in result.stderr and result.stdout == ""
