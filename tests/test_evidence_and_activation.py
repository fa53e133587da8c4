"""Evidence before exclusion and 24x7 activation by phone, on hand-computed cases.

Default policy: Buenos Aires (UTC-3), Mon-Fri 09:00-18:00 local = 12:00-21:00Z.
2026-03-10 is a Tuesday; 2026-03-14 a Saturday; Monday 2026-03-16 is a working day.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.sla_builders import history, ticket
from zammad_sla_plugin.core.clock import evaluate
from zammad_sla_plugin.core.explain import explain, explain_text
from zammad_sla_plugin.core.policy import (
    Policy,
    PolicyError,
    default_policy_text,
    load_policy,
    policy_from_dict,
)
from zammad_sla_plugin.admin.provision import desired_evidence_workflow

POLICY = load_policy()
TUE_10_LOCAL = "2026-03-10T13:00:00Z"
SAT_03_LOCAL = "2026-03-14T06:00:00Z"
LATER = "2026-03-20T13:00:00Z"
ORG_24X7 = {"id": 7, "name": "Acme", "sla_24x7_integrations": True}
EVIDENCE = "CRM vendor status page: outage 09:40-14:10, incident #4471"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def policy_with(path: Path, old: str, new: str) -> Policy:
    text = default_policy_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return load_policy(path)


# --------------------------------------------------------------------------- evidence


def test_excluded_origin_with_evidence_is_excluded() -> None:
    result = evaluate(ticket(TUE_10_LOCAL, sla_origin="third_party", sla_origin_evidence=EVIDENCE),
                      history(), None, at(LATER), POLICY)  # fmt: skip
    assert result.status == "excluded"
    assert (result.origin_claimed, result.evidence_written, result.evidence_missing) == (True, True, False)
    assert result.next_check_at is None


@pytest.mark.parametrize("evidence", [None, "", "   \n\t "])
def test_excluded_origin_without_evidence_counts_like_any_ticket(evidence: str | None) -> None:
    extra = {} if evidence is None else {"sla_origin_evidence": evidence}
    claimed = evaluate(ticket(TUE_10_LOCAL, sla_origin="customer", **extra), history(), None, at(LATER), POLICY)
    plain = evaluate(ticket(TUE_10_LOCAL), history(), None, at(LATER), POLICY)
    # Never assigned: first response was due Tue 12:00 local (15:00Z), long before Fri 20.
    assert claimed.status == "breached"
    assert claimed.first_response.due_at == at("2026-03-10T15:00:00Z")
    assert (claimed.first_response, claimed.resolution) == (plain.first_response, plain.resolution)
    assert (claimed.origin_claimed, claimed.evidence_written, claimed.evidence_missing) == (True, False, True)
    assert plain.evidence_missing is False


def test_claim_without_evidence_keeps_the_ticket_scheduled() -> None:
    # Just created: on track, next check at 80 % of the 2-hour first response (11:36 local).
    result = evaluate(ticket(TUE_10_LOCAL, sla_origin="third_party"), history(), None, at(TUE_10_LOCAL), POLICY)
    assert result.status == "on_track"
    assert result.next_check_at == at("2026-03-10T14:36:00Z")


def test_evidence_is_ignored_without_an_excluded_origin() -> None:
    result = evaluate(ticket(TUE_10_LOCAL, sla_origin="aivo", sla_origin_evidence=EVIDENCE),
                      history(), None, at(LATER), POLICY)  # fmt: skip
    assert result.status == "breached"
    assert (result.origin_claimed, result.evidence_missing) == (False, False)


def test_merged_tickets_are_excluded_and_never_flagged() -> None:
    result = evaluate(ticket(TUE_10_LOCAL, state="merged", sla_origin="customer"), history(), None, at(LATER), POLICY)
    assert result.status == "excluded"
    assert result.evidence_missing is False


def test_feature_requests_are_never_flagged() -> None:
    result = evaluate(ticket(TUE_10_LOCAL, sla_kind="feature_request", sla_origin="customer"),
                      history(), None, at(LATER), POLICY)  # fmt: skip
    assert result.status == "not_applicable"
    assert result.evidence_missing is False


def test_policy_can_exclude_without_evidence(tmp_path: Path) -> None:
    lax = policy_with(tmp_path / "p.toml", "exclusion_requires_evidence = true", "exclusion_requires_evidence = false")
    result = evaluate(ticket(TUE_10_LOCAL, sla_origin="customer"), history(), None, at(LATER), lax)
    assert result.status == "excluded"
    assert (result.origin_claimed, result.evidence_written, result.evidence_missing) == (True, False, False)
    # setup then keeps the evidence workflow, inactive: the form no longer insists on evidence
    assert desired_evidence_workflow(lax)["active"] is False and desired_evidence_workflow(POLICY)["active"] is True


def test_evidence_attribute_name_comes_from_the_policy(tmp_path: Path) -> None:
    renamed = policy_with(tmp_path / "p.toml", 'origin_evidence = "sla_origin_evidence"', 'origin_evidence = "proof"')
    with_proof = evaluate(ticket(TUE_10_LOCAL, sla_origin="customer", proof=EVIDENCE), history(), None, at(LATER), renamed)
    assert with_proof.status == "excluded"
    old_name = evaluate(ticket(TUE_10_LOCAL, sla_origin="customer", sla_origin_evidence=EVIDENCE),
                        history(), None, at(LATER), renamed)  # fmt: skip
    assert old_name.evidence_missing is True


def test_explanation_names_the_missing_evidence() -> None:
    out = explain(ticket(TUE_10_LOCAL, sla_origin="third_party"), history(), None, at(LATER), POLICY)
    assert out["result"]["status"] == "breached"
    assert out["origin"] == {"origin": "third_party", "evidence_written": False, "evidence_required": True,
                             "evidence_missing": True}  # fmt: skip
    assert "sla_origin_evidence is blank" in out["scope"] and "sla-evidence-missing" in out["scope"]
    assert "counted like any other ticket" in explain_text(out)
    written = explain(ticket(TUE_10_LOCAL, sla_origin="third_party", sla_origin_evidence=EVIDENCE),
                      history(), None, at(LATER), POLICY)  # fmt: skip
    assert written["scope"] == ("origin 'third_party' is excluded and sla_origin_evidence is written: "
                                "not counted in compliance")  # fmt: skip
    assert "origin" not in explain(ticket(TUE_10_LOCAL), history(), None, at(LATER), POLICY)


# --------------------------------------------------------------------------- activation


def phone_policy(tmp_path: Path) -> Policy:
    return policy_with(tmp_path / "phone.toml", 'activation = "created_outside_hours"', 'activation = "phone_outside_hours"')


def test_phone_activation_needs_a_phone_ticket_outside_hours(tmp_path: Path) -> None:
    policy = phone_policy(tmp_path)
    phoned = ticket(SAT_03_LOCAL, sla_integration="aivo_built", create_article_type="phone")
    result = evaluate(phoned, history(), ORG_24X7, at(SAT_03_LOCAL), policy)
    assert (result.support_24x7, result.clock) == (True, "24x7")
    # 24x7 targets: 2 h and 16 h wall clock from Sat 03:00 local.
    assert result.first_response.due_at == at("2026-03-14T08:00:00Z")
    assert result.resolution.due_at == at("2026-03-14T22:00:00Z")


def test_phone_activation_ignores_a_ticket_that_came_by_email(tmp_path: Path) -> None:
    policy = phone_policy(tmp_path)
    mailed = ticket(SAT_03_LOCAL, sla_integration="aivo_built", create_article_type="email")
    result = evaluate(mailed, history(), ORG_24X7, at(SAT_03_LOCAL), policy)
    assert (result.support_24x7, result.clock) == (False, "business")
    # Ordinary high targets from the next opening, Mon 16 09:00 local: 2 working hours -> 11:00
    # (14:00Z); 8 working hours -> 17:00 (20:00Z).
    assert result.first_response.due_at == at("2026-03-16T14:00:00Z")
    assert result.resolution.due_at == at("2026-03-16T20:00:00Z")
    # The default activation gives the same e-mail ticket 24x7 support.
    assert evaluate(mailed, history(), ORG_24X7, at(SAT_03_LOCAL), POLICY).support_24x7 is True


def test_phone_activation_reads_the_type_id_of_a_webhook_payload(tmp_path: Path) -> None:
    policy = phone_policy(tmp_path)
    phoned = ticket(SAT_03_LOCAL, sla_integration="aivo_built", create_article_type_id=5)  # seeded "phone"
    assert evaluate(phoned, history(), ORG_24X7, at(SAT_03_LOCAL), policy).support_24x7 is True
    web = ticket(SAT_03_LOCAL, sla_integration="aivo_built", create_article_type_id=11)  # "web"
    assert evaluate(web, history(), ORG_24X7, at(SAT_03_LOCAL), policy).support_24x7 is False


def test_a_phone_call_inside_working_hours_gets_ordinary_targets(tmp_path: Path) -> None:
    policy = phone_policy(tmp_path)
    phoned = ticket(TUE_10_LOCAL, sla_integration="aivo_built", create_article_type="phone")
    result = evaluate(phoned, history(), ORG_24X7, at(TUE_10_LOCAL), policy)
    assert (result.support_24x7, result.first_response.due_at) == (False, at("2026-03-10T15:00:00Z"))


def test_explanation_names_the_condition_that_decided(tmp_path: Path) -> None:
    policy = phone_policy(tmp_path)
    base = {"sla_integration": "aivo_built"}
    mailed = explain(ticket(SAT_03_LOCAL, create_article_type="email", **base), history(), ORG_24X7, at(SAT_03_LOCAL), policy)
    support = mailed["support_24x7"]
    assert support["applies"] is False and support["activation"] == "phone_outside_hours"
    assert support["decided_by"] == "came in by phone (first article type in ['phone'], is 'email')"
    assert [c["met"] for c in support["conditions"]] == [True, True, True, True, False]
    inside = explain(ticket(TUE_10_LOCAL, create_article_type="phone", **base), history(), ORG_24X7, at(TUE_10_LOCAL), policy)
    assert inside["support_24x7"]["decided_by"] == "created outside working hours"
    phoned = explain(ticket(SAT_03_LOCAL, create_article_type="phone", **base), history(), ORG_24X7, at(SAT_03_LOCAL), policy)
    assert phoned["support_24x7"]["decided_by"] == "all conditions met"
    assert "decided by: all conditions met; activation phone_outside_hours" in explain_text(phoned)
    default = explain(ticket(SAT_03_LOCAL, **base), history(), None, at(SAT_03_LOCAL), POLICY)
    assert default["support_24x7"]["decided_by"] == "organization sla_24x7_integrations is true"
    assert len(default["support_24x7"]["conditions"]) == 4  # no phone condition by default


# --------------------------------------------------------------------------- policy options


def test_default_options() -> None:
    assert POLICY.scope.exclusion_requires_evidence is True
    assert POLICY.support_24x7.activation == "created_outside_hours"
    assert POLICY.attributes.origin_evidence == "sla_origin_evidence"
    assert POLICY.attributes.proposal_status == "sla_proposal_status"
    assert POLICY.tags.evidence_missing == "sla-evidence-missing"
    assert POLICY.proposals.notified_statuses == ("approved",)
    assert "{ticket_number}" in POLICY.proposals.approved_subject and "{ticket_title}" in POLICY.proposals.approved_subject


def test_a_policy_without_the_new_sections_still_loads() -> None:
    data = load_policy().model_dump(exclude={"proposals"})
    for key in ("origin_evidence", "proposal_status"):
        del data["attributes"][key]
    del data["tags"]["evidence_missing"]
    del data["scope"]["exclusion_requires_evidence"]
    del data["support_24x7"]["activation"]
    policy = policy_from_dict(data)
    assert policy.scope.exclusion_requires_evidence is True
    assert policy.proposals == POLICY.proposals


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('activation = "created_outside_hours"', 'activation = "by_pigeon"', "support_24x7.activation"),
        ('approved_subject = "Your', 'approved_subject = "{ticket_id} Your', "unknown placeholder {ticket_id}"),
        ('approved_subject = "Your', 'approved_subject = "{ticket_title!r} Your', "unknown placeholder {ticket_title!r}"),
        ('approved_subject = "Your', 'approved_subject = "{ticket_title:>9} Your', "unknown placeholder {ticket_title:>9}"),
        ('approved_subject = "Your', 'approved_subject = "{ Your', "literal brace"),
        ('declined_subject = "Your', 'declined_subject = "Line\\nYour', "one non-empty line"),
        ("notify_declined = false", 'notify_declined = "maybe"', "proposals.notify_declined"),
    ],
)
def test_bad_options_are_reported_with_their_path(tmp_path: Path, old: str, new: str, problem: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_with(tmp_path / "bad.toml", old, new)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_literal_braces_are_allowed(tmp_path: Path) -> None:
    policy = policy_with(tmp_path / "ok.toml", 'approved_subject = "Your', 'approved_subject = "{{approved}} Your')
    assert policy.proposals.approved_subject.startswith("{{approved}}")
