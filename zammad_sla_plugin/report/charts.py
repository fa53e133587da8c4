"""Inline SVG charts for the HTML report, drawn from the report document (no JS, no fonts
to download): grouped compliance bars by month and severity, and a strip chart of
resolution times against the target per severity.

This module only does the geometry: each chart is a `Chart`, a list of marks (text, lines,
bars, dots) with their coordinates; the template macro `svg` in `templates/charts.svg.j2`
writes them as one inline `<svg>` element (no xmlns: the HTML parser puts inline SVG in the
SVG namespace, and the page then holds no URL at all) with a `data-chart` attribute naming
it, `<title>` tooltips on every bar and dot, and an aria label; no data yields a short note
instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

from zammad_sla_plugin.core.i18n import Language, language
from zammad_sla_plugin.core.reasons import severity_name, state_name

PALETTE: tuple[str, ...] = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
MET_COLOR, FAILED_COLOR, AXIS_COLOR, GRID_COLOR, INK = "#2e7d32", "#c62828", "#555", "#ddd", "#222"
STRIP_CAP_PCT = 300.0  # resolution times beyond 3x the target are drawn at the right edge
WIDTH = 760


@dataclass(frozen=True)
class Text:
    """A label; `content` is plain text (the template escapes it)."""

    kind: ClassVar[str] = "text"
    x: float
    y: float
    content: str
    size: int = 11
    anchor: str = "middle"
    fill: str = AXIS_COLOR
    weight: str = "normal"


@dataclass(frozen=True)
class Line:
    """A grid line, an axis or the target marker."""

    kind: ClassVar[str] = "line"
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = GRID_COLOR
    css: str | None = None
    stroke_width: float | None = None
    dash: str | None = None


@dataclass(frozen=True)
class Rect:
    """A bar (with a tooltip) or a legend swatch."""

    kind: ClassVar[str] = "rect"
    x: float
    y: float
    width: float
    height: float
    fill: str
    css: str | None = None
    tip: str | None = None


@dataclass(frozen=True)
class Circle:
    """A ticket's dot (with a tooltip, half transparent, outlined) or a legend dot."""

    kind: ClassVar[str] = "circle"
    cx: float
    cy: float
    r: float
    fill: str
    css: str | None = None
    tip: str | None = None
    opacity: float | None = None
    outline: bool = False


Mark = Text | Line | Rect | Circle


@dataclass
class Chart:
    """One chart: its name (`data-chart`), accessible label, size and marks in drawing order."""

    name: str
    label: str
    width: int
    height: int
    marks: list[Mark] = field(default_factory=list)


def severity_colors(severities: Sequence[str]) -> dict[str, str]:
    """A stable color per severity, in the given order."""
    return {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(severities)}


def _empty(chart: str, message: str) -> Chart:
    return Chart(chart, message, WIDTH, 60, [Text(WIDTH / 2, 34, message, size=13)])


def compliance_bars(
    title: str,
    chart: str,
    months: Sequence[str],
    severities: Sequence[str],
    values: dict[tuple[str, str], tuple[float | None, int]],
    lang: Language | None = None,
) -> Chart:
    """Grouped bars: one group per month, one bar per severity, height = met %.

    `values[(month, severity)]` is (met %, decided tickets); a None percentage draws no bar
    but an "n/a" mark, so "nothing decided" never looks like 0 %. `lang`: the reader's
    language (None: English).
    """
    lang = lang or language(None)
    if not months or not severities:
        return _empty(chart, lang._("%(title)s: no tickets in the period", title=title))
    left, right, top, bottom = 48, 16, 34, 64
    height = 300
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    group_w = plot_w / len(months)
    bar_w = min(36.0, (group_w * 0.8) / len(severities))
    colors = severity_colors(severities)
    names = {severity: severity_name(severity, lang) for severity in severities}
    tip_text = lang.gettext("%(month)s %(severity)s: %(pct)s%% met of %(decided)s decided")
    result = Chart(chart, title, WIDTH, height, [Text(left, 18, title, size=14, anchor="start", fill=INK, weight="bold")])
    marks = result.marks
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - tick / 100)
        marks += [Line(left, y, WIDTH - right, y), Text(left - 6, y + 4, f"{tick}%", anchor="end")]
    for m_index, month in enumerate(months):
        group_x = left + group_w * m_index + (group_w - bar_w * len(severities)) / 2
        for s_index, severity in enumerate(severities):
            pct, decided = values.get((month, severity), (None, 0))
            x = group_x + bar_w * s_index
            if pct is None:
                marks.append(Text(x + bar_w / 2, top + plot_h - 4, lang._("n/a"), size=9, fill="#999"))
                continue
            bar_h = plot_h * pct / 100
            y = top + plot_h - bar_h
            tip = tip_text % {"month": month, "severity": names[severity], "pct": _pct(pct, lang), "decided": decided}
            marks += [Rect(x + 1, y, bar_w - 2, max(bar_h, 0.5), colors[severity], css="bar", tip=tip),
                      Text(x + bar_w / 2, y - 3, f"{pct:.0f}", size=9)]
        marks.append(Text(left + group_w * (m_index + 0.5), top + plot_h + 16, month, size=11))
    marks.append(Line(left, top + plot_h, WIDTH - right, top + plot_h, stroke=AXIS_COLOR))
    legend_x = left
    for severity in severities:
        name = names[severity]
        marks += [Rect(legend_x, height - 22, 12, 12, colors[severity]),
                  Text(legend_x + 16, height - 12, name, anchor="start")]
        legend_x += 24 + 8 * len(name) + 20
    return result


