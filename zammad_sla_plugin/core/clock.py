"""The SLA clock: given a ticket, its history, its organization and `now`, the SLA result.

Pure functions, no I/O and no clock reads: the caller passes `now`. The rules (all policy
driven, defaults are the Aivo SLA):

- Severity comes from the ticket's *current* priority; targets are measured from
  `created_at` with that severity, so a priority change applies retroactively.
- 24x7 Integrations Support applies when the severity is listed in the policy, the
  organization's boolean attribute is true, the ticket's integration attribute has the
  contracted value and (by default) the ticket was created outside working hours. It then
  swaps in the policy's 24x7 targets for that severity (if it has any). With activation
  `phone_outside_hours` the ticket must also have come in by phone (`create_article_type`).
- An excluded origin (`sla_origin` customer/third party) excludes the ticket only while its
  evidence (`sla_origin_evidence`) is written, when the policy requires evidence (default).
  Claimed without evidence, the ticket is counted like any other and `evidence_missing` is set.
- First response = assignment to an analyst: met at the first `owner` history entry whose
  `id_to` is not 1 (1 = nobody); assigned at creation when the first owner entry's `id_from`
  is not 1, or when there is no owner entry and `owner_id` is not 1. Never paused.
- Resolution counts working time on the applicable clock from `created_at`, excluding every
  span spent in a pause, closed or merged state (spans come from `state` history entries).
  Reopening resumes the clock where it stopped.
- History entries after `now` are ignored, so a ticket can be evaluated as of any past
  instant (reports evaluate closed tickets at their closing time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from zammad_sla_plugin.core.calendar import WorkingCalendar
from zammad_sla_plugin.core.contracts import AppliedContract, match_facts
from zammad_sla_plugin.core.policy import Policy, Targets
from zammad_sla_plugin.core.times import format_utc, parse_time

NOBODY_USER_ID = 1  # Zammad's "-" user: an owner_id of 1 means unassigned

# Per-clock states
RUNNING, PAUSED, MET, BREACHED, NOT_APPLICABLE = "running", "paused", "met", "breached", "not_applicable"
# Overall statuses, in the order the first matching one wins
EXCLUDED, AT_RISK, ON_TRACK = "excluded", "at_risk", "on_track"
STATUSES: tuple[str, ...] = ("on_track", "at_risk", "breached", "paused", "met", "not_applicable", "excluded")


class SlaInputError(ValueError):
    """The ticket, history or organization cannot be evaluated (the message says why)."""


@dataclass(frozen=True)
class TicketFacts:
    """What the SLA rules read off a ticket, whichever shape (REST or webhook) it came in."""

    ticket_id: int | None
    created_at: datetime
    state: str
    priority: str
    owner_id: int | None
    kind: str | None
    origin: str | None
    integration: str | None
    organization_24x7: bool
    evidence: str | None = None  # the origin evidence text, None when blank
    create_article_type: str | None = None  # type of the first article ("phone", "email", ...)


@dataclass(frozen=True)
class StateSpan:
    """The ticket sat in `state` during [start, end)."""

    start: datetime
    end: datetime
    state: str


@dataclass(frozen=True)
class ClockResult:
    """One clock (first response or resolution) of one ticket."""

    state: str
    target: timedelta | None = None
    due_at: datetime | None = None
    met_at: datetime | None = None
    consumed: timedelta = timedelta(0)  # clock time used so far (up to now, or to met_at)
    paused: timedelta = timedelta(0)  # clock time discounted because of pause states

    @property
    def target_minutes(self) -> float | None:
        """The target in minutes (None when the clock does not apply)."""
        return None if self.target is None else minutes_of(self.target)


@dataclass(frozen=True)
class SlaResult:
    """The SLA of one ticket as of `now`."""

    ticket_id: int | None
    applies: bool
    severity: str | None
    priority: str
    clock: str | None
    support_24x7: bool
    status: str
    first_response: ClockResult
    resolution: ClockResult
    next_check_at: datetime | None
    now: datetime
    state_spans: tuple[StateSpan, ...] = field(default=(), repr=False)
    origin_claimed: bool = False  # the origin is one of the policy's excluded origins
    evidence_written: bool = False  # the origin evidence attribute is not blank
    evidence_missing: bool = False  # an excluded origin claimed without the evidence the policy requires
    # The contract measured under; None when the policy defines no contracts (and none was named).
    applied: AppliedContract | None = field(default=None, repr=False, compare=False)

    @property
    def contract(self) -> str | None:
        """The name of the contract that applied (None without contracts)."""
        return None if self.applied is None else self.applied.name

    @property
    def contract_version(self) -> str | None:
        """`original` or the effective_from date of the contract version that applied."""
        return None if self.applied is None else self.applied.version

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `zammad-sla compute` (UTC times with `Z`).

        `contract` and `contract_version` are present only when a contract applied, so the
        output of a policy without contracts is what it always was.
        """
        fr, res = self.first_response, self.resolution
        contract = {} if self.applied is None else {"contract": self.contract, "contract_version": self.contract_version}
        return {
            "ticket_id": self.ticket_id,
            **contract,
            "applies": self.applies,
            "severity": self.severity,
            "clock": self.clock,
            "support_24x7": self.support_24x7,
            "status": self.status,
            "first_response": {
                "target_minutes": fr.target_minutes,
                "due_at": format_utc(fr.due_at),
                "met_at": format_utc(fr.met_at),
                "state": fr.state,
            },
            "resolution": {
                "target_minutes": res.target_minutes,
                "due_at": format_utc(res.due_at),
                "met_at": format_utc(res.met_at),
                "state": res.state,
                "counted_minutes": minutes_of(res.consumed),
                "paused_minutes": minutes_of(res.paused),
            },
            "next_check_at": format_utc(self.next_check_at),
        }


