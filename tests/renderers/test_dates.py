"""Date entry: normalise_date_entry and its JavaScript mirror (static/dates.js)."""

from __future__ import annotations

import random

import pytest

from renderers.html import DateEntryProblem, normalise_date_entry, normalise_entry

from .jsrun import run_js

CASES = [
    ("2019-03-15", "partialDate", "2019-03-15"),
    ("2019-03", "partialDate", "2019-03"),
    ("2019", "partialDate", "2019"),
    ("2019-3-5", "date", "2019-03-05"),
    (" 15-MAR-2019 ", "date", "2019-03-15"),
    ("15-mar-2019", "partialDate", "2019-03-15"),
    ("UN-MAR-2019", "partialDate", "2019-03"),
    ("UNK-MAR-2019", "partialDate", "2019-03"),
    ("UN-UNK-2019", "partialDate", "2019"),
    ("MAR-2019", "partialDate", "2019-03"),
    ("15 Mar 2019", "date", "2019-03-15"),
    ("15.03.2019", "date", "2019-03-15"),
    ("15-03-2019", "date", "2019-03-15"),
    ("01-OKT-2019", "date", "2019-10-01"),
    ("3-mär-2020", "date", "2020-03-03"),
    ("29-FEB-2020", "date", "2020-02-29"),
    ("15-UNK-2019", "incompleteDate", "2019---15"),
    ("15-MAR-UNKN", "incompleteDate", "--03-15"),
    ("2019---15", "incompleteDate", "2019---15"),
    ("UN-MAR-2019", "incompleteDate", "2019-03"),
    ("", "date", ""),
]

PROBLEMS = [
    ("03/04/2019", "date", "slash"),
    ("yesterday", "partialDate", "syntax"),
    ("15-XYZ-2019", "date", "month"),
    ("15-MAR-19", "date", "year"),
    ("29-FEB-2019", "date", "invalid"),
    ("31-APR-2019", "partialDate", "invalid"),
    ("2019-13", "partialDate", "invalid"),
    ("UN-MAR-2019", "date", "incomplete"),
    ("2019", "date", "incomplete"),
    ("15-UNK-2019", "partialDate", "gap"),
    ("15-MAR-UNKN", "partialDate", "gap"),
    ("UN-UNK-UNKN", "incompleteDate", "syntax"),
]


@pytest.mark.parametrize(("text", "data_type", "expected"), CASES)
def test_accepted_entries(text: str, data_type: str, expected: str) -> None:
    """ODM 1.3.2 partialDate/incompleteDate: the canonical text stored."""
    assert normalise_date_entry(text, data_type) == expected


@pytest.mark.parametrize(("text", "data_type", "code"), PROBLEMS)
def test_refused_entries(text: str, data_type: str, code: str) -> None:
    result = normalise_date_entry(text, data_type)
    assert isinstance(result, DateEntryProblem)
    assert result.code == code


def test_problem_messages_say_how_to_fix() -> None:
    assert normalise_date_entry("03/04/2019").message == (
        "'03/04/2019' has slashes, which are refused on purpose: 03/04/2019 is 3 April in "
        "Germany but March 4 in the USA, and this study's sites write both. Write the year first "
        "(2019-04-03), the month in letters (03-APR-2019) or the day first with dots (03.04.2019)."
    )
    assert normalise_date_entry("yesterday").message == (
        "'yesterday' is not a date. Accepted: 2019-03-15, 2019-03, 2019, 15-MAR-2019, "
        "15.03.2019 or 15 Mar 2019 (UN for an unknown day: UN-MAR-2019)."
    )
    assert normalise_date_entry("29-FEB-2019", "date") == DateEntryProblem(
        "invalid", "29-FEB-2019", "2019 is not a leap year, so February has 28 days"
    )
    assert normalise_date_entry("29-FEB-2019", "date").message == (
        "'29-FEB-2019' is not a calendar date: 2019 is not a leap year, so February has 28 days."
    )