def _pct(value: float, lang: Language, decimals: int = 1) -> str:
    """`12.5` (English, as always) or `12,5` (the reader's decimal separator)."""
    if lang.is_source:
        return f"{value:.{decimals}f}"
    return lang.number(value, "0." + "0" * decimals if decimals else "0")


def _jitter(ticket_id: int) -> float:
    """A deterministic vertical offset in [-1, 1] so dots of equal value do not overlap."""
    return ((ticket_id * 2654435761) % 1000) / 500 - 1


def _share_of_target(ticket: dict[str, Any]) -> float:
    resolution = ticket["resolution"]
    return float(resolution["clock_used_hours"] * 60 / resolution["target_minutes"] * 100)


def resolution_strip(
    title: str,
    chart: str,
    severities: Sequence[str],
    tickets: Sequence[dict[str, Any]],
    target_labels: dict[str, str],
    lang: Language | None = None,
) -> Chart:
    """One row per severity; each decided ticket is a dot at its resolution clock time as a
    share of its own target (so business and 24x7 targets share one scale); the target is
    the 100 % line. Green = met, red = failed (closed late, or still open past the target)."""
    lang = lang or language(None)
    rows = [s for s in severities if any(t["severity"] == s for t in tickets)]
    if not rows:
        return _empty(chart, lang._("%(title)s: no decided resolutions in the period", title=title))
    left, right, top, row_h, bottom = 150, 24, 34, 56, 46
    height = top + row_h * len(rows) + bottom
    plot_w = WIDTH - left - right
    largest = max(_share_of_target(t) for t in tickets)
    top_pct = min(STRIP_CAP_PCT, max(200.0, math.ceil(largest / 50) * 50))

    def x_of(pct: float) -> float:
        return left + plot_w * min(pct, top_pct) / top_pct

    result = Chart(chart, title, WIDTH, height, [Text(12, 18, title, size=14, anchor="start", fill=INK, weight="bold")])
    marks = result.marks
    step = 50 if top_pct <= 200 else 100
    axis_y = top + row_h * len(rows)
    for tick in range(0, int(top_pct) + 1, step):
        x = x_of(tick)
        label = f"{tick}%" if tick < top_pct or largest <= top_pct else f"≥{tick}%"
        marks += [Line(x, top, x, axis_y), Text(x, axis_y + 14, label, size=10)]
    marks.append(Text(left, axis_y + 32, lang._("resolution clock used, as % of the target"), size=11, anchor="start"))
    source = lang.is_source
    tip_text = lang.gettext("#%(ticket)s %(severity)s: %(used)s h used of %(target)s h (%(share)s%%), %(outcome)s")
    outcomes = {outcome: state_name(outcome, lang) for outcome in ("met", "failed")}
    for r_index, severity in enumerate(rows):
        name = severity_name(severity, lang)
        row_top = top + row_h * r_index
        middle = row_top + row_h / 2
        marks += [Line(left, row_top + row_h, WIDTH - right, row_top + row_h),
                  Text(left - 10, middle - 2, name, size=12, anchor="end", fill=INK, weight="bold"),
                  Text(left - 10, middle + 12, target_labels.get(severity, ""), size=9, anchor="end")]
        for ticket in (t for t in tickets if t["severity"] == severity):
            resolution = ticket["resolution"]
            share = _share_of_target(ticket)
            tip = tip_text % {
                "ticket": ticket["number"] or ticket["id"], "severity": name,
                "used": resolution["clock_used_hours"] if source else lang.number(resolution["clock_used_hours"], "#,##0.##"),
                "target": lang.number(resolution["target_minutes"] / 60, "#,##0.##"),
                "share": _pct(share, lang, 0), "outcome": outcomes.get(resolution["outcome"], resolution["outcome"]),
            }  # fmt: skip
            color = MET_COLOR if resolution["outcome"] == "met" else FAILED_COLOR
            marks.append(Circle(x_of(share), middle + _jitter(ticket["id"]) * row_h * 0.3, 4.5, color, css="dot", tip=tip,
                                opacity=0.75, outline=True))
    target_x = x_of(100)
    marks += [Line(target_x, top - 6, target_x, axis_y, stroke=INK, css="target", stroke_width=2, dash="5 3"),
              Text(target_x + 4, top - 8, lang._("target"), size=11, anchor="start", fill=INK, weight="bold")]
    legend_y = height - 8
    for label, color, legend_x in (("met", MET_COLOR, WIDTH - 210), ("failed", FAILED_COLOR, WIDTH - 140)):
        marks += [Circle(legend_x, legend_y - 4, 5, color), Text(legend_x + 9, legend_y, state_name(label, lang), anchor="start")]
    return result