def minutes_of(value: timedelta) -> float | int:
    """A duration in minutes rounded to 3 decimals (finer than a second), an int when whole."""
    minutes = round(value.total_seconds() / 60, 3)
    return int(minutes) if minutes == int(minutes) else minutes


# --------------------------------------------------------------------------- reading input


def _name_of(value: Any, what: str) -> str:
    """A state/priority given as a name string (REST expand) or an object with `name` (webhook)."""
    if isinstance(value, dict):
        value = value.get("name")
    if not isinstance(value, str) or not value:
        raise SlaInputError(
            f"ticket has no {what} name (fetch it with expand=true, or send the webhook payload)"
        )
    return value


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Zammad's seeded article types (db/seeds/ticket_article_types.rb), for input that only has
# the id (a webhook payload); REST `expand=true` gives the name as `create_article_type`.
SEEDED_ARTICLE_TYPES: dict[int, str] = {
    1: "email", 2: "sms", 3: "chat", 4: "fax", 5: "phone", 6: "twitter status",
    7: "twitter direct-message", 8: "facebook feed post", 9: "facebook feed comment",
    10: "note", 11: "web", 12: "telegram personal-message",
}


def _article_type(ticket: dict[str, Any]) -> str | None:
    value = ticket.get("create_article_type")
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, str) and value:
        return value
    type_id = _int_or_none(ticket.get("create_article_type_id"))
    return SEEDED_ARTICLE_TYPES.get(type_id) if type_id is not None else None


def _text_or_none(value: Any) -> str | None:
    """A text attribute's value, None when missing or blank (only whitespace)."""
    if not isinstance(value, str):
        return None
    return value if value.strip() else None


def ticket_facts(ticket: dict[str, Any], organization: dict[str, Any] | None, policy: Policy) -> TicketFacts:
    """Normalise a ticket (REST `expand=true` or webhook shape) into `TicketFacts`."""
    if not isinstance(ticket, dict):
        raise SlaInputError("ticket must be a JSON object")
    if "created_at" not in ticket:
        raise SlaInputError("ticket has no created_at")
    try:
        created_at = parse_time(ticket["created_at"], "ticket.created_at")
    except ValueError as error:
        raise SlaInputError(str(error)) from None
    attrs = policy.attributes
    owner_id = _int_or_none(ticket.get("owner_id"))
    if owner_id is None and isinstance(ticket.get("owner"), dict):
        owner_id = _int_or_none(ticket["owner"].get("id"))
    # The webhook payload nests the organization; the REST shape needs it passed separately.
    org = organization if isinstance(organization, dict) else ticket.get("organization")
    org_flag = isinstance(org, dict) and org.get(attrs.organization_24x7) is True
    return TicketFacts(
        ticket_id=_int_or_none(ticket.get("id")),
        created_at=created_at,
        state=_name_of(ticket.get("state"), "state"),
        priority=_name_of(ticket.get("priority"), "priority"),
        owner_id=owner_id,
        kind=ticket.get(attrs.kind) or None,
        origin=ticket.get(attrs.origin) or None,
        integration=ticket.get(attrs.integration) or None,
        organization_24x7=org_flag,
        evidence=_text_or_none(ticket.get(attrs.origin_evidence)),
        create_article_type=_article_type(ticket),
    )


