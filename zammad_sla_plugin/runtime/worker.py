"""Evaluating one ticket against Zammad: read, compute, write back only what differs.

Per evaluation: 2 reads (ticket with expand, history; the organization is cached), then at
most 1 ticket PUT (SLA fields, plus the at-risk/breached note as its `article`) and only
the tag calls needed. The ticket's tags are read off its history (Zammad writes `added` /
`removed` entries with attribute `tag`), which saves a third read. When nothing differs
nothing is written, so a webhook caused by our own write ends the loop.

Two rules of issue 11 ride along: an excluded origin claimed without evidence gets the
`sla-evidence-missing` tag and one note for the owner (`evidence.py`), and a feature
proposal arriving at a notified status e-mails the people who asked (`proposals.py`, which
reads links, mentions and articles only for such proposals).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

from zammad_sla_plugin.core.clock import AT_RISK, BREACHED, SlaResult, evaluate
from zammad_sla_plugin.core.contracts import customer_to_read, tags_from_history
from zammad_sla_plugin.core.evidence import evidence_note, evidence_note_due, evidence_tags
from zammad_sla_plugin.core.explain import explain
from zammad_sla_plugin.core.notes import transition_note
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.runtime.locale import LocaleCache
from zammad_sla_plugin.runtime.proposals import NotificationOutcome, ProposalNotifier, is_proposal
from zammad_sla_plugin.core.times import format_utc, parse_time
from zammad_sla_plugin.zammad import ZammadClient, ZammadError

log = logging.getLogger(__name__)

Now = Callable[[], datetime]


class StatusSink(Protocol):
    """Where ticket statuses are tracked (the Prometheus metrics object)."""

    def set_ticket_status(self, ticket_id: int, status: str | None) -> None: ...  # noqa: D102


@dataclass
class EvaluationOutcome:
    """What one evaluation found and wrote."""

    ticket_id: int
    result: SlaResult
    fields_written: dict[str, Any] = field(default_factory=dict)
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    note_subject: str | None = None
    missing_attributes: list[str] = field(default_factory=list)
    blocked: str | None = None  # why Zammad refused the field write (e.g. a mandatory field)
    evidence_note: bool = False  # the owner was told the origin's evidence is missing
    proposal: NotificationOutcome | None = None  # what a feature proposal's people were sent

    @property
    def changed(self) -> bool:
        """Whether anything was written to Zammad."""
        sent = self.proposal is not None and bool(self.proposal.emailed or self.proposal.note_subject)
        return bool(self.fields_written or self.tags_added or self.tags_removed or self.evidence_note or sent)


def _same_instant(current: Any, desired: str | None) -> bool:
    if current in (None, "") or desired is None:
        return current in (None, "") and desired is None
    try:
        return parse_time(current, "current value") == parse_time(desired, "desired value")
    except ValueError:
        return False


class RecordCache:
    """Records that change rarely (organizations, customers): cached for `ttl` seconds (thread-safe).

    At most `max_entries` are kept, the least recently used dropped first, so a helpdesk
    with many organizations cannot grow a long-running worker's memory without bound.
    """

    def __init__(self, fetch: Callable[[int], dict[str, Any]], ttl: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 1000) -> None:  # fmt: skip
        self._fetch, self._ttl, self._clock, self._max = fetch, ttl, clock, max_entries
        self._items: OrderedDict[int, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, org_id: int) -> dict[str, Any]:
        """The organization, fetched at most once per `ttl` while it stays among the cached."""
        with self._lock:
            cached = self._items.get(org_id)
            if cached is not None and self._clock() - cached[0] < self._ttl:
                self._items.move_to_end(org_id)
                return cached[1]
        organization = self._fetch(org_id)
        with self._lock:
            self._items[org_id] = (self._clock(), organization)
            self._items.move_to_end(org_id)
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return organization

    def __len__(self) -> int:
        return len(self._items)


OrganizationCache = RecordCache  # the name the rest of the code and the tests know it by


class TicketEvaluator:
    """The worker's job: bring one ticket's SLA fields, tags and notes in step with the SLA."""

    def __init__(
        self,
        client: ZammadClient,
        policy: Policy,
        now: Now,
        *,
        sink: StatusSink | None = None,
        organization_ttl: float = 300.0,
    ) -> None:
        self.client, self.policy, self.now, self.sink = client, policy, now, sink
        self.organizations = RecordCache(client.get_organization, organization_ttl)
        # Read only when a contract selects on the customer's e-mail domain.
        self.customers = RecordCache(client.get_user, organization_ttl)
        self._warned_missing = False
        self._api_user_id: int | None = None
        self.locales = LocaleCache(policy, client)  # notes' language: policy locale, else Zammad's locale_default
        self.proposals = ProposalNotifier(client, policy, lambda: self.api_user_id, self.locales.locale)

    @property
    def api_user_id(self) -> int:
        """The sidecar's own Zammad user (read once, when a rule first needs it)."""
        if self._api_user_id is None:
            self._api_user_id = int(self.client.me()["id"])
        return self._api_user_id

    def evaluate(self, ticket_id: int) -> datetime | None:
        """Evaluate and write back; returns the instant the ticket must be checked again."""
        return self.run(ticket_id).result.next_check_at

    def run(self, ticket_id: int, ticket: dict[str, Any] | None = None) -> EvaluationOutcome:
        """Evaluate one ticket and write back only the differences.

        `ticket` saves reading it again when the caller read it moments ago, expanded
        (a search page with expand=true: Zammad renders both with
        attributes_with_association_names, app/controllers/tickets_controller.rb).
        """
        if ticket is None:
            ticket = self.client.get_ticket(ticket_id, expand=True)
        history = self.client.ticket_history(ticket_id)
        org_id = ticket.get("organization_id")
        organization = self.organizations.get(int(org_id)) if org_id else None
        customer = self._customer(ticket)
        now = self.now()
        result = evaluate(ticket, history, organization, now, self.policy, customer=customer)
        outcome = self._write_back(
            ticket, history, result, lambda: explain(ticket, history, organization, now, self.policy, customer=customer)
        )
        if is_proposal(ticket, self.policy):
            outcome.proposal = self.proposals.run(ticket, history)
        if self.sink:
            self.sink.set_ticket_status(ticket_id, result.status)
        return outcome

    def _customer(self, ticket: dict[str, Any]) -> dict[str, Any] | None:
        """The customer's user record, when a contract selects on it and the ticket does not say it."""
        customer_id = customer_to_read(ticket, self.policy)
        return self.customers.get(customer_id) if customer_id is not None else None

    def desired_fields(self, result: SlaResult) -> dict[str, Any]:
        """The SLA attribute values the ticket should show for `result`."""
        names = self.policy.attributes
        fields = {
            names.first_response_due_at: format_utc(result.first_response.due_at),
            names.resolution_due_at: format_utc(result.resolution.due_at),
            names.status: result.status,
        }
        if self.policy.has_contracts:
            fields[names.contract] = result.contract
        return fields

    def desired_tags(self, status: str, evidence_missing: bool = False) -> tuple[set[str], set[str]]:
        """(tags the ticket must carry, tags it must not) for a status and the evidence rule."""
        ours = {AT_RISK: self.policy.tags.at_risk, BREACHED: self.policy.tags.breached}
        wanted = {ours[status]} if status in ours else set()
        evidence_wanted, evidence_unwanted = evidence_tags(evidence_missing, self.policy)
        return wanted | evidence_wanted, (set(ours.values()) - wanted) | evidence_unwanted

    def _write_back(
        self,
        ticket: dict[str, Any],
        history: dict[str, Any],
        result: SlaResult,
        explanation: Callable[[], dict[str, Any]],
    ) -> EvaluationOutcome:
        ticket_id = int(ticket["id"])
        outcome = EvaluationOutcome(ticket_id, result)
        updates: dict[str, Any] = {}
        names = self.policy.attributes
        instants = {names.first_response_due_at, names.resolution_due_at}
        for name, value in self.desired_fields(result).items():
            if name not in ticket:
                # Zammad drops unknown columns: the attribute was never provisioned.
                outcome.missing_attributes.append(name)
                continue
            current = ticket.get(name)
            # Zammad renders datetimes its own way ("...15:00:00.000Z"): compare instants.
            same = _same_instant(current, value) if name in instants else (current or None) == value
            if not same:
                updates[name] = value
        if outcome.missing_attributes and not self._warned_missing:
            self._warned_missing = True
            log.warning("ticket attributes %s are missing in Zammad: run `zammad-sla setup`", outcome.missing_attributes)

        previous_status = ticket.get(names.status)
        if result.status in (AT_RISK, BREACHED) and previous_status != result.status and updates:
            subject, body = transition_note(result, self.policy, explanation(), self.locales.locale())
            updates["article"] = {
                "subject": subject, "body": body, "content_type": "text/html",
                "type": "note", "internal": True, "sender": "Agent",
            }  # fmt: skip
            outcome.note_subject = subject
        if updates:
            self._put_fields(ticket_id, updates, outcome)
        if result.evidence_missing and evidence_note_due(result, history, self.policy, self.api_user_id):
            # Its own article: creating one runs no ticket form checks, and the PUT above may carry another.
            note = evidence_note(ticket, result, self.policy, self.locales.locale())
            self.client.add_internal_note(ticket_id, note["body"], note["subject"])
            outcome.evidence_note = True
        self._sync_tags(ticket_id, result, tags_from_history(history), outcome)
        log.info(
            "ticket %s: %s%s", ticket_id, result.status,
            f" (wrote {sorted(outcome.fields_written)}, +{outcome.tags_added} -{outcome.tags_removed})" if outcome.changed else " (no change)",
        )  # fmt: skip
        return outcome

    def _put_fields(self, ticket_id: int, updates: dict[str, Any], outcome: EvaluationOutcome) -> None:
        """One PUT with the fields (and the note as its article).

        Zammad checks the whole ticket's mandatory fields on every PUT (checks_core_workflow.rb).
        When a field setup did not lift blocks it, retrying cannot help: the note still goes
        out as an article of its own (creating an article runs no ticket form checks), the
        tags are still synced by the caller, and the reason is logged once per evaluation.
        """
        try:
            self.client.update_ticket(ticket_id, updates)
        except ZammadError as error:
            if error.status != 422 or "Missing required value" not in str(error):
                raise
            outcome.blocked = str(error)
            log.error(
                "ticket %s: Zammad refused the SLA fields: %s; run `zammad-sla setup` (it makes mandatory fields "
                "optional for the sidecar's user) or `zammad-sla doctor`", ticket_id, error.error_human or error,
            )  # fmt: skip
            article = updates.get("article")
            if article:
                self.client.add_internal_note(ticket_id, article["body"], article.get("subject"))
            return
        outcome.fields_written = {k: v for k, v in updates.items() if k != "article"}

    def _sync_tags(self, ticket_id: int, result: SlaResult, current: frozenset[str], outcome: EvaluationOutcome) -> None:
        """Add/remove our tags (tag calls are silent in Zammad: no trigger, no notification)."""
        wanted, unwanted = self.desired_tags(result.status, result.evidence_missing)
        for tag in sorted(wanted - current):
            try:
                self.client.add_tag(ticket_id, tag)
            except ZammadError as error:
                if error.status != 403:
                    raise
                # tags/add refuses a tag outside the tag list while tag_new is off (Tag.tag_allowed?).
                log.error("ticket %s: Zammad refused tag %r (%s): run `zammad-sla setup` to add it to the tag list",
                          ticket_id, tag, error)  # fmt: skip
                continue
            outcome.tags_added.append(tag)
        for tag in sorted(unwanted & current):
            self.client.remove_tag(ticket_id, tag)
            outcome.tags_removed.append(tag)


def fetch_explanation(client: ZammadClient, ticket_id: int, policy: Policy, now: datetime) -> dict[str, Any]:
    """Read the ticket, its history and organization from Zammad and explain its SLA."""
    ticket = client.get_ticket(ticket_id, expand=True)
    history = client.ticket_history(ticket_id)
    org_id = ticket.get("organization_id")
    organization = client.get_organization(int(org_id)) if org_id else None
    customer_id = customer_to_read(ticket, policy)
    customer = client.get_user(customer_id) if customer_id is not None else None
    return explain(ticket, history, organization, now, policy, customer=customer)
