"""The one catalogue of interface text (``renderers.i18n``): complete in every language, and
every text a template or view names is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from renderers.i18n import LANGUAGES, SECTIONS, missing_texts, texts, ui_language
from webapp.i18n import CATALOGUES, catalogue

ROOT = Path(__file__).resolve().parents[2]
LITERAL_T = re.compile(r"""\bt\(\s*(['"])([A-Za-z0-9_.]+)\1\s*[,)]""")
"""``t("key")`` / ``g.t('key', n=1)`` with the whole key written out (not ``'role.' + r``)."""
UI_ATTR = re.compile(r"\bui\.([a-z_][a-z0-9_]*)\b(?!\s*\()")
"""``ui.key`` in a template (not a method call such as ``ui.items()``)."""
UI_ITEM = re.compile(r"""\bui\[\s*(['"])([A-Za-z0-9_.]+)\1\s*\]""")


def test_every_text_is_in_every_language_of_every_section() -> None:
    """A key English has and another language lacks (or the reverse) fails here."""
    assert missing_texts() == []
    assert set(SECTIONS) == {"web", "form", "print"}
    for tables in SECTIONS.values():
        assert tuple(tables) == LANGUAGES


def test_missing_texts_names_a_key_a_language_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    german = {k: v for k, v in SECTIONS["form"]["de"].items() if k != "mandatory"}
    patched = dict(SECTIONS)
    patched["form"] = {"en": SECTIONS["form"]["en"], "de": german}
    monkeypatch.setattr("renderers.i18n.SECTIONS", patched)
    assert missing_texts() == [("form", "de", "mandatory")]


def _web_sources() -> list[Path]:
    web = ROOT / "webapp"
    found = sorted([*web.rglob("*.html"), *web.rglob("*.py")])
    return [p for p in found if p != web / "i18n.py"]  # its docstring shows t("key")


def test_every_web_text_a_template_or_view_names_is_catalogued() -> None:
    """A new page's ``t("page.key")`` fails here until the key is in the ``web`` section."""
    english = SECTIONS["web"]["en"]
    named = {
        (path.relative_to(ROOT).as_posix(), m.group(2))
        for path in _web_sources()
        for m in LITERAL_T.finditer(path.read_text(encoding="utf-8"))
    }
    assert len(named) > 100  # the scan finds the keys at all
    assert sorted(where for where in named if where[1] not in english) == []


@pytest.mark.parametrize(("section", "folder"), [("form", "html"), ("print", "print")])
def test_every_renderer_text_a_template_names_is_catalogued(section: str, folder: str) -> None:
    english = SECTIONS[section]["en"]
    base = ROOT / "renderers" / folder
    named = set()
    for path in sorted([*base.rglob("*.html"), *base.rglob("*.py")]):
        text = path.read_text(encoding="utf-8")
        named |= {(path.name, m.group(1)) for m in UI_ATTR.finditer(text)}
        named |= {(path.name, m.group(2)) for m in UI_ITEM.finditer(text)}
    assert named
    assert sorted(where for where in named if where[1] not in english) == []


def test_a_language_reads_its_base_language_and_else_english() -> None:
    assert texts("form", "de-CH")["mandatory"] == "Pflichtfeld"
    assert texts("print", "fr") == texts("print", "en") == texts("print", None)
    assert texts("print", "de")["derived"] == "Wird vom System berechnet, nicht eintragen"
    assert texts("form", "de")["derived"] == "berechnet"
    assert ui_language("de-AT") == "de" and ui_language("fr") == "en"


def test_the_web_catalogue_is_the_web_section() -> None:
    assert CATALOGUES is SECTIONS["web"]
    assert catalogue("de")("nav.sites") == "Zentren"
    assert catalogue("fr")("nav.sites") == "Sites"
