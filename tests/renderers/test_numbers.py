"""Number entry with a decimal comma or point: normalise_number_entry, the DataType check
after it, and its JavaScript mirror (static/numbers.js)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from odm_engine.datatypes import format_value, parse_value
from renderers.html import (
    DateEntryProblem,
    NumberEntryProblem,
    normalise_date_entry,
    normalise_entry,
    normalise_number_entry,
)
from renderers.i18n import texts
from tests.conftest import REPO

from .jsrun import run_js

ACCEPTED = [
    ("3,4", "float", "3.4"),  # one comma, no point: a decimal comma
    ("3.4", "float", "3.4"),  # the point is always the decimal point
    (" 3,4 ", "float", "3.4"),
    ("-3,4", "double", "-3.4"),
    ("+0,5", "float", "+0.5"),
    (",5", "float", ".5"),
    ("0,125", "float", "0.125"),  # 0,125 groups no thousands: a decimal comma
    ("-0,125", "float", "-0.125"),
    ("12,5", "float", "12.5"),
    ("1234,5", "float", "1234.5"),  # four digits before the comma: no thousands group
    ("1,2345", "float", "1.2345"),  # four after it: no thousands group either
    ("1,23", "float", "1.23"),
    ("12,0", "float", "12.0"),
    ("1,2E3", "float", "1.2E3"),
    ("1234", "float", "1234"),
    ("1.234", "float", "1.234"),
    ("12", "integer", "12"),
    ("-7", "integer", "-7"),
    ("", "float", ""),
    ("abc", "float", "abc"),  # no comma: the DataType check explains what it refuses
    ("12.5", "integer", "12.5"),  # likewise: "it is not a whole number"
]

REFUSED = [
    ("1,234", "float", "ambiguous"),  # 1234 to an American, 1.234 to a German
    ("-12,500", "float", "ambiguous"),
    ("999,999", "double", "ambiguous"),
    ("1,234E2", "float", "ambiguous"),
    ("1.234,5", "float", "separators"),  # German thousands point and decimal comma
    ("1,234.5", "float", "separators"),  # American thousands comma and decimal point
    ("1,234,567", "float", "separators"),
    ("3,4,", "float", "separators"),
    ("12,0", "integer", "integer"),
    ("1,5", "integer", "integer"),
    ("1,234", "integer", "integer"),
]


@pytest.mark.parametrize(("text", "data_type", "expected"), ACCEPTED)
def test_accepted_entries(text: str, data_type: str, expected: str) -> None:
    assert normalise_number_entry(text, data_type) == expected
    assert normalise_entry(data_type, text) == expected


@pytest.mark.parametrize(("text", "data_type", "code"), REFUSED)
def test_refused_entries(text: str, data_type: str, code: str) -> None:
    assert normalise_number_entry(text, data_type) == NumberEntryProblem(code, text)
    assert normalise_entry(data_type, text) == NumberEntryProblem(code, text)


def test_a_decimal_comma_is_stored_as_the_point_it_means() -> None:
    """The magnitude never changes: 3,4 and 3.4 are one canonical value, 3.4 (not 34)."""
    for text in ("3,4", "3.4", " 3,4"):
        entry = normalise_number_entry(text, "float")
        assert isinstance(entry, str)
        value = parse_value("float", entry).value
        assert value == Decimal("3.4"), text
        assert format_value("float", value) == "3.4"
    assert normalise_number_entry("3,40", "float") == "3.40"  # the digits typed are kept


MESSAGES = [
    ("1,234", "float", "en", "'1,234' is ambiguous: a thousands separator (1234) or a decimal "
     "comma? Write 1234 for the whole number, or 1.234 with a decimal point."),
    ("1,234", "float", "de", "'1,234' ist mehrdeutig: Tausendertrennzeichen (1234) oder "
     "Dezimalkomma? Schreiben Sie 1234 für die ganze Zahl oder 1.234 mit Dezimalpunkt."),
    ("1.234,5", "float", "en", "'1.234,5' has more than one separator. Write the number "
     "without thousands separators, with one decimal comma or point: 1234,5 or 1234.5."),
    ("1.234,5", "float", "de", "'1.234,5' hat mehr als ein Trennzeichen. Schreiben Sie die "
     "Zahl ohne Tausendertrennzeichen, mit einem Dezimalkomma oder -punkt: 1234,5 oder 1234.5."),
    ("12,0", "integer", "en", "'12,0' is not a whole number as written. Write digits only, "
     "without a comma, point or thousands separator, e.g. 12."),
    ("12,0", "integer", "de", "'12,0' ist so keine ganze Zahl. Schreiben Sie nur Ziffern, ohne "
     "Komma, Punkt oder Tausendertrennzeichen, z. B. 12."),
]  # fmt: skip


@pytest.mark.parametrize(("text", "data_type", "lang", "expected"), MESSAGES)
def test_messages_say_how_to_write_it(text: str, data_type: str, lang: str, expected: str) -> None:
    problem = normalise_number_entry(text, data_type)
    assert isinstance(problem, NumberEntryProblem)
    assert problem.in_language(lang) == expected
    if lang == "en":
        assert problem.message == expected


def _random_entries(count: int) -> list[tuple[str, str]]:
    rng = random.Random(1843)
    parts = ["0", "1", "12", "123", "1234", "00", "5", "E3", "e-2", "x"]
    seps = [",", ".", "", " ", "-", "+"]
    out = []
    for _ in range(count):
        n = rng.randint(1, 4)
        text = "".join(rng.choice(seps) + rng.choice(parts) for _ in range(n))
        out.append((text, rng.choice(["float", "double", "integer"])))
    return out


def _kind(data_type: str) -> str:
    return "integer" if data_type == "integer" else "number"


def test_javascript_mirror_agrees() -> None:
    """static/numbers.js reads every entry as the server does: same value or same refusal."""
    cases = [(t, d) for t, d, _ in ACCEPTED] + [(t, d) for t, d, _ in REFUSED]
    cases += _random_entries(800)
    results = run_js({"mode": "numbers", "cases": [(t, _kind(d)) for t, d in cases]})
    for (text, data_type), js in zip(cases, results, strict=True):
        py = normalise_number_entry(text, data_type)
        refused = isinstance(py, NumberEntryProblem)
        expected = {"problem": py.code, "text": py.text} if refused else {"value": py}
        assert js == expected, (text, data_type)


def test_javascript_messages_are_the_servers() -> None:
    """The browser fills the catalogue's text as the server does (numbers.js numberMessage)."""
    jobs, expected = [], []
    for text, data_type, lang, _ in MESSAGES:
        problem = normalise_number_entry(text, data_type)
        assert isinstance(problem, NumberEntryProblem)
        template = texts("form", lang)[f"number.{problem.code}"]
        jobs.append((template, {"problem": problem.code, "text": problem.text}))
        expected.append(problem.in_language(lang))
    assert run_js({"mode": "number_messages", "cases": jobs}) == expected


def test_the_data_entry_guide_quotes_the_messages_as_given() -> None:
    """docs/data-entry.md shows the refusals word for word: rebuilt here from the code."""
    guide = " ".join((REPO / "docs" / "data-entry.md").read_text(encoding="utf-8").split())
    ambiguous = normalise_number_entry("1,234", "float")
    assert isinstance(ambiguous, NumberEntryProblem)
    assert f'"{ambiguous.message}"' in guide
    for text, data_type in [
        ("03/04/2019", "date"),
        ("yesterday", "date"),
        ("15-XYZ-2019", "date"),
        ("15-MAR-19", "date"),
        ("29-FEB-2019", "date"),
        ("2019", "date"),
        ("15-UNK-2019", "partialDate"),
    ]:
        problem = normalise_date_entry(text, data_type)
        assert isinstance(problem, DateEntryProblem)
        assert f"| {problem.message}" in guide, text
