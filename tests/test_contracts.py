"""Contracts per customer (issue 17) on hand-computed cases.

The policy is the default (Aivo) policy with `zammad_sla_plugin/examples/contracts.toml`
appended: "Gold 24x7" (tag gold, every minute counts), "Brasil" (organization Loja Brasil,
America/Sao_Paulo, Mon-Fri 08-12 + 13-17, BR-SP holidays, the default targets) and
"Acme Argentina" (organization Acme Argentina, the default terms until 2026-03-01, then
high = 60 min first response / 360 working min resolution). Buenos Aires and Sao Paulo are
both UTC-3 all year (neither has DST since 2019), so local 09:00 = 12:00Z in both.
Holidays used: 2026-04-21 Tiradentes (BR), 2026-03-23/24 (AR).
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from importlib import resources
from typing import Any

import pytest

from tests.sla_builders import history, owner_change, ticket
from zammad_sla_plugin.cli.compute import run_compute
from zammad_sla_plugin.core.clock import SlaInputError, evaluate
from zammad_sla_plugin.core.contracts import MatchFacts, parse_contract_label
from zammad_sla_plugin.core.explain import explain, explain_text
from zammad_sla_plugin.core.notes import transition_note
from zammad_sla_plugin.core.policy import Policy, PolicyError, default_policy_text, policy_from_text

CONTRACTS = resources.files("zammad_sla_plugin").joinpath("examples/contracts.toml").read_text("utf-8")
ACME_AR = {"id": 5, "name": "Acme Argentina"}
LOJA = {"id": 6, "name": "Loja Brasil"}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return policy_from_text(default_policy_text() + "\n" + CONTRACTS)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run(policy: Policy, tk: dict[str, Any], org: dict[str, Any] | None, now: str, hist: dict[str, Any] | None = None,
        **options: Any) -> dict[str, Any]:  # fmt: skip
    return evaluate(tk, hist or history(), org, at(now), policy, **options).to_dict()


def with_contracts(extra: str) -> str:
    return default_policy_text() + "\n" + extra


# --------------------------------------------------------------------------- two calendars


def test_brasil_contract_counts_sao_paulo_hours_lunch_break_and_tiradentes(policy: Policy) -> None:
    # Mon 2026-04-20 16:00 Sao Paulo (19:00Z), high: 120 / 480 working minutes.
    # First response: Mon 16:00-17:00 (60), Tue 21 is Tiradentes, Wed 08:00-09:00 (60) -> Wed 09:00 = 12:00Z.
    # Resolution: 60 Mon + Wed 08-12 (240) + 13-16 (180) = 480 -> Wed 16:00 = 19:00Z.
    out = run(policy, ticket("2026-04-20T19:00:00Z", organization="Loja Brasil", organization_id=6), LOJA, "2026-04-20T19:00:00Z")
    assert (out["contract"], out["contract_version"]) == ("Brasil", "original")
    assert out["first_response"]["due_at"] == "2026-04-22T12:00:00Z"
    assert out["resolution"]["due_at"] == "2026-04-22T19:00:00Z"
    assert out["clock"] == "business"


def test_same_ticket_in_buenos_aires_under_the_default_contract(policy: Policy) -> None:
    # The default (Aivo) calendar: Mon 16:00-18:00 Buenos Aires covers the 120 min -> 18:00 = 21:00Z;
    # resolution: 120 Mon + Tue 09:00-15:00 (360) -> Tue 15:00 = 18:00Z (no holiday in AR that week).
    other = {"id": 9, "name": "Someone Else"}
    out = run(policy, ticket("2026-04-20T19:00:00Z", organization_id=9), other, "2026-04-20T19:00:00Z")
    assert (out["contract"], out["contract_version"]) == ("default", "original")
    assert out["first_response"]["due_at"] == "2026-04-20T21:00:00Z"
    assert out["resolution"]["due_at"] == "2026-04-21T18:00:00Z"


def test_lunch_break_is_not_working_time(policy: Policy) -> None:
    # Thu 2026-04-23 11:30 Sao Paulo (14:30Z): 30 min before lunch, lunch 12-13 skipped, 90 min after -> 14:30 = 17:30Z.
    out = run(policy, ticket("2026-04-23T14:30:00Z", organization_id=6), LOJA, "2026-04-23T14:30:00Z")
    assert out["first_response"]["due_at"] == "2026-04-23T17:30:00Z"


# --------------------------------------------------------------------------- 24x7 Gold


def test_gold_contract_counts_every_minute_on_a_saturday_night(policy: Policy) -> None:
    # Sat 2026-03-07 22:00 Buenos Aires = Sun 01:00Z, high: 30 / 240 minutes, 24x7.
    out = run(policy, ticket("2026-03-08T01:00:00Z", tags=["gold"], organization_id=6), LOJA, "2026-03-08T01:00:00Z")
    assert (out["contract"], out["clock"]) == ("Gold 24x7", "24x7")
    assert out["first_response"]["due_at"] == "2026-03-08T01:30:00Z"
    assert out["resolution"]["due_at"] == "2026-03-08T05:00:00Z"


def test_gold_tag_is_read_from_history_and_wins_over_the_organization(policy: Policy) -> None:
    tagged = history({"id": 1, "o_id": 42, "object": "Ticket", "type": "added", "attribute": "tag", "value_to": "gold",
                      "created_at": "2026-03-08T01:00:00Z"})  # fmt: skip
    out = run(policy, ticket("2026-03-08T01:00:00Z", organization_id=6), LOJA, "2026-03-08T01:00:00Z", tagged)
    assert out["contract"] == "Gold 24x7"
    untagged = history(*tagged["history"], {"id": 2, "o_id": 42, "object": "Ticket", "type": "removed", "attribute": "tag",
                                            "value_to": "gold", "created_at": "2026-03-08T01:05:00Z"})  # fmt: skip
    assert run(policy, ticket("2026-03-08T01:00:00Z", organization_id=6), LOJA, "2026-03-08T02:00:00Z", untagged)["contract"] == "Brasil"


# --------------------------------------------------------------------------- versions


def test_a_version_change_applies_only_to_tickets_created_after_it(policy: Policy) -> None:
    # Before: Fri 2026-02-27 15:00 Buenos Aires (18:00Z) under the original (default) terms, high 120 / 480:
    # first response 17:00 = 20:00Z; resolution Fri 15-18 (180) + Mon 2 Mar 09:00-14:00 (300) = 17:00Z.
    before = run(policy, ticket("2026-02-27T18:00:00Z", organization_id=5), ACME_AR, "2026-03-02T13:00:00Z")
    assert (before["contract"], before["contract_version"]) == ("Acme Argentina", "original")
    assert before["first_response"]["due_at"] == "2026-02-27T20:00:00Z"
    assert before["resolution"]["due_at"] == "2026-03-02T17:00:00Z"
    # After: Mon 2026-03-02 10:00 (13:00Z) under the 2026-03-01 version, high 60 / 360:
    # first response 11:00 = 14:00Z; resolution 16:00 = 19:00Z.
    after = run(policy, ticket("2026-03-02T13:00:00Z", organization_id=5), ACME_AR, "2026-03-02T13:00:00Z")
    assert (after["contract"], after["contract_version"]) == ("Acme Argentina", "2026-03-01")
    assert after["first_response"]["due_at"] == "2026-03-02T14:00:00Z"
    assert after["resolution"]["due_at"] == "2026-03-02T19:00:00Z"


def test_the_version_takes_effect_at_local_midnight_of_its_date(policy: Policy) -> None:
    # 2026-03-01 00:00 Buenos Aires is 03:00Z.
    last_before = run(policy, ticket("2026-03-01T02:59:59Z", organization_id=5), ACME_AR, "2026-03-01T03:00:00Z")
    first_after = run(policy, ticket("2026-03-01T03:00:00Z", organization_id=5), ACME_AR, "2026-03-01T03:00:00Z")
    assert (last_before["contract_version"], first_after["contract_version"]) == ("original", "2026-03-01")


def test_contract_named_with_a_date_picks_that_version(policy: Policy) -> None:
    tk = ticket("2026-02-27T18:00:00Z", organization_id=5)
    forced = run(policy, tk, ACME_AR, "2026-02-27T18:00:00Z", contract="acme argentina", contract_on=date(2026, 3, 1))
    assert (forced["contract"], forced["contract_version"]) == ("Acme Argentina", "2026-03-01")
    assert forced["first_response"]["due_at"] == "2026-02-27T19:00:00Z"  # 60 min: Fri 15:00 -> 16:00
    # A ticket of another organization measured under a contract that does not match it.
    assert run(policy, tk, {"id": 9, "name": "X"}, "2026-02-27T18:00:00Z", contract="Brasil")["contract"] == "Brasil"
    with pytest.raises(SlaInputError, match="no contract named 'Nope'.*known: Gold 24x7, Brasil, Acme Argentina, default"):
        run(policy, tk, ACME_AR, "2026-02-27T18:00:00Z", contract="Nope")


# --------------------------------------------------------------------------- re-matching


def test_a_ticket_that_moves_organization_is_re_matched_and_explained(policy: Policy) -> None:
    # Created Mon 2026-04-20 16:00 (19:00Z) at Acme Argentina: version 2026-03-01, 60 min -> 17:00 BA = 20:00Z.
    created = "2026-04-20T19:00:00Z"
    at_acme = run(policy, ticket(created, organization_id=5), ACME_AR, created)
    assert (at_acme["contract"], at_acme["first_response"]["due_at"]) == ("Acme Argentina", "2026-04-20T20:00:00Z")
    # At 19:30Z it moves to Loja Brasil; the sidecar wrote sla_contract, so Zammad's history says when.
    moved = history(
        {"id": 1, "o_id": 42, "object": "Ticket", "type": "updated", "attribute": "organization", "value_from": "Acme Argentina",
         "value_to": "Loja Brasil", "id_from": 5, "id_to": 6, "created_at": "2026-04-20T19:30:00Z"},
        {"id": 2, "o_id": 42, "object": "Ticket", "type": "updated", "attribute": "sla_contract", "value_from": "Acme Argentina",
         "value_to": "Brasil", "created_at": "2026-04-20T19:30:05Z"},
    )  # fmt: skip
    tk = ticket(created, organization_id=6)
    out = run(policy, tk, LOJA, "2026-04-20T19:31:00Z", moved)
    # Measured again from creation under Brasil: 120 working min -> Wed 22 09:00 Sao Paulo = 12:00Z.
    assert (out["contract"], out["first_response"]["due_at"]) == ("Brasil", "2026-04-22T12:00:00Z")
    why = explain(tk, moved, LOJA, at("2026-04-20T19:31:00Z"), policy)["contract"]
    assert why["name"] == "Brasil" and why["reason"] == "matched by organization 'Loja Brasil'"
    assert why["changes"] == [{"at": "2026-04-20T19:30:05Z", "from": "Acme Argentina", "to": "Brasil"}]
    assert why["before_change"] == {
        "contract": "Acme Argentina",
        "first_response_due_at": "2026-04-20T20:00:00Z",
        "resolution_due_at": "2026-04-21T16:00:00Z",  # 360 min: Mon 16-18 (120) + Tue 09:00-13:00 (240) BA
        "now_first_response_due_at": "2026-04-22T12:00:00Z",
        "now_resolution_due_at": "2026-04-22T19:00:00Z",
    }
    text = explain_text(explain(tk, moved, LOJA, at("2026-04-20T19:31:00Z"), policy))
    assert "contract 'Brasil', original terms" in text
    assert "contract changed at 2026-04-20T19:30:05Z: Acme Argentina -> Brasil" in text
    assert "under 'Acme Argentina' the deadlines were first response 2026-04-20T20:00:00Z" in text


def test_the_note_names_the_contract_and_uses_its_calendar(policy: Policy) -> None:
    tk = ticket("2026-03-02T13:00:00Z", organization_id=5)
    result = evaluate(tk, history(), ACME_AR, at("2026-03-02T14:00:00Z"), policy)
    assert result.status == "breached"
    _subject, body = transition_note(result, policy)
    assert "Contract &quot;Acme Argentina&quot; (terms effective from 2026-03-01)." in body
    brasil = evaluate(ticket("2026-04-20T19:00:00Z", organization_id=6), history(), LOJA, at("2026-04-22T12:00:00Z"), policy)
    assert "America/Sao_Paulo" in transition_note(brasil, policy)[1]


def test_without_contracts_nothing_changes() -> None:
    plain = policy_from_text(default_policy_text())
    out = evaluate(ticket("2026-03-10T13:00:00Z"), history(), None, at("2026-03-10T13:00:00Z"), plain).to_dict()
    assert "contract" not in out and "contract_version" not in out
    assert "contract" not in explain(ticket("2026-03-10T13:00:00Z"), history(), None, at("2026-03-10T13:00:00Z"), plain)
    assert plain.contract_book.names == ("default",)


# --------------------------------------------------------------------------- selectors


SELECTORS = """
[[contracts]]
name = "By domain"
[contracts.match]
customer_domain = ["Acme.com"]

