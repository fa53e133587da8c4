"""Languages: gettext catalogs, plural forms and locale-aware dates and numbers.

Pure: nothing here reads the environment or a global locale. A caller names the language
(a policy's `locale`, Zammad's `locale_default`, a user's `preferences.locale`, `--lang`)
and gets a `Language`, which translates messages with the package's gettext catalogs
(`zammad_sla_plugin/locale/<catalog>/LC_MESSAGES/zammad_sla.po`) and formats dates and
numbers with Babel (CLDR) in the full locale (`es-ar` -> catalog `es`, dates as es_AR).

English is the source language: its messages are the msgids themselves, and it keeps the
ISO-like date formats zammad-sla always wrote (scripts and existing installs read them), so an
English install's output is byte-identical to the one before catalogs existed.

Catalogs are compiled to `.mo` when the package is built (`setup.py`'s build step). A source
checkout or an editable install has only the `.po` files: a `.mo` missing or older than its
`.po` is compiled in memory on first use (once per process), so the text never lags the
source. Adding a language is copying one `.po` file (see README, "Languages").
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import date as calendar_date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, get_timezone_location
from babel.numbers import format_decimal

__all__ = ["DOMAIN", "SOURCE_LANGUAGE", "Language", "available", "language", "locale_dir", "N_"]

DOMAIN = "zammad_sla"
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name for "mark only"
    """Mark `message` for extraction without translating it here (it is translated where shown)."""
    return message


def locale_dir() -> Path:
    """The folder holding one `<catalog>/LC_MESSAGES/zammad_sla.po` per language."""
    return Path(__file__).resolve().parent.parent / "locale"


@cache
def available() -> tuple[str, ...]:
    """The catalogs shipped: the source language, then every folder with a `.po` file."""
    found = sorted(p.parent.parent.name for p in locale_dir().glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *[name for name in found if name != SOURCE_LANGUAGE])


def _parse(tag: str) -> Locale | None:
    try:
        return Locale.parse(tag.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def _closest(locale: Locale, names: tuple[str, ...]) -> str | None:
    """The name in `names` closest to `locale`: the full locale, its language, else the language elsewhere."""
    for candidate in (str(locale), locale.language):
        if candidate in names:
            return candidate
    # Same language, another territory (pt-pt reads the pt_BR catalog).
    return next((name for name in names if name.split("_")[0] == locale.language), None)


def catalog_for(tag: str | None) -> str:
    """The catalog that serves a locale tag (`es-ar` -> `es`, `pt-br` -> `pt_BR`, unknown -> `en`)."""
    parsed = _parse(tag) if tag else None
    if parsed is None:
        return SOURCE_LANGUAGE
    return _closest(parsed, available()) or SOURCE_LANGUAGE


def _compile(po_path: Path) -> gettext.GNUTranslations:
    """The catalog from its `.po`, compiled in memory (fuzzy entries are left out)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as source:
        catalog = read_po(source, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def translations(catalog: str) -> gettext.NullTranslations:
    """The compiled catalog (`.mo` when it is current, else compiled from the `.po`)."""
    if catalog == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    folder = locale_dir() / catalog / "LC_MESSAGES"
    po_path, mo_path = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo_path.exists() and (not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime):
        with mo_path.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    if not po_path.exists():
        raise LookupError(f"no catalog {catalog!r} in {locale_dir()}")
    return _compile(po_path)


@dataclass(frozen=True)
class Language:
    """One reader's language: its catalog (`es`) and its formatting locale (`es_AR`)."""

    catalog: str
    locale: Locale

    @property
    def tag(self) -> str:
        """The BCP 47 tag of the formatting locale (`es-AR`), as HTML's `lang` wants it."""
        return str(self.locale).replace("_", "-")

    @property
    def is_source(self) -> bool:
        """Whether this is the source language (messages untranslated, legacy formats)."""
        return self.catalog == SOURCE_LANGUAGE

    def gettext(self, message: str) -> str:
        """`message` translated, placeholders left as they are."""
        return translations(self.catalog).gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The plural form for `count` (the catalog's Plural-Forms rule), placeholders left as they are."""
        return translations(self.catalog).ngettext(singular, plural, count)

    def pgettext(self, context: str, message: str) -> str:
        """`message` translated in `context` (msgctxt), placeholders left as they are."""
        return translations(self.catalog).pgettext(context, message)

    def _(self, message: str, **values: Any) -> str:
        """`message` translated, its `%(name)s` placeholders filled in."""
        text = self.gettext(message)
        return text % values if values else text

    def n_(self, singular: str, plural: str, count: int, **values: Any) -> str:
        """The plural form for `count`, `%(count)s` and the other placeholders filled in."""
        return self.ngettext(singular, plural, count) % {"count": self.number(count), **values}

    def p_(self, context: str, message: str, **values: Any) -> str:
        """`message` translated in `context` (msgctxt), placeholders filled in."""
        text = self.pgettext(context, message)
        return text % values if values else text

    def number(self, value: float, pattern: str = "#,##0.#") -> str:
        """A number in the locale's digits and separators (`1.234,5` in es)."""
        if self.is_source:
            return str(value) if isinstance(value, int) else f"{value:g}"
        return format_decimal(value, format=pattern, locale=self.locale)

    def duration(self, minutes: float, *, working: bool) -> str:
        """A target: `8 horas hábiles`, `1 hora hábil`, `90 minutos hábiles` (whole hours in hours)."""
        if minutes > 0 and minutes % 60 == 0:
            hours = int(minutes // 60)
            if working:
                return self.n_("%(count)s working hour", "%(count)s working hours", hours)
            return self.n_("%(count)s hour", "%(count)s hours", hours)
        count = int(minutes) if float(minutes).is_integer() else 2  # a fraction reads as plural
        text = (self.ngettext("%(count)s working minute", "%(count)s working minutes", count) if working
                else self.ngettext("%(count)s minute", "%(count)s minutes", count))
        return text % {"count": self.number(minutes)}

    def zone_name(self, zone: ZoneInfo) -> str:
        """The zone as people say it: `hora de Buenos Aires`, `horário de Buenos Aires`."""
        city = get_timezone_location(zone, locale=self.locale, return_city=True)
        return self._("%(city)s time", city=city)

    def datetime(self, instant: datetime, zone: ZoneInfo, *, weekday: bool = False, named_zone: bool = True) -> str:
        """An instant in `zone`, in the locale's format, with the zone named.

        `14/03/2026 15:00 (hora de Buenos Aires)`. The source language keeps zammad-sla's
        historic `2026-03-14 15:00 America/Argentina/Buenos_Aires` form.
        """
        local = instant.astimezone(zone)
        if self.is_source:
            return f"{local:%a %Y-%m-%d %H:%M}" if weekday else f"{local:%Y-%m-%d %H:%M}"
        # TRANSLATORS: CLDR date patterns (dd day, MM month, yyyy year, HH:mm time, EEE weekday).
        if weekday:
            pattern = self.pgettext("CLDR date-time pattern", "EEE yyyy-MM-dd HH:mm")
        else:
            pattern = self.pgettext("CLDR date-time pattern", "yyyy-MM-dd HH:mm")
        text = format_datetime(local, pattern, tzinfo=zone, locale=self.locale)
        if not named_zone:  # e.g. a table whose heading names the zone
            return text
        return self._("%(datetime)s (%(zone)s)", datetime=text, zone=self.zone_name(zone))

    def date(self, day: calendar_date) -> str:
        """A date in the locale's short numeric form (`14/03/2026`); ISO in the source language."""
        if self.is_source:
            return day.isoformat()
        return format_date(day, self.pgettext("CLDR date-time pattern", "yyyy-MM-dd"), locale=self.locale)

    def holidays_language(self, supported: tuple[str, ...]) -> str | None:
        """Which of the `holidays` package's languages names holidays for this reader (None: its default)."""
        return None if self.is_source else _closest(self.locale, supported)


@cache
def language(tag: str | None) -> Language:
    """The `Language` for a locale tag (`es-ar`, `pt-BR`, `pt_BR`, `en`); None or unknown: English."""
    catalog = catalog_for(tag)
    parsed = _parse(tag) if tag else None
    if parsed is None or parsed.language != catalog.split("_")[0]:
        parsed = Locale.parse(catalog)
    return Language(catalog, parsed)
