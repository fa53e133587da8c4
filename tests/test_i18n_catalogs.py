"""The catalogs stay in step with the sources: nothing untranslated, fuzzy or mismatched ships.

The extraction is Babel's, over the package's Python files and Jinja2 templates, with the
keywords the code uses (`zammad_sla_plugin/catalogs.py`). `python -m zammad_sla_plugin.catalogs update`
brings the `.pot` and every `.po` up to date; a translator then fills in what it marks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from zammad_sla_plugin.catalogs import extract, placeholders, problems, read_catalog
from zammad_sla_plugin.core.i18n import DOMAIN, available, locale_dir

TEMPLATE = extract()
TRANSLATED = available()[1:]


def test_the_shipped_languages_are_english_spanish_and_brazilian_portuguese() -> None:
    assert available() == ("en", "es", "pt_BR")


def test_the_sources_have_messages_to_translate() -> None:
    ids = {message.id for message in TEMPLATE if message.id}
    # one from each kind of source: a template, Python code, a plural, a policy default, a select label
    assert "How to read these figures" in ids
    assert "SLA breached" in ids
    assert ("%(count)s working hour", "%(count)s working hours") in ids
    assert "Your proposal was approved: {ticket_title} [#{ticket_number}]" in ids
    assert "Feature request" in ids
    assert len(ids) > 150


@pytest.mark.parametrize("name", TRANSLATED)
def test_every_message_of_the_sources_is_translated_and_not_fuzzy(name: str) -> None:
    found = [p for p in problems(TEMPLATE, read_catalog(name), name) if "placeholders" not in p]
    assert found == [], "run `python -m zammad_sla_plugin.catalogs update` and translate:\n" + "\n".join(found)


@pytest.mark.parametrize("name", TRANSLATED)
def test_placeholders_are_the_same_in_every_language(name: str) -> None:
    found = [p for p in problems(TEMPLATE, read_catalog(name), name) if "placeholders" in p]
    assert found == [], "\n".join(found)


def test_ci_check_passes() -> None:
    from zammad_sla_plugin.catalogs import check

    assert check() == []


def test_the_pot_file_is_the_extraction_of_the_sources() -> None:
    from babel.messages.pofile import read_po

    with (locale_dir() / f"{DOMAIN}.pot").open("rb") as source:
        pot = read_po(source)
    assert {(m.context, m.id) for m in pot if m.id} == {(m.context, m.id) for m in TEMPLATE if m.id}


def _catalog_with(message_id: str | tuple[str, str], translation: str | tuple[str, ...], *, fuzzy: bool = False) -> Catalog:
    catalog = Catalog(locale="es", domain=DOMAIN)
    catalog.add(message_id, translation, flags=("fuzzy",) if fuzzy else ())
    return catalog


def test_the_checks_catch_a_missing_a_fuzzy_and_a_mismatched_message() -> None:
    template = Catalog(domain=DOMAIN)
    template.add("due %(when)s")
    assert list(problems(template, Catalog(locale="es"), "es")) == ["es: 'due %(when)s' is missing"]
    assert list(problems(template, _catalog_with("due %(when)s", "vence %(when)s", fuzzy=True), "es")) == [
        "es: 'due %(when)s' is fuzzy"]
    assert list(problems(template, _catalog_with("due %(when)s", "vence %(cuando)s"), "es")) == [
        "es: 'due %(when)s': placeholders ['cuando'] differ from ['when']"]
    assert list(problems(template, _catalog_with("due %(when)s", ""), "es")) == ["es: 'due %(when)s' is not translated"]
    assert list(problems(template, _catalog_with("due %(when)s", "vence %(when)s"), "es")) == []


def test_placeholders_of_both_styles_are_found() -> None:
    assert placeholders("Hola {recipient_name}, {{literal}} %(count)s %% de %(x)d, %(t).1f %(r)r") == {
        "recipient_name", "count", "x", "t", "r"}


def test_a_translator_adds_a_language_by_copying_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copy es's .po under a new folder: the new catalog is found, loaded and serves its locale."""
    import shutil

    from zammad_sla_plugin.core import i18n

    copy = tmp_path / "locale"
    shutil.copytree(locale_dir(), copy)
    (copy / "ca" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(copy / "es" / "LC_MESSAGES" / f"{DOMAIN}.po", copy / "ca" / "LC_MESSAGES" / f"{DOMAIN}.po")
    monkeypatch.setattr(i18n, "locale_dir", lambda: copy)
    for cached in (i18n.available, i18n.translations, i18n.language):
        cached.cache_clear()
    try:
        assert "ca" in i18n.available()
        assert i18n.language("ca-es").catalog == "ca"
        assert i18n.language("ca-es")._("SLA breached") == "SLA incumplido"  # the copied (still Spanish) text
    finally:
        for cached in (i18n.available, i18n.translations, i18n.language):
            cached.cache_clear()
