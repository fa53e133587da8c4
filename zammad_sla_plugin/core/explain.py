"""Why a deadline is where it is: the per-ticket explanation of an SLA result.

Pure: built from the same inputs as `clock.evaluate` and its result. For each clock it lists
the rule that applied (severity from which priority, 24x7 or not and which condition
decided it), the target, the calendar, every counted interval and every excluded one
(pauses, closed spans, nights, weekends, holidays by name), and the deadline in the
calendar's local time and UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from zammad_sla_plugin.core.calendar import WorkingCalendar
from zammad_sla_plugin.core.contracts import contract_changes
from zammad_sla_plugin.core.clock import (
    RUNNING,
    ClockResult,
    SlaInputError,
    SlaResult,
    StateSpan,
    TicketFacts,
    evaluate,
    minutes_of,
    support_24x7_conditions,
    ticket_facts,
)
from zammad_sla_plugin.core.i18n import N_, Language, language
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.core.reasons import clock_name, describe_calendar, reason_text, sentence_text, severity_name, state_name
from zammad_sla_plugin.core.times import format_utc


def _interval(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    return {"from": format_utc(start), "to": format_utc(end), "minutes": minutes_of(end - start), **extra}


def _local_midnight_after(instant: datetime, zone: ZoneInfo) -> datetime:
    local_day = instant.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(local_day, time(0), tzinfo=zone)


def _closed_reason(calendar: WorkingCalendar, day: date, zone: ZoneInfo) -> str:
    holiday = calendar.holiday_name(day)
    if holiday:
        return f"holiday: {holiday}"
    start = datetime.combine(day, time(0), tzinfo=zone)
    if not calendar.open_intervals(start, _local_midnight_after(start, zone)):
        return "weekend" if day.weekday() >= 5 else f"closed day ({day:%A})"
    return "outside working hours"


def _gaps(calendar: WorkingCalendar, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The closed time in [start, end) of a running span, cut by local day and labelled."""
    zone = calendar.timezone
    pieces: list[dict[str, Any]] = []
    cursor = start
    for open_start, open_end in [*calendar.open_intervals(start, end), (end, end)]:
        gap_start = cursor
        while gap_start < open_start:
            gap_end = min(open_start, _local_midnight_after(gap_start, zone))
            reason = _closed_reason(calendar, gap_start.astimezone(zone).date(), zone)
            if pieces and pieces[-1]["reason"] == reason and pieces[-1]["_end"] == gap_start:
                pieces[-1]["_end"] = gap_end
            else:
                pieces.append({"_start": gap_start, "_end": gap_end, "reason": reason})
            gap_start = gap_end
        cursor = max(cursor, open_end)
    return [_interval(p["_start"], p["_end"], reason=p["reason"]) for p in pieces]


