"""Interface text of the rendered form (not ODM text): English and German.

The study's own text (questions, decodes, help) comes from the metadata; these are the few
words the renderer adds around it. A language missing here falls back to English.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_EN: dict[str, str] = {
    "mandatory": "required",
    "derived": "calculated",
    "add_row": "Add row",
    "remove_row": "Remove row",
    "undo_remove": "Undo remove",
    "removed": "This row will be removed when you save.",
    "actions": "Actions",
    "row": "Row",
    "unit": "Unit",
    "no_choice": "(no answer)",
    "error": "Error",
    "query": "Query",
    "history": "History",
    "preview": "Preview of form {form}: nothing you enter here is saved.",
    "preview_save": "Check entries",
    "date_hint": "e.g. 2019-03-15, 2019-03, 2019 or 15-MAR-2019 (UN-MAR-2019: day unknown)",
    "full_date_hint": "e.g. 2019-03-15 or 15-MAR-2019",
    "incomplete_date_hint": "e.g. 2019-03-15, UN-MAR-2019 or 15-UNK-2019",
    "partial_time_hint": "hh:mm:ss, hh:mm or hh, e.g. 14:30",
    "partial_datetime_hint": "e.g. 2019-03-15T14:30, 2019-03-15 or 2019-03",
    "duration_hint": "e.g. P1Y2M10D, PT4H30M or P2W",
    "date.syntax": "'{text}' is not a date. Write 2019-03-15, 2019-03, 2019 or 15-MAR-2019.",
    "date.month": "'{text}' names no month. Write JAN, FEB, MAR, ... DEC or the number.",
    "date.year": "Write the year of '{text}' with four digits.",
    "date.invalid": "'{text}' is not a calendar date.",
    "date.incomplete": "This date must be complete: enter the day, the month and the year.",
    "date.gap": "Only the day, or the day and the month, may be unknown here.",
}

_DE: dict[str, str] = {
    "mandatory": "Pflichtfeld",
    "derived": "berechnet",
    "add_row": "Zeile hinzufügen",
    "remove_row": "Zeile entfernen",
    "undo_remove": "Entfernen rückgängig",
    "removed": "Diese Zeile wird beim Speichern entfernt.",
    "actions": "Aktionen",
    "row": "Zeile",
    "unit": "Einheit",
    "no_choice": "(keine Angabe)",
    "error": "Fehler",
    "query": "Rückfrage",
    "history": "Verlauf",
    "preview": "Vorschau des Formulars {form}: Eingaben werden nicht gespeichert.",
    "preview_save": "Eingaben prüfen",
    "date_hint": "z. B. 2019-03-15, 2019-03, 2019 oder 15-MÄR-2019 (UN-MÄR-2019: Tag unbekannt)",
    "full_date_hint": "z. B. 2019-03-15 oder 15-MÄR-2019",
    "incomplete_date_hint": "z. B. 2019-03-15, UN-MÄR-2019 oder 15-UNK-2019",
    "partial_time_hint": "hh:mm:ss, hh:mm oder hh, z. B. 14:30",
    "partial_datetime_hint": "z. B. 2019-03-15T14:30, 2019-03-15 oder 2019-03",
    "duration_hint": "z. B. P1Y2M10D, PT4H30M oder P2W",
    "date.syntax": "'{text}' ist kein Datum. Schreiben Sie 2019-03-15, 2019-03, 2019 oder "
    "15-MÄR-2019.",
    "date.month": "'{text}' ist kein Monat. Schreiben Sie JAN, FEB, MÄR, ... DEZ oder die Zahl.",
    "date.year": "Schreiben Sie das Jahr von '{text}' mit vier Ziffern.",
    "date.invalid": "'{text}' ist kein Kalenderdatum.",
    "date.incomplete": "Dieses Datum muss vollständig sein: Tag, Monat und Jahr.",
    "date.gap": "Hier dürfen nur der Tag oder Tag und Monat unbekannt sein.",
}

_TABLES = {"en": _EN, "de": _DE}
LANGUAGES = tuple(_TABLES)


def ui_text(lang: str | None) -> Mapping[str, str]:
    """The interface text for ``lang`` (``de-CH`` reads ``de``), English for the rest."""
    base = (lang or "en").split("-")[0].lower()
    table = dict(_EN)
    table.update(_TABLES.get(base, {}))
    return MappingProxyType(table)


def ui_language(lang: str | None) -> str:
    """The language the interface text is actually in."""
    base = (lang or "en").split("-")[0].lower()
    return base if base in _TABLES else "en"
