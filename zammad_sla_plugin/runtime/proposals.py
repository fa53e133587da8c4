"""Feature proposals: e-mail the people who asked, exactly once per approval.

A proposal is a ticket whose `sla_kind` is one of `[proposals] kinds`. When its
`sla_proposal_status` arrives at a notified status (`approved`; `declined`/`delivered` when
switched on), each person who filed or follows it gets one e-mail, written as an e-mail
article on the proposal ticket so that Zammad itself sends it and keeps it in writing:

- the proposal's customer;
- the customers of the tickets linked to it (Zammad links, any type);
- the users subscribed to it (Zammad mentions, the "subscribe" bell).

One article per recipient (an article has no Bcc, and customers of other organizations
must not see each other's addresses). Recipients without a usable address (none, invalid,
inactive user, or refused by Zammad) are listed in one internal note instead.

Exactly once, with nothing stored outside Zammad. The idempotency marker is Zammad's own
ticket history and articles:

    An arrival is the latest history entry that set the status attribute to the current
    status (or the ticket's creation, when it was created with it). A recipient is
    answered when an e-mail article addressed to them was created by the sidecar's own
    API user after that entry (in history order); the no-address list is answered by our
    internal note with the status' fixed subject after that entry.

So a replayed webhook, a retried task or a restarted worker re-reads Zammad and finds the
answer already there; approve -> decline -> approve is a new arrival with no answer after
it, and notifies again. An agent's own e-mail never counts as an answer (it is not ours).
Two workers never evaluate one ticket at once (the queue's per-ticket lease), and a crash
between two recipients resumes with the ones not yet answered. The one window left is a
request Zammad executed whose answer never arrived (timeout after sending): article POSTs
are never retried by the client, the task fails, and its retry finds the article and sends
nothing. A lease lost mid-send (a worker stalled longer than its lease) could duplicate.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Any, Callable

from zammad_sla_plugin import templates
from zammad_sla_plugin.core.clock import NOBODY_USER_ID
from zammad_sla_plugin.core.history import ordered_entries
from zammad_sla_plugin.core.i18n import N_, Language, available, language
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.core.policy_texts import localized_text
from zammad_sla_plugin.core.reasons import proposal_status_name
from zammad_sla_plugin.zammad import ZammadClient, ZammadError, relations

log = logging.getLogger(__name__)

# Deliberately strict: Zammad refuses an e-mail article to an address it cannot parse.
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


_NO_ADDRESS_SUBJECT = N_("Proposal %(status)s: people not notified by e-mail")


def no_address_subject(status: str, locale: str | None = None) -> str:
    """Subject of the internal note listing the people who could not be e-mailed."""
    lang = language(locale)
    return lang._(_NO_ADDRESS_SUBJECT, status=proposal_status_name(status, lang))


# Why someone is told, and why not by e-mail, as the no-address note says it.
_FIXED_TEXTS = {
    "customer": N_("customer"), "subscribed": N_("subscribed"), "no e-mail address": N_("no e-mail address"),
    "inactive user": N_("inactive user"), "user not found": N_("user not found"),
}  # fmt: skip
_PREFIXED_TEXTS = (
    ("customer of linked ticket #", N_("customer of linked ticket #%(rest)s")),
    ("invalid e-mail address ", N_("invalid e-mail address %(rest)s")),
    ("Zammad refused the e-mail to ", N_("Zammad refused the e-mail to %(rest)s")),
)


def _note_text(text: str | None, lang: Language) -> str:
    """A recipient's reason or problem (kept in English in the outcome) in the note's language."""
    if not text or lang.is_source:
        return text or ""
    if text in _FIXED_TEXTS:
        return lang.gettext(_FIXED_TEXTS[text])
    for prefix, message in _PREFIXED_TEXTS:
        if text.startswith(prefix):
            return lang._(message, rest=text.removeprefix(prefix))
    return text


def no_address_subjects(status: str) -> frozenset[str]:
    """That subject in every shipped language (a note written before a locale change still counts)."""
    return frozenset(no_address_subject(status, name) for name in available())


@dataclass(frozen=True)
class Arrival:
    """The ticket's latest arrival at its current proposal status."""

    status: str
    position: int  # index in the history (sorted by created_at, id); -1 when unknown


@dataclass(frozen=True)
class Recipient:
    """Someone to notify, why, and why not by e-mail (`problem`)."""

    user_id: int
    name: str
    email: str | None
    reasons: tuple[str, ...]
    problem: str | None = None
    locale: str | None = None  # the user's `preferences.locale` in Zammad (None: the default)


@dataclass(frozen=True)
class Answers:
    """What the sidecar already wrote on the ticket since the arrival."""

    emailed: frozenset[str] = frozenset()  # lowercased addresses
    noted: bool = False


@dataclass
class NotificationOutcome:
    """What one run found and wrote."""

    arrival: Arrival | None
    emailed: list[str] = field(default_factory=list)
    note_subject: str | None = None
    not_emailed: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- pure rules