def _explain_spans(
    spans: list[StateSpan], calendar: WorkingCalendar, policy: Policy, clock_pauses: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    counted: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    pause, closed, merged = set(policy.states.pause), set(policy.states.closed), set(policy.states.merged)
    for span in spans:
        if clock_pauses and span.state in pause | closed | merged:
            kind = "paused" if span.state in pause else "closed" if span.state in closed else "merged"
            if span.end > span.start:
                excluded.append(_interval(span.start, span.end, reason=f"{kind}: state {span.state}"))
            continue
        counted.extend(_interval(a, b) for a, b in calendar.open_intervals(span.start, span.end))
        excluded.extend(_gaps(calendar, span.start, span.end))
    excluded.sort(key=lambda item: item["from"])
    return counted, excluded


def _local(instant: datetime | None, zone: ZoneInfo) -> str | None:
    return None if instant is None else instant.astimezone(zone).isoformat()


def _clock(
    name: str,
    clock: ClockResult,
    result: SlaResult,
    spans: list[StateSpan],
    calendar: WorkingCalendar,
    policy: Policy,
) -> dict[str, Any]:
    zone = policy.business_calendar.timezone
    # First response never pauses: it counts from creation to assignment (or now).
    counting = spans if name == "resolution" else [StateSpan(spans[0].start, clock.met_at or result.now, "open")]
    counted, excluded = _explain_spans(counting, calendar, policy, clock_pauses=name == "resolution")
    projected: list[dict[str, Any]] = []
    if clock.state == RUNNING and clock.due_at is not None and clock.due_at > result.now:
        projected = [_interval(a, b) for a, b in calendar.open_intervals(result.now, clock.due_at)]
    return {
        "measures": "assignment to an analyst" if name == "first_response" else "reaching a closed state",
        "state": clock.state,
        "clock": result.clock,
        "calendar": calendar.describe(),
        "time_zone": zone.key,
        "target_minutes": clock.target_minutes,
        "counted_minutes": minutes_of(clock.consumed),
        "paused_minutes": minutes_of(clock.paused),
        "counted": counted,
        "excluded": excluded,
        "projected": projected,
        "met_at": format_utc(clock.met_at),
        "met_at_local": _local(clock.met_at, zone),
        "due_at": format_utc(clock.due_at),
        "due_at_local": _local(clock.due_at, zone),
    }


def _contract(
    result: SlaResult, ticket: dict[str, Any], history: Any, organization: dict[str, Any] | None,
    customer: dict[str, Any] | None, policy: Policy,
) -> dict[str, Any]:
    """Which contract applied and why; when it changed, and what the change did to the deadlines."""
    applied = result.applied
    assert applied is not None
    section: dict[str, Any] = {
        "name": applied.name,
        "version": applied.version,
        "effective_from": applied.effective_from.isoformat() if applied.effective_from else None,
        "default": applied.is_default,
        "reason": applied.reason,
        "version_rule": "measured under the version in force when the ticket was created"
        if not applied.forced else "named on the command line",
        "changes": contract_changes(history, policy.attributes.contract),
    }
    previous = next((c["from"] for c in reversed(section["changes"]) if c["from"] and c["to"] == applied.name), None)
    if previous is not None and previous.casefold() != applied.name.casefold():
        try:
            before = evaluate(ticket, history, organization, result.now, policy, customer=customer, contract=previous)
        except SlaInputError:
            before = None  # that contract is no longer in the policy
        if before is not None:
            section["before_change"] = {
                "contract": previous,
                "first_response_due_at": format_utc(before.first_response.due_at),
                "resolution_due_at": format_utc(before.resolution.due_at),
                "now_first_response_due_at": format_utc(result.first_response.due_at),
                "now_resolution_due_at": format_utc(result.resolution.due_at),
            }
    return section


def explain(
    ticket: dict[str, Any],
    history: Any,
    organization: dict[str, Any] | None,
    now: datetime,
    policy: Policy,
    *,
    customer: dict[str, Any] | None = None,
    contract: str | None = None,
    contract_on: date | None = None,
) -> dict[str, Any]:
    """The SLA result of one ticket with the reasoning behind every number (JSON-ready).

    `customer`, `contract` and `contract_on` are passed to `clock.evaluate`.
    """
    result = evaluate(ticket, history, organization, now, policy, customer=customer, contract=contract, contract_on=contract_on)
    facts = ticket_facts(ticket, organization, policy)
    base = policy
    policy = result.applied.policy if result.applied is not None else policy  # the contract's terms
    spans = list(result.state_spans)
    rule = policy.support_24x7
    explanation: dict[str, Any] = {
        "result": result.to_dict(),
        "created_at": format_utc(facts.created_at),
        "now": format_utc(result.now),
        "severity": {
            "priority": facts.priority,
            "severity": result.severity,
            "rule": f"priority {facts.priority!r} maps to severity {result.severity!r} (current priority; "
            "a priority change re-measures from creation)",
        },
        "state_history": [_interval(s.start, s.end, state=s.state) for s in spans],
    }
    if result.applied is not None:
        explanation["contract"] = _contract(result, ticket, history, organization, customer, base)
    if not result.applies:
        explanation["scope"] = f"sla_kind {facts.kind!r} is out of the SLA scope: no deadlines"
        return explanation
    if (scope := _scope_text(result, facts, policy)) is not None:
        explanation["scope"] = scope
    if result.origin_claimed:
        explanation["origin"] = {
            "origin": facts.origin,
            "evidence_written": result.evidence_written,
            "evidence_required": policy.scope.exclusion_requires_evidence,
            "evidence_missing": result.evidence_missing,
        }
    conditions = support_24x7_conditions(facts, result.severity or "", policy)
    failed = [condition.condition for condition in conditions if not condition.met]
    explanation["support_24x7"] = {
        "applies": result.support_24x7,
        "activation": rule.activation,
        # The condition that settled it: the first one not met, else all of them together.
        "decided_by": failed[0] if failed else "all conditions met",
        "conditions": [{"condition": condition.condition, "met": condition.met} for condition in conditions],
    }
    calendar = policy.calendar_for(result.clock or "business")
    explanation["clocks"] = {
        "first_response": _clock("first_response", result.first_response, result, spans, calendar, policy),
        "resolution": _clock("resolution", result.resolution, result, spans, calendar, policy),
    }
    return explanation


def _scope_text(result: SlaResult, facts: TicketFacts, policy: Policy) -> str | None:
    """Why the ticket is excluded, or why a claimed exclusion does not hold; None otherwise."""
    evidence = policy.attributes.origin_evidence
    if facts.state in policy.states.merged:
        return "merged ticket: not counted in compliance"
    if result.evidence_missing:
        return (
            f"origin {facts.origin!r} is claimed but {evidence} is blank: counted like any other ticket "
            f"(and tagged {policy.tags.evidence_missing}) until the evidence is written"
        )
    if result.origin_claimed and result.evidence_written:
        return f"origin {facts.origin!r} is excluded and {evidence} is written: not counted in compliance"
    if result.origin_claimed:
        return f"origin {facts.origin!r} is excluded (the policy does not require evidence): not counted in compliance"
    return None


def _local_span(item: dict[str, Any], zone: ZoneInfo, lang: Language | None = None) -> str:
    start = datetime.fromisoformat(item["from"]).astimezone(zone)
    end = datetime.fromisoformat(item["to"]).astimezone(zone)
    if lang is not None and not lang.is_source:
        end_text = f"{end:%H:%M}" if end.date() == start.date() else lang.datetime(end, zone, weekday=True, named_zone=False)
        return f"{lang.datetime(start, zone, weekday=True, named_zone=False)} -> {end_text}"
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a %Y-%m-%d %H:%M}"
    return f"{start:%a %Y-%m-%d %H:%M} -> {end_text}"