@dataclass(frozen=True)
class _Change:
    at: datetime
    order: int
    id_from: int | None
    id_to: int | None
    value_from: str | None
    value_to: str | None


def _changes(history: Any, attribute: str, ticket_id: int | None) -> list[_Change]:
    """The ticket's `updated` history entries for one attribute, oldest first."""
    entries = history.get("history", []) if isinstance(history, dict) else history or []
    if not isinstance(entries, list):
        raise SlaInputError("history must be {'history': [...]} or a list of entries")
    changes = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("attribute") != attribute:
            continue
        if entry.get("object", "Ticket") != "Ticket" or entry.get("type", "updated") != "updated":
            continue
        if ticket_id is not None and entry.get("o_id") not in (None, ticket_id):
            continue
        try:
            at = parse_time(entry.get("created_at"), f"history entry {entry.get('id')} created_at")
        except ValueError as error:
            raise SlaInputError(str(error)) from None
        changes.append(
            _Change(
                at=at,
                order=_int_or_none(entry.get("id")) or position,
                id_from=_int_or_none(entry.get("id_from")),
                id_to=_int_or_none(entry.get("id_to")),
                value_from=entry.get("value_from"),
                value_to=entry.get("value_to"),
            )
        )
    # Zammad lists history by created_at, id; sort anyway so hand-made input behaves the same.
    changes.sort(key=lambda change: (change.at, change.order))
    return changes


def _is_nobody(user_id: int | None, name: str | None) -> bool:
    if user_id is not None:
        return user_id == NOBODY_USER_ID
    return name in (None, "", "-")


def assignment_time(facts: TicketFacts, owner_changes: list[_Change], now: datetime) -> datetime | None:
    """When the ticket was first assigned to an analyst (the first response), or None."""
    if owner_changes:
        first = owner_changes[0]
        if not _is_nobody(first.id_from, first.value_from):
            return facts.created_at
        for change in owner_changes:
            if change.at > now:
                break
            if not _is_nobody(change.id_to, change.value_to):
                return change.at
        return None
    if facts.owner_id is not None and facts.owner_id != NOBODY_USER_ID:
        return facts.created_at
    return None


def state_spans(facts: TicketFacts, state_changes: list[_Change], now: datetime) -> list[StateSpan]:
    """The ticket's states over [created_at, now), from its `state` history."""
    initial = state_changes[0].value_from if state_changes else None
    initial = initial or facts.state
    seen = [change for change in state_changes if change.at <= now]
    if len(seen) < len(state_changes):
        final = (seen[-1].value_to or initial) if seen else initial  # evaluated as of a past instant
    else:
        final = facts.state  # the ticket itself is the freshest word on its current state
    spans: list[StateSpan] = []
    start, state = facts.created_at, initial
    for change in seen:
        at = max(change.at, facts.created_at)
        if at > start:
            spans.append(StateSpan(start, at, state))
            start = at
        state = change.value_to or state
    spans.append(StateSpan(start, max(now, start), final))
    return spans


# --------------------------------------------------------------------------- the two clocks


def first_response_clock(
    facts: TicketFacts, target: timedelta, calendar: WorkingCalendar, met_at: datetime | None, now: datetime
) -> ClockResult:
    """First response = assignment; never paused."""
    due_at = calendar.add_working_time(facts.created_at, target)
    consumed = calendar.working_time_between(facts.created_at, met_at if met_at is not None else now)
    if met_at is not None:
        state = MET if met_at <= due_at else BREACHED
    else:
        state = BREACHED if now >= due_at else RUNNING
    return ClockResult(state=state, target=target, due_at=due_at, met_at=met_at, consumed=consumed)


