"""Keeping the catalogs in step with the sources: extraction and checks (Babel).

`python -m zammad_sla_plugin.catalogs update` re-extracts every message from the
sources into `locale/zammad_sla.pot` and merges it into each language's `.po` (new
messages arrive untranslated, changed ones fuzzy); the tests fail until a translator has
translated them (`problems`). Pure but for the files it reads and writes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from zammad_sla_plugin.core.i18n import DOMAIN, available, locale_dir

# The keywords our sources use: name -> argument positions (babel's spec; (1, "c") = context first).
KEYWORDS: dict[str, Any] = {
    "_": None, "N_": None, "gettext": None, "n_": (1, 2), "ngettext": (1, 2), "p_": ((1, "c"), 2),
    "pgettext": ((1, "c"), 2),
}  # fmt: skip
METHODS = [("zammad_sla_plugin/**.py", "python"), ("zammad_sla_plugin/templates/**.j2", "jinja2.ext:babel_extract")]
_PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdfgr]|(?<!\{)\{(\w+)\}(?!\})")


def extract(root: Path | None = None) -> Catalog:
    """Every message of the sources, as a template catalog."""
    root = root or locale_dir().parent.parent
    catalog = Catalog(domain=DOMAIN, project="zammad-sla", msgid_bugs_address="", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), METHODS, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def placeholders(text: str) -> set[str]:
    """`%(name)s` and `{name}` placeholders of a message."""
    return {a or b for a, b in _PLACEHOLDER.findall(text)}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if v]


def read_catalog(name: str) -> Catalog:
    """A language's `.po` file."""
    with (locale_dir() / name / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        return read_po(source, locale=name, domain=DOMAIN)


def problems(template: Catalog, catalog: Catalog, name: str) -> Iterator[str]:
    """What keeps `catalog` from shipping: missing, untranslated, fuzzy, placeholder mismatch."""
    for message in template:
        if not message.id:
            continue
        found: Message | None = catalog.get(message.id, context=message.context)
        label = f"{name}: {message.id if isinstance(message.id, str) else message.id[0]!r}"
        if found is None:
            yield f"{label} is missing"
            continue
        if found.fuzzy:
            yield f"{label} is fuzzy"
        translated = _strings(found.string)
        if not translated or (isinstance(message.id, tuple) and len(translated) < catalog.num_plurals):
            yield f"{label} is not translated"
            continue
        wanted = set().union(*(placeholders(text) for text in _strings(message.id)))
        for text in translated:
            if placeholders(text) != wanted:
                yield f"{label}: placeholders {sorted(placeholders(text))} differ from {sorted(wanted)}"


def update() -> None:
    """Write the `.pot` from the sources and merge it into every `.po` (see the module docstring)."""
    template = extract()
    with (locale_dir() / f"{DOMAIN}.pot").open("wb") as out:
        write_po(out, template, omit_header=False, sort_output=True, no_location=True)
    for name in available()[1:]:
        catalog = read_catalog(name)
        catalog.update(template, no_fuzzy_matching=False)
        with (locale_dir() / name / "LC_MESSAGES" / f"{DOMAIN}.po").open("wb") as out:
            write_po(out, catalog, sort_output=True, no_location=True, include_previous=True)


def check() -> list[str]:
    """Every reason the shipped catalogs are not in step with the sources (empty: all good)."""
    template = extract()
    found: list[str] = []
    for name in available()[1:]:
        found += problems(template, read_catalog(name), name)
    with (locale_dir() / f"{DOMAIN}.pot").open("rb") as source:
        pot = {(m.context, m.id) for m in read_po(source) if m.id}
    if pot != {(m.context, m.id) for m in template if m.id}:
        found.append(f"{DOMAIN}.pot is not the extraction of the sources")
    return found


if __name__ == "__main__":
    command = sys.argv[1:]
    if command == ["update"]:
        update()
    elif command == ["check"]:
        if issues := check():
            sys.exit("catalogs out of step (run `python -m zammad_sla_plugin.catalogs update` and translate):\n  "
                     + "\n  ".join(issues))
    else:
        sys.exit("usage: python -m zammad_sla_plugin.catalogs update|check")
