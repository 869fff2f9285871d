"""The engine's own messages have a German text for every English one, with the same fields."""

from __future__ import annotations

from string import Formatter

from odm_engine.engine_texts import DE, EN, engine_text


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def test_german_has_every_key_with_the_same_fields() -> None:
    assert set(DE) == set(EN)
    assert [k for k in EN if _fields(EN[k]) != _fields(DE[k])] == []


def test_a_regional_tag_reads_its_base_language_and_an_unknown_one_english() -> None:
    assert engine_text("LE", "de-CH") == "höchstens"
    assert engine_text("LE", "fr") == "at most"
    assert engine_text("LE", None) == "at most"