def resolution_clock(
    spans: list[StateSpan], target: timedelta, calendar: WorkingCalendar, policy: Policy, now: datetime
) -> ClockResult:
    """Resolution: working time outside pause/closed/merged states, against the target."""
    pause, stopped = set(policy.states.pause), set(policy.states.closed) | set(policy.states.merged)
    counted = paused = timedelta(0)
    exhausted_at: datetime | None = None  # the instant the budget ran out, if it did
    for span in spans:
        length = calendar.working_time_between(span.start, span.end)
        if span.state in pause:
            paused += length
        elif span.state not in stopped:
            if exhausted_at is None and counted + length >= target:
                exhausted_at = calendar.add_working_time(span.start, target - counted)
            counted += length
    last = spans[-1]
    if last.state in stopped:
        closed_at = last.start
        # Where the budget would have run out had the ticket stayed open after closing,
        # so that `met` holds exactly when the ticket closed at or before due_at.
        due_at = calendar.add_working_time(closed_at, target - counted) if counted <= target else exhausted_at
        state = MET if counted <= target else BREACHED
        return ClockResult(state, target, due_at, closed_at, counted, paused)
    if counted >= target:
        return ClockResult(BREACHED, target, exhausted_at, None, counted, paused)
    if last.state in pause:
        return ClockResult(PAUSED, target, None, None, counted, paused)
    return ClockResult(RUNNING, target, calendar.add_working_time(now, target - counted), None, counted, paused)


# --------------------------------------------------------------------------- the policy rules


@dataclass(frozen=True)
class Condition:
    """One condition of the 24x7 Integrations Support rule and whether the ticket meets it."""

    condition: str
    met: bool


def support_24x7_conditions(facts: TicketFacts, severity: str, policy: Policy) -> list[Condition]:
    """Every condition of the 24x7 rule in the policy's order; 24x7 applies when all are met."""
    rule = policy.support_24x7
    conditions = [
        Condition(f"severity in {list(rule.severities)}", severity in rule.severities),
        Condition(f"organization {policy.attributes.organization_24x7} is true", facts.organization_24x7),
        Condition(f"ticket {policy.attributes.integration} is {rule.integration_value!r}",
                  facts.integration == rule.integration_value),
    ]  # fmt: skip
    if rule.only_outside_working_hours:
        conditions.append(
            Condition("created outside working hours", not policy.business_calendar.is_open(facts.created_at))
        )
    if rule.requires_phone:
        conditions.append(
            Condition(
                f"came in by phone (first article type in {list(rule.phone_article_types)}, "
                f"is {facts.create_article_type!r})",
                facts.create_article_type in rule.phone_article_types,
            )
        )
    return conditions


def applicable_targets(facts: TicketFacts, severity: str, policy: Policy) -> tuple[Targets, bool]:
    """The targets that apply and whether 24x7 Integrations Support decided them."""
    rule = policy.support_24x7
    support_24x7 = all(condition.met for condition in support_24x7_conditions(facts, severity, policy))
    targets = policy.severities[severity]
    if support_24x7 and severity in rule.targets:
        targets = rule.targets[severity]
    return targets, support_24x7


def next_check(
    facts: TicketFacts,
    fr: ClockResult,
    res: ClockResult,
    calendar: WorkingCalendar,
    threshold: float,
    now: datetime,
    status: str,
) -> datetime | None:
    """The next instant the result changes with no new event (a warning or a deadline).

    A warning threshold only changes an `on_track` result (at_risk ranks below breached and
    paused, and a ticket already at risk stays so), so other statuses wait for deadlines.
    """
    warnings_matter = status == ON_TRACK
    candidates: list[datetime] = []
    if fr.state == RUNNING and fr.target is not None and fr.due_at is not None:
        if warnings_matter:
            candidates.append(calendar.add_working_time(facts.created_at, fr.target * threshold))
        candidates.append(fr.due_at)
    if res.state == RUNNING and res.target is not None and res.due_at is not None:
        warn_left = res.target * threshold - res.consumed
        if warnings_matter and warn_left > timedelta(0):
            candidates.append(calendar.add_working_time(now, warn_left))
        candidates.append(res.due_at)
    future = [instant for instant in candidates if instant > now]
    return min(future) if future else None


def _overall_status(fr: ClockResult, res: ClockResult, threshold: float) -> str:
    if BREACHED in (fr.state, res.state):
        return BREACHED
    if fr.state == MET and res.state == MET:
        return MET
    if res.state == PAUSED:
        return PAUSED
    for clock in (fr, res):
        if clock.state == RUNNING and clock.target is not None and clock.consumed >= clock.target * threshold:
            return AT_RISK
    return ON_TRACK


