"""The HTML report: one self-contained file (inline CSS and SVG, no script, no external URL)
that a manager can open offline or attach to an email."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from zammad_sla_plugin.times import parse_time

from .charts import compliance_bars, resolution_strip

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; margin: 0;
       color: #222; background: #f4f5f7; font-size: 14px; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 2px solid #e3e6ea; padding-bottom: 4px; }
.subtitle { color: #555; margin: 0 0 18px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0 8px; }
.card { flex: 1 1 110px; border: 1px solid #e3e6ea; border-radius: 8px; padding: 10px 14px; background: #fafbfc; }
.card .value { font-size: 26px; font-weight: 700; }
.card .label { color: #555; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.card.good .value { color: #2e7d32; } .card.bad .value { color: #c62828; }
.note { background: #fff8e1; border-left: 4px solid #f9a825; padding: 10px 16px; margin: 12px 0; }
.note ul { margin: 4px 0; padding-left: 18px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 13px; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 5px 8px; text-align: right; }
td:first-child { white-space: nowrap; }
th { background: #f0f2f5; font-weight: 600; white-space: normal; vertical-align: bottom; }
.table-wrap { overflow-x: auto; }
th:first-child, td:first-child { text-align: left; }
td.text, th.text { text-align: left; white-space: normal; }
td.text:first-child { white-space: nowrap; }
td.pct { min-width: 150px; }
tr.total td { font-weight: 700; background: #fafbfc; }
.sub { color: #777; font-size: 11px; }
.met { color: #2e7d32; font-weight: 600; } .failed { color: #c62828; font-weight: 600; } .pending { color: #777; }
figure { margin: 16px 0; } figcaption { color: #555; font-size: 12px; margin-top: 4px; }
svg { width: 100%; max-width: 900px; height: auto; background: #fff; }
details summary { cursor: pointer; font-weight: 600; margin: 8px 0; }
footer { color: #777; font-size: 12px; margin-top: 32px; }
@media print { body { background: #fff; } main { padding: 0; } details { display: block; } }
"""

COLUMNS_HELP = ("First response and resolution: met % of decided tickets (met + failed), with the counts "
                "below. Times in working hours (business calendar): median / p90.")


def _pct(clock: dict[str, Any]) -> str:
    value = clock["met_pct"]
    main = "n/a" if value is None else f"{value:.1f} %"
    return f'{main}<div class="sub">{clock["met"]} met / {clock["failed"]} failed / {clock["pending"]} pending</div>'


def _hours(stats: dict[str, Any]) -> str:
    if not stats["count"]:
        return '<span class="sub">n/a</span>'
    return f'{stats["median"]:g} / {stats["p90"]:g}<div class="sub">{stats["count"]} tickets</div>'


def _group_table(title: str, groups: Sequence[dict[str, Any]], totals: dict[str, Any] | None) -> str:
    head = (f"<tr><th>{escape(title)}</th><th>Tickets</th><th>In scope</th><th>First response met</th>"
            "<th>Resolution met</th><th>Breached, still open</th><th>Excluded</th><th>Not applicable</th>"
            "<th>Time to assignment (h, median / p90)</th><th>Time to resolution (h, median / p90)</th></tr>")

    def row(group: dict[str, Any], css: str = "") -> str:
        return (f'<tr class="{css}"><td class="text">{escape(group["key"])}</td><td>{group["tickets"]}</td>'
                f'<td>{group["in_scope"]}</td><td class="pct">{_pct(group["first_response"])}</td>'
                f'<td class="pct">{_pct(group["resolution"])}</td><td>{group["breached_open"]}</td>'
                f'<td>{group["excluded"]}</td><td>{group["not_applicable"]}</td>'
                f'<td>{_hours(group["time_to_assignment_hours"])}</td>'
                f'<td>{_hours(group["time_to_resolution_hours"])}</td></tr>')

    body = "".join(row(group) for group in groups)
    if totals is not None:
        body += row({**totals, "key": "All tickets"}, "total")
    if not groups:
        body = '<tr><td class="text" colspan="10">No tickets.</td></tr>'
    return f'<div class="table-wrap"><table><thead>{head}</thead><tbody>{body}</tbody></table></div>'


