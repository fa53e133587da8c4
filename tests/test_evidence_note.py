"""The `sla-evidence-missing` tag and the one note telling the owner, on hand-made history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.sla_builders import ticket
from zammad_sla_plugin.core.clock import evaluate
from zammad_sla_plugin.core.evidence import EVIDENCE_NOTE_SUBJECT, evidence_note, evidence_note_due, evidence_tags
from zammad_sla_plugin.core.policy import load_policy

POLICY = load_policy()
API_USER = 3
NOW = datetime.fromisoformat("2026-03-10T16:00:00+00:00")


def row(ident: int, at: str, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "o_id": 42, "object": "Ticket", "type": "updated", "created_by_id": 4,
            "created_at": f"2026-03-10T{at}:00.000Z", **fields}  # fmt: skip


def note_row(ident: int, at: str, article_id: int, by: int = API_USER) -> dict[str, Any]:
    return row(ident, at, object="Ticket::Article", type="created", o_id=article_id, created_by_id=by,
               related_object="Ticket", related_o_id=42)  # fmt: skip


def history(*entries: dict[str, Any], articles: dict[int, str] | None = None) -> dict[str, Any]:
    assets = {"TicketArticle": {str(i): {"id": i, "subject": s} for i, s in (articles or {}).items()}}
    return {"history": [row(1, "13:00", type="created"), *entries], "assets": assets}


def claimed(**extra: Any):
    return evaluate(ticket("2026-03-10T13:00:00Z", sla_origin="third_party", **extra), {"history": []}, None, NOW, POLICY)


def test_tag_follows_the_missing_evidence() -> None:
    assert evidence_tags(claimed().evidence_missing, POLICY) == ({"sla-evidence-missing"}, set())
    written = claimed(sla_origin_evidence="Vendor report")
    assert evidence_tags(written.evidence_missing, POLICY) == (set(), {"sla-evidence-missing"})


def test_note_due_once_per_claim() -> None:
    result = claimed()
    origin = row(2, "13:05", attribute="sla_origin", value_from="", value_to="third_party")
    assert evidence_note_due(result, history(origin), POLICY, API_USER) is True
    written = history(origin, note_row(3, "13:06", 50), articles={50: EVIDENCE_NOTE_SUBJECT})
    assert evidence_note_due(result, written, POLICY, API_USER) is False
    # Our SLA notes and an agent's note with the same subject do not count.
    others = history(origin, note_row(3, "13:06", 50), note_row(4, "13:07", 51, by=4),
                     articles={50: "SLA at risk", 51: EVIDENCE_NOTE_SUBJECT})  # fmt: skip
    assert evidence_note_due(result, others, POLICY, API_USER) is True
    # Evidence written then emptied again: a new claim, a new note.
    emptied = history(origin, note_row(3, "13:06", 50),
                      row(4, "14:00", attribute="sla_origin_evidence", value_from="", value_to="x"),
                      row(5, "14:30", attribute="sla_origin_evidence", value_from="x", value_to=""),
                      articles={50: EVIDENCE_NOTE_SUBJECT})  # fmt: skip
    assert evidence_note_due(result, emptied, POLICY, API_USER) is True
    # Created with the claim: the creation starts it.
    assert evidence_note_due(result, history(), POLICY, API_USER) is True
    assert evidence_note_due(claimed(sla_origin_evidence="Vendor report"), history(), POLICY, API_USER) is False


def test_note_tells_the_owner_what_is_missing() -> None:
    tk = ticket("2026-03-10T13:00:00Z", sla_origin="third_party", owner="emma.taylor@example.com")
    note = evidence_note(tk, claimed(), POLICY)
    assert (note["subject"], note["internal"], note["type"]) == (EVIDENCE_NOTE_SUBJECT, True, "note")
    assert note["body"].count("sla_origin_evidence") == 2 and "sla-evidence-missing" in note["body"]
    # Created 10:00 local, unassigned at 13:00: the 2-hour first response breached at 12:00.
    assert "emma.taylor@example.com, the ticket" in note["body"] and "(it is breached now)" in note["body"]
