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
from zammad_sla_plugin.core.times import parse_time

from .charts import Chart, compliance_bars, resolution_strip


class _Charts(NamedTuple):
    bars: list[Chart]  # compliance by month and severity: first response, resolution
    strip: Chart  # resolution time against the target


def _local(value: str | None, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    return parse_time(value, "time").astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _minutes_label(minutes: float) -> str:
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


def _charts(document: dict[str, Any]) -> _Charts:
    severities = [s["severity"] for s in document["policy"]["severities"]]
    present = {group["key"] for group in document["by_severity"]}
    severities += sorted(present - set(severities))
    severities = [s for s in severities if s in present]
    months = [group["key"] for group in document["by_month"]]
    bars = []
    for clock, label in (("first_response", "First response"), ("resolution", "Resolution")):
        values = {
            (entry["month"], group["key"]): (group[clock]["met_pct"], group[clock]["met"] + group[clock]["failed"])
            for entry in document["by_month_and_severity"]
            for group in entry["severities"]
        }
        bars.append(compliance_bars(f"{label} compliance by month and severity (% met)", f"{clock}-by-month",
                                    months, severities, values))
    decided = [t for t in document["tickets"]
               if t["resolution"]["outcome"] in ("met", "failed") and t["resolution"]["target_minutes"]]
    labels = {}
    for severity in severities:
        targets = sorted({(t["resolution"]["target_minutes"], t["clock"]) for t in decided if t["severity"] == severity})
        labels[severity] = "target " + " / ".join(f"{_minutes_label(m)} {c}" for m, c in targets)
    strip = resolution_strip("Resolution time against the target", "resolution-vs-target", severities, decided, labels)
    return _Charts(bars, strip)


def render_html(document: dict[str, Any]) -> str:
    """The report document as one self-contained HTML page."""
    meta = document["report"]
    zone = ZoneInfo(meta["timezone"])
    last_day = date.fromisoformat(meta["to"]) - timedelta(days=1)
    generated = parse_time(meta["generated_at"], "generated_at")
    return render(
        "report.html.j2",
        document=document,
        meta=meta,
        totals=document["totals"],
        period=f"{meta['from']} to {last_day.isoformat()}",
        scope=f" · organization {meta['organization']}" if meta["organization"] else "",
        generated_local=generated.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        generated_utc=generated.strftime("%Y-%m-%d %H:%M"),
        charts=_charts(document),
        local=lambda value: _local(value, zone),
        minutes_label=_minutes_label,
    )
