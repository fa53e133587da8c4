"""Jinja2 templates for the HTML zammad-sla writes: the report page (with its SVG charts)
and the internal SLA notes.

Autoescaping is on for every template, so a ticket title, an organization or a holiday name
can never become markup; `StrictUndefined` makes a misspelt variable an error, not an
empty string.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from zammad_sla_plugin.core.i18n import Language, language as language_for


def _px(value: float) -> str:
    """A coordinate with one decimal, as SVG attributes are written."""
    return f"{value:.1f}"


@cache
def environment() -> Environment:
    """The shared template environment (templates are package data in this folder)."""
    env = Environment(
        loader=PackageLoader("zammad_sla_plugin", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["px"] = _px
    return env


def _callables(lang: Language) -> dict[str, Any]:
    """`_`, `n_` and `p_` for a template: the catalog's text is trusted markup, values are escaped."""

    def fill(context: Context, text: str, values: dict[str, Any]) -> str:
        # Markup % values escapes each value (autoescape is on for every template).
        if not context.eval_ctx.autoescape:
            return text % values if values else text
        return Markup(text) % values if values else Markup(text)

    @pass_context
    def gettext(context: Context, message: str, **values: Any) -> str:
        return fill(context, lang.gettext(message), values)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, count: int, **values: Any) -> str:
        return fill(context, lang.ngettext(singular, plural, count), {"count": lang.number(count), **values})

    @pass_context
    def pgettext(context: Context, message_context: str, message: str, **values: Any) -> str:
        return fill(context, lang.pgettext(message_context, message), values)

    return {"_": gettext, "n_": ngettext, "p_": pgettext, "lang": lang}


def render(name: str, language: Language | str | None = None, **context: Any) -> str:
    """Render template `name` with `context` (every value escaped unless marked safe).

    `language` (a `Language` or a locale tag; None: English) gives the template its `_`,
    `n_` and `p_` (gettext, ngettext, pgettext) and `lang`.
    """
    lang = language if isinstance(language, Language) else language_for(language)
    return environment().get_template(name).render(**_callables(lang), **context)
