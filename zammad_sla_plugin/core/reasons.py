"""The SLA vocabulary in the reader's language: states, severities, calendars, exclusion reasons.

Pure. The explanation (`explain.explain`, also served as JSON) keeps its English, stable
values; what people read (notes, `explain` in a terminal, the report) passes them through
here. The source language returns every value unchanged.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from babel.dates import format_date, get_day_names

from zammad_sla_plugin.core.calendar import WorkingCalendar
from zammad_sla_plugin.core.i18n import N_, Language
from zammad_sla_plugin.core.policy import Policy

# Every status and clock state zammad-sla writes (clock.py), marked for the catalogs.
STATE_NAMES: dict[str, str] = {
    "running": N_("running"), "paused": N_("paused"), "met": N_("met"), "breached": N_("breached"),
    "not_applicable": N_("not applicable"), "excluded": N_("excluded"), "at_risk": N_("at risk"),
    "on_track": N_("on track"), "failed": N_("failed"), "pending": N_("pending"), "in_scope": N_("in scope"),
}  # fmt: skip
# The Aivo policy's severities; a custom policy's own names are shown as they are.
SEVERITY_NAMES: dict[str, str] = {"blocker": N_("blocker"), "high": N_("high"), "medium": N_("medium"), "low": N_("low")}
# Proposal statuses (sla_proposal_status) as the notes say them: "the proposal is now approved".
PROPOSAL_STATUS_NAMES: dict[str, str] = {
    "registered": N_("registered"), "under_review": N_("under review"), "approved": N_("approved"),
    "declined": N_("declined"), "delivered": N_("delivered"),
}  # fmt: skip
# sla_origin values as the select shows them (admin/provision.py ORIGIN_LABELS), lower case in a sentence.
ORIGIN_NAMES: dict[str, str] = {"customer": N_("customer"), "third_party": N_("third party")}
CLOCK_NAMES: dict[str, str] = {"business": N_("business"), "24x7": N_("24x7")}
_STATE_REASONS: dict[str, str] = {
    "paused": N_("paused: state %(state)s"), "closed": N_("closed: state %(state)s"),
    "merged": N_("merged: state %(state)s"),
}  # fmt: skip


def _named(names: dict[str, str], value: str, lang: Language) -> str:
    """`value` as the reader says it when `names` lists it; unchanged in the source language or when unlisted."""
    return lang.gettext(names[value]) if value in names and not lang.is_source else value


def state_name(state: str, lang: Language) -> str:
    """`breached` -> `incumplido`: a status or clock state as the reader says it."""
    return _named(STATE_NAMES, state, lang)


def severity_name(severity: str, lang: Language) -> str:
    """A severity of the Aivo policy in the reader's language (other names unchanged)."""
    return _named(SEVERITY_NAMES, severity, lang)


def proposal_status_name(status: str, lang: Language) -> str:
    """`approved` -> `aprobada`: a proposal status as the reader says it."""
    return _named(PROPOSAL_STATUS_NAMES, status, lang)


def origin_name(origin: str, lang: Language) -> str:
    """`third_party` -> `tercero`: an origin value as the reader says it (others unchanged)."""
    return _named(ORIGIN_NAMES, origin, lang)


def clock_name(clock: str, lang: Language) -> str:
    """`business` -> `hábil`: a clock's name as the reader says it."""
    return _named(CLOCK_NAMES, clock, lang)


def holiday_name(calendar: WorkingCalendar, day: date, lang: Language) -> str | None:
    """The holiday's name in the reader's language where the `holidays` package has it."""
    name = calendar.holiday_name(day, lang.holidays_language(calendar.holiday_languages) if not lang.is_source else None)
    if name == "closed date" and not lang.is_source:
        return lang._("closed date")
    return name


