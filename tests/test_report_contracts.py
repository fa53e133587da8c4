"""The compliance report by contract (issue 17, item 4), on tickets whose figures are computed by hand.

Policy: the default (Aivo) policy with `zammad_sla_plugin/examples/contracts.toml` appended:
"Gold 24x7" (tag gold; high 30 min / 4 h, medium 1 h / 24 h, every minute counts), "Brasil"
(organization Loja Brasil; Mon-Fri 08-12 + 13-17 Sao Paulo, the default targets: high 2 h / 8 h),
"Acme Argentina" (organization Acme Argentina; the default terms, from 2026-03-01 high 1 h / 6 h
working time) and the default contract (Mon-Fri 09-18 Buenos Aires, high 2 h / 8 h). Buenos
Aires and Sao Paulo are both UTC-3, so local 09:00 = 12:00Z in both.

Period: local dates 2026-02-23 to 2026-03-07 (the end is Sat 7 March 03:00Z). The tickets:

    A1 Acme Argentina high, Fri 27 Feb 09:00, assigned 10:30, closed 16:00: original terms (2 h / 8 h)
       -> first response met (1.5 h), resolution met (7 h)
    A2 Acme Argentina high, Mon 2 Mar 09:00, the same timings: version 2026-03-01 (1 h / 6 h)
       -> first response failed (1.5 h > 1 h), resolution failed (7 h > 6 h)
    B1 Loja Brasil high, Mon 2 Mar 08:00 SP, assigned 09:30, closed Tue 3 Mar 12:30 SP
       -> first response met (1.5 h); resolution Mon 8 h + Tue 08-12:30 (4 h, lunch from 12) = 12 h > 8 h: failed
       (on the default Buenos Aires calendar these would be 0.5 h and 12.5 h: the contract's calendar counts)
    B2 Loja Brasil high, a feature request: not applicable
    G1 gold tag, organization Someone Else, high, Sat 28 Feb 00:00, assigned 00:20, closed 05:00
       -> first response met (20 min), resolution failed (5 h > 4 h), both 24x7
    G2 gold tag, organization Acme Argentina (Gold matches first), medium, Mon 2 Mar 12:00, assigned 12:30,
       still open at the period end: 4 days 15 h > 24 h -> resolution failed, breached and still open
    D1 Someone Else high, Tue 3 Mar 09:00, assigned 09:30, closed 12:00 -> default contract, met / met

By contract (matching order, the default last):
    Gold 24x7       2 tickets, FR 2 met (100 %), res 2 failed (0 %), 1 breached open; high 1, medium 1
    Brasil          2 tickets, 1 in scope, 1 not applicable, FR 100 %, res 0 %
    Acme Argentina  2 tickets, FR 1 met 1 failed (50 %), res 50 %
    default         1 ticket, FR 100 %, res 100 %
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from click.testing import CliRunner

from tests.html_support import Page
from tests.sla_builders import history, owner_change, state_change, ticket
from tests.test_report_command import TOKEN, Seeder
from tests.test_report_html_browser import needs_chromium, run_chromium
from zammad_sla_plugin.cli import main
from zammad_sla_plugin.core.policy import Policy, default_policy_text, load_policy, policy_from_text
from zammad_sla_plugin.report.collect import iter_records
from zammad_sla_plugin.report.document import ReportMeta, build_document
from zammad_sla_plugin.report.outcome import ReportPeriod, TicketOutcome, TicketRecord, ticket_outcome
from zammad_sla_plugin.report.render_csv import CSV_COLUMNS, render_csv
from zammad_sla_plugin.report.render_html import render_html
from zammad_sla_plugin.report.stats import aggregate
from zammad_sla_plugin.twin import TwinServer

UTC = timezone.utc
CONTRACTS = resources.files("zammad_sla_plugin").joinpath("examples/contracts.toml").read_text("utf-8")
POLICY = policy_from_text(default_policy_text() + "\n" + CONTRACTS)
PERIOD = ReportPeriod(date(2026, 2, 23), date(2026, 3, 7), POLICY.business_calendar.timezone)
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
ACME_AR = {"id": 5, "name": "Acme Argentina"}
LOJA = {"id": 6, "name": "Loja Brasil"}
OTHER = {"id": 9, "name": "Someone Else"}
H = timedelta(hours=1)


def gold_tag(tid: int, at: str) -> dict[str, Any]:
    return {"id": 900 + tid, "o_id": tid, "object": "Ticket", "type": "added", "attribute": "tag", "value_to": "gold",
            "created_at": at}  # fmt: skip


def record(tid: int, org: dict[str, Any], created: str, assigned: str | None, closed: str | None,
           priority: str = "3 high", extra_entries: tuple[dict[str, Any], ...] = (), **fields: Any) -> TicketRecord:  # fmt: skip
    entries = [*extra_entries]
    if assigned:
        entries.append(owner_change(assigned, 1, 4, o_id=tid))
    if closed:
        entries.append(state_change(closed, "open", "closed", o_id=tid))
    data = ticket(created, priority=priority, state="closed" if closed else "open", owner_id=4 if assigned else 1,
                  organization_id=org["id"], **fields)  # fmt: skip
    data["id"], data["number"], data["title"] = tid, str(70000 + tid), f"ticket {tid}"
    return TicketRecord(data, history(*entries), org)


def records() -> list[TicketRecord]:
    return [
        record(1, ACME_AR, "2026-02-27T12:00:00Z", "2026-02-27T13:30:00Z", "2026-02-27T19:00:00Z"),
        record(2, ACME_AR, "2026-03-02T12:00:00Z", "2026-03-02T13:30:00Z", "2026-03-02T19:00:00Z"),
        record(3, LOJA, "2026-03-02T11:00:00Z", "2026-03-02T12:30:00Z", "2026-03-03T15:30:00Z"),
        record(4, LOJA, "2026-03-02T12:00:00Z", None, None, sla_kind="feature_request"),
        record(5, OTHER, "2026-02-28T03:00:00Z", "2026-02-28T03:20:00Z", "2026-02-28T08:00:00Z",
               extra_entries=(gold_tag(5, "2026-02-28T03:00:00Z"),)),
        record(6, ACME_AR, "2026-03-02T15:00:00Z", "2026-03-02T15:30:00Z", None, priority="2 normal",
               extra_entries=(gold_tag(6, "2026-03-02T15:00:00Z"),)),
        record(7, OTHER, "2026-03-03T12:00:00Z", "2026-03-03T12:30:00Z", "2026-03-03T15:00:00Z"),
    ]  # fmt: skip


def outcomes(policy: Policy = POLICY) -> list[TicketOutcome]:
    found = [ticket_outcome(r, PERIOD, NOW, policy) for r in records()]
    return [o for o in found if o is not None]


def document(policy: Policy = POLICY) -> dict[str, Any]:
    return build_document(outcomes(policy), ReportMeta(PERIOD, None, NOW, PERIOD.end), policy)


def by_key(groups: list[Any], key: str) -> Any:
    return next(g for g in groups if (g.key if hasattr(g, "key") else g["key"]) == key)


# --------------------------------------------------------------------------- outcomes and stats


def test_each_ticket_carries_its_contract_version_and_contract_calendar_times() -> None:
    found = {o.ticket_id: o for o in outcomes()}
    assert {tid: (o.contract, o.contract_version) for tid, o in found.items()} == {
        1: ("Acme Argentina", "original"), 2: ("Acme Argentina", "2026-03-01"), 3: ("Brasil", "original"),
        4: ("Brasil", "original"), 5: ("Gold 24x7", "original"), 6: ("Gold 24x7", "original"), 7: ("default", "original"),
    }  # fmt: skip
    assert [(found[i].first_response, found[i].resolution) for i in (1, 2, 3, 5, 6, 7)] == [
        ("met", "met"), ("failed", "failed"), ("met", "failed"), ("met", "failed"), ("met", "failed"), ("met", "met"),
    ]  # fmt: skip
    assert found[4].scope == "not_applicable" and found[6].breached_open
    # Brasil's Sao Paulo hours, with the lunch break: not the default Buenos Aires calendar's 0.5 h / 12.5 h.
    assert (found[3].time_to_assignment, found[3].time_to_resolution) == (1.5 * H, 12 * H)
    # Gold's 24x7 calendar counts a Saturday night (the default calendar would count nothing).
    assert (found[5].time_to_assignment, found[5].time_to_resolution) == (timedelta(minutes=20), 5 * H)
    assert (found[2].first_response_target, found[2].resolution_target) == (1 * H, 6 * H)


def test_compliance_per_contract_and_severity() -> None:
    stats = aggregate(outcomes(), list(POLICY.severities), POLICY.contract_book.names)
    assert [g.key for g in stats.by_contract] == ["Gold 24x7", "Brasil", "Acme Argentina", "default"]
    figures = {
        g.key: (g.tickets, g.in_scope, g.not_applicable, g.first_response.met, g.first_response.failed,
                g.first_response.met_pct, g.resolution.met, g.resolution.failed, g.resolution.met_pct, g.breached_open)
        for g in stats.by_contract
    }  # fmt: skip
    assert figures == {
        "Gold 24x7": (2, 2, 0, 2, 0, 100.0, 0, 2, 0.0, 1),
        "Brasil": (2, 1, 1, 1, 0, 100.0, 0, 1, 0.0, 0),
        "Acme Argentina": (2, 2, 0, 1, 1, 50.0, 1, 1, 50.0, 0),
        "default": (1, 1, 0, 1, 0, 100.0, 1, 0, 100.0, 0),
    }
    gold = stats.by_contract_and_severity["Gold 24x7"]
    assert [(g.key, g.tickets, g.resolution.failed) for g in gold] == [("high", 1, 1), ("medium", 1, 1)]
    # Gold's time to assignment: 20 min and 30 min -> median 25 min; time to resolution: G1 only, 5 h.
    gold_total = by_key(stats.by_contract, "Gold 24x7")
    assert gold_total.time_to_assignment.median == timedelta(minutes=25)
    assert (gold_total.time_to_resolution.count, gold_total.time_to_resolution.median) == (1, 5 * H)
    assert [(g.key, g.tickets, g.in_scope) for g in stats.by_contract_and_severity["Brasil"]] == [("high", 2, 1)]
    acme = stats.by_contract_and_severity["Acme Argentina"]
    assert [(g.key, g.first_response.met_pct) for g in acme] == [("high", 50.0)]


def test_contracts_without_tickets_are_not_listed() -> None:
    only_default = [o for o in outcomes() if o.contract == "default"]
    stats = aggregate(only_default, list(POLICY.severities), POLICY.contract_book.names)
    assert [g.key for g in stats.by_contract] == ["default"]


# --------------------------------------------------------------------------- JSON, CSV, HTML


def test_json_document_has_the_contract_dimension() -> None:
    doc = document()
    keys = list(doc)
    assert keys.index("by_contract") == keys.index("by_month_and_severity") + 1
    assert keys.index("by_contract_and_severity") == keys.index("by_contract") + 1
    acme = by_key(doc["by_contract"], "Acme Argentina")
    assert acme["first_response"] == {"met": 1, "failed": 1, "pending": 0, "met_pct": 50.0}
    gold = next(e for e in doc["by_contract_and_severity"] if e["contract"] == "Gold 24x7")
    assert [g["key"] for g in gold["severities"]] == ["high", "medium"]
    brasil = by_key(doc["by_contract"], "Brasil")
    assert brasil["time_to_assignment_hours"] == {"count": 1, "median": 1.5, "p90": 1.5}
    ticket_2 = next(t for t in doc["tickets"] if t["id"] == 2)
    assert (ticket_2["contract"], ticket_2["contract_version"]) == ("Acme Argentina", "2026-03-01")
    assert list(ticket_2)[list(ticket_2).index("organization") + 1 :][:2] == ["contract", "contract_version"]
    assert any(text.startswith("Contract:") for text in doc["definitions"])
    summary = {c["name"]: c for c in doc["policy"]["contracts"]}
    assert list(summary) == ["Gold 24x7", "Brasil", "Acme Argentina", "default"]
    assert summary["Brasil"]["match"] == {"organization": ["Loja Brasil"]} and summary["default"]["default"]
    acme_versions = summary["Acme Argentina"]["versions"]
    assert [(v["version"], v["effective_from"]) for v in acme_versions] == [("original", None), ("2026-03-01", "2026-03-01")]
    high = [s for s in acme_versions[1]["severities"] if s["severity"] == "high"]
    assert (high[0]["first_response_minutes"], high[0]["resolution_minutes"]) == (60, 360)
    assert summary["Gold 24x7"]["versions"][0]["calendar"] == "24x7 (always open)"


def test_csv_has_a_contract_column_and_contract_rows() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(document()))))
    assert list(rows[0]) == [*CSV_COLUMNS[:2], "contract", *CSV_COLUMNS[2:]]
    assert all(row["contract"] == "" for row in rows if row["scope"] not in ("contract", "contract_severity"))
    tail = [(row["scope"], row["key"], row["contract"]) for row in rows if row["scope"].startswith("contract")]
    assert tail == [
        ("contract", "Gold 24x7", "Gold 24x7"), ("contract_severity", "high", "Gold 24x7"),
        ("contract_severity", "medium", "Gold 24x7"), ("contract", "Brasil", "Brasil"),
        ("contract_severity", "high", "Brasil"), ("contract", "Acme Argentina", "Acme Argentina"),
        ("contract_severity", "high", "Acme Argentina"), ("contract", "default", "default"),
        ("contract_severity", "high", "default"),
    ]  # fmt: skip
    acme = next(row for row in rows if row["scope"] == "contract" and row["key"] == "Acme Argentina")
    assert (acme["first_response_met_pct"], acme["resolution_met"], acme["resolution_failed"]) == ("50.0", "1", "1")


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'<h2 id="{heading_id}">')
    return html[start : html.index("<h2", start + 1)]


def test_html_has_the_contract_section_ticket_column_and_contract_terms() -> None:
    html = render_html(document())
    section = " ".join(" ".join(Page(_section(html, "by-contract")).text).split())
    assert section.startswith("By contract and severity")
    # Contract rows, each followed by its severities, then the overall total.
    assert "Gold 24x7 2 2 100.0 % 2 met / 0 failed / 0 pending 0.0 % 0 met / 2 failed / 0 pending 1 0 0" in section
    assert "Acme Argentina 2 2 50.0 % 1 met / 1 failed / 0 pending 50.0 %" in section
    order = [section.index(text) for text in ("Gold 24x7 2", "medium 1", "Brasil 2", "Acme Argentina 2", "default 1",
                                                   "All tickets 7")]  # fmt: skip
    assert order == sorted(order)
    assert _section(html, "by-contract").count('class="sub-row"') == 5
    tickets = " ".join(" ".join(Page(_section(html, "tickets")).text).split())
    assert "#70002 ticket 2 Acme Argentina Acme Argentina 2026-03-01 high" in tickets
    assert "#70005 ticket 5 Someone Else Gold 24x7 original high" in tickets
    page = " ".join(" ".join(Page(html).text).split())
    assert "Acme Argentina 2026-03-01 organization: Acme Argentina" in page
    brasil = "Brasil Customers served from São Paulo original organization: Loja Brasil"
    assert f"{brasil} Mon-Fri 08:00-12:00,13:00-17:00 America/Sao_Paulo, holidays BR-SP" in page
    assert "default original tickets no contract matches" in page


# --------------------------------------------------------------------------- without contracts


def test_without_contracts_the_report_has_no_contract_dimension() -> None:
    plain = load_policy()
    doc = document(plain)
    assert not {"by_contract", "by_contract_and_severity"} & set(doc)
    assert "contracts" not in doc["policy"] and not any(t.startswith("Contract:") for t in doc["definitions"])
    assert all("contract" not in t and "contract_version" not in t for t in doc["tickets"])
    assert next(csv.reader(io.StringIO(render_csv(doc)))) == list(CSV_COLUMNS)
    html = render_html(doc)
    assert 'id="by-contract"' not in html and "Contract" not in html and 'id="contracts"' not in html
    assert all(o.contract is None and o.contract_version is None for o in outcomes(plain))


# --------------------------------------------------------------------------- the customer, for domain selectors


DOMAIN_POLICY = policy_from_text(default_policy_text() + """
[[contracts]]
name = "Partners"
[contracts.match]
customer_domain = ["partner.example"]
""")


class CustomerSource:
    """Answers one search with tickets of two customers; counts the user fetches."""

    def __init__(self, customer_login: str) -> None:
        self.login = customer_login
        self.user_calls: list[int] = []

    def search_tickets(self, condition: dict[str, Any], **options: Any) -> Iterator[dict[str, Any]]:
        if "ticket.updated_at" in condition:
            return
        for tid, customer_id in ((1, 31), (2, 32), (3, 31)):
            yield ticket(f"2026-03-02T1{tid}:00:00Z", customer_id=customer_id, customer=self.login,
                         organization_id=None) | {"id": tid}  # fmt: skip

    def ticket_history(self, ticket_id: int) -> dict[str, Any]:
        return history()

    def get_organization(self, org_id: int) -> dict[str, Any]:
        raise AssertionError("no organizations here")

    def get_user(self, user_id: int) -> dict[str, Any]:
        self.user_calls.append(user_id)
        return {"id": user_id, "email": "ana@partner.example" if user_id == 31 else "bo@elsewhere.example"}


def test_customers_are_fetched_once_each_and_select_the_contract() -> None:
    source = CustomerSource("buyer")  # a login that is not an address: the user record says the domain
    fetched = list(iter_records(source, PERIOD, progress=False, concurrency=2, customers=True))
    assert sorted(source.user_calls) == [31, 32]
    contracts = {r.ticket["id"]: ticket_outcome(r, PERIOD, NOW, DOMAIN_POLICY) for r in fetched}
    assert {tid: o.contract for tid, o in contracts.items() if o is not None} == {1: "Partners", 2: "default", 3: "Partners"}


def test_customers_are_not_fetched_when_not_needed_or_the_login_is_the_address() -> None:
    source = CustomerSource("buyer")
    assert all(r.customer is None for r in iter_records(source, PERIOD, progress=False, concurrency=1))
    by_address = CustomerSource("ana@partner.example")
    assert all(r.customer is None for r in iter_records(by_address, PERIOD, progress=False, concurrency=1, customers=True))
    assert source.user_calls == by_address.user_calls == []


# --------------------------------------------------------------------------- end to end, through the twin


def test_report_command_by_contract_against_the_twin(tmp_path: Path) -> None:
    """`zammad-sla report --format json` with a contracts policy: each ticket under its contract,
    the customer read from Zammad for the domain selector (its login is not its address)."""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(default_policy_text() + "\n" + CONTRACTS + """