def _reader_time(utc: str | None, local: str | None, zone: ZoneInfo, lang: Language) -> str | None:
    """The local ISO time of the JSON (English), or the instant in the reader's format."""
    if utc is None or lang.is_source:
        return local
    return lang.datetime(datetime.fromisoformat(utc), zone)


_CLOCK_TITLES = {"first_response": N_("First response"), "resolution": N_("Resolution")}
_MEASURES = {"assignment to an analyst": N_("assignment to an analyst"), "reaching a closed state": N_("reaching a closed state")}


def explain_text(explanation: dict[str, Any], lang: str | None = None, policy: Policy | None = None) -> str:
    """A plain-text rendering of `explain()` for terminals (intervals in the calendar's local time).

    `lang`: the reader's locale (`--lang`; None: English, the JSON's own words). `policy`
    names holidays and calendars in that language.
    """
    tr = language(lang)
    num = tr.number
    policy = _terms(explanation, policy) if not tr.is_source else policy
    result = explanation["result"]
    lines = [
        tr._("Ticket %(ticket)s: status %(status)s", ticket=result["ticket_id"], status=state_name(result["status"], tr)),
        tr._("  created %(created)s, evaluated as of %(now)s", created=explanation["created_at"], now=explanation["now"]),
        f"  {explanation['severity']['rule']}" if tr.is_source else tr._(
            "  priority %(priority)s maps to severity %(severity)s (current priority; a priority change re-measures from creation)",
            priority=repr(explanation["severity"]["priority"]), severity=repr(severity_name(explanation["severity"]["severity"] or "", tr))),
    ]
    if "contract" in explanation:
        lines += _contract_lines(explanation["contract"], tr)
    if "scope" in explanation:
        lines.append(f"  {sentence_text(explanation['scope'], tr)}")
    if "support_24x7" in explanation:
        support = explanation["support_24x7"]
        decided = sentence_text(support["decided_by"], tr)
        if support["applies"]:
            lines.append(tr._("  24x7 Integrations Support applies (decided by: %(decided)s; activation %(activation)s):",
                              decided=decided, activation=support["activation"]))
        else:
            lines.append(tr._("  24x7 Integrations Support does not apply (decided by: %(decided)s; activation %(activation)s):",
                              decided=decided, activation=support["activation"]))
        lines += [f"    [{'x' if c['met'] else ' '}] {sentence_text(c['condition'], tr)}" for c in support["conditions"]]
    for name, clock in explanation.get("clocks", {}).items():
        title = name.replace("_", " ").title() if tr.is_source else tr.gettext(_CLOCK_TITLES.get(name, name))
        measures = clock["measures"] if tr.is_source else tr.gettext(_MEASURES.get(clock["measures"], clock["measures"]))
        calendar = clock["calendar"]
        if policy is not None and not tr.is_source:
            calendar = describe_calendar(policy, tr, policy.calendar_for(clock["clock"]))
        lines += [
            "",
            f"{title} ({measures}): {state_name(clock['state'], tr)}",
            tr._("  target %(target)s min on the %(clock)s clock (%(calendar)s)", target=num(clock["target_minutes"]),
                 clock=clock_name(clock["clock"], tr), calendar=calendar),
            tr._("  counted %(counted)s min, paused %(paused)s min", counted=num(clock["counted_minutes"]),
                 paused=num(clock["paused_minutes"])),
        ]
        entries = [(tr._("counted "), item) for item in clock["counted"]] + [(tr._("excluded"), item) for item in clock["excluded"]]
        zone = ZoneInfo(clock["time_zone"])
        lines.append(tr._("  intervals in %(zone)s local time:", zone=clock["time_zone"] if tr.is_source else tr.zone_name(zone)))
        for label, item in sorted(entries, key=lambda pair: pair[1]["from"]):
            reason = f"  {reason_text(item, tr, policy)}" if "reason" in item else ""
            lines.append(f"    {label} {_local_span(item, zone, tr)}  {num(item['minutes'])} min{reason}")
        for item in clock["projected"]:
            lines.append(tr._("    to come  %(span)s  %(minutes)s min", span=_local_span(item, zone, tr), minutes=num(item["minutes"])))
        if clock["met_at"]:
            lines.append(tr._("  reached %(local)s (%(utc)s)", local=_reader_time(clock["met_at"], clock["met_at_local"], zone, tr),
                              utc=clock["met_at"]))
        due = _reader_time(clock["due_at"], clock["due_at_local"], zone, tr) or tr._("none (paused)")
        if clock["due_at"]:
            lines.append(tr._("  due %(local)s (%(utc)s)", local=due, utc=clock["due_at"]))
        else:
            lines.append(tr._("  due %(local)s", local=due))
    return "\n".join(lines)


