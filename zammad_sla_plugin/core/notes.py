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
from zammad_sla_plugin.core.i18n import N_, Language, language
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.core.reasons import describe_calendar, reason_text, severity_name, state_name
from zammad_sla_plugin.templates import render

_TITLES = {AT_RISK: N_("SLA at risk"), BREACHED: N_("SLA breached")}


def note_language(policy: Policy, locale: str | None) -> Language:
    """The language of the internal notes: `locale` (resolved by the caller), else the policy's."""
    return language(locale or policy.locale)


def _local(instant: datetime | None, policy: Policy, lang: Language) -> str:
    if instant is None:
        return lang._("none (clock paused)")
    zone = policy.business_calendar.timezone
    if not lang.is_source:
        return lang.datetime(instant, zone, weekday=True)
    local = instant.astimezone(zone)
    return f"{local:%a %Y-%m-%d %H:%M} {zone.key} ({instant:%Y-%m-%d %H:%M}Z)"


def _hours(minutes: float, lang: Language) -> str:
    if lang.is_source:
        return f"{minutes / 60:.1f} h" if minutes >= 60 else f"{minutes:.0f} min"
    if minutes >= 60:
        return lang._("%(hours)s h", hours=lang.number(minutes / 60, "#,##0.0"))
    return lang._("%(minutes)s min", minutes=lang.number(round(minutes)))


def excluded_summary(clock_explanation: dict[str, Any], lang: Language | None = None, policy: Policy | None = None) -> str:
    """'weekend 48.0 h, holiday: Carnival Monday 24.0 h, ...': what did not count, by reason."""
    lang = lang or language(None)
    totals: dict[str, float] = {}
    for item in clock_explanation.get("excluded", []):
        reason = reason_text(item, lang, policy)
        totals[reason] = totals.get(reason, 0.0) + item["minutes"]
    return lang.gettext(", ").join(f"{reason} {_hours(minutes, lang)}" for reason, minutes in totals.items())


@dataclass(frozen=True)
class _ClockLine:
    label: str
    parts: list[str]  # empty: the clock does not apply


def _target(clock: ClockResult, result: SlaResult, lang: Language) -> str:
    if lang.is_source:
        unit = "working minutes" if result.clock == "business" else "minutes (24x7 clock)"
        return f"target {clock.target_minutes:g} {unit}"
    if result.clock == "business":
        return lang._("target %(duration)s", duration=lang.duration(clock.target_minutes or 0, working=True))
    return lang._("target %(duration)s (24x7 clock)", duration=lang.duration(clock.target_minutes or 0, working=False))


def _clock_line(
    label: str, clock: ClockResult, result: SlaResult, policy: Policy, explanation: dict[str, Any] | None,
    lang: Language,
) -> _ClockLine:
    if clock.target is None:
        return _ClockLine(label, [])
    used = clock.consumed.total_seconds() / 60
    share = used / (clock.target.total_seconds() / 60) * 100
    parts = [
        state_name(clock.state, lang),
        _target(clock, result, lang),
        lang._("due %(when)s", when=_local(clock.due_at, policy, lang)),
        lang._("used %(minutes)s min (%(share)s %%)", minutes=lang.number(round(used)), share=lang.number(round(share))),
    ]
    if clock.met_at is not None:
        parts.append(lang._("reached %(when)s", when=_local(clock.met_at, policy, lang)))
    if clock.paused.total_seconds():
        parts.append(lang._("%(minutes)s min paused while waiting on the customer",
                            minutes=lang.number(round(clock.paused.total_seconds() / 60))))
    if explanation and (summary := excluded_summary(explanation, lang, policy)):
        parts.append(lang._("not counted: %(summary)s", summary=summary))
    return _ClockLine(label, parts)


def transition_note(
    result: SlaResult, policy: Policy, explanation: dict[str, Any] | None = None, locale: str | None = None
) -> tuple[str, str]:
    """(subject, HTML body) of the note for a transition into at_risk or breached.

    `explanation` (from `explain.explain`) adds, per clock, the time that did not count
    and why (nights, weekends, holidays by name, pauses): the short form of
    `zammad-sla explain`. `locale` (the effective one: the policy's, else Zammad's
    `locale_default`) chooses the language; None: the policy's `locale`, else English.
    """
    lang = note_language(policy, locale)
    clocks = (explanation or {}).get("clocks", {})
    applied = result.applied
    policy = applied.policy if applied is not None else policy  # the contract's calendar and zone
    title = lang._(_TITLES[result.status]) if result.status in _TITLES else f"SLA {result.status}"
    if result.clock == "business":
        clock = lang._("business clock, %(calendar)s", calendar=describe_calendar(policy, lang))
    else:
        clock = lang._("24x7 clock (every minute counts)")
    clock_lines = [
        _clock_line(lang._("First response (assignment to an analyst)"), result.first_response, result, policy,
                    clocks.get("first_response"), lang),
        _clock_line(lang._("Resolution"), result.resolution, result, policy, clocks.get("resolution"), lang),
    ]
    body = render(
        "note.html.j2",
        lang,
        title=title,
        severity=severity_name(str(result.severity), lang),
        priority=result.priority,
        support_24x7=result.support_24x7,
        clock=clock,
        clock_lines=clock_lines,
        evaluated=_local(result.now, policy, lang),
        ticket_id=result.ticket_id,
        contract=applied.name if applied is not None else None,
        contract_version=lang.date(applied.effective_from) if applied is not None and applied.effective_from else None,
    )
    return title, body
