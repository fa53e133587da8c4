"""The report document: one JSON-ready dict that every output format is rendered from.

Structure (`format_version` 1; times UTC ISO-8601 with `Z`, hours as floats rounded to 0.01,
percentages rounded to 0.1, null when there is nothing to measure):

    {
      "format_version": 1,
      "report": {"from": "2026-10-01", "to": "2026-11-01", "timezone": "...",
                 "start": "<UTC>", "end": "<UTC>", "organization": null | "NAME",
                 "generated_at": "<UTC>", "evaluated_until": "<UTC>"},
      "policy": {"calendar": "...", "timezone": "...", "warning_threshold": 0.8,
                 "severities": [{"severity", "priorities", "clock", "first_response_minutes",
                                 "resolution_minutes"}],
                 "support_24x7": {...}, "pause_states": [...], "closed_states": [...],
                 "excluded_origins": [...], "not_applicable_kinds": [...]},
      "definitions": ["...", ...],          # the denominators and methods, in words
      "totals": GROUP,
      "by_severity": [GROUP, ...],          # in policy order
      "by_organization": [GROUP, ...],      # by name
      "by_month": [GROUP, ...],             # month of creation, YYYY-MM
      "by_month_and_severity": [{"month": "YYYY-MM", "severities": [GROUP, ...]}],
      "tickets": [TICKET, ...],             # by creation time
      "errors": [{"ticket_id": 7, "error": "..."}]   # tickets that could not be evaluated
    }

When the policy defines contracts (and only then), the document also has
`"by_contract": [GROUP, ...]` (in the policy's matching order, the default contract last),
`"by_contract_and_severity": [{"contract": NAME, "severities": [GROUP, ...]}]`, TICKET gets
`"contract"` and `"contract_version"` ("original" or the version's effective_from) after
`"organization"`, and `policy` gets `"contracts": [CONTRACT, ...]`:

    CONTRACT = {"name", "description", "default", "match": {condition: [values]},
                "versions": [{"version", "effective_from", "calendar", "timezone",
                              "warning_threshold", "pause_states", "severities": [...]}]}

    GROUP = {"key", "tickets", "in_scope", "excluded", "not_applicable", "breached_open",
             "excluded_with_evidence", "claimed_without_evidence",
             "first_response": {"met", "failed", "pending", "met_pct"},
             "resolution": {"met", "failed", "pending", "met_pct"},
             "time_to_assignment_hours": {"count", "median", "p90"},
             "time_to_resolution_hours": {"count", "median", "p90"}}

    TICKET = {"id", "number", "title", "organization", "priority", "severity", "clock",
              "support_24x7", "scope", "origin_claim", "status", "created_at", "month", "closed_at",
              "evaluated_at", "assigned_at",
              "first_response": {"outcome", "target_minutes", "due_at"},
              "resolution": {"outcome", "target_minutes", "due_at", "clock_used_hours"},
              "time_to_assignment_hours", "time_to_resolution_hours", "breached_open"}

`outcome` is "met", "failed", "pending" or null (ticket excluded / not applicable).
`origin_claim` is "with_evidence", "without_evidence" or null (no excluded origin claimed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Sequence

from zammad_sla_plugin.core.i18n import N_
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.core.times import format_utc

from .outcome import ReportPeriod, TicketOutcome
from .stats import ClockStats, DurationStats, GroupStats, ReportStats, aggregate

FORMAT_VERSION = 1

DEFINITIONS: tuple[str, ...] = (
    N_("Tickets: every ticket created in the period, plus every ticket created earlier that is closed at the "
    "end of the period and was last closed within it."),
    N_("Closed tickets are evaluated at their last closing; open tickets at the end of the period (or at the "
    "time the report was generated, if earlier)."),
    N_("Met % = met / (met + failed). Breached tickets that are still open count as failed."),
    N_("Excluded tickets (merged, or originating in the customer's or a third party's systems with the evidence "
    "written) and tickets outside the SLA (e.g. feature requests) are counted but left out of the percentages "
    "and times."),
    N_("Claimed without evidence: the origin says customer or third party but no evidence was written; such "
    "tickets count like any other (unless the policy excludes without evidence). Excluded with evidence: "
    "the origin is backed by written evidence."),
    N_("Open tickets that have not breached yet are 'pending': counted as neither met nor failed. So is a "
    "ticket closed without ever being assigned before its first-response deadline."),
    N_("First response = assignment to an analyst. Resolution = reaching a closed state; pending states "
    "pause the resolution clock."),
    N_("Time to assignment / to resolution: working hours of the business calendar from creation to first "
    "assignment / to closing (pauses not subtracted), over in-scope tickets assigned / closed."),
    N_("Median: the middle value (mean of the two middle values for an even count). "
    "p90: nearest rank, the value at rank ceil(0.9 x n) of the sorted values."),
    N_("Month: the month the ticket was created, in the calendar's time zone."),
)


# Added to DEFINITIONS when the policy defines contracts.
CONTRACT_DEFINITIONS: tuple[str, ...] = (
    N_("Contract: the contract each ticket was measured under (the first whose conditions it meets at its "
    "evaluation, else the default), at the version in force when the ticket was created. Times to "
    "assignment / to resolution count the working hours of that contract's calendar."),
)


@dataclass(frozen=True)
class ReportMeta:
    """What the report is about and when it was made."""

    period: ReportPeriod
    organization: str | None
    generated_at: datetime
    evaluated_until: datetime


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 3)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _clock(stats: ClockStats) -> dict[str, Any]:
    return {"met": stats.met, "failed": stats.failed, "pending": stats.pending, "met_pct": _pct(stats.met_pct)}


def _durations(stats: DurationStats) -> dict[str, Any]:
    return {"count": stats.count, "median": _hours(stats.median), "p90": _hours(stats.p90)}


def group_dict(stats: GroupStats) -> dict[str, Any]:
    """The JSON shape of one group."""
    return {
        "key": stats.key,
        "tickets": stats.tickets,
        "in_scope": stats.in_scope,
        "excluded": stats.excluded,
        "not_applicable": stats.not_applicable,
        "breached_open": stats.breached_open,
        "excluded_with_evidence": stats.excluded_with_evidence,
        "claimed_without_evidence": stats.claimed_without_evidence,
        "first_response": _clock(stats.first_response),
        "resolution": _clock(stats.resolution),
        "time_to_assignment_hours": _durations(stats.time_to_assignment),
        "time_to_resolution_hours": _durations(stats.time_to_resolution),
    }


def _inserted_after(mapping: dict[str, Any], after: str, extra: dict[str, Any]) -> dict[str, Any]:
    """`mapping` with `extra`'s items placed right after the key `after` (JSON key order)."""
    result: dict[str, Any] = {}
    for key, value in mapping.items():
        result[key] = value
        if key == after:
            result.update(extra)
    return result


