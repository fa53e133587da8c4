"""The pure translation of Zammad SLAs and calendars into contracts (admin/zammad_slas.py)."""

from __future__ import annotations

import tomllib
from typing import Any

from hypothesis import given, strategies as st

from zammad_sla_plugin.admin.zammad_slas import (
    FIRST_RESPONSE_NOTE, ImportResult, Lookups, PolicyTerms, render, toml_string, toml_value, translate,
)
from zammad_sla_plugin.core.policy import default_policy_text, load_policy

POLICY = load_policy()
TERMS = PolicyTerms(
    priorities=dict(POLICY.priorities),
    targets={name: (t.first_response_minutes, t.resolution_minutes) for name, t in POLICY.severities.items()},
)
LOOKUPS = Lookups(priorities={1: "1 low", 2: "2 normal", 3: "3 high", 4: "4 blocker"}, groups={1: "Users", 2: "Suporte BR"})
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def calendar(ident: int = 1, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": ident, "name": f"Calendar {ident}", "timezone": "America/Sao_Paulo", "default": ident == 1, "ical_url": None,
        "business_hours": {d: {"active": d not in ("sat", "sun"), "timeframes": [["09:00", "17:00"]]} for d in WEEK},
        "public_holidays": {},
    }
    row.update(fields)
    return row


def sla(ident: int, name: str, condition: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": ident, "name": name, "calendar_id": 1, "first_response_time": 60, "response_time": None, "update_time": None,
        "solution_time": 480, "condition": condition or {}, "created_at": f"2026-01-0{ident}T00:00:00.000Z",
    }
    row.update(fields)
    return row


def run(slas: list[dict[str, Any]], calendars: list[dict[str, Any]] | None = None, terms: PolicyTerms = TERMS) -> ImportResult:
    return translate(slas, calendars if calendars is not None else [calendar()], terms, LOOKUPS)


def only(result: ImportResult) -> Any:
    assert len(result.contracts) == 1
    return result.contracts[0]


def has_warning(result: ImportResult, *fragments: str) -> bool:
    return any(all(f in w for f in fragments) for w in result.warnings)


PRIO = {"ticket.priority_id": {"operator": "is", "value": ["3"]}}


# ------------------------------------------------------------------ order and fallback
def test_conditional_slas_come_first_in_name_order_and_the_last_unconditional_one_is_the_fallback() -> None:
    result = run([
        sla(1, "zeta", PRIO), sla(2, "Base A"), sla(3, "alpha", {"ticket.group_id": {"operator": "is", "value": ["2"]}}),
        sla(4, "Base B"),
    ])
    assert [c.name for c in result.contracts] == ["alpha", "zeta", "Base A", "Base B"]
    enabled = {c.name: c.enabled for c in result.contracts}
    assert enabled == {"alpha": True, "zeta": True, "Base A": False, "Base B": True}
    assert "match" not in result.contracts[3].data  # the fallback matches every ticket
    assert has_warning(result, "'Base A'", "never applies in Zammad", "'Base B'")


def test_same_names_are_ordered_by_creation_and_renamed_uniquely() -> None:
    result = run([sla(2, "Gold", PRIO, created_at="2026-02-01"), sla(1, "gold", PRIO, created_at="2026-01-01")])
    assert [c.sla_id for c in result.contracts] == [1, 2]
    assert [c.name for c in result.contracts] == ["gold", "Gold (2)"]
    assert has_warning(result, "contract named 'Gold (2)'")


def test_names_avoid_the_default_contract_at_signs_and_length() -> None:
    terms = PolicyTerms(priorities=TERMS.priorities, targets=TERMS.targets, taken_names=frozenset({"Gold"}))
    result = run([sla(1, "Default", PRIO), sla(2, "gold", PRIO), sla(3, "ops@acme " + "x" * 100, PRIO)], terms=terms)
    names = [c.name for c in result.contracts]
    assert names[0] == "Default (2)"
    assert names[1] == "gold (2)"
    assert "@" not in names[2] and len(names[2]) == 80 and names[2].startswith("ops at acme")