def applied_contract(
    ticket: dict[str, Any],
    history: Any,
    organization: dict[str, Any] | None,
    facts: TicketFacts,
    policy: Policy,
    *,
    customer: dict[str, Any] | None = None,
    contract: str | None = None,
    contract_on: date | None = None,
) -> AppliedContract | None:
    """The contract a ticket is measured under: the one named, else the first that matches.

    None when the policy has no contracts and none was named (the policy's terms apply).
    """
    if contract is None and not policy.has_contracts:
        return None
    book = policy.contract_book
    if contract is not None:
        try:
            return book.named(contract, facts.created_at, contract_on)
        except KeyError as error:
            raise SlaInputError(str(error.args[0])) from None
    facts_for_match = match_facts(ticket, organization, customer, history, policy, priority=facts.priority, kind=facts.kind,
                                  needs_tags=book.needs_tags)  # fmt: skip
    return book.select(facts_for_match, facts.created_at)


def evaluate(
    ticket: dict[str, Any],
    history: Any,
    organization: dict[str, Any] | None,
    now: datetime,
    policy: Policy,
    *,
    customer: dict[str, Any] | None = None,
    contract: str | None = None,
    contract_on: date | None = None,
) -> SlaResult:
    """Evaluate one ticket's SLA as of `now` (an aware datetime).

    The ticket is measured under the policy's contract that matches it (see
    `core/contracts.py`), or under `contract` when named (at the version in force on
    `contract_on`, else at creation). `customer` is the customer's user record, read only
    by `customer_domain` selectors.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise SlaInputError("now must be timezone-aware")
    facts = ticket_facts(ticket, organization, policy)
    applied = applied_contract(
        ticket, history, organization, facts, policy, customer=customer, contract=contract, contract_on=contract_on
    )
    policy = applied.policy if applied is not None else policy  # from here on: the contract's terms
    # A ticket evaluated a moment "before" it was created (clock skew) is just created.
    now = max(now, facts.created_at)
    spans = state_spans(facts, _changes(history, "state", facts.ticket_id), now)

    if facts.kind in policy.scope.not_applicable_kinds:
        severity = policy.priorities.get(facts.priority)
        not_applicable = ClockResult(NOT_APPLICABLE)
        return SlaResult(
            facts.ticket_id, False, severity, facts.priority, None, False, NOT_APPLICABLE,
            not_applicable, not_applicable, None, now, tuple(spans), applied=applied,
        )  # fmt: skip

    try:
        severity = policy.severity_for_priority(facts.priority)
    except KeyError as error:
        raise SlaInputError(str(error.args[0])) from None
    targets, support_24x7 = applicable_targets(facts, severity, policy)
    calendar = policy.calendar_for(targets.clock)

    met_at = assignment_time(facts, _changes(history, "owner", facts.ticket_id), now)
    fr = first_response_clock(facts, timedelta(minutes=targets.first_response_minutes), calendar, met_at, now)
    res = resolution_clock(spans, timedelta(minutes=targets.resolution_minutes), calendar, policy, now)

    merged = facts.state in policy.states.merged
    claimed, written, missing = origin_claim(facts, policy)
    excluded = merged or (claimed and not missing)
    status = EXCLUDED if excluded else _overall_status(fr, res, policy.warning_threshold)
    next_check_at = None if excluded else next_check(facts, fr, res, calendar, policy.warning_threshold, now, status)
    return SlaResult(
        facts.ticket_id, True, severity, facts.priority, targets.clock, support_24x7, status,
        fr, res, next_check_at, now, tuple(spans),
        origin_claimed=claimed, evidence_written=written, evidence_missing=missing and not merged, applied=applied,
    )  # fmt: skip


def origin_claim(facts: TicketFacts, policy: Policy) -> tuple[bool, bool, bool]:
    """(origin claimed excluded, evidence written, evidence missing) for a ticket.

    Evidence is missing when an excluded origin is claimed, the evidence attribute is blank
    and the policy requires evidence before excluding.
    """
    claimed = facts.origin in policy.scope.excluded_origins
    written = facts.evidence is not None
    return claimed, written, claimed and not written and policy.scope.exclusion_requires_evidence

