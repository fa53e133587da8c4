"""The internal note written on a ticket when its SLA turns at risk or breached.

Pure rendering: the analyst reads, inside Zammad, which clock, its target, the deadline in
the calendar's time zone and how it was computed. The HTML is the autoescaped template
`templates/note.html.j2`; this module computes the facts it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zammad_sla_plugin.core.clock import AT_RISK, BREACHED, ClockResult, SlaResult
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.templates import render

_TITLES = {AT_RISK: "SLA at risk", BREACHED: "SLA breached"}


def _local(instant: datetime | None, policy: Policy) -> str:
    if instant is None:
        return "none (clock paused)"
    zone = policy.business_calendar.timezone
    local = instant.astimezone(zone)
    return f"{local:%a %Y-%m-%d %H:%M} {zone.key} ({instant:%Y-%m-%d %H:%M}Z)"


def _hours(minutes: float) -> str:
    return f"{minutes / 60:.1f} h" if minutes >= 60 else f"{minutes:.0f} min"


def excluded_summary(clock_explanation: dict[str, Any]) -> str:
    """'weekend 48.0 h, holiday: Carnival Monday 24.0 h, ...': what did not count, by reason."""
    totals: dict[str, float] = {}
    for item in clock_explanation.get("excluded", []):
        totals[item["reason"]] = totals.get(item["reason"], 0.0) + item["minutes"]
    return ", ".join(f"{reason} {_hours(minutes)}" for reason, minutes in totals.items())


@dataclass(frozen=True)
class _ClockLine:
    label: str
    parts: list[str]  # empty: the clock does not apply


def _clock_line(
    label: str, clock: ClockResult, result: SlaResult, policy: Policy, explanation: dict[str, Any] | None
) -> _ClockLine:
    if clock.target is None:
        return _ClockLine(label, [])
    unit = "working minutes" if result.clock == "business" else "minutes (24x7 clock)"
    used = clock.consumed.total_seconds() / 60
    share = used / (clock.target.total_seconds() / 60) * 100
    parts = [
        clock.state,
        f"target {clock.target_minutes:g} {unit}",
        f"due {_local(clock.due_at, policy)}",
        f"used {used:.0f} min ({share:.0f} %)",
    ]
    if clock.met_at is not None:
        parts.append(f"reached {_local(clock.met_at, policy)}")
    if clock.paused.total_seconds():
        parts.append(f"{clock.paused.total_seconds() / 60:.0f} min paused while waiting on the customer")
    if explanation and (summary := excluded_summary(explanation)):
        parts.append(f"not counted: {summary}")
    return _ClockLine(label, parts)


def transition_note(
    result: SlaResult, policy: Policy, explanation: dict[str, Any] | None = None
) -> tuple[str, str]:
    """(subject, HTML body) of the note for a transition into at_risk or breached.

    `explanation` (from `explain.explain`) adds, per clock, the time that did not count
    and why (nights, weekends, holidays by name, pauses): the short form of
    `zammad-sla explain`.
    """
    clocks = (explanation or {}).get("clocks", {})
    applied = result.applied
    policy = applied.policy if applied is not None else policy  # the contract's calendar and zone
    title = _TITLES.get(result.status, f"SLA {result.status}")
    if result.clock == "business":
        clock = f"business clock, {policy.business_calendar.describe()}"
    else:
        clock = "24x7 clock (every minute counts)"
    clock_lines = [
        _clock_line("First response (assignment to an analyst)", result.first_response, result, policy,
                    clocks.get("first_response")),
        _clock_line("Resolution", result.resolution, result, policy, clocks.get("resolution")),
    ]
    body = render(
        "note.html.j2",
        title=title,
        severity=str(result.severity),
        priority=result.priority,
        support_24x7=result.support_24x7,
        clock=clock,
        clock_lines=clock_lines,
        evaluated=_local(result.now, policy),
        ticket_id=result.ticket_id,
        contract=applied.name if applied is not None else None,
        contract_version=applied.effective_from.isoformat() if applied is not None and applied.effective_from else None,
    )
    return title, body