# ------------------------------------------------------------------ conditions
def test_priority_is_becomes_the_severity_of_the_policy_mapping() -> None:
    contract = only(run([sla(1, "High", PRIO)]))
    assert contract.data["match"] == {"severity": ["high"]}
    assert contract.warnings == []


def test_priority_is_not_is_the_complement_and_a_shared_severity_widens_the_match() -> None:
    terms = PolicyTerms(priorities={"1 low": "low", "2 normal": "low", "3 high": "high", "4 blocker": "high"}, targets=TERMS.targets)
    result = run([sla(1, "Not normal", {"ticket.priority_id": {"operator": "is not", "value": ["2"]}})], terms=terms)
    assert only(result).data["match"] == {"severity": ["low", "high"]}
    assert has_warning(result, "severity 'low' also covers priority '2 normal'")


def test_unknown_and_unmapped_priorities_are_listed() -> None:
    terms = PolicyTerms(priorities={"3 high": "high"}, targets=TERMS.targets)
    result = run([sla(1, "P", {"ticket.priority_id": {"operator": "is", "value": ["1", "3", "99"]}})], terms=terms)
    assert only(result).data["match"] == {"severity": ["high"]}
    assert has_warning(result, "priority id 99 does not exist")
    assert has_warning(result, "priority '1 low' is not mapped")


def test_groups_organizations_tags_domains_and_kind() -> None:
    condition = {
        "ticket.group_id": {"operator": "is", "pre_condition": "specific", "value": ["2"]},
        "ticket.organization_id": {"operator": "is", "pre_condition": "specific", "value": ["12", "13"]},
        "ticket.tags": {"operator": "contains one", "value": "gold, vip"},
        "customer.email": {"operator": "ends with one of", "value": ["@Acme.com.br", "@acme.com"]},
        "ticket.sla_kind": {"operator": "is", "value": ["incident"]},
    }
    contract = only(run([sla(1, "Gold", condition)]))
    assert contract.data["match"] == {
        "group": ["Suporte BR"], "organization": [12, 13], "tag": ["gold", "vip"],
        "customer_domain": ["acme.com.br", "acme.com"], "kind": ["incident"],
    }
    assert contract.warnings == []


def test_group_is_not_is_expanded_to_todays_groups_with_a_warning() -> None:
    result = run([sla(1, "G", {"ticket.group_id": {"operator": "is not", "value": ["1"]}})])
    assert only(result).data["match"] == {"group": ["Suporte BR"]}
    assert has_warning(result, "groups that exist today")


def test_organization_name_and_single_tag_contains_all() -> None:
    condition = {"organization.name": {"operator": "is", "value": "Acme Brasil"}, "ticket.tags": {"operator": "contains all", "value": "gold"}}
    assert only(run([sla(1, "O", condition)])).data["match"] == {"organization": ["Acme Brasil"], "tag": ["gold"]}


def test_domain_without_at_is_imported_as_exact_domain_with_a_warning() -> None:
    result = run([sla(1, "D", {"customer.email": {"operator": "ends with", "value": "acme.com"}})])
    assert only(result).data["match"] == {"customer_domain": ["acme.com"]}
    assert has_warning(result, "has no '@'", "sub-domains")


def test_values_that_are_no_domain_are_left_out() -> None:
    result = run([sla(1, "D", {"customer.email": {"operator": "ends with one of", "value": ["@localhost", "@acme.com", "x@y@z"]}})])
    assert only(result).data["match"] == {"customer_domain": ["acme.com"]}
    assert has_warning(result, "'@localhost' is not an e-mail domain") and has_warning(result, "'x@y@z' is not an e-mail domain")


def test_unsupported_operators_and_attributes_are_listed_and_left_out() -> None:
    condition = {
        "ticket.priority_id": {"operator": "is", "value": ["3"]},
        "ticket.state_id": {"operator": "is", "value": ["1", "2"]},
        "ticket.tags": {"operator": "contains all", "value": "a, b"},
        "ticket.organization_id": {"operator": "is", "pre_condition": "current_user.organization_id", "value": []},
        "ticket.title": {"operator": "contains", "value": "urgent"},
        "customer.email": {"operator": "contains", "value": "acme"},
    }
    result = run([sla(1, "Mixed", condition)])
    contract = only(result)
    assert contract.enabled and contract.data["match"] == {"severity": ["high"]}
    for name in ("ticket.state_id is", "ticket.tags contains all", "current_user.organization_id", "ticket.title contains",
                 "customer.email contains"):
        assert has_warning(result, name, "cannot be expressed"), name