_VERSION_RULES = {
    "measured under the version in force when the ticket was created":
        N_("measured under the version in force when the ticket was created"),
    "named on the command line": N_("named on the command line"),
}


def _contract_lines(contract: dict[str, Any], tr: Language | None = None) -> list[str]:
    """The contract part of `explain_text` (in `tr`'s language; None: English)."""
    tr = tr or language(None)
    if contract["effective_from"] is None:
        version = tr._("original terms")
    else:
        version = tr._("version effective from %(date)s", date=contract["effective_from"])
    rule = contract["version_rule"] if tr.is_source else tr.gettext(_VERSION_RULES.get(contract["version_rule"], contract["version_rule"]))
    lines = [tr._("  contract %(name)r, %(version)s (%(rule)s): %(reason)s", name=contract["name"], version=version, rule=rule,
                  reason=sentence_text(contract["reason"], tr))]
    none = tr._("(none)")
    for change in contract["changes"]:
        lines.append(tr._("    contract changed at %(at)s: %(before)s -> %(after)s", at=change["at"],
                          before=change["from"] or none, after=change["to"] or none))
    if before := contract.get("before_change"):
        paused = tr._("none (paused)")
        lines.append(tr._(
            "    under %(contract)r the deadlines were first response %(first)s, resolution %(resolution)s; now %(now_first)s, "
            "%(now_resolution)s", contract=before["contract"], first=before["first_response_due_at"],
            resolution=before["resolution_due_at"] or paused, now_first=before["now_first_response_due_at"],
            now_resolution=before["now_resolution_due_at"] or paused,
        ))
    return lines


def _terms(explanation: dict[str, Any], policy: Policy | None) -> Policy | None:
    """The terms the ticket was measured under (its contract's), to describe calendars and holidays."""
    contract = explanation.get("contract")
    if policy is None or contract is None or contract.get("default"):
        return policy
    try:
        return policy.contract_book.named(contract["name"], datetime.fromisoformat(explanation["created_at"])).policy
    except (KeyError, ValueError):
        return None  # not in this policy: calendars and holidays keep the explanation's English
