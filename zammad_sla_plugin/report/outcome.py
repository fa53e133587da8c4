"""One ticket's SLA outcome for the report: evaluated at its closing time, or at the period end.

Pure: no I/O and no clock reads (the caller passes the period and `now`).

Rules (also stated in the report itself, see `document.DEFINITIONS`):

- The period is [start, end) of local dates in the business calendar's time zone.
- A ticket belongs to the report when it was created in the period, or when it is in a
  closed state at the end of the period (or now, if earlier) and its last transition into
  a closed state happened inside the period.
- A ticket closed at the period end is evaluated at that last closing; any other ticket at
  min(period end, now). History entries after that instant are ignored by the SLA core.
- Per clock, an in-scope ticket is `met`, `failed` (breached: late, or still open past the
  deadline) or `pending` (not decided: open and not breached, or closed without the clock
  ever completing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from zammad_sla_plugin.core.clock import BREACHED, EXCLUDED, MET, NOT_APPLICABLE, SlaResult, evaluate
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.core.times import parse_time

# Per-clock outcomes and ticket scopes used throughout the report
OUTCOME_MET, OUTCOME_FAILED, OUTCOME_PENDING = "met", "failed", "pending"
SCOPE_IN, SCOPE_EXCLUDED, SCOPE_NOT_APPLICABLE = "in_scope", "excluded", "not_applicable"
# An excluded origin (customer / third party) claimed on a ticket, with or without its evidence
CLAIM_WITH_EVIDENCE, CLAIM_WITHOUT_EVIDENCE = "with_evidence", "without_evidence"
NO_ORGANIZATION = "(no organization)"
NO_SEVERITY = "(none)"


@dataclass(frozen=True)
class ReportPeriod:
    """Local dates [first_day, end_day) in `timezone`; `start`/`end` are the UTC instants."""

    first_day: date
    end_day: date
    timezone: ZoneInfo

    def __post_init__(self) -> None:
        if self.end_day <= self.first_day:
            raise ValueError(f"--to ({self.end_day}) must be after --from ({self.first_day})")

    @property
    def start(self) -> datetime:
        """Local midnight of `first_day`, in UTC."""
        return datetime.combine(self.first_day, time(0), self.timezone).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        """Local midnight of `end_day` (excluded), in UTC."""
        return datetime.combine(self.end_day, time(0), self.timezone).astimezone(timezone.utc)

    def contains(self, instant: datetime) -> bool:
        """True when `instant` is in [start, end)."""
        return self.start <= instant < self.end


@dataclass(frozen=True)
class TicketRecord:
    """A ticket as fetched (REST `expand=true`), its history body and its organization.

    `customer` is the customer's user record, fetched only when a contract selects on the
    customer's e-mail domain (else None).
    """

    ticket: dict[str, Any]
    history: dict[str, Any]
    organization: dict[str, Any] | None
    customer: dict[str, Any] | None = None


@dataclass(frozen=True)
class TicketOutcome:
    """What the report needs to know about one ticket."""

    ticket_id: int
    number: str | None
    title: str | None
    organization: str
    priority: str
    severity: str
    clock: str | None
    support_24x7: bool
    status: str  # the SLA core's overall status at `evaluated_at`
    scope: str  # in_scope / excluded / not_applicable
    created_at: datetime
    month: str  # YYYY-MM of creation in the calendar's time zone
    closed_at: datetime | None  # closing time when closed at evaluation, else None
    evaluated_at: datetime
    first_response: str | None  # met / failed / pending; None unless in scope
    resolution: str | None
    assigned_at: datetime | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_target: timedelta | None
    resolution_target: timedelta | None
    resolution_clock_used: timedelta  # time counted on the SLA clock (pauses excluded)
    time_to_assignment: timedelta | None  # business working time created -> assigned
    time_to_resolution: timedelta | None  # business working time created -> closed
    origin_claim: str | None = None  # with_evidence / without_evidence; None when no excluded origin
    contract: str | None = None  # the contract measured under; None when the policy has no contracts
    contract_version: str | None = None  # "original" or the version's effective_from (YYYY-MM-DD)

    @property
    def in_scope(self) -> bool:
        """Neither excluded nor outside the SLA."""
        return self.scope == SCOPE_IN

    @property
    def breached_open(self) -> bool:
        """In scope, still open at evaluation, and a clock has breached."""
        return self.in_scope and self.closed_at is None and OUTCOME_FAILED in (self.first_response, self.resolution)


def _state_changes(history: Any) -> list[tuple[datetime, int, str | None, str | None]]:
    """(at, order, from, to) of the ticket's state changes, oldest first."""
    entries = history.get("history", []) if isinstance(history, dict) else history or []
    changes: list[tuple[datetime, int, str | None, str | None]] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("attribute") != "state":
            continue
        if entry.get("object", "Ticket") != "Ticket" or entry.get("type", "updated") != "updated":
            continue
        at = parse_time(entry.get("created_at"), f"history entry {entry.get('id')} created_at")
        entry_id = entry.get("id")
        order = entry_id if isinstance(entry_id, int) else position
        value_from, value_to = entry.get("value_from"), entry.get("value_to")
        changes.append((at, order, value_from if isinstance(value_from, str) else None,
                        value_to if isinstance(value_to, str) else None))
    changes.sort(key=lambda change: (change[0], change[1]))
    return changes


