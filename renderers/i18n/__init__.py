"""The one catalogue of interface text (not ODM text), in English and German.

ODM text (questions, decodes, help) comes from the study; these are the words the software
adds around it, in three sections of one catalogue:

- ``web``: the web app's pages (:mod:`renderers.i18n.web` and, for the review of a draft
  version, :mod:`renderers.i18n.web_draft`; read by :mod:`webapp.i18n`);
- ``form``: the rendered entry form (:mod:`renderers.i18n.form`, read by
  :mod:`renderers.html`);
- ``print``: the printed and annotated CRF (:mod:`renderers.i18n.printing`, read by
  :mod:`renderers.print`).

It lives in ``renderers`` because all three read it and ``renderers`` is the lowest layer
they share (the web app may import renderers; renderers never import the web app). Each
section has a table per language of :data:`LANGUAGES` with the same keys as English (a test
fails on a missing or extra key); a language the catalogue lacks reads English.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from renderers.i18n import form, printing, web, web_dashboard, web_draft, web_matrix, web_queries

LANGUAGES = ("en", "de")
"""The languages of the catalogue; English first (the fallback)."""

SECTIONS: Mapping[str, Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "web": MappingProxyType(
            {
                "en": {
                    **web.EN,
                    **web_draft.EN,
                    **web_matrix.EN,
                    **web_queries.EN,
                    **web_dashboard.EN,
                },
                "de": {
                    **web.DE,
                    **web_draft.DE,
                    **web_matrix.DE,
                    **web_queries.DE,
                    **web_dashboard.DE,
                },
            }
        ),
        "form": MappingProxyType({"en": form.EN, "de": form.DE}),
        "print": MappingProxyType({"en": printing.EN, "de": printing.DE}),
    }
)
"""Section -> language -> key -> text."""


def base_language(lang: str | None) -> str:
    """``de-CH`` -> ``de``; None or "" -> ``en``."""
    return (lang or "en").split("-")[0].lower()


def ui_language(lang: str | None) -> str:
    """The language the interface text of ``lang`` is actually in (English when missing)."""
    base = base_language(lang)
    return base if base in LANGUAGES else "en"


@cache
def _texts(section: str, lang: str) -> Mapping[str, str]:
    tables = SECTIONS[section]
    return MappingProxyType({**tables["en"], **tables.get(lang, {})})


def texts(section: str, lang: str | None) -> Mapping[str, str]:
    """The texts of ``section`` in ``lang`` (``de-AT`` reads ``de``), English for the rest."""
    return _texts(section, base_language(lang))


def missing_texts() -> list[tuple[str, str, str]]:
    """(section, language, key) of each key English has and a language lacks, or the reverse."""
    out = []
    for section, tables in SECTIONS.items():
        english = set(tables["en"])
        for lang in LANGUAGES:
            keys = set(tables.get(lang, {}))
            out += [(section, lang, k) for k in sorted(english ^ keys)]
    return out
