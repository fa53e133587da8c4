"""An excluded origin claimed without evidence: the tag and the one note that say so.

Pure: from the SLA result and the ticket's history (the body of `GET /ticket_history/:id`,
whose `assets` carry the articles) it decides whether the ticket must carry the policy's
`evidence_missing` tag and whether the owner still needs the note.

The note is written once per claim. A claim starts at the latest history entry that
changed the origin or the evidence attribute (or at the ticket's creation). The note is
due while evidence is missing and no internal note with `EVIDENCE_NOTE_SUBJECT` was
written by the sidecar's own user after that entry. So replays and restarts find the note
and write none; emptying the evidence or claiming another origin starts a new claim.
When the evidence is written the tag goes and no further note is written.
"""

from __future__ import annotations

from typing import Any

from zammad_sla_plugin.core.clock import SlaResult
from zammad_sla_plugin.core.history import ordered_entries
from zammad_sla_plugin.core.i18n import N_, available, language
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.core.reasons import origin_name, state_name
from zammad_sla_plugin.templates import render

EVIDENCE_NOTE_SUBJECT = N_("SLA exclusion needs evidence")


def evidence_note_subjects() -> frozenset[str]:
    """The note's subject in every shipped language: a note written before a locale change still counts."""
    return frozenset(language(name).gettext(EVIDENCE_NOTE_SUBJECT) for name in available())


def evidence_tags(evidence_missing: bool, policy: Policy) -> tuple[set[str], set[str]]:
    """(tags the ticket must carry, tags it must not) for the evidence rule."""
    tag = policy.tags.evidence_missing
    return ({tag}, set()) if evidence_missing else (set(), {tag})


def _article_assets(history: Any) -> dict[str, dict[str, Any]]:
    assets = history.get("assets", {}) if isinstance(history, dict) else {}
    return assets.get("TicketArticle", {}) if isinstance(assets, dict) else {}


def evidence_note_due(result: SlaResult, history: Any, policy: Policy, api_user_id: int) -> bool:
    """Whether the owner must now be told that the claimed origin lacks its evidence."""
    if not result.evidence_missing:
        return False
    watched = {policy.attributes.origin, policy.attributes.origin_evidence}
    entries = ordered_entries(history)
    start = -1
    for index, entry in enumerate(entries):
        if entry.get("object", "Ticket") != "Ticket":
            continue
        if entry.get("type") == "created" or (entry.get("type") == "updated" and entry.get("attribute") in watched):
            start = index
    articles = _article_assets(history)
    subjects = evidence_note_subjects()
    for entry in entries[start + 1:]:
        if entry.get("object") != "Ticket::Article" or entry.get("type") != "created":
            continue
        if entry.get("created_by_id") != api_user_id:
            continue
        article = articles.get(str(entry.get("o_id")))
        if article is not None and article.get("subject") in subjects:
            return False
    return True


def evidence_note(ticket: dict[str, Any], result: SlaResult, policy: Policy, locale: str | None = None) -> dict[str, Any]:
    """The internal note (a ticket `article`) telling the owner what is missing.

    `locale`: the notes' effective language (None: the policy's `locale`, else English).
    """
    names = policy.attributes
    lang = language(locale or policy.locale)
    subject = lang.gettext(EVIDENCE_NOTE_SUBJECT)
    owner = ticket.get("owner") if isinstance(ticket.get("owner"), str) and ticket.get("owner") != "-" else None
    body = render("evidence_note.html.j2", lang, subject=subject, owner=owner, origin=origin_name(str(ticket.get(names.origin)), lang),
                  origin_attribute=names.origin, evidence_attribute=names.origin_evidence,
                  status=state_name(result.status, lang), tag=policy.tags.evidence_missing)  # fmt: skip
    return {"subject": subject, "body": body, "content_type": "text/html", "type": "note",
            "internal": True, "sender": "Agent"}  # fmt: skip