GERMAN = [
    ("03/04/2019", "date", "'03/04/2019' enthält Schrägstriche, die absichtlich abgelehnt "
     "werden: 03/04/2019 ist in Deutschland der 3. April, in den USA der 4. März, und die "
     "Zentren dieser Studie schreiben beides. Schreiben Sie das Jahr zuerst (2019-04-03), den "
     "Monat in Buchstaben (03-APR-2019) oder den Tag zuerst mit Punkten (03.04.2019)."),
    ("gestern", "date", "'gestern' ist kein Datum. Möglich sind 2019-03-15, 2019-03, 2019, "
     "15-MÄR-2019, 15.03.2019 oder 15 Mär 2019 (UN für einen unbekannten Tag: UN-MÄR-2019)."),
    ("15-XYZ-2019", "date", "'XYZ' ist kein Monat. Schreiben Sie den Monat als Zahl oder als "
     "JAN, FEB, MÄR, ... DEZ (englisch MAR, MAY, OCT, DEC ebenso)."),
    ("15-MAR-19", "date", "Schreiben Sie das Jahr von '15-MAR-19' mit vier Ziffern: ein "
     "zweistelliges Jahr kann 1919 oder 2019 sein."),
    ("29-FEB-2019", "date", "'29-FEB-2019' ist kein Kalenderdatum: Prüfen Sie Tag und Monat."),
    ("2019", "date", "Dieses Datum muss vollständig sein: Tag, Monat und Jahr, z. B. "
     "15-MÄR-2019."),
    ("15-UNK-2019", "partialDate", "Hier dürfen nur der Tag oder Tag und Monat unbekannt sein "
     "(UN-MÄR-2019, UN-UNK-2019): Geben Sie das Jahr an, und den Monat, wenn der Tag bekannt "
     "ist."),
]  # fmt: skip

ENGLISH = [
    ("15-XYZ-2019", "date", "'XYZ' names no month. Write the month as a number or as JAN, FEB, "
     "MAR, ... DEC (German MÄR, MAI, OKT, DEZ too)."),
    ("15-MAR-19", "date", "Write the year of '15-MAR-19' with four digits: a two-digit year may "
     "be 1919 or 2019."),
    ("2019", "date", "This date must be complete: enter the day, the month and the year, e.g. "
     "15-MAR-2019."),
    ("15-UNK-2019", "partialDate", "Only the day, or the day and the month, may be unknown here "
     "(UN-MAR-2019, UN-UNK-2019): enter the year, and the month when the day is known."),
]  # fmt: skip


@pytest.mark.parametrize(("text", "data_type", "expected"), GERMAN)
def test_german_messages(text: str, data_type: str, expected: str) -> None:
    problem = normalise_date_entry(text, data_type)
    assert isinstance(problem, DateEntryProblem)
    assert problem.in_language("de") == expected
    assert problem.in_language("de-CH") == expected


@pytest.mark.parametrize(("text", "data_type", "expected"), ENGLISH)
def test_english_messages(text: str, data_type: str, expected: str) -> None:
    problem = normalise_date_entry(text, data_type)
    assert isinstance(problem, DateEntryProblem)
    assert problem.message == problem.in_language("fr") == expected


def test_slashes_have_their_own_code() -> None:
    """Slashes are refused on purpose: 03/04/2019 is a different day in Germany and the USA."""
    for text in ("03/04/2019", "3/4/2019", "2019/03/04", "15/MAR/2019"):
        problem = normalise_date_entry(text, "date")
        assert isinstance(problem, DateEntryProblem) and problem.code == "slash", text


def test_normalise_entry_for_times_and_datetimes() -> None:
    assert normalise_entry("time", "14:30") == "14:30:00"
    assert normalise_entry("datetime", "2019-03-15 14:30") == "2019-03-15T14:30:00"
    assert normalise_entry("partialDatetime", "15-OCT-2019 14:30") == "2019-10-15T14:30"
    assert normalise_entry("incompleteDatetime", "UN-OCT-2019T14:-:-") == "2019-10--T14:-:-"
    assert normalise_entry("partialDate", "UN-MAR-2019") == "2019-03"
    assert normalise_entry("integer", " 12 ") == "12"
    assert normalise_entry("float", " 3,4 ") == "3.4"
    assert normalise_entry("text", " as typed ") == " as typed "


def _random_entries(count: int) -> list[tuple[str, str]]:
    rng = random.Random(1302)
    parts = ["15", "1", "31", "29", "UN", "UNK", "MAR", "mär", "OKT", "FEB", "13", "2019",
             "2020", "19", "UNKN", "-", "00", "XYZ", "03"]  # fmt: skip
    seps = ["-", " ", ".", "/", "--", ""]
    out = []
    for _ in range(count):
        n = rng.randint(1, 3)
        text = rng.choice(seps).join(rng.choice(parts) for _ in range(n))
        out.append((text, rng.choice(["date", "partialDate", "incompleteDate"])))
    return out


def test_javascript_mirror_agrees() -> None:
    """static/dates.js gives the same canonical value or the same problem code and text (the
    browser's message is the server's)."""
    cases = [(t, d) for t, d, _ in CASES] + [(t, d) for t, d, _ in PROBLEMS]
    cases += _random_entries(600)
    results = run_js({"mode": "dates", "cases": cases})
    for (text, data_type), js in zip(cases, results, strict=True):
        py = normalise_date_entry(text, data_type)
        problem = isinstance(py, DateEntryProblem)
        expected = {"problem": py.code, "text": py.text} if problem else {"value": py}
        assert js == expected, (text, data_type)