[[contracts]]
name = "Support BR blockers"
[contracts.match]
group = ["Support::BR"]
severity = ["blocker"]

[[contracts]]
name = "Incidents of org 12"
[contracts.match]
organization = 12
kind = "incident"
"""


@pytest.mark.parametrize(
    ("extra", "org", "customer", "expected"),
    [
        ({"customer": "ana@acme.com"}, None, None, "By domain"),  # REST: the customer's login is an address
        ({"customer": "ana"}, None, {"email": "Ana@ACME.com"}, "By domain"),  # the user record's e-mail
        ({"customer": "ana@sub.acme.com"}, None, None, "default"),  # subdomains do not match
        ({"group": "Support::BR", "priority": "4 blocker"}, None, None, "Support BR blockers"),
        ({"group": "Support::BR", "priority": "3 high"}, None, None, "default"),  # AND: severity fails
        ({"group": {"name": "Support::BR"}, "priority": {"name": "4 blocker"}}, None, None, "Support BR blockers"),  # webhook shape
        ({"organization_id": 12, "sla_kind": "incident"}, {"id": 12, "name": "Twelve"}, None, "Incidents of org 12"),
        ({"organization_id": 12, "sla_kind": "feature_request"}, {"id": 12, "name": "Twelve"}, None, "default"),
    ],
)
def test_selectors(extra: dict[str, Any], org: dict[str, Any] | None, customer: dict[str, Any] | None, expected: str) -> None:
    policy = policy_from_text(with_contracts(SELECTORS))
    tk = ticket("2026-03-10T13:00:00Z", **extra)
    assert run(policy, tk, org, "2026-03-10T13:00:00Z", customer=customer)["contract"] == expected


def test_the_book_says_what_it_needs_to_read(policy: Policy) -> None:
    assert policy.contract_book.needs_tags and not policy.contract_book.needs_customer
    selectors = policy_from_text(with_contracts(SELECTORS)).contract_book
    assert selectors.needs_customer and not selectors.needs_tags


def test_organization_names_match_case_insensitively(policy: Policy) -> None:
    book = policy.contract_book
    applied = book.select(MatchFacts(organization_name="LOJA BRASIL"), at("2026-03-10T13:00:00Z"))
    assert (applied.name, applied.reason) == ("Brasil", "matched by organization 'LOJA BRASIL'")
    assert book.select(MatchFacts(), at("2026-03-10T13:00:00Z")).reason == "no contract matched: the default terms"


# --------------------------------------------------------------------------- load-time errors


def _problems(extra: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy_from_text(with_contracts(extra), "contracts.toml")
    return caught.value.problems


def _line_of(extra: str, needle: str) -> int:
    """The line of `needle` at or after the first [[contracts]] header (counted by hand, not by the code under test)."""
    lines = with_contracts(extra).splitlines()
    start = lines.index("[[contracts]]")
    return next(number for number, line in enumerate(lines, start=1) if number > start and needle in line)


BASE = '[[contracts]]\nname = "A"\n[contracts.match]\ntag = ["a"]\n'


def test_unknown_holiday_country_names_contract_and_line() -> None:
    extra = BASE + '[contracts.calendar]\ntimezone = "UTC"\nholidays_country = "XX"\n[contracts.calendar.hours]\nmon = [["09:00", "17:00"]]\n'
    (problem,) = _problems(extra)
    assert problem.startswith(f"contract 'A' (contracts[0], line {_line_of(extra, 'holidays_country')}): calendar.holidays_country: ")
    assert "unknown holiday country" in problem and "'XX'" in problem


def test_overlapping_hours() -> None:
    extra = BASE + '[contracts.calendar]\ntimezone = "UTC"\n[contracts.calendar.hours]\nmon = [["09:00", "13:00"], ["12:00", "17:00"]]\n'
    (problem,) = _problems(extra)
    assert f"contract 'A' (contracts[0], line {_line_of(extra, '[contracts.calendar.hours]')}): calendar.hours:" in problem
    assert "ranges 09:00-13:00 and 12:00-17:00 overlap" in problem


def test_a_severity_without_a_target() -> None:
    extra = BASE + '[contracts.severities.high]\nclock = "business"\nfirst_response_minutes = 60\nresolution_minutes = 120\n'
    problems = _problems(extra)
    line = _line_of(extra, "[contracts.severities.high]")
    assert problems == [
        f"contract 'A' (contracts[0], line {line}): severities: severity '{name}' has no target (a priority maps to it)"
        for name in ("blocker", "low", "medium")
    ]


def test_two_contracts_with_the_same_name_and_the_default_name() -> None:
    extra = BASE + '\n[[contracts]]\nname = "a"\n\n[[contracts]]\nname = "Default"\n'
    second, third = _line_of(extra, 'name = "a"'), _line_of(extra, 'name = "Default"')
    assert _problems(extra) == [
        f"contract 'a' (contracts[1], line {second}): name: contract name 'a' is already used by contracts.0",
        f"contract 'Default' (contracts[2], line {third}): name: contract name 'Default' is already used by default_contract",
    ]


def test_a_version_error_names_the_version_line() -> None:
    extra = BASE + '[[contracts.versions]]\neffective_from = 2026-03-01\nwarning_threshold = 1.5\n'
    (problem,) = _problems(extra)
    assert problem.startswith(f"contract 'A' (contracts[0], line {_line_of(extra, 'warning_threshold = 1.5')}): versions.0.warning_threshold:")


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ('[[contracts]]\nname = "A@B"\n', "no '@'"),
        ('[[contracts]]\nname = "A"\n[contracts.calendar]\ntimezone = "UTC"\ncoverage = "24x7"\n'
         '[contracts.calendar.hours]\nmon = [["09:00", "17:00"]]\n',
         "not allowed with coverage = '24x7'"),
        ('[[contracts]]\nname = "A"\npause_states = ["closed"]\n', "pause_states"),
        ('[[contracts]]\nname = "A"\n[contracts.match]\nseverity = ["urgent"]\n', "unknown severity 'urgent'"),
        ('[[contracts]]\nname = "A"\n[contracts.match]\ncustomer_domain = ["@acme.com"]\n', "is not an e-mail domain"),
        ('[[contracts]]\nname = "A"\n[[contracts.versions]]\neffective_from = 2026-03-01\n[[contracts.versions]]\neffective_from = 2026-03-01\n',
         "two versions take effect on 2026-03-01"),
        ('[[contracts]]\nname = "A"\n[contracts.match]\nplanet = ["mars"]\n', "match.planet: Extra inputs are not permitted"),
    ],
)
def test_other_load_errors(extra: str, fragment: str) -> None:
    problems = _problems(extra)
    assert any(fragment in problem and problem.startswith("contract 'A") for problem in problems), problems


def test_a_shadowed_contract_is_a_warning_not_an_error() -> None:
    extra = '[[contracts]]\nname = "Everyone"\n\n[[contracts]]\nname = "Never"\n[contracts.match]\ntag = ["x"]\n'
    book = policy_from_text(with_contracts(extra)).contract_book
    assert book.warnings == [
        "contract 'Never' (contracts.1) can never match: 'Everyone' before it matches every ticket",
        "the default contract 'default' is never used: 'Everyone' matches every ticket",
    ]


# --------------------------------------------------------------------------- compute --contract


def test_parse_contract_label() -> None:
    assert parse_contract_label("Gold") == ("Gold", None)
    assert parse_contract_label("Acme Argentina@2026-03-01") == ("Acme Argentina", date(2026, 3, 1))
    with pytest.raises(ValueError, match="'2026-13-01' is not a date"):
        parse_contract_label("Gold@2026-13-01")


def test_compute_with_contract_at_a_date(policy: Policy) -> None:
    document = json.dumps({"ticket": ticket("2026-02-27T18:00:00Z", organization_id=5), "organization": ACME_AR,
                           "history": history(owner_change("2026-02-27T18:30:00Z", 1, 3)), "now": "2026-02-27T19:00:00Z"})  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    assert run_compute(io.StringIO(document), out, err, policy, at("2026-02-27T19:00:00Z"), contract="Acme Argentina@2026-03-01") == 0
    result = json.loads(out.getvalue())
    assert (result["contract"], result["contract_version"], result["first_response"]["state"]) == ("Acme Argentina", "2026-03-01", "met")
    out = io.StringIO()
    run_compute(io.StringIO(document), out, err, policy, at("2026-02-27T19:00:00Z"), explained=True, contract="Acme Argentina@2026-03-01")
    assert "contract 'Acme Argentina', version effective from 2026-03-01 (named on the command line)" in out.getvalue()