def ticket_dict(outcome: TicketOutcome, *, contracts: bool = False) -> dict[str, Any]:
    """The JSON shape of one ticket's outcome (with its contract when the policy has contracts)."""
    row = _ticket_row(outcome)
    if contracts:
        extra = {"contract": outcome.contract, "contract_version": outcome.contract_version}
        row = _inserted_after(row, "organization", extra)
    return row


def _ticket_row(outcome: TicketOutcome) -> dict[str, Any]:
    return {
        "id": outcome.ticket_id,
        "number": outcome.number,
        "title": outcome.title,
        "organization": outcome.organization,
        "priority": outcome.priority,
        "severity": outcome.severity,
        "clock": outcome.clock,
        "support_24x7": outcome.support_24x7,
        "scope": outcome.scope,
        "origin_claim": outcome.origin_claim,
        "status": outcome.status,
        "created_at": format_utc(outcome.created_at),
        "month": outcome.month,
        "closed_at": format_utc(outcome.closed_at),
        "evaluated_at": format_utc(outcome.evaluated_at),
        "assigned_at": format_utc(outcome.assigned_at),
        "first_response": {
            "outcome": outcome.first_response,
            "target_minutes": _minutes(outcome.first_response_target),
            "due_at": format_utc(outcome.first_response_due_at),
        },
        "resolution": {
            "outcome": outcome.resolution,
            "target_minutes": _minutes(outcome.resolution_target),
            "due_at": format_utc(outcome.resolution_due_at),
            "clock_used_hours": _hours(outcome.resolution_clock_used),
        },
        "time_to_assignment_hours": _hours(outcome.time_to_assignment),
        "time_to_resolution_hours": _hours(outcome.time_to_resolution),
        "breached_open": outcome.breached_open,
    }


def _severity_rows(policy: Policy) -> list[dict[str, Any]]:
    """Each severity's Zammad priorities and targets."""
    priorities: dict[str, list[str]] = {}
    for priority, severity in policy.priorities.items():
        priorities.setdefault(severity, []).append(priority)
    return [
        {
            "severity": name,
            "priorities": priorities.get(name, []),
            "clock": targets.clock,
            "first_response_minutes": targets.first_response_minutes,
            "resolution_minutes": targets.resolution_minutes,
        }
        for name, targets in policy.severities.items()
    ]


def _version_summary(version: str, effective_from: date | None, terms: Policy) -> dict[str, Any]:
    return {
        "version": version,
        "effective_from": None if effective_from is None else effective_from.isoformat(),
        "calendar": terms.business_calendar.describe(),
        "timezone": terms.calendar.timezone,
        "warning_threshold": terms.warning_threshold,
        "pause_states": list(terms.states.pause),
        "severities": _severity_rows(terms),
    }


