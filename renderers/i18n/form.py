"""The words the rendered web form adds around the study's own text (questions, decodes and
help come from the metadata): required marks, row buttons, input hints, date and number
messages (the browser shows them when the user leaves a field; the server gives the same)."""

from __future__ import annotations

EN: dict[str, str] = {
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
    "date.syntax": "'{text}' is not a date. Accepted: 2019-03-15, 2019-03, 2019, 15-MAR-2019, "
    "15.03.2019 or 15 Mar 2019 (UN for an unknown day: UN-MAR-2019).",
    "date.slash": "'{text}' has slashes, which are refused on purpose: 03/04/2019 is 3 April in "
    "Germany but March 4 in the USA, and this study's sites write both. Write the year first "
    "(2019-04-03), the month in letters (03-APR-2019) or the day first with dots (03.04.2019).",
    "date.month": "'{text}' names no month. Write the month as a number or as JAN, FEB, MAR, ... "
    "DEC (German MÄR, MAI, OKT, DEZ too).",
    "date.year": "Write the year of '{text}' with four digits: a two-digit year may be 1919 or "
    "2019.",
    "date.invalid": "'{text}' is not a calendar date: check the day and the month.",
    "date.incomplete": "This date must be complete: enter the day, the month and the year, e.g. "
    "15-MAR-2019.",
    "date.gap": "Only the day, or the day and the month, may be unknown here (UN-MAR-2019, "
    "UN-UNK-2019): enter the year, and the month when the day is known.",
    "number.ambiguous": "'{text}' is ambiguous: a thousands separator ({whole}) or a decimal "
    "comma? Write {whole} for the whole number, or {decimal} with a decimal point.",
    "number.separators": "'{text}' has more than one separator. Write the number without "
    "thousands separators, with one decimal comma or point: 1234,5 or 1234.5.",
    "number.integer": "'{text}' is not a whole number as written. Write digits only, without a "
    "comma, point or thousands separator, e.g. 12.",
}

DE: dict[str, str] = {
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
    "date.syntax": "'{text}' ist kein Datum. Möglich sind 2019-03-15, 2019-03, 2019, 15-MÄR-2019, "
    "15.03.2019 oder 15 Mär 2019 (UN für einen unbekannten Tag: UN-MÄR-2019).",
    "date.slash": "'{text}' enthält Schrägstriche, die absichtlich abgelehnt werden: 03/04/2019 "
    "ist in Deutschland der 3. April, in den USA der 4. März, und die Zentren dieser Studie "
    "schreiben beides. Schreiben Sie das Jahr zuerst (2019-04-03), den Monat in Buchstaben "
    "(03-APR-2019) oder den Tag zuerst mit Punkten (03.04.2019).",
    "date.month": "'{text}' ist kein Monat. Schreiben Sie den Monat als Zahl oder als JAN, FEB, "
    "MÄR, ... DEZ (englisch MAR, MAY, OCT, DEC ebenso).",
    "date.year": "Schreiben Sie das Jahr von '{text}' mit vier Ziffern: ein zweistelliges Jahr "
    "kann 1919 oder 2019 sein.",
    "date.invalid": "'{text}' ist kein Kalenderdatum: Prüfen Sie Tag und Monat.",
    "date.incomplete": "Dieses Datum muss vollständig sein: Tag, Monat und Jahr, z. B. "
    "15-MÄR-2019.",
    "date.gap": "Hier dürfen nur der Tag oder Tag und Monat unbekannt sein (UN-MÄR-2019, "
    "UN-UNK-2019): Geben Sie das Jahr an, und den Monat, wenn der Tag bekannt ist.",
    "number.ambiguous": "'{text}' ist mehrdeutig: Tausendertrennzeichen ({whole}) oder "
    "Dezimalkomma? Schreiben Sie {whole} für die ganze Zahl oder {decimal} mit Dezimalpunkt.",
    "number.separators": "'{text}' hat mehr als ein Trennzeichen. Schreiben Sie die Zahl ohne "
    "Tausendertrennzeichen, mit einem Dezimalkomma oder -punkt: 1234,5 oder 1234.5.",
    "number.integer": "'{text}' ist so keine ganze Zahl. Schreiben Sie nur Ziffern, ohne Komma, "
    "Punkt oder Tausendertrennzeichen, z. B. 12.",
}
