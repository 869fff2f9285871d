"""The sentences the check engine writes itself, in English and German.

A study's own ErrorMessages come from the ODM file in the language asked for; the messages the
engine makes up (a required item left empty, a hidden item with a value, a derived value that
differs, a value outside a range) come from here, so ``edc check --lang de`` is German
throughout. Kept in the core, as plain tables with ``str.format`` fields (no template engine:
``odm_engine`` imports no framework). A language without a table reads English; ``de-CH``
reads ``de``. ``tests/expressions/test_engine_texts.py`` holds both tables to the same keys
and fields. The DataType and repeat-key messages (``value_texts``) and the sentences of
``edc explain`` (``explain_texts``) are merged in from their own modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from odm_engine.explain_texts import EXPLAIN_DE, EXPLAIN_EN
from odm_engine.value_texts import VALUE_DE, VALUE_EN

EN: Mapping[str, str] = MappingProxyType(
    {
        "mandatory": "{label} is required. Enter a value or give the reason it is missing.",
        "form_missing": (
            "Form {form} is mandatory in study event {event}, which has data, but has no "
            "data. Enter the form or give the reason it is missing."
        ),
        "not_in_form": (
            "{where}: FormDef {form} has no ItemGroupRef {group} with an ItemRef to {item}{hint}."
        ),
        "did_you_mean": " (did you mean {oid}?)",
        "not_checked": "The value is not checked.",
        "group_missing": (
            "Item group {group} is mandatory on form {form}, which has data, but has no rows. "
            "Enter at least one row or give the reason it is missing."
        ),
        "not_collected": (
            "{label} is not collected here ({why} is true) but has a value. Clear the value "
            "or correct the data it depends on."
        ),
        "derived_differs": (
            "{label}: the stored value {before} differs from the derived value {text} "
            "({method}). Recompute it or correct the inputs."
        ),
        "derived_replaced": (
            "{label}: {before} was replaced by the derived value {text} ({method}), which is "
            "stored. Correct the inputs if {before} was right."
        ),
        "not_coded": (
            "{label}: {text} is not a coded value of {code_list}. Choose one of its values."
        ),
        "fails_check": "{label}: {text} fails the check {expression}. Correct the value.",
        "range": "{label} must be {phrase} {wanted}{symbol}{entered}; {text} is not.",
        "range_advice": "Correct the value or confirm it.",
        "entered": " ({text} {unit} entered)",
        "LT": "less than",
        "LE": "at most",
        "GT": "greater than",
        "GE": "at least",
        "EQ": "equal to",
        "NE": "different from",
        "IN": "one of",
        "NOTIN": "none of",
    }
    | VALUE_EN
    | EXPLAIN_EN
)

DE: Mapping[str, str] = MappingProxyType(
    {
        "mandatory": (
            "{label} ist ein Pflichtfeld. Geben Sie einen Wert ein oder den Grund, warum er fehlt."
        ),
        "form_missing": (
            "Das Formular {form} ist im Studienereignis {event}, das Daten hat, Pflicht, hat "
            "aber keine Daten. Erfassen Sie das Formular oder den Grund, warum es fehlt."
        ),
        "not_in_form": (
            "{where}: Das Formular {form} hat keine ItemGroupRef {group} mit einer ItemRef auf "
            "{item}{hint}."
        ),
        "did_you_mean": " (meinten Sie {oid}?)",
        "not_checked": "Der Wert wird nicht geprüft.",
        "group_missing": (
            "Die Gruppe {group} ist im Formular {form}, das Daten hat, Pflicht, hat aber keine "
            "Zeilen. Erfassen Sie mindestens eine Zeile oder den Grund, warum sie fehlt."
        ),
        "not_collected": (
            "{label} wird hier nicht erhoben ({why} ist wahr), hat aber einen Wert. Löschen "
            "Sie den Wert oder korrigieren Sie die Daten, von denen er abhängt."
        ),
        "derived_differs": (
            "{label}: Der gespeicherte Wert {before} weicht vom berechneten Wert {text} ab "
            "({method}). Berechnen Sie ihn neu oder korrigieren Sie die Eingaben."
        ),
        "derived_replaced": (
            "{label}: {before} wurde durch den berechneten Wert {text} ersetzt ({method}), der "
            "gespeichert ist. Korrigieren Sie die Eingaben, falls {before} richtig war."
        ),
        "not_coded": (
            "{label}: {text} ist kein Code der Codeliste {code_list}. Wählen Sie einen ihrer Werte."
        ),
        "fails_check": (
            "{label}: {text} erfüllt die Prüfung {expression} nicht. Korrigieren Sie den Wert."
        ),
        "range": "{label} muss {phrase} {wanted}{symbol} sein{entered}; {text} ist es nicht.",
        "range_advice": "Korrigieren oder bestätigen Sie den Wert.",
        "entered": " ({text} {unit} eingegeben)",
        "LT": "kleiner als",
        "LE": "höchstens",
        "GT": "größer als",
        "GE": "mindestens",
        "EQ": "gleich",
        "NE": "verschieden von",
        "IN": "einer von",
        "NOTIN": "keiner von",
    }
    | VALUE_DE
    | EXPLAIN_DE
)

TABLES: Mapping[str, Mapping[str, str]] = MappingProxyType({"en": EN, "de": DE})
"""Base language -> key -> text; English is the fallback."""


def engine_text(key: str, lang: str | None) -> str:
    """The text of ``key`` in ``lang`` (``de-AT`` reads ``de``), English when it has none."""
    base = (lang or "en").split("-")[0].lower()
    return TABLES.get(base, EN).get(key) or EN[key]


def speaks_english(lang: str | None) -> bool:
    """Whether the engine writes English for ``lang`` (English, or a language without a
    table)."""
    return TABLES.get((lang or "en").split("-")[0].lower(), EN) is EN


@dataclass(frozen=True, slots=True)
class Words:
    """A field of a reason that is itself a key of these tables (a month's name), so it is
    said in the reason's language."""

    key: str


def reason_text(key: str, fields: Mapping[str, object], lang: str | None) -> str:
    """The text of ``key`` in ``lang`` with ``fields`` filled in; a field that is
    :class:`Words` is looked up in ``lang`` too."""
    said = {
        name: engine_text(value.key, lang) if isinstance(value, Words) else value
        for name, value in fields.items()
    }
    return engine_text(key, lang).format(**said)
