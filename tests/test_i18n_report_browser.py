"""The HTML report in Spanish and Brazilian Portuguese, rendered in headless Chromium.

The same generated document as tests/test_report_html_browser.py, rendered with `lang`. From
Chromium's DOM: the page's `lang`, and the words of the headings, chart legends and captions
and the "how to read these figures" box. No word of the English rendering of those parts may
be left there, except proper names and words both languages share (the allow-list); dates
are in the locale's format (expected texts written by hand).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.test_report_html_browser import POLICY, needs_chromium, report_document, run_chromium
from zammad_sla_plugin.report.render_html import render_html

pytestmark = needs_chromium

# Proper names, units and words Spanish/Portuguese and English write alike.
ALLOWED = {"SLA", "Zammad", "zammad", "sla", "UTC", "Aires", "Buenos", "ticket", "tickets", "Ticket", "Tickets",
           "min", "p90", "ceil", "x", "n", "h", "na", "n/a", "24x7", "a", "no", "p"}  # fmt: skip
# Portuguese words spelt like English ones: "e" (and), "for" ("se for par": if it is even).
ALLOWED_PT = {"e", "for"}
# The parts a reader reads as text: headings, the figures' captions, the chart marks' text, the note box.
WATCHED = {"h1", "h2", "figcaption", "text", "summary", "th"}


class Parts(HTMLParser):
    """The text of the watched elements and of the "how to read" note, and the page's lang."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.stack: list[str] = []
        self.note_depth = 0
        self.texts: list[str] = []
        self.subtitle: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        if tag == "div" and attributes.get("class") == "note" or self.note_depth and tag == "div":
            self.note_depth += 1
        self.stack.append("subtitle" if attributes.get("class") == "subtitle" else tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self.note_depth:
            self.note_depth -= 1
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "subtitle" in self.stack:
            self.subtitle.append(data)
        if self.note_depth or any(tag in WATCHED for tag in self.stack):
            self.texts.append(data)


def parts(html: str) -> Parts:
    parser = Parts()
    parser.feed(html)
    return parser


def words(texts: list[str]) -> set[str]:
    return set(re.findall(r"[A-Za-zÀ-ÿ]+(?:/[a-z]+)?", " ".join(texts)))


@pytest.fixture(scope="module")
def document() -> dict[str, object]:
    return report_document()


def dom(document: dict[str, object], lang: str | None, tmp_path: Path) -> str:
    path = tmp_path / f"report-{lang}.html"
    path.write_text(render_html(document, lang, POLICY), encoding="utf-8")
    result = run_chromium(tmp_path, "--dump-dom", path.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize(("lang", "html_lang", "period", "generated"), [
    ("es-AR", "es-AR", "01/01/2026 al 31/03/2026", "generado el 10/04/2026 09:00 (hora de Buenos Aires) (2026-04-10 12:00 UTC)"),
    ("pt-BR", "pt-BR", "01/01/2026 a 31/03/2026", "gerado em 10/04/2026 09:00 (horário de Buenos Aires) (2026-04-10 12:00 UTC)"),
])  # fmt: skip
def test_no_english_left_in_headings_legends_and_the_reading_guide(
    document: dict[str, object], tmp_path: Path, lang: str, html_lang: str, period: str, generated: str
) -> None:
    english = parts(dom(document, None, tmp_path))
    localized = parts(dom(document, lang, tmp_path))
    assert english.lang == "en" and localized.lang == html_lang
    english_words = words(english.texts)
    assert {"How", "read", "figures", "severity", "Resolution", "target", "met", "failed"} <= english_words  # the check can fail
    allowed = ALLOWED | (ALLOWED_PT if lang.startswith("pt") else set())
    assert english_words & words(localized.texts) <= allowed, sorted(english_words & words(localized.texts) - allowed)
    subtitle = " ".join(" ".join(localized.subtitle).split())
    assert subtitle.startswith(period) and subtitle.endswith(generated)


def test_the_reading_guide_and_the_legend_in_spanish(document: dict[str, object], tmp_path: Path) -> None:
    page = dom(document, "es-AR", tmp_path)
    assert "<strong>Cómo leer estas cifras</strong>" in page
    assert "Los tickets incumplidos que siguen abiertos cuentan como fallidos." in page
    assert ">cumplido</text>" in page and ">fallido</text>" in page  # the strip chart's legend
    assert "reloj de resolución consumido, en % del objetivo" in page