def describe_calendar(policy: Policy, lang: Language, calendar: WorkingCalendar | None = None) -> str:
    """`lun-vie 09:00-18:00 (hora de Buenos Aires), feriados AR`: `WorkingCalendar.describe` translated."""
    calendar = calendar or policy.business_calendar
    if lang.is_source:
        return calendar.describe()
    if calendar.is_always_open:
        return lang._("24x7 (always open)")
    days = get_day_names("abbreviated", locale=lang.locale)  # 0 = Monday
    parts = []
    for first, last, ranges in calendar.weekly_groups():
        span = days[first] if first == last else lang._("%(first)s-%(last)s", first=days[first], last=days[last])
        parts.append(lang._("%(days)s %(hours)s", days=span, hours=",".join(ranges)))
    text = lang._("%(hours)s (%(zone)s)", hours=lang.gettext("; ").join(parts) if parts else lang._("never open (no hours)"),
                  zone=lang.zone_name(calendar.timezone))
    if calendar.holidays_region:
        text = lang._("%(calendar)s, holidays %(region)s", calendar=text, region=calendar.holidays_region)
    if calendar.closed_date_count:
        text = lang.n_("%(calendar)s, %(count)s closed date", "%(calendar)s, %(count)s closed dates",
                       calendar.closed_date_count, calendar=text)
    return text


def reason_text(item: dict[str, Any], lang: Language, policy: Policy | None = None) -> str:
    """Why an excluded interval of `explain` did not count, in the reader's language."""
    reason = str(item["reason"])
    if lang.is_source:
        return reason
    calendar = policy.business_calendar if policy is not None else None
    day = datetime.fromisoformat(item["from"]).astimezone(calendar.timezone).date() if calendar else None
    if reason.startswith("holiday: "):
        name = holiday_name(calendar, day, lang) if calendar and day else None
        return lang._("holiday: %(name)s", name=name or reason.removeprefix("holiday: "))
    if reason == "weekend":
        return lang._("weekend")
    if reason == "outside working hours":
        return lang._("outside working hours")
    if reason.startswith("closed day (") and day is not None:
        return lang._("closed day (%(weekday)s)", weekday=format_date(day, "EEEE", locale=lang.locale))
    kind, _, state = reason.partition(": state ")
    if kind in _STATE_REASONS and state:
        return lang._(_STATE_REASONS[kind], state=state)
    return reason


# The explanation's English sentences (clock.support_24x7_conditions, explain._scope_text,
# contracts' reasons) as messages; a sentence that none of them spells stays English.
# Earlier messages win (the constant "matched by it matches every ticket" before "matched by ...").
_SENTENCE_MESSAGES: tuple[str, ...] = (
    N_("severity in %(severities)s"),
    N_("organization %(attribute)s is true"),
    N_("ticket %(attribute)s is %(value)s"),
    N_("created outside working hours"),
    N_("came in by phone (first article type in %(types)s, is %(type)s)"),
    N_("all conditions met"),
    N_("merged ticket: not counted in compliance"),
    N_("origin %(origin)s is claimed but %(attribute)s is blank: counted like any other ticket (and tagged %(tag)s) "
       "until the evidence is written"),
    N_("origin %(origin)s is excluded and %(attribute)s is written: not counted in compliance"),
    N_("origin %(origin)s is excluded (the policy does not require evidence): not counted in compliance"),
    N_("sla_kind %(kind)s is out of the SLA scope: no deadlines"),
    N_("matched by it matches every ticket"),
    N_("matched by %(why)s"),
    N_("no contract matched: the default terms"),
    N_("the policy's terms (no contracts defined)"),
    N_("chosen by name (the version in force at creation)"),
    N_("chosen by name (the version in force on %(day)s)"),
)


def _sentence_pattern(message: str) -> re.Pattern[str]:
    """The English sentence `message` spells, its `%(name)s` placeholders as named groups (shortest first)."""
    pieces = re.split(r"%\((\w+)\)s", message)  # literal, name, literal, name, ...
    return re.compile("".join(f"(?P<{piece}>.+?)" if index % 2 else re.escape(piece) for index, piece in enumerate(pieces)))


# Derived from the messages themselves, so a pattern cannot drift from its message.
_SENTENCES: tuple[tuple[re.Pattern[str], str], ...] = tuple((_sentence_pattern(m), m) for m in _SENTENCE_MESSAGES)


def sentence_text(text: str, lang: Language) -> str:
    """One of the explanation's English sentences (a 24x7 condition, the scope) in the reader's language."""
    if lang.is_source:
        return text
    for pattern, message in _SENTENCES:
        if match := pattern.fullmatch(text):
            return lang._(message, **match.groupdict())
    return text
