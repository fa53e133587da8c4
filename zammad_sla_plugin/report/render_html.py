"""The HTML report: one self-contained file (inline CSS and SVG, no script, no external URL)
that a manager can open offline or attach to an email.

The page is the Jinja2 template `templates/report.html.j2` (autoescaped: ticket titles,
organizations and error messages are text, never markup); this module computes what the
template shows: the period, local times and the charts' geometry (`charts`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from zammad_sla_plugin.templates import render
from zammad_sla_plugin.core.i18n import N_, Language, language
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.core.reasons import clock_name, describe_calendar, severity_name, state_name
from zammad_sla_plugin.core.times import parse_time

from .charts import Chart, compliance_bars, resolution_strip


class _Charts(NamedTuple):
    bars: list[Chart]  # compliance by month and severity: first response, resolution
    strip: Chart  # resolution time against the target


def _local(value: str | None, zone: ZoneInfo, lang: Language | None = None) -> str:
    if value is None:
        return ""
    if lang is not None and not lang.is_source:
        return lang.datetime(parse_time(value, "time"), zone, named_zone=False)
    return parse_time(value, "time").astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _minutes_label(minutes: float, lang: Language | None = None) -> str:
    if lang is not None and not lang.is_source:
        if minutes >= 60:
            return lang._("%(hours)s h", hours=lang.number(minutes / 60, "#,##0.##"))
        return lang._("%(minutes)s min", minutes=lang.number(minutes, "#,##0.##"))
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


_BAR_TITLES = {
    "first_response": N_("First response compliance by month and severity (% met)"),
    "resolution": N_("Resolution compliance by month and severity (% met)"),
}


# Contract selectors (core/contracts.py ContractMatch) as the policy table names them.
_CONDITIONS: dict[str, str] = {
    "organization": N_("organization"), "group": N_("group"), "customer_domain": N_("customer domain"), "tag": N_("tag"),
    "severity": N_("severity"), "kind": N_("kind"),
}


def _condition_name(name: str, lang: Language) -> str:
    """`customer_domain` -> `customer domain` (English, as the page always said), or its translation."""
    return name.replace("_", " ") if lang.is_source else lang.gettext(_CONDITIONS.get(name, name))


def _charts(document: dict[str, Any], lang: Language | None = None) -> _Charts:
    lang = lang or language(None)
    severities = [s["severity"] for s in document["policy"]["severities"]]
    present = {group["key"] for group in document["by_severity"]}
    severities += sorted(present - set(severities))
    severities = [s for s in severities if s in present]
    months = [group["key"] for group in document["by_month"]]
    bars = []
    for clock in ("first_response", "resolution"):
        values = {
            (entry["month"], group["key"]): (group[clock]["met_pct"], group[clock]["met"] + group[clock]["failed"])
            for entry in document["by_month_and_severity"]
            for group in entry["severities"]
        }
        bars.append(compliance_bars(lang.gettext(_BAR_TITLES[clock]), f"{clock}-by-month",
                                    months, severities, values, lang))
    decided = [t for t in document["tickets"]
               if t["resolution"]["outcome"] in ("met", "failed") and t["resolution"]["target_minutes"]]
    labels = {}
    for severity in severities:
        targets = sorted({(t["resolution"]["target_minutes"], t["clock"]) for t in decided if t["severity"] == severity})
        labels[severity] = lang._("target %(targets)s", targets=" / ".join(
            f"{_minutes_label(m, lang)} {clock_name(c, lang)}" for m, c in targets))
    strip = resolution_strip(lang._("Resolution time against the target"), "resolution-vs-target", severities, decided,
                             labels, lang)
    return _Charts(bars, strip)


def _number(value: float, lang: Language, pattern: str, legacy: str) -> str:
    """`legacy` %-format in English (as the page always showed), the locale's digits otherwise."""
    return legacy % value if lang.is_source else lang.number(value, pattern)


def render_html(document: dict[str, Any], lang: Language | str | None = None, policy: Policy | None = None) -> str:
    """The report document as one self-contained HTML page, in `lang` (a locale tag; None: English).

    `policy` (the one the report was made with) lets the calendar be described in `lang`.
    """
    lang = lang if isinstance(lang, Language) else language(lang)
    meta = document["report"]
    zone = ZoneInfo(meta["timezone"])
    last_day = date.fromisoformat(meta["to"]) - timedelta(days=1)
    generated = parse_time(meta["generated_at"], "generated_at")
    if lang.is_source:
        period = f"{meta['from']} to {last_day.isoformat()}"
        generated_local = generated.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    else:
        period = lang._("%(first)s to %(last)s", first=lang.date(date.fromisoformat(meta["from"])), last=lang.date(last_day))
        generated_local = lang.datetime(generated, zone)
    return render(
        "report.html.j2",
        lang,
        document=document,
        meta=meta,
        totals=document["totals"],
        period=period,
        scope=lang._(" · organization %(name)s", name=meta["organization"]) if meta["organization"] else "",
        generated_local=generated_local,
        generated_utc=generated.strftime("%Y-%m-%d %H:%M"),
        charts=_charts(document, lang),
        local=lambda value: _local(value, zone, lang),
        minutes_label=lambda minutes: _minutes_label(minutes, lang),
        definitions=[lang.gettext(text) for text in document["definitions"]],
        severity_name=lambda name: severity_name(name, lang),
        state_name=lambda name: state_name(name, lang),
        same=lambda value: value,
        condition_name=lambda name: _condition_name(name, lang),
        zone_label=meta["timezone"] if lang.is_source else lang.zone_name(zone),
        severity_list=lambda names: ", ".join(severity_name(name, lang) for name in names),
        clock_name=lambda name: clock_name(name, lang),
        calendar_text=describe_calendar(policy, lang) if policy is not None and not lang.is_source
        else document["policy"]["calendar"],
        pct_text=lambda value: _number(value, lang, "0.0", "%.1f"),
        num=lambda value: _number(value, lang, "#,##0.##", "%g"),
    )