_ANY_INSTANT = datetime(2000, 1, 1, tzinfo=timezone.utc)  # `ContractBook.named` ignores it when given a date


def contracts_summary(policy: Policy) -> list[dict[str, Any]]:
    """Each contract in matching order (the default last): its conditions and its versions' terms."""
    book = policy.contract_book
    summary = []
    for contract in policy.contracts:
        match = {name: list(values) for name, values in contract.match.model_dump().items() if values}
        days = [None, *sorted(version.effective_from for version in contract.versions)]
        versions = []
        for day in days:
            # A date before every version picks the contract's own ("original") terms.
            applied = book.named(contract.name, _ANY_INSTANT, day or date.min)
            versions.append(_version_summary(applied.version, applied.effective_from, applied.policy))
        summary.append({"name": contract.name, "description": contract.description, "default": False,
                        "match": match, "versions": versions})
    default = book.named(policy.default_contract, _ANY_INSTANT, date.min)
    summary.append({"name": default.name, "description": "", "default": True, "match": {},
                    "versions": [_version_summary(default.version, None, default.policy)]})
    return summary


def policy_summary(policy: Policy) -> dict[str, Any]:
    """The parts of the policy a reader of the report needs."""
    rule = policy.support_24x7
    return {
        "calendar": policy.business_calendar.describe(),
        "timezone": policy.calendar.timezone,
        "warning_threshold": policy.warning_threshold,
        "severities": _severity_rows(policy),
        "support_24x7": {
            "severities": list(rule.severities),
            "integration_value": rule.integration_value,
            "only_outside_working_hours": rule.only_outside_working_hours,
            "activation": rule.activation,
            "targets": {
                name: {
                    "clock": targets.clock,
                    "first_response_minutes": targets.first_response_minutes,
                    "resolution_minutes": targets.resolution_minutes,
                }
                for name, targets in rule.targets.items()
            },
        },
        "pause_states": list(policy.states.pause),
        "closed_states": list(policy.states.closed),
        "excluded_origins": list(policy.scope.excluded_origins),
        "exclusion_requires_evidence": policy.scope.exclusion_requires_evidence,
        "not_applicable_kinds": list(policy.scope.not_applicable_kinds),
    }


def build_document(
    outcomes: Sequence[TicketOutcome],
    meta: ReportMeta,
    policy: Policy,
    errors: Sequence[tuple[int, str]] = (),
) -> dict[str, Any]:
    """The complete report document (see the module docstring for its structure)."""
    ordered = sorted(outcomes, key=lambda outcome: (outcome.created_at, outcome.ticket_id))
    contracts = policy.has_contracts  # the contract dimension appears only then
    stats: ReportStats = aggregate(ordered, list(policy.severities), policy.contract_book.names if contracts else None)
    document = {
        "format_version": FORMAT_VERSION,
        "report": {
            "from": meta.period.first_day.isoformat(),
            "to": meta.period.end_day.isoformat(),
            "timezone": meta.period.timezone.key,
            "start": format_utc(meta.period.start),
            "end": format_utc(meta.period.end),
            "organization": meta.organization,
            "generated_at": format_utc(meta.generated_at),
            "evaluated_until": format_utc(meta.evaluated_until),
        },
        "policy": policy_summary(policy),
        "definitions": list(DEFINITIONS),
        "totals": group_dict(stats.totals),
        "by_severity": [group_dict(group) for group in stats.by_severity],
        "by_organization": [group_dict(group) for group in stats.by_organization],
        "by_month": [group_dict(group) for group in stats.by_month],
        "by_month_and_severity": [
            {"month": month, "severities": [group_dict(group) for group in groups]}
            for month, groups in stats.by_month_and_severity.items()
        ],
        "tickets": [ticket_dict(outcome, contracts=contracts) for outcome in ordered],
        "errors": [{"ticket_id": ticket_id, "error": message} for ticket_id, message in errors],
    }
    if contracts:
        document = _with_contracts(document, stats, policy)
    return document


def _with_contracts(document: dict[str, Any], stats: ReportStats, policy: Policy) -> dict[str, Any]:
    """The document with its contract dimension (see the module docstring)."""
    document["policy"]["contracts"] = contracts_summary(policy)
    document["definitions"] += list(CONTRACT_DEFINITIONS)
    by_contract = {
        "by_contract": [group_dict(group) for group in stats.by_contract],
        "by_contract_and_severity": [
            {"contract": contract, "severities": [group_dict(group) for group in groups]}
            for contract, groups in stats.by_contract_and_severity.items()
        ],
    }
    return _inserted_after(document, "by_month_and_severity", by_contract)
