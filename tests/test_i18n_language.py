"""Languages: which catalog serves a locale, plural forms, dates with the zone named, numbers.

Expected texts are written by hand here (not produced by the code under test).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from zammad_sla_plugin.core import i18n
from zammad_sla_plugin.core.i18n import DOMAIN, language
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.core.reasons import describe_calendar, holiday_name

BUENOS_AIRES = ZoneInfo("America/Argentina/Buenos_Aires")
POLICY = load_policy()


@pytest.mark.parametrize(("tag", "catalog", "html_lang"), [
    ("es-ar", "es", "es-AR"), ("es_AR", "es", "es-AR"), ("es", "es", "es"), ("es-mx", "es", "es-MX"),
    ("pt-br", "pt_BR", "pt-BR"), ("pt-BR", "pt_BR", "pt-BR"), ("pt-pt", "pt_BR", "pt-PT"),
    ("en-us", "en", "en-US"), ("de-de", "en", "en"), (None, "en", "en"), ("", "en", "en"), ("not a locale", "en", "en"),
])  # fmt: skip
def test_a_locale_tag_finds_its_catalog(tag: str | None, catalog: str, html_lang: str) -> None:
    assert language(tag).catalog == catalog
    assert language(tag).tag == html_lang


@pytest.mark.parametrize(("tag", "expected"), [
    ("es-ar", ["1 hora hábil", "3 horas hábiles", "90 minutos hábiles", "1 minuto hábil", "1.000.000 de horas hábiles"]),
    ("pt-br", ["1 hora útil", "3 horas úteis", "90 minutos úteis", "1 minuto útil", "1.000.000 de horas úteis"]),
    ("en", ["1 working hour", "3 working hours", "90 working minutes", "1 working minute", "1000000 working hours"]),
])  # fmt: skip
def test_working_durations_take_the_right_plural(tag: str, expected: list[str]) -> None:
    lang = language(tag)
    assert [lang.duration(m, working=True) for m in (60, 180, 90, 1, 60_000_000)] == expected


def test_dates_in_the_readers_format_with_the_zone_named() -> None:
    instant = datetime(2026, 3, 14, 18, tzinfo=timezone.utc)
    assert language("es-ar").datetime(instant, BUENOS_AIRES) == "14/03/2026 15:00 (hora de Buenos Aires)"
    assert language("pt-br").datetime(instant, BUENOS_AIRES) == "14/03/2026 15:00 (horário de Buenos Aires)"
    assert language("es-ar").datetime(instant, BUENOS_AIRES, weekday=True) == "sáb 14/03/2026 15:00 (hora de Buenos Aires)"
    assert language("pt-br").datetime(instant, ZoneInfo("America/Sao_Paulo")) == "14/03/2026 15:00 (horário de São Paulo)"
    assert language("en").datetime(instant, BUENOS_AIRES) == "2026-03-14 15:00"  # English keeps its ISO form
    assert language("es").date(date(2026, 3, 1)) == "01/03/2026"


def test_numbers_use_the_locales_separators() -> None:
    assert language("es-ar").number(2880) == "2.880"
    assert language("pt-br").number(30.5) == "30,5"
    assert language("en").number(30.5) == "30.5"


def test_holidays_are_named_in_the_readers_language_where_the_package_has_it() -> None:
    calendar = POLICY.business_calendar
    day = date(2026, 3, 24)
    assert holiday_name(calendar, day, language("es-ar")) == "Día Nacional de la Memoria por la Verdad y la Justicia"
    assert holiday_name(calendar, day, language("en")) == "National Day of Remembrance for Truth and Justice"
    # no Portuguese names for Argentina in the holidays package: its default names
    assert holiday_name(calendar, day, language("pt-br")) == calendar.holiday_name(day)


def test_the_calendar_described_in_each_language() -> None:
    assert describe_calendar(POLICY, language("es-ar")) == "lun a vie 09:00-18:00 (hora de Buenos Aires), feriados de AR"
    assert describe_calendar(POLICY, language("pt-br")) == "seg. a sex. 09:00-18:00 (horário de Buenos Aires), feriados de AR"
    assert describe_calendar(POLICY, language("en")) == "Mon-Fri 09:00-18:00 America/Argentina/Buenos_Aires, holidays AR"


def _private_catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "locale"
    shutil.copytree(i18n.locale_dir(), copy, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "locale_dir", lambda: copy)
    for cached in (i18n.available, i18n.translations, i18n.language):
        cached.cache_clear()
    return copy / "es" / "LC_MESSAGES"


@pytest.fixture
def catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    folder = _private_catalogs(tmp_path, monkeypatch)
    yield folder
    for cached in (i18n.available, i18n.translations, i18n.language):
        cached.cache_clear()


def _compile_with(folder: Path, msgid: str, msgstr: str) -> None:
    with (folder / f"{DOMAIN}.po").open("rb") as source:
        catalog = read_po(source)
    catalog[msgid].string = msgstr
    with (folder / f"{DOMAIN}.mo").open("wb") as out:
        write_mo(out, catalog)


def test_a_current_mo_is_used(catalogs: Path) -> None:
    _compile_with(catalogs, "SLA breached", "SLA incumplido (compilado)")
    assert language("es")._("SLA breached") == "SLA incumplido (compilado)"


def test_a_stale_mo_gives_way_to_its_po(catalogs: Path) -> None:
    import os

    _compile_with(catalogs, "SLA breached", "SLA incumplido (viejo)")
    po = catalogs / f"{DOMAIN}.po"
    os.utime(catalogs / f"{DOMAIN}.mo", (po.stat().st_mtime - 60, po.stat().st_mtime - 60))
    assert language("es")._("SLA breached") == "SLA incumplido"


def test_without_any_mo_the_po_is_compiled_in_memory(catalogs: Path) -> None:
    assert not (catalogs / f"{DOMAIN}.mo").exists()
    assert language("es")._("SLA breached") == "SLA incumplido"
    assert not (catalogs / f"{DOMAIN}.mo").exists()  # nothing written into the package


def test_fuzzy_entries_are_not_shipped(catalogs: Path) -> None:
    from babel.messages.pofile import write_po

    po = catalogs / f"{DOMAIN}.po"
    with po.open("rb") as source:
        catalog = read_po(source)
    catalog["SLA breached"].flags.add("fuzzy")
    with po.open("wb") as out:
        write_po(out, catalog)
    assert language("es")._("SLA breached") == "SLA breached"
