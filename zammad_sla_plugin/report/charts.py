"""Inline SVG charts for the HTML report, drawn from the report document (no JS, no fonts
to download): grouped compliance bars by month and severity, and a strip chart of
resolution times against the target per severity.

Every chart is an inline `<svg>` element (no xmlns: the HTML parser puts inline SVG in the
SVG namespace, and the page then holds no URL at all) with a `data-chart` attribute naming
it, `<title>` tooltips on every mark and an aria label; no data yields a short note instead.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Sequence

PALETTE: tuple[str, ...] = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
MET_COLOR, FAILED_COLOR, AXIS_COLOR, GRID_COLOR = "#2e7d32", "#c62828", "#555", "#ddd"
STRIP_CAP_PCT = 300.0  # resolution times beyond 3x the target are drawn at the right edge


def severity_colors(severities: Sequence[str]) -> dict[str, str]:
    """A stable color per severity, in the given order."""
    return {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(severities)}


def _text(x: float, y: float, content: str, *, size: int = 11, anchor: str = "middle", fill: str = AXIS_COLOR,
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}">{escape(content)}</text>')


def _empty(chart: str, width: int, message: str) -> str:
    return (f'<svg data-chart="{chart}" role="img" width="{width}" height="60" '
            f'viewBox="0 0 {width} 60" aria-label="{escape(message)}">{_text(width / 2, 34, message, size=13)}</svg>')


def compliance_bars(
    title: str,
    chart: str,
    months: Sequence[str],
    severities: Sequence[str],
    values: dict[tuple[str, str], tuple[float | None, int]],
) -> str:
    """Grouped bars: one group per month, one bar per severity, height = met %.

    `values[(month, severity)]` is (met %, decided tickets); a None percentage draws no bar
    but an "n/a" mark, so "nothing decided" never looks like 0 %.
    """
    width = 760
    if not months or not severities:
        return _empty(chart, width, f"{title}: no tickets in the period")
    left, right, top, bottom = 48, 16, 34, 64
    height = 300
    plot_w, plot_h = width - left - right, height - top - bottom
    group_w = plot_w / len(months)
    bar_w = min(36.0, (group_w * 0.8) / len(severities))
    colors = severity_colors(severities)
    parts = [
        f'<svg data-chart="{chart}" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        _text(left, 18, title, size=14, anchor="start", fill="#222", weight="bold"),
    ]
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - tick / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID_COLOR}"/>')
        parts.append(_text(left - 6, y + 4, f"{tick}%", anchor="end"))
    for m_index, month in enumerate(months):
        group_x = left + group_w * m_index + (group_w - bar_w * len(severities)) / 2
        for s_index, severity in enumerate(severities):
            pct, decided = values.get((month, severity), (None, 0))
            x = group_x + bar_w * s_index
            if pct is None:
                parts.append(_text(x + bar_w / 2, top + plot_h - 4, "n/a", size=9, fill="#999"))
                continue
            bar_h = plot_h * pct / 100
            y = top + plot_h - bar_h
            parts.append(
                f'<rect class="bar" x="{x + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{max(bar_h, 0.5):.1f}" '
                f'fill="{colors[severity]}"><title>{escape(f"{month} {severity}: {pct:.1f}% met of {decided} decided")}'
                f'</title></rect>'
            )
            parts.append(_text(x + bar_w / 2, y - 3, f"{pct:.0f}", size=9))
        parts.append(_text(left + group_w * (m_index + 0.5), top + plot_h + 16, month, size=11))
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{AXIS_COLOR}"/>')
    legend_x = left
    for severity in severities:
        parts.append(f'<rect x="{legend_x}" y="{height - 22}" width="12" height="12" fill="{colors[severity]}"/>')
        parts.append(_text(legend_x + 16, height - 12, severity, anchor="start"))
        legend_x += 24 + 8 * len(severity) + 20
    parts.append("</svg>")
    return "".join(parts)


def _jitter(ticket_id: int) -> float:
    """A deterministic vertical offset in [-1, 1] so dots of equal value do not overlap."""
    return ((ticket_id * 2654435761) % 1000) / 500 - 1


def resolution_strip(
    title: str,
    chart: str,
    severities: Sequence[str],
    tickets: Sequence[dict[str, Any]],
    target_labels: dict[str, str],
) -> str:
    """One row per severity; each decided ticket is a dot at its resolution clock time as a
    share of its own target (so business and 24x7 targets share one scale); the target is
    the 100 % line. Green = met, red = failed (closed late, or still open past the target)."""
    width = 760
    rows = [s for s in severities if any(t["severity"] == s for t in tickets)]
    if not rows:
        return _empty(chart, width, f"{title}: no decided resolutions in the period")
    left, right, top, row_h, bottom = 150, 24, 34, 56, 46
    height = top + row_h * len(rows) + bottom
    plot_w = width - left - right
    largest = max(t["resolution"]["clock_used_hours"] * 60 / t["resolution"]["target_minutes"] * 100 for t in tickets)
    top_pct = min(STRIP_CAP_PCT, max(200.0, math.ceil(largest / 50) * 50))

    def x_of(pct: float) -> float:
        return left + plot_w * min(pct, top_pct) / top_pct

    parts = [
        f'<svg data-chart="{chart}" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        _text(12, 18, title, size=14, anchor="start", fill="#222", weight="bold"),
    ]
    step = 50 if top_pct <= 200 else 100
    axis_y = top + row_h * len(rows)
    for pct in range(0, int(top_pct) + 1, step):
        x = x_of(pct)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="{GRID_COLOR}"/>')
        label = f"{pct}%" if pct < top_pct or largest <= top_pct else f"≥{pct}%"
        parts.append(_text(x, axis_y + 14, label, size=10))
    parts.append(_text(left, axis_y + 32, "resolution clock used, as % of the target", size=11, anchor="start"))
    for r_index, severity in enumerate(rows):
        row_top = top + row_h * r_index
        middle = row_top + row_h / 2
        parts.append(f'<line x1="{left}" y1="{row_top + row_h}" x2="{width - right}" y2="{row_top + row_h}" '
                     f'stroke="{GRID_COLOR}"/>')
        parts.append(_text(left - 10, middle - 2, severity, size=12, anchor="end", fill="#222", weight="bold"))
        parts.append(_text(left - 10, middle + 12, target_labels.get(severity, ""), size=9, anchor="end"))
        for ticket in (t for t in tickets if t["severity"] == severity):
            resolution = ticket["resolution"]
            pct = resolution["clock_used_hours"] * 60 / resolution["target_minutes"] * 100
            color = MET_COLOR if resolution["outcome"] == "met" else FAILED_COLOR
            tip = (f"#{ticket['number'] or ticket['id']} {severity}: {resolution['clock_used_hours']} h used of "
                   f"{resolution['target_minutes'] / 60:g} h ({pct:.0f}%), {resolution['outcome']}")
            parts.append(
                f'<circle class="dot" cx="{x_of(pct):.1f}" cy="{middle + _jitter(ticket["id"]) * row_h * 0.3:.1f}" '
                f'r="4.5" fill="{color}" fill-opacity="0.75" stroke="#fff" stroke-width="0.8">'
                f'<title>{escape(tip)}</title></circle>'
            )
    target_x = x_of(100)
    parts.append(f'<line class="target" x1="{target_x:.1f}" y1="{top - 6}" x2="{target_x:.1f}" y2="{axis_y}" '
                 f'stroke="#222" stroke-width="2" stroke-dasharray="5 3"/>')
    parts.append(_text(target_x + 4, top - 8, "target", size=11, anchor="start", fill="#222", weight="bold"))
    legend_y = height - 8
    for label, color, x in (("met", MET_COLOR, width - 210), ("failed", FAILED_COLOR, width - 140)):
        parts.append(f'<circle cx="{x}" cy="{legend_y - 4}" r="5" fill="{color}"/>')
        parts.append(_text(x + 9, legend_y, label, anchor="start"))
    parts.append("</svg>")
    return "".join(parts)
