"""What investigators type into date fields, turned into ODM partial dates.

Accepted entries (case-insensitive, surrounding spaces ignored):

* ISO 8601: ``2019-03-15``, ``2019-03``, ``2019`` (one-digit months and days are padded);
* ODM incomplete dates, for ``incompleteDate`` items: ``2019---15``, ``--03-15``;
* day, month, year: ``15-MAR-2019``, ``UN-MAR-2019``, ``UNK-UNK-2019``, ``MAR-2019``,
  ``15 Mar 2019``, ``15.03.2019``, ``15-03-2019``. The month is a number or a three-letter
  English or German abbreviation; ``UN``, ``UK``, ``UNK``, ``UNKN`` or ``NK`` stand for an
  unknown part. Slashes are refused on purpose (code ``slash``, with its own message):
  ``03/04/2019`` is 3 April in Germany and March 4 in the USA, and a study's sites write
  both, so no reading of it is safe. Dots and dashes between numbers are read day, month,
  year.

The result is canonical ODM text: ``2019-03-15``, ``2019-03``, ``2019`` or, for
incompleteDate only, the dashed form ``2019---15``. ``static/form.js`` mirrors this function
(``normaliseDateEntry``) so the browser shows the canonical value as soon as the user leaves
the field; the two are tested against the same cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from odm_engine.datatypes import REGISTRY
from odm_engine.partial_dates import PartialDate, date_problem, parse_date
from renderers.html.numbers import NumberEntryProblem, normalise_number_entry
from renderers.i18n import texts, ui_language

DATE_TYPES = tuple(name for name, dt in REGISTRY.items() if dt.entry.widget == "date")
"""The DataTypes entered as dates (date, partialDate, incompleteDate): from the registry."""

MONTHS = {
    "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
    "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
    "MÄR": 3, "MRZ": 3, "MAI": 5, "OKT": 10, "DEZ": 12,
}  # fmt: skip
"""Three-letter month abbreviations, English and German."""

_UNKNOWN = r"UNKN|UNK|UN|UK|NK"
_ISO = re.compile(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?")
_DASHED = re.compile(r"([0-9]{4}|-)-([0-9]{2}|-)-([0-9]{2}|-)")
_DMY = re.compile(
    rf"(?:([0-9]{{1,2}}|{_UNKNOWN})[-. ]+)?([A-ZÄ]{{3}}|[0-9]{{1,2}}|{_UNKNOWN})[-. ]+"
    rf"([0-9]+|{_UNKNOWN})"
)
_TIME_HM = re.compile(r"([0-9]{2}:[0-9]{2})")
_DATETIME = re.compile(r"(?P<date>.*?[0-9-])(?:T|\s+)(?P<time>(?:[0-9]{2}|-)(?::\S*)?)")


_DATE_OF = {dt.truncation: name for name, dt in REGISTRY.items() if dt.entry.widget == "date"}
"""The date DataType with each truncation: the date part of a datetime is entered as one."""


def _truncation(data_type: str) -> str:
    """How much of a date of ``data_type`` may be unknown (``right`` for an unknown type)."""
    spec = REGISTRY.get(data_type)
    return spec.truncation or "right" if spec is not None else "right"


@dataclass(frozen=True, slots=True)
class DateEntryProblem:
    """Why an entry is not a date of the item's DataType.

    ``code`` is one of ``syntax``, ``slash``, ``month``, ``year``, ``invalid``,
    ``incomplete``, ``gap``; ``text`` is the entry (the month for ``month``). The message is
    the form catalogue's ``date.<code>`` text, the one the browser shows too; in English an
    impossible date also says why (``detail``: "2019 is not a leap year, ...").
    """

    code: str
    text: str
    detail: str = ""

    def in_language(self, lang: str | None) -> str:
        """The message in ``lang`` (English for a language the catalogue lacks)."""
        if self.detail and ui_language(lang) == "en":
            return f"'{self.text}' is not a calendar date: {self.detail}."
        return texts("form", lang)[f"date.{self.code}"].format(text=self.text)

    @property
    def message(self) -> str:
        """The English message."""
        return self.in_language("en")


def _part(token: str | None) -> int | None:
    if token is None or not token.isdigit():
        return None
    return int(token)


def _split(text: str) -> tuple[int | None, int | None, int | None] | DateEntryProblem:
    """Year, month, day of an entry (None = unknown), or why it cannot be read."""
    if m := _ISO.fullmatch(text):
        return _part(m[1]), _part(m[2]), _part(m[3])
    if m := _DASHED.fullmatch(text):
        return _part(m[1]), _part(m[2]), _part(m[3])
    m = _DMY.fullmatch(text)
    if m is None:
        return DateEntryProblem("slash" if "/" in text else "syntax", text)
    day, month, year = m[1], m[2], m[3]
    if month.isalpha() and month not in MONTHS and not re.fullmatch(_UNKNOWN, month):
        return DateEntryProblem("month", month)
    if year.isdigit() and len(year) != 4:
        return DateEntryProblem("year", text)
    month_number = MONTHS.get(month) if month.isalpha() else _part(month)
    return _part(year), month_number, _part(day)


def normalise_date_entry(text: str, data_type: str = "partialDate") -> str | DateEntryProblem:
    """Canonical ODM text for a date as typed, or why it is not one.

    ``data_type`` is the ItemDef's DataType: ``date`` needs every part, ``partialDate`` may
    leave out the day, or the day and the month, ``incompleteDate`` may leave out any part.
    An empty entry gives ``""`` (no value).
    """
    entry = " ".join(text.split()).upper()
    if not entry:
        return ""
    shown = text.strip()
    parts = _split(entry)
    if isinstance(parts, DateEntryProblem):
        return parts if parts.code == "month" else DateEntryProblem(parts.code, shown)
    year, month, day = parts
    problem = date_problem(year, month, day)
    if problem:
        return DateEntryProblem("invalid", shown, problem)
    if year is None and month is None and day is None:
        return DateEntryProblem("syntax", shown)
    truncation = _truncation(data_type)
    if truncation == "none" and None in (year, month, day):
        return DateEntryProblem("incomplete", shown)
    value = PartialDate(year, month, day)
    if truncation != "any" and not value.is_truncated():
        return DateEntryProblem("gap", shown)
    return value.canonical()


def normalise_entry(data_type: str, text: str) -> str | DateEntryProblem | NumberEntryProblem:
    """The text to store for an entry in a field of ``data_type``, before DataType checks.

    Dates go through :func:`normalise_date_entry`; ``14:30`` becomes ``14:30:00`` for
    ``time``; ``2019-03-15 14:30`` becomes ``2019-03-15T14:30:00`` for ``datetime`` (what
    browsers' time inputs send); the date part of partial and incomplete datetimes is
    normalised like a date; numbers go through
    :func:`renderers.html.numbers.normalise_number_entry` (``3,4`` is 3.4, ``1,234`` is
    refused as ambiguous). Other text is returned stripped (text and string: unchanged).
    """
    spec = REGISTRY.get(data_type)
    if spec is not None and spec.keeps_space:
        return text
    entry = text.strip()
    if spec is None:
        return entry
    if spec.entry.widget == "date":
        return normalise_date_entry(entry, data_type)
    if spec.entry.widget == "number":
        return normalise_number_entry(entry, data_type)
    if spec.kind == "time" and spec.truncation == "none" and _TIME_HM.fullmatch(entry):
        return entry + ":00"
    if spec.kind == "datetime":
        m = _DATETIME.fullmatch(entry)
        date_text, sep, clock = (m["date"], "T", m["time"]) if m else (entry, "", "")
        if spec.truncation == "none":
            clock += ":00" if _TIME_HM.fullmatch(clock) else ""
            return f"{date_text}{sep}{clock}"
        date_part = normalise_date_entry(date_text, _DATE_OF[spec.truncation])
        if isinstance(date_part, DateEntryProblem):
            return date_part
        if sep and date_part.count("-") != 2:  # a time needs every date part written
            date_part = parse_date(date_part, dashed=True).dashed()
        return f"{date_part}{sep}{clock}"
    return entry