def is_proposal(ticket: dict[str, Any], policy: Policy) -> bool:
    """Whether the ticket's kind makes it a feature proposal."""
    return ticket.get(policy.attributes.kind) in policy.proposals.kinds


def arrival(ticket: dict[str, Any], history: Any, policy: Policy) -> Arrival | None:
    """The latest arrival at the ticket's current status, when that status notifies."""
    status = ticket.get(policy.attributes.proposal_status)
    if not is_proposal(ticket, policy) or status not in policy.proposals.notified_statuses:
        return None
    entries = ordered_entries(history)
    attribute = policy.attributes.proposal_status
    position = -1
    for index, entry in enumerate(entries):
        if entry.get("object", "Ticket") != "Ticket":
            continue
        if entry.get("type") == "created" and position == -1:
            position = index  # created with the status: the creation is the arrival
        elif entry.get("type") == "updated" and entry.get("attribute") == attribute and entry.get("value_to") == status:
            position = index
    return Arrival(status, position)


def our_articles_since(history: Any, since: Arrival, api_user_id: int) -> set[int]:
    """Ids of the articles our API user created after the arrival (history order)."""
    found: set[int] = set()
    for index, entry in enumerate(ordered_entries(history)):
        if index <= since.position or entry.get("object") != "Ticket::Article" or entry.get("type") != "created":
            continue
        if entry.get("created_by_id") == api_user_id and isinstance(entry.get("o_id"), int):
            found.add(entry["o_id"])
    return found


def answers(articles: list[dict[str, Any]], ours: set[int], status: str) -> Answers:
    """The recipients our e-mail articles in `ours` reached, and whether our no-address note exists."""
    emailed: set[str] = set()
    noted = False
    subjects = no_address_subjects(status)
    for article in articles:
        if article.get("id") not in ours:
            continue
        if article.get("type") == "email" and article.get("sender") == "Agent" and not article.get("internal"):
            emailed |= {address.lower() for _name, address in getaddresses([article.get("to") or "",
                                                                              article.get("cc") or ""]) if address}
        elif article.get("type") == "note" and article.get("subject") in subjects:
            noted = True
    return Answers(frozenset(emailed), noted)


def render(template: str, ticket: dict[str, Any], recipient: Recipient, status: str) -> str:
    """The policy's wording with its placeholders filled in."""
    return template.format(
        ticket_number=ticket.get("number") or ticket.get("id"), ticket_title=ticket.get("title") or "",
        recipient_name=recipient.name, status=status,
    )  # fmt: skip


def email_article(
    ticket: dict[str, Any], recipient: Recipient, status: str, policy: Policy, default_locale: str | None = None
) -> dict[str, Any]:
    """The e-mail article that makes Zammad send the notification (Agent, public, type email).

    Zammad adds the sender address, Message-ID and ticket hook itself
    (app/models/ticket/article/adds_metadata_email.rb) and sends it from its mail job
    (enqueue_communicate_email_job.rb: type email, sender not Customer). Worded in the
    recipient's `preferences.locale`, else `default_locale`, else the policy's `locale`.
    """
    lang = language(recipient.locale or default_locale or policy.locale)
    base_subject, base_body = policy.proposals.wording(status)
    subject = localized_text(policy.texts, base_subject, f"{status}_subject", lang)
    body = localized_text(policy.texts, base_body, f"{status}_body", lang)
    return {
        "ticket_id": int(ticket["id"]), "type": "email", "sender": "Agent", "internal": False,
        "to": recipient.email, "subject": render(subject, ticket, recipient, status),
        "body": render(body, ticket, recipient, status), "content_type": "text/plain",
    }  # fmt: skip


def no_address_note(ticket: dict[str, Any], missing: list[Recipient], status: str, locale: str | None = None) -> dict[str, Any]:
    """The internal note listing who could not be e-mailed and why (in the notes' `locale`)."""
    lang = language(locale)
    shown = [Recipient(r.user_id, r.name, r.email, tuple(_note_text(reason, lang) for reason in r.reasons),
                       _note_text(r.problem, lang)) for r in missing]
    body = templates.render("no_address_note.html.j2", lang, status=proposal_status_name(status, lang), missing=shown)
    return {
        "ticket_id": int(ticket["id"]), "type": "note", "sender": "Agent", "internal": True,
        "subject": no_address_subject(status, locale), "body": body, "content_type": "text/html",
    }  # fmt: skip


def recipient_from_user(user: dict[str, Any] | None, user_id: int, reasons: tuple[str, ...]) -> Recipient:
    """A recipient from a Zammad user record (None: the user could not be read)."""
    if user is None:
        return Recipient(user_id, f"user {user_id}", None, reasons, "user not found")
    name = f"{user.get('firstname') or ''} {user.get('lastname') or ''}".strip() or user.get("login") or f"user {user_id}"
    email = (user.get("email") or "").strip()
    problem = None
    if not email:
        problem = "no e-mail address"
    elif not _EMAIL.match(email):
        problem = f"invalid e-mail address {email!r}"
    elif user.get("active") is False:
        problem = "inactive user"
    preferences = user.get("preferences")
    locale = preferences.get("locale") if isinstance(preferences, dict) else None
    return Recipient(user_id, name, email or None, reasons, problem, locale if isinstance(locale, str) and locale else None)


