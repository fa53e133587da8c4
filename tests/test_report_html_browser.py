"""The HTML report rendered in a real headless Chromium (Debian's `chromium` package).

A quarter of generated tickets (deterministic) goes through the real pipeline
(`ticket_outcome` -> `build_document` -> `render_html`); Chromium then loads the file
offline. `--dump-dom` must show every chart's SVG marks (as many bars and dots as the
document has figures for), and `--screenshot` must produce a PNG of the requested size.
Set REPORT_SCREENSHOT_DIR to keep the screenshot for a human to look at.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.sla_builders import history, owner_change, state_change, ticket
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.report.document import ReportMeta, build_document
from zammad_sla_plugin.report.outcome import ReportPeriod, TicketRecord, ticket_outcome
from zammad_sla_plugin.report.render_html import render_html
from zammad_sla_plugin.core.times import format_utc

POLICY = load_policy()
PERIOD = ReportPeriod(date(2026, 1, 1), date(2026, 4, 1), POLICY.business_calendar.timezone)
NOW = datetime(2026, 4, 10, 12, tzinfo=timezone.utc)
WIDTH, HEIGHT = 1200, 2400
HOSTILE = '<script>document.body.innerHTML = "pwned"</script>'  # one ticket's title: must stay text
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")


def chromium_binary() -> str | None:
    """Debian's chromium (or another Chromium build on PATH)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = chromium_binary()
# Skipped only off CI: .ci/run installs Chromium, so there a missing browser fails the tests.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="headless Chromium not installed (Debian: apt-get install -y chromium)"
)
pytestmark = needs_chromium


def generated_records(count: int = 60, seed: int = 7) -> list[TicketRecord]:
    """Tickets spread over Jan-Mar 2026 with assignment/closing delays of every kind."""
    rng = random.Random(seed)
    priorities = ["1 low", "2 normal", "3 high", "4 blocker"]
    records = []
    for tid in range(1, count + 1):
        created = datetime(2026, 1, 5, 12, tzinfo=timezone.utc) + timedelta(hours=rng.randrange(0, 24 * 84))
        entries = []
        assigned = created + timedelta(minutes=rng.choice([5, 30, 90, 200, 600, 3000]))
        entries.append(owner_change(format_utc(assigned) or "", 1, 4, o_id=tid))
        closed_after = rng.choice([None, 2, 6, 20, 60, 150])
        state = "open"
        entries.append(state_change(format_utc(created + timedelta(minutes=1)) or "", "new", "open", o_id=tid))
        if closed_after is not None:
            closed = assigned + timedelta(hours=closed_after)
            entries.append(state_change(format_utc(closed) or "", "open", "closed", o_id=tid))
            state = "closed"
        extra: dict[str, Any] = {}
        if tid % 17 == 0:
            extra["sla_origin"] = "third_party"
            extra["sla_origin_evidence"] = "Vendor incident report"
        if tid % 23 == 0:
            extra["sla_kind"] = "feature_request"
        data = ticket(format_utc(created) or "", priority=rng.choice(priorities), state=state, owner_id=4,
                      title=f"{HOSTILE if tid == 1 else ''}Generated ticket {tid}", number=str(50000 + tid), **extra)
        data["id"] = tid
        org = {"id": tid % 3 + 1, "name": ["Acme", "Globex", "Initech"][tid % 3]}
        records.append(TicketRecord(data, history(*entries), org))
    return records


def report_document() -> dict[str, Any]:
    outcomes = [o for r in generated_records() if (o := ticket_outcome(r, PERIOD, NOW, POLICY)) is not None]
    return build_document(outcomes, ReportMeta(PERIOD, None, NOW, PERIOD.end), POLICY)


class SvgCensus(HTMLParser):
    """Counts the chart marks in a DOM dump, per chart."""

    def __init__(self) -> None:
        super().__init__()
        self.chart: str | None = None
        self.counts: dict[str, dict[str, int]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "svg" and attributes.get("data-chart"):
            self.chart = attributes["data-chart"]
            self.counts[self.chart] = {}
        elif self.chart is not None:
            key = f"{tag}.{attributes.get('class') or ''}"
            self.counts[self.chart][key] = self.counts[self.chart].get(key, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    assert CHROMIUM is not None, "headless Chromium is not installed although CI is set (.ci/run installs it)"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90, check=False,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    document = report_document()
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(document), encoding="utf-8")
    return path, document


def test_dom_has_every_chart_mark(page: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    path, document = page
    result = run_chromium(tmp_path, "--dump-dom", path.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    census = SvgCensus()
    census.feed(result.stdout)
    assert set(census.counts) == {"first_response-by-month", "resolution-by-month", "resolution-vs-target"}
    for clock in ("first_response", "resolution"):
        bars = sum(1 for month in document["by_month_and_severity"] for group in month["severities"]
                   if group[clock]["met_pct"] is not None)
        assert bars > 4
        assert census.counts[f"{clock}-by-month"]["rect.bar"] == bars
        assert census.counts[f"{clock}-by-month"]["title."] >= bars  # every bar has a tooltip
    decided = [t for t in document["tickets"] if t["resolution"]["outcome"] in ("met", "failed")]
    strip = census.counts["resolution-vs-target"]
    assert strip["circle.dot"] == len(decided) > 10
    assert strip["line.target"] == 1
    assert document["totals"]["excluded"] and document["totals"]["not_applicable"]  # the set covers both
    assert "Breached tickets that are still open count as failed" in result.stdout
    assert "<script" not in result.stdout and "&lt;script&gt;document.body.innerHTML" in result.stdout


def test_screenshot_is_a_png_of_the_page(page: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    path, _document = page
    shot = tmp_path / "report.png"
    result = run_chromium(tmp_path, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", path.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (WIDTH, HEIGHT)
    assert len(data) > 50_000  # text, tables and charts; a blank page compresses to a few KB
    keep = os.environ.get("REPORT_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report.png")
        shutil.copy(path, Path(keep) / "report.html")
