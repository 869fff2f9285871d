"""The words of one printed document: the study's texts and the UI catalogue in one language.

The document builder (``build.py``) and the appendices (``appendix.py``) both word things
through a :class:`Wording`, so neither reaches into the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from odm_engine import model as m


@dataclass(frozen=True, slots=True)
class Wording:
    mdv: m.MetaDataVersion
    ui: Mapping[str, str]
    """The printing words (``renderers.i18n``, section ``print``) for ``lang``."""
    lang: str
    default_lang: str | None

    def text(self, text: m.Text, fallback: str) -> str:
        """``text`` in the document's language (else the study's default), or ``fallback``."""
        return text.get(self.lang, self.default_lang) or fallback