def test_a_condition_nothing_of_which_can_be_expressed_is_written_commented_out() -> None:
    result = run([sla(1, "States", {"ticket.state_id": {"operator": "is", "value": ["1"]}})])
    contract = only(result)
    assert not contract.enabled and "match" not in contract.data
    assert has_warning(result, "none of its conditions can be expressed")
    text = render(default_policy_text(), result, "z")
    assert "# [[contracts]]" in text and tomllib.loads(text).get("contracts") is None


def test_expert_mode_and_blocks_are_flattened_or_and_not_blocks_are_listed() -> None:
    condition = {"operator": "AND", "conditions": [
        {"name": "ticket.priority_id", "operator": "is", "value": ["3", "4"]},
        {"operator": "AND", "conditions": [{"name": "ticket.priority_id", "operator": "is", "value": ["3"]}]},
        {"operator": "OR", "conditions": [{"name": "ticket.group_id", "operator": "is", "value": ["1"]}]},
    ]}
    result = run([sla(1, "Expert", condition)])
    assert only(result).data["match"] == {"severity": ["high"]}  # the two priority conditions intersect
    assert has_warning(result, "condition block OR", "left out")


def test_contradicting_conditions_can_never_match() -> None:
    condition = {"operator": "AND", "conditions": [
        {"name": "ticket.group_id", "operator": "is", "value": ["1"]}, {"name": "ticket.group_id", "operator": "is", "value": ["2"]}]}
    result = run([sla(1, "Never", condition)])
    contract = only(result)
    assert not contract.enabled and contract.data["match"] == {"group": []}  # an empty list would match everything
    assert has_warning(result, "no group satisfies every condition", "commented out")


# ------------------------------------------------------------------ calendars
def test_calendar_hours_lunch_break_holidays_and_the_ical_feed() -> None:
    cal = calendar(
        7, ical_url="https://calendar.example/br.ics",
        business_hours={**{d: {"active": True, "timeframes": [["13:00", "18:00"], ["09:00", "12:00"]]} for d in WEEK[:5]},
                        "sat": {"active": False, "timeframes": [["09:00", "12:00"]]}, "sun": {"active": True, "timeframes": []}},
        public_holidays={"2026-12-25": {"active": True, "summary": "Natal", "feed": "abc"},
                         "2026-11-20": {"active": False, "summary": "Consciência Negra"},
                         "2026-12-31": {"active": True, "removed": True, "summary": "Réveillon"},
                         "not-a-date": {"active": True}})
    result = run([sla(1, "BR", PRIO, calendar_id=7)], [cal])
    table = only(result).data["calendar"]
    assert table == {
        "timezone": "America/Sao_Paulo", "holidays_country": "", "holidays_subdiv": "", "closed_dates": ["2026-12-25"],
        "coverage": "business", "hours": {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in WEEK[:5]},
    }
    assert has_warning(result, "inactive public holidays not imported", "2026-11-20 Consciência Negra", "2026-12-31 Réveillon")
    assert has_warning(result, "iCal feed https://calendar.example/br.ics not imported", "ARE imported (2026-12-25)")
    assert has_warning(result, "'not-a-date' is not a date")


def test_all_day_every_day_is_24x7_and_23_59_means_end_of_day() -> None:
    cal = calendar(business_hours={d: {"active": True, "timeframes": [["00:00", "23:59"]]} for d in WEEK})
    table = only(run([sla(1, "Gold 24x7", PRIO)], [cal])).data["calendar"]
    assert table["coverage"] == "24x7" and "hours" not in table


