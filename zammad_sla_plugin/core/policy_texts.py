"""Per-locale wording of the policy: what customers read, overridable for each language.

`[texts.<locale>]` tables of the policy file (e.g. `[texts.pt-BR]`) override the proposal
e-mails' subjects and bodies for readers of that locale. Precedence for a reader: the
variant of their locale (`pt-BR`, then `pt`), then the shipped translation of the policy's
own wording (the catalogs translate the built-in Aivo texts; a wording of your own has no
translation and is used as written). Every variant's placeholders are checked like the
base wording's.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from zammad_sla_plugin.core.i18n import Language, language

TEXT_FIELDS: tuple[str, ...] = (
    "approved_subject", "approved_body", "declined_subject", "declined_body", "delivered_subject", "delivered_body",
)  # fmt: skip


class PolicyTexts(BaseModel):
    """One locale's variants of the policy's wording (unset: the base wording, translated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approved_subject: str | None = None
    approved_body: str | None = None
    declined_subject: str | None = None
    declined_body: str | None = None
    delivered_subject: str | None = None
    delivered_body: str | None = None

    @field_validator(*TEXT_FIELDS)
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        from zammad_sla_plugin.core.policy import _check_template  # policy.py imports this module

        return None if value is None else _check_template(value)

    @field_validator("approved_subject", "declined_subject", "delivered_subject")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\n" in value or "\r" in value):
            raise ValueError("a subject must be one non-empty line")
        return value


def check_locale_keys(texts: dict[str, PolicyTexts]) -> dict[str, PolicyTexts]:
    """Keys must be locale tags Babel knows (`es`, `pt-BR`, `es_AR`)."""
    from babel import Locale, UnknownLocaleError

    for key in texts:
        try:
            Locale.parse(key.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            raise ValueError(f"{key!r} is not a locale tag (e.g. es, es-AR, pt-BR)") from None
    return texts


def localized_text(texts: dict[str, PolicyTexts], base: str, field: str, lang: Language) -> str:
    """The wording `field` for a reader of `lang` (see the module docstring for the precedence)."""
    # The reader's tags, spelt as keys are compared: `es-ar`, `es`, and the catalog's (`pt-br` for a pt-PT reader).
    wanted = {lang.tag.lower(), lang.locale.language, lang.catalog.replace("_", "-").lower()}
    for key in sorted(texts, key=len, reverse=True):  # the most specific tag first
        variant = getattr(texts[key], field)
        if variant is not None and key.replace("_", "-").lower() in wanted:
            return str(variant)
    return lang.gettext(base)


__all__ = ["PolicyTexts", "TEXT_FIELDS", "check_locale_keys", "language", "localized_text"]
