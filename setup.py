"""Build step: compile the gettext catalogs (`.po` -> `.mo`) into the built package.

Everything else is declared in pyproject.toml. A source checkout or an editable install has no
`.mo` files: `zammad_sla_plugin.core.i18n` then compiles each `.po` in memory on first use.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogs(build_py):
    """`build_py`, then every `locale/*/LC_MESSAGES/*.po` compiled next to itself in the build."""

    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po_path in Path(self.build_lib, "zammad_sla_plugin", "locale").glob("*/LC_MESSAGES/*.po"):
            with po_path.open("rb") as source:
                catalog = read_po(source)
            with po_path.with_suffix(".mo").open("wb") as out:
                write_mo(out, catalog, use_fuzzy=False)


setup(cmdclass={"build_py": BuildWithCatalogs})