def test_overlapping_and_invalid_timeframes_are_merged_or_left_out_with_warnings() -> None:
    cal = calendar(business_hours={"mon": {"active": True, "timeframes": [["09:00", "13:00"], ["12:00", "18:00"], ["19:00", "18:00"],
                                                                          ["9am", "5pm"], [None, "10:00"]]}})
    result = run([sla(1, "M", PRIO)], [cal])
    assert only(result).data["calendar"]["hours"] == {"mon": [["09:00", "18:00"]]}
    assert has_warning(result, "overlapping timeframes merged")
    assert has_warning(result, "19:00-18:00 is not a valid range") and has_warning(result, "9am-5pm is not a valid range")


def test_unknown_zone_missing_calendar_and_no_hours_disable_the_contract() -> None:
    result = run([sla(1, "Z", PRIO, calendar_id=2), sla(2, "Missing", PRIO, calendar_id=9), sla(3, "Closed", PRIO, calendar_id=3)],
                 [calendar(2, timezone="Mars/Olympus"), calendar(3, business_hours={"mon": {"active": False, "timeframes": [["09:00", "17:00"]]}})])
    assert [c.enabled for c in result.contracts] == [False, False, False]
    assert has_warning(result, "'Mars/Olympus', which is not a known IANA zone")
    assert has_warning(result, "calendar #9 does not exist")
    assert has_warning(result, "calendar #3 has no active business hours")


# ------------------------------------------------------------------ targets
def test_targets_are_written_for_every_mapped_severity_on_the_business_clock() -> None:
    severities = only(run([sla(1, "T", PRIO, first_response_time=30, solution_time=240)])).data["severities"]
    assert set(severities) == set(POLICY.priorities.values())
    assert all(t == {"clock": "business", "first_response_minutes": 30, "resolution_minutes": 240} for t in severities.values())


def test_missing_targets_fall_back_to_the_policys_and_update_and_response_times_are_listed() -> None:
    result = run([sla(1, "U", PRIO, first_response_time=None, solution_time=0, update_time=120), sla(2, "R", PRIO, response_time=45)])
    severities = result.contracts[1].data["severities"]  # "U" sorts after "R"
    assert severities["high"] == {"clock": "business", "first_response_minutes": 120, "resolution_minutes": 480}
    assert severities["medium"]["resolution_minutes"] == 2700
    assert has_warning(result, "'U'", "first_response_time is not set") and has_warning(result, "'U'", "solution_time is not set")
    assert has_warning(result, "'U'", "update_time = 120 min not imported")
    assert has_warning(result, "'R'", "response_time = 45 min not imported")
    assert FIRST_RESPONSE_NOTE in result.warnings


# ------------------------------------------------------------------ TOML
def test_rendered_policy_keeps_the_base_text_and_parses_with_the_contracts_in_order() -> None:
    result = run([sla(1, 'Gold "BR"\n\\ x', PRIO), sla(2, "Base")])
    text = render(default_policy_text(), result, "http://zammad.example")
    assert text.startswith(default_policy_text())
    data = tomllib.loads(text)
    assert [c["name"] for c in data["contracts"]] == ['Gold "BR" \\ x', "Base"]
    assert data["contracts"][0]["severities"]["high"]["first_response_minutes"] == 60
    assert "# Zammad SLA #1" in text and "# calendar: Zammad calendar #1 'Calendar 1'" in text
    assert data["warning_threshold"] == 0.8  # the policy's own keys are untouched


def test_no_slas_still_writes_a_complete_policy() -> None:
    text = render("warning_threshold = 0.8", run([]), "z")
    assert "Zammad has no SLAs" in text and tomllib.loads(text) == {"warning_threshold": 0.8}


@given(st.text())
def test_toml_strings_round_trip(text: str) -> None:
    assert tomllib.loads(f"k = {toml_string(text)}")["k"] == text


@given(st.recursive(st.one_of(st.integers(-10**9, 10**9), st.booleans(), st.text(max_size=8),
                              st.floats(allow_nan=False, allow_infinity=False, width=32)),
                    lambda inner: st.lists(inner, max_size=4), max_leaves=12))
def test_toml_values_round_trip(value: Any) -> None:
    assert tomllib.loads(f"k = {toml_value(value)}")["k"] == value