def _state_name(ticket: dict[str, Any]) -> str | None:
    value = ticket.get("state")
    if isinstance(value, dict):
        value = value.get("name")
    return value if isinstance(value, str) else None


def closing_time(
    ticket: dict[str, Any], history: Any, until: datetime, closed_states: tuple[str, ...]
) -> datetime | None:
    """When the ticket was last closed before `until`, if it is in a closed state at `until`.

    None when the ticket is open at `until`. A ticket created closed (no state change into
    a closed state before `until`) closed at its creation.
    """
    created_at = parse_time(ticket.get("created_at"), "ticket.created_at")
    if created_at >= until:
        return None
    changes = _state_changes(history)
    before = [change for change in changes if change[0] < until]
    if before:
        state = before[-1][3]
    elif changes:
        state = changes[0][2]  # every change is later: the state it left is the state at `until`
    else:
        state = _state_name(ticket)
    if state not in closed_states:
        return None
    closings = [change[0] for change in before if change[3] in closed_states]
    return max(closings[-1], created_at) if closings else created_at


def _clock_outcome(state: str) -> str:
    if state == MET:
        return OUTCOME_MET
    if state == BREACHED:
        return OUTCOME_FAILED
    return OUTCOME_PENDING  # running or paused: not decided yet


def _organization_name(record: TicketRecord) -> str:
    if isinstance(record.organization, dict) and record.organization.get("name"):
        return str(record.organization["name"])
    name = record.ticket.get("organization")
    if isinstance(name, dict):
        name = name.get("name")
    return str(name) if name else NO_ORGANIZATION


def _scope(result: SlaResult) -> str:
    if result.status == EXCLUDED:
        return SCOPE_EXCLUDED
    if result.status == NOT_APPLICABLE or not result.applies:
        return SCOPE_NOT_APPLICABLE
    return SCOPE_IN


def _origin_claim(result: SlaResult) -> str | None:
    if not result.applies or not result.origin_claimed:
        return None
    return CLAIM_WITH_EVIDENCE if result.evidence_written else CLAIM_WITHOUT_EVIDENCE


def ticket_outcome(record: TicketRecord, period: ReportPeriod, now: datetime, policy: Policy) -> TicketOutcome | None:
    """The ticket's outcome, or None when it was neither created nor closed in the period.

    Raises `SlaInputError`/`ValueError` when the ticket cannot be evaluated.
    """
    ticket = record.ticket
    created_at = parse_time(ticket.get("created_at"), "ticket.created_at")
    until = min(period.end, now)
    closed_at = closing_time(ticket, record.history, until, tuple(policy.states.closed))
    if not period.contains(created_at) and (closed_at is None or not period.contains(closed_at)):
        return None
    evaluated_at = closed_at if closed_at is not None else max(until, created_at)
    result = evaluate(ticket, record.history, record.organization, evaluated_at, policy, customer=record.customer)
    scope = _scope(result)
    fr, res = result.first_response, result.resolution
    # Times are working hours of the ticket's own contract calendar (the policy's without contracts).
    business = (result.applied.policy if result.applied is not None else policy).business_calendar
    assigned_at = fr.met_at
    return TicketOutcome(
        ticket_id=int(ticket["id"]),
        number=str(ticket["number"]) if ticket.get("number") is not None else None,
        title=ticket.get("title"),
        organization=_organization_name(record),
        priority=result.priority,
        severity=result.severity or NO_SEVERITY,
        clock=result.clock,
        support_24x7=result.support_24x7,
        status=result.status,
        scope=scope,
        created_at=created_at,
        month=created_at.astimezone(period.timezone).strftime("%Y-%m"),
        closed_at=closed_at,
        evaluated_at=evaluated_at,
        first_response=_clock_outcome(fr.state) if scope == SCOPE_IN else None,
        resolution=_clock_outcome(res.state) if scope == SCOPE_IN else None,
        assigned_at=assigned_at,
        first_response_due_at=fr.due_at,
        resolution_due_at=res.due_at,
        first_response_target=fr.target,
        resolution_target=res.target,
        resolution_clock_used=res.consumed,
        time_to_assignment=business.working_time_between(created_at, assigned_at) if assigned_at else None,
        time_to_resolution=business.working_time_between(created_at, closed_at) if closed_at else None,
        origin_claim=_origin_claim(result),
        contract=result.contract,
        contract_version=result.contract_version,
    )