def merge_reasons(found: list[tuple[int, str]]) -> dict[int, tuple[str, ...]]:
    """User id -> every reason they are notified, first-found order, without duplicates."""
    merged: dict[int, tuple[str, ...]] = {}
    for user_id, reason in found:
        if user_id == NOBODY_USER_ID:
            continue
        if reason not in merged.get(user_id, ()):
            merged[user_id] = merged.get(user_id, ()) + (reason,)
    return merged


# --------------------------------------------------------------------------- against Zammad


class ProposalNotifier:
    """Sends the notifications a proposal owes, reading Zammad for what was already sent."""

    def __init__(
        self, client: ZammadClient, policy: Policy, api_user_id: int | Callable[[], int] | None = None,
        default_locale: Callable[[], str | None] | None = None,
    ) -> None:
        self.client, self.policy = client, policy
        self._api_user_id = api_user_id
        # The effective default language (policy's locale, else Zammad's locale_default), read when needed.
        self._default_locale = default_locale or (lambda: policy.locale)

    @property
    def api_user_id(self) -> int:
        """The sidecar's own Zammad user (whose articles count as answers)."""
        if callable(self._api_user_id):
            self._api_user_id = int(self._api_user_id())
        if self._api_user_id is None:
            self._api_user_id = int(self.client.me()["id"])
        return int(self._api_user_id)

    def recipients(self, ticket: dict[str, Any]) -> list[Recipient]:
        """The proposal's customer, linked tickets' customers and subscribers (one entry per user)."""
        ticket_id = int(ticket["id"])
        found: list[tuple[int, str]] = []
        if ticket.get("customer_id"):
            found.append((int(ticket["customer_id"]), "customer"))
        links = relations.ticket_links(self.client, ticket_id)
        users: dict[int, dict[str, Any] | None] = {}
        for linked_id in links.linked_ticket_ids():
            linked = links.asset("Ticket", linked_id) or self._ticket(linked_id)
            if linked and linked.get("customer_id"):
                customer_id = int(linked["customer_id"])
                found.append((customer_id, f"customer of linked ticket #{linked.get('number') or linked_id}"))
                if (user := links.asset("User", customer_id)) is not None:
                    users[customer_id] = user
        for mention in relations.ticket_mentions(self.client, ticket_id):
            if mention.get("user_id"):
                found.append((int(mention["user_id"]), "subscribed"))
        result = []
        for user_id, reasons in merge_reasons(found).items():
            if user_id == self.api_user_id:
                continue  # our own user may have subscribed; it needs no e-mail
            if user_id not in users:
                users[user_id] = self._user(user_id)
            result.append(recipient_from_user(users[user_id], user_id, reasons))
        return result

    def _ticket(self, ticket_id: int) -> dict[str, Any] | None:
        try:
            return self.client.get_ticket(ticket_id, expand=False)
        except ZammadError as error:
            if error.not_found:
                return None
            raise

    def _user(self, user_id: int) -> dict[str, Any] | None:
        try:
            return relations.get_user(self.client, user_id)
        except ZammadError as error:
            if error.not_found:
                return None
            raise

    def run(self, ticket: dict[str, Any], history: Any) -> NotificationOutcome:
        """Send what the ticket's latest arrival still owes; nothing when it is answered."""
        since = arrival(ticket, history, self.policy)
        outcome = NotificationOutcome(since)
        if since is None:
            return outcome
        ours = our_articles_since(history, since, self.api_user_id)
        done = answers(relations.ticket_articles(self.client, int(ticket["id"])), ours, since.status) if ours else Answers()
        missing: list[Recipient] = []
        reached = set(done.emailed)
        for recipient in self.recipients(ticket):
            if recipient.problem is not None or recipient.email is None:
                missing.append(recipient)
                continue
            if recipient.email.lower() in reached:
                continue  # told already
            reached.add(recipient.email.lower())
            try:
                relations.create_article(self.client, email_article(ticket, recipient, since.status, self.policy,
                                                                    self._default_locale()))
            except ZammadError as error:
                if error.status is None or error.status >= 500:
                    raise  # transient or unknown: the task is retried and re-reads what was sent
                missing.append(Recipient(recipient.user_id, recipient.name, recipient.email, recipient.reasons,
                                         f"Zammad refused the e-mail to {recipient.email}: {error.error_human or error.error}"))
                continue
            outcome.emailed.append(recipient.email)
        outcome.not_emailed = [f"{r.name}: {r.problem}" for r in missing]
        if missing and not done.noted:
            note = no_address_note(ticket, missing, since.status, self._default_locale())
            relations.create_article(self.client, note)
            outcome.note_subject = note["subject"]
        if outcome.emailed or outcome.note_subject:
            log.info("proposal %s %s: e-mailed %s%s", ticket.get("id"), since.status, outcome.emailed,
                     f", noted {len(missing)} without e-mail" if outcome.note_subject else "")
        return outcome