def _local(value: str | None, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    return parse_time(value, "time").astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _outcome(value: str | None) -> str:
    if value is None:
        return '<span class="pending">—</span>'
    return f'<span class="{escape(value)}">{escape(value)}</span>'


def _tickets_table(tickets: Sequence[dict[str, Any]], zone: ZoneInfo) -> str:
    head = ("<tr><th>Ticket</th><th class='text'>Title</th><th class='text'>Organization</th><th>Severity</th>"
            "<th>Created</th><th>Closed</th><th>Scope</th><th>First response</th><th>Resolution</th>"
            "<th>Assignment (h)</th><th>Resolution (h)</th></tr>")
    rows = []
    for ticket in tickets:
        rows.append(
            f'<tr><td>#{escape(str(ticket["number"] or ticket["id"]))}</td>'
            f'<td class="text">{escape(ticket["title"] or "")}</td>'
            f'<td class="text">{escape(ticket["organization"])}</td><td>{escape(ticket["severity"])}</td>'
            f'<td>{_local(ticket["created_at"], zone)}</td><td>{_local(ticket["closed_at"], zone)}</td>'
            f'<td>{escape(ticket["scope"].replace("_", " "))}</td>'
            f'<td>{_outcome(ticket["first_response"]["outcome"])}</td>'
            f'<td>{_outcome(ticket["resolution"]["outcome"])}</td>'
            f'<td>{"" if ticket["time_to_assignment_hours"] is None else ticket["time_to_assignment_hours"]}</td>'
            f'<td>{"" if ticket["time_to_resolution_hours"] is None else ticket["time_to_resolution_hours"]}</td></tr>'
        )
    body = "".join(rows) or '<tr><td class="text" colspan="11">No tickets.</td></tr>'
    return f'<div class="table-wrap"><table><thead>{head}</thead><tbody>{body}</tbody></table></div>'


def _minutes_label(minutes: float) -> str:
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


def _policy_section(policy: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr><td class="text">{escape(s["severity"])}</td><td class="text">{escape(", ".join(s["priorities"]))}</td>'
        f'<td>{escape(s["clock"])}</td><td>{_minutes_label(s["first_response_minutes"])}</td>'
        f'<td>{_minutes_label(s["resolution_minutes"])}</td></tr>'
        for s in policy["severities"]
    )
    rule = policy["support_24x7"]
    extra = "; ".join(
        f'{escape(name)}: first response {_minutes_label(t["first_response_minutes"])}, resolution '
        f'{_minutes_label(t["resolution_minutes"])} ({escape(t["clock"])})'
        for name, t in rule["targets"].items()
    )
    return (
        "<table><thead><tr><th>Severity</th><th class='text'>Zammad priorities</th><th>Clock</th>"
        f"<th>First response target</th><th>Resolution target</th></tr></thead><tbody>{rows}</tbody></table>"
        "<ul>"
        f"<li>Business calendar: {escape(policy['calendar'])}.</li>"
        f"<li>24x7 Integrations Support for {escape(', '.join(rule['severities']))} when the organization "
        f"has it, the integration is “{escape(rule['integration_value'])}”"
        f"{' and the ticket arrives outside working hours' if rule['only_outside_working_hours'] else ''}"
        f"{' by phone' if rule.get('activation') == 'phone_outside_hours' else ''}"
        f"{': ' + extra if extra else ''}.</li>"
        f"<li>Resolution clock paused in: {escape(', '.join(policy['pause_states']) or 'none')}; resolved in: "
        f"{escape(', '.join(policy['closed_states']))}.</li>"
        f"<li>Excluded origins: {escape(', '.join(policy['excluded_origins']) or 'none')}"
        f"{' (only once evidence is written)' if policy.get('exclusion_requires_evidence') else ''}; outside the SLA: "
        f"{escape(', '.join(policy['not_applicable_kinds']) or 'none')}. At risk from "
        f"{policy['warning_threshold'] * 100:g} % of a target.</li></ul>"
    )


def _card(label: str, value: str, css: str = "") -> str:
    return f'<div class="card {css}"><div class="value">{escape(value)}</div><div class="label">{escape(label)}</div></div>'


def _charts(document: dict[str, Any]) -> str:
    severities = [s["severity"] for s in document["policy"]["severities"]]
    present = {group["key"] for group in document["by_severity"]}
    severities += sorted(present - set(severities))
    severities = [s for s in severities if s in present]
    months = [group["key"] for group in document["by_month"]]
    figures = []
    for clock, label in (("first_response", "First response"), ("resolution", "Resolution")):
        values = {
            (entry["month"], group["key"]): (group[clock]["met_pct"], group[clock]["met"] + group[clock]["failed"])
            for entry in document["by_month_and_severity"]
            for group in entry["severities"]
        }
        svg = compliance_bars(f"{label} compliance by month and severity (% met)", f"{clock}-by-month",
                              months, severities, values)
        figures.append(f"<figure>{svg}<figcaption>Bar = met / (met + failed) of the tickets created that month; "
                       "“n/a” = no decided ticket.</figcaption></figure>")
    decided = [t for t in document["tickets"]
               if t["resolution"]["outcome"] in ("met", "failed") and t["resolution"]["target_minutes"]]
    labels = {}
    for severity in severities:
        targets = sorted({(t["resolution"]["target_minutes"], t["clock"]) for t in decided if t["severity"] == severity})
        labels[severity] = "target " + " / ".join(f"{_minutes_label(m)} {c}" for m, c in targets)
    strip = resolution_strip("Resolution time against the target", "resolution-vs-target", severities, decided, labels)
    figures.append(
        f"<figure>{strip}<figcaption>Each dot is a ticket whose resolution is decided: closed, or still open past "
        "its target. Position = time counted on its SLA clock (pauses excluded) as a share of its own target; "
        "left of the dashed line = within target.</figcaption></figure>"
    )
    return "".join(figures)


def render_html(document: dict[str, Any]) -> str:
    """The report document as one self-contained HTML page."""
    meta, totals = document["report"], document["totals"]
    zone = ZoneInfo(meta["timezone"])
    last_day = date.fromisoformat(meta["to"]) - timedelta(days=1)
    period = f"{meta['from']} to {last_day.isoformat()}"
    scope = f" · organization {meta['organization']}" if meta["organization"] else ""
    generated = parse_time(meta["generated_at"], "generated_at")
    fr_pct, res_pct = totals["first_response"]["met_pct"], totals["resolution"]["met_pct"]
    cards = "".join((
        _card("tickets", str(totals["tickets"])),
        _card("in scope", str(totals["in_scope"])),
        _card("first response met", "n/a" if fr_pct is None else f"{fr_pct:.1f} %"),
        _card("resolution met", "n/a" if res_pct is None else f"{res_pct:.1f} %"),
        _card("breached, still open", str(totals["breached_open"]), "bad" if totals["breached_open"] else "good"),
        _card("excluded", str(totals["excluded"])),
        _card("excluded with evidence", str(totals["excluded_with_evidence"])),
        _card("claimed without evidence", str(totals["claimed_without_evidence"]),
              "bad" if totals["claimed_without_evidence"] else ""),
        _card("not applicable", str(totals["not_applicable"])),
    ))
    definitions = "".join(f"<li>{escape(text)}</li>" for text in document["definitions"])
    errors = ""
    if document["errors"]:
        items = "".join(f"<li>#{e['ticket_id']}: {escape(e['error'])}</li>" for e in document["errors"])
        errors = (f"<h2>Tickets that could not be evaluated</h2><div class='note'>These are left out of every "
                  f"figure above.<ul>{items}</ul></div>")
    title = f"SLA compliance report {period}{scope}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>SLA compliance report</h1>
<p class="subtitle">{escape(period)} ({escape(meta['timezone'])}){escape(scope)} · generated
{escape(generated.astimezone(zone).strftime('%Y-%m-%d %H:%M'))} local time
({escape(generated.strftime('%Y-%m-%d %H:%M'))} UTC)</p>
<section class="cards">{cards}</section>
<div class="note"><strong>How to read these figures</strong><ul>{definitions}</ul></div>
<h2 id="charts">Compliance by month and severity</h2>
{_charts(document)}
<h2 id="by-severity">By severity</h2>
<p class="sub">{escape(COLUMNS_HELP)}</p>
{_group_table("Severity", document["by_severity"], totals)}
<h2 id="by-organization">By organization</h2>
{_group_table("Organization", document["by_organization"], totals)}
<h2 id="by-month">By month of creation</h2>
{_group_table("Month", document["by_month"], totals)}
{errors}
<h2 id="tickets">Tickets</h2>
<details><summary>{len(document["tickets"])} tickets (times in {escape(meta['timezone'])})</summary>
{_tickets_table(document["tickets"], zone)}
</details>
<h2 id="policy">Policy</h2>
{_policy_section(document["policy"])}
<footer>Generated by zammad-sla from Zammad data; evaluated until
{escape(_local(meta['evaluated_until'], zone))} local time. Period [{escape(meta['start'])},
{escape(meta['end'])}) UTC.</footer>
</main>
</body>
</html>
"""
