"""Jinja2 templates for the HTML zammad-sla writes: the report page (with its SVG charts)
and the internal SLA notes.

Autoescaping is on for every template, so a ticket title, an organization or a holiday name
can never become markup; `StrictUndefined` makes a misspelt variable an error, not an
empty string.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


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


def render(name: str, **context: Any) -> str:
    """Render template `name` with `context` (every value escaped unless marked safe)."""
    return environment().get_template(name).render(**context)
