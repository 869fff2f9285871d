"""The interface text of the web app in English and German (ODM text comes from the study).

The texts are the ``web`` section of the one catalogue, :mod:`renderers.i18n` (shared with
the entry form and the printed CRF); this module picks the language and formats them.

``catalogue(lang)`` gives a :class:`Catalogue`: ``t("key", name=value)`` formats the text of
``key`` in the language, falling back to English; an unknown key is a KeyError, so a typo
in a template fails its test. The language is the user's choice, else the browser's
Accept-Language, among the languages the study is written in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from werkzeug.datastructures import LanguageAccept

from renderers.i18n import SECTIONS

CATALOGUES: Mapping[str, Mapping[str, str]] = SECTIONS["web"]
"""Language -> key -> text: the ``web`` section of the one catalogue, :mod:`renderers.i18n`."""
_EN = CATALOGUES["en"]


class Catalogue:
    """The messages of one language: ``t("key", **values)``."""

    __slots__ = ("lang", "messages")

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.messages = {**_EN, **CATALOGUES.get(lang, {})}

    def __call__(self, key: str, /, **values: object) -> str:
        text = self.messages[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self.messages


@cache
def catalogue(lang: str) -> Catalogue:
    return Catalogue(lang)


def choose_language(chosen: str | None, accept: LanguageAccept, available: Sequence[str]) -> str:
    """The user's choice if available, else the best Accept-Language match, else the first."""
    if chosen in available:
        return str(chosen)
    best = accept.best_match(list(available))
    return best or ("en" if "en" in available else available[0])