[[contracts]]
name = "Partners"
[contracts.match]
customer_domain = ["partner.example"]
""", encoding="utf-8")
    with TwinServer(token=TOKEN, time_scale=0.001, now=datetime(2026, 3, 2, 11, tzinfo=UTC), frozen=True) as twin:
        api = Seeder(twin.url).at("2026-03-02T11:00:00Z")
        org = {name: int(api.call("POST", "/organizations", name=name)["id"])
               for name in ("Loja Brasil", "Acme Argentina", "Zeta")}  # fmt: skip
        ana = int(api.call("POST", "/users", login="ana", email="ana@partner.example", firstname="Ana")["id"])
        ids = {"brasil": api.ticket(org["Loja Brasil"]), "acme": api.ticket(org["Acme Argentina"]),
               "gold": api.ticket(org["Zeta"]), "default": api.ticket(org["Zeta"])}  # fmt: skip
        ids["partner"] = int(api.call("POST", "/tickets", title="Partner down", group="Users", customer_id=ana,
                                      organization_id=org["Zeta"], priority="3 high",
                                      article={"body": "help", "type": "email", "sender": "Customer"})["id"])  # fmt: skip
        api.call("POST", "/tags/add", object="Ticket", o_id=ids["gold"], item="gold")
        result = CliRunner().invoke(main, ["report", "--from", "2026-03-01", "--to", "2026-04-01", "--format", "json",
                                           "--no-progress", "--config", str(policy_file)],
                                    env={"ZAMMAD_URL": twin.url, "ZAMMAD_TOKEN": TOKEN})  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    contracts = {t["id"]: (t["contract"], t["contract_version"]) for t in doc["tickets"]}
    assert contracts == {
        ids["brasil"]: ("Brasil", "original"), ids["acme"]: ("Acme Argentina", "2026-03-01"),
        ids["gold"]: ("Gold 24x7", "original"), ids["default"]: ("default", "original"),
        ids["partner"]: ("Partners", "original"),
    }  # fmt: skip
    assert [(g["key"], g["tickets"]) for g in doc["by_contract"]] == [
        ("Gold 24x7", 1), ("Brasil", 1), ("Acme Argentina", 1), ("Partners", 1), ("default", 1)]


# --------------------------------------------------------------------------- in a real browser


class _RowCells(HTMLParser):
    """Cells per table row of each table, as the browser's DOM holds them."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in ("td", "th"):
            colspan = dict(attrs).get("colspan")
            self.tables[-1][-1] += int(colspan) if colspan else 1


@needs_chromium
def test_chromium_keeps_every_row_as_wide_as_its_header(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(render_html(document()), encoding="utf-8")
    result = run_chromium(tmp_path, "--dump-dom", path.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    rows = _RowCells()
    rows.feed(result.stdout)
    # The group tables (severity, organization, month, contract) have 10 columns; the ticket list 12
    # with its Contract column; the policy's severities 5 and its contracts 5.
    widths = [sorted(set(table)) for table in rows.tables]
    assert widths == [[10], [10], [10], [10], [12], [5], [5]]
    assert sum(len(table) for table in rows.tables[3:4]) == 1 + 4 + 5 + 1  # header, contracts, severities, total
    assert len(rows.tables[4]) == 1 + 7  # header and the seven tickets
