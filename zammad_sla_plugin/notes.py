"""The internal note written on a ticket when its SLA turns at risk or breached.

Pure rendering: the analyst reads, inside Zammad, which clock, its target, the deadline in
the calendar's time zone and how it was computed.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from zammad_sla_plugin.clock import AT_RISK, BREACHED, ClockResult, SlaResult
from zammad_sla_plugin.policy import Policy

_TITLES = {AT_RISK: "SLA at risk", BREACHED: "SLA breached"}


def _local(instant: datetime | None, policy: Policy) -> str:
    if instant is None:
        return "none (clock paused)"
    zone = policy.business_calendar.timezone
    local = instant.astimezone(zone)
    return f"{local:%a %Y-%m-%d %H:%M} {zone.key} ({instant:%Y-%m-%d %H:%M}Z)"


def _clock_line(label: str, clock: ClockResult, result: SlaResult, policy: Policy) -> str:
    if clock.target is None:
        return f"<li>{label}: not applicable</li>"
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
    return f"<li><b>{escape(label)}</b>: {escape('; '.join(parts), quote=False)}</li>"


def transition_note(result: SlaResult, policy: Policy) -> tuple[str, str]:
    """(subject, HTML body) of the note for a transition into at_risk or breached."""
    title = _TITLES.get(result.status, f"SLA {result.status}")
    if result.clock == "business":
        clock = f"business clock, {policy.business_calendar.describe()}"
    else:
        clock = "24x7 clock (every minute counts)"
    why_24x7 = " under 24x7 Integrations Support" if result.support_24x7 else ""
    body = (
        f"<p><b>{escape(title)}</b></p>"
        f"<p>Severity {escape(str(result.severity))} (priority &quot;{escape(result.priority)}&quot;){why_24x7}; "
        f"{escape(clock)}. Targets are measured from the ticket's creation; time spent waiting on "
        f"the customer or closed is not counted.</p>"
        "<ul>"
        + _clock_line("First response (assignment to an analyst)", result.first_response, result, policy)
        + _clock_line("Resolution", result.resolution, result, policy)
        + "</ul>"
        f"<p>Evaluated by zammad-sla at {_local(result.now, policy)}.</p>"
    )
    return title, body
