"""ODM 1.3.2 Data Formats and ItemDef/@DataType, @Length, @SignificantDigits."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odm_engine.datatypes import (
    DATA_TYPES,
    DataTypeProblem,
    Duration,
    Interval,
    Parsed,
    PartialDate,
    PartialDatetime,
    PartialTime,
    canonical_text,
    compare_values,
    format_value,
    is_orderable,
    parse_value,
    python_kind,
)

UTC = dt.UTC
PLUS_1 = dt.timezone(dt.timedelta(hours=1))
MINUS_5 = dt.timezone(dt.timedelta(hours=-5))


def ok(data_type: str, text: str, **limits: int) -> Parsed:
    result = parse_value(data_type, text, **limits)
    assert isinstance(result, Parsed), result
    return result


def problem(data_type: str, text: str, **limits: int) -> str:
    result = parse_value(data_type, text, **limits)
    assert isinstance(result, DataTypeProblem), result
    return result.message


def test_data_types_are_the_22_of_odm_1_3_2() -> None:
    assert sorted(DATA_TYPES) == sorted(
        "text string integer float double boolean date time datetime partialDate partialTime "
        "partialDatetime incompleteDatetime incompleteDate incompleteTime durationDatetime "
        "intervalDatetime hexBinary base64Binary hexFloat base64Float URI".split()
    )


@pytest.mark.parametrize(
    ("data_type", "text", "value", "canonical"),
    [
        ("text", "  Kopfschmerz ", "  Kopfschmerz ", "  Kopfschmerz "),
        ("text", "   ", "   ", "   "),
        ("string", "µmol/L", "µmol/L", "µmol/L"),
        ("integer", " +007 ", 7, "7"),
        ("integer", "-0", 0, "0"),
        ("integer", "-120", -120, "-120"),
        ("float", "3.140", Decimal("3.140"), "3.140"),
        ("float", ".5", Decimal("0.5"), "0.5"),
        ("float", "5.", Decimal("5"), "5"),
        ("float", "1.5E3", Decimal("1500"), "1500"),
        ("float", "-2.5e-2", Decimal("-0.025"), "-0.025"),
        ("float", "-0.0", Decimal("0.0"), "0.0"),
        ("double", "INF", Decimal("Infinity"), "INF"),
        ("double", "-INF", Decimal("-Infinity"), "-INF"),
        ("boolean", "true", True, "true"),
        ("boolean", "1", True, "true"),
        ("boolean", "false", False, "false"),
        ("boolean", "0", False, "false"),
        ("date", "2020-02-29", dt.date(2020, 2, 29), "2020-02-29"),
        ("date", "2000-02-29", dt.date(2000, 2, 29), "2000-02-29"),
        ("time", "14:30:00", dt.time(14, 30), "14:30:00"),
        ("time", "00:00:00", dt.time(0), "00:00:00"),
        ("time", "14:30:05.500+01:00", dt.time(14, 30, 5, 500000, PLUS_1), "14:30:05.5+01:00"),
        ("time", "14:30:00+00:00", dt.time(14, 30, tzinfo=UTC), "14:30:00Z"),
        ("time", "14:30:00.1234567", dt.time(14, 30, 0, 123456), "14:30:00.123456"),
        (
            "datetime",
            "2019-03-15T10:00:00-05:00",
            dt.datetime(2019, 3, 15, 10, tzinfo=MINUS_5),
            "2019-03-15T10:00:00-05:00",
        ),
        ("datetime", "2019-03-15T10:00:00Z", dt.datetime(2019, 3, 15, 10, tzinfo=UTC), None),
        ("partialDate", "2019", PartialDate(2019), "2019"),
        ("partialDate", "2019-03", PartialDate(2019, 3), "2019-03"),
        ("partialDate", "2019-03-15", PartialDate(2019, 3, 15), "2019-03-15"),
        ("partialTime", "14", PartialTime(14), "14"),
        ("partialTime", "14:30Z", PartialTime(14, 30, tzinfo=UTC), "14:30Z"),
        ("partialTime", "14:30:05.25", PartialTime(14, 30, 5, 250000), "14:30:05.25"),
        ("partialDatetime", "2019-03", PartialDatetime(PartialDate(2019, 3)), "2019-03"),
        (
            "partialDatetime",
            "2019-03-15T14",
            PartialDatetime(PartialDate(2019, 3, 15), PartialTime(14)),
            "2019-03-15T14",
        ),
        ("incompleteDate", "2004---15", PartialDate(2004, None, 15), "2004---15"),
        ("incompleteDate", "--12-15", PartialDate(None, 12, 15), "--12-15"),
        ("incompleteDate", "-----", PartialDate(None, None, None), "-----"),
        ("incompleteDate", "2004-12--", PartialDate(2004, 12), "2004-12"),
        ("incompleteDate", "2004-12", PartialDate(2004, 12), "2004-12"),
        ("incompleteDate", "--02-29", PartialDate(None, 2, 29), "--02-29"),
        ("incompleteTime", "14:-:-", PartialTime(14), "14"),
        ("incompleteTime", "-:30:-", PartialTime(None, 30), "-:30:-"),
        ("incompleteTime", "-:-:05.5Z", PartialTime(None, None, 5, 500000, UTC), "-:-:05.5Z"),
        (
            "incompleteDatetime",
            "2004---15T14:-:-",
            PartialDatetime(PartialDate(2004, None, 15), PartialTime(14)),
            "2004---15T14:-:-",
        ),
        (
            "incompleteDatetime",
            "2004-12--T-:30:-",
            PartialDatetime(PartialDate(2004, 12), PartialTime(None, 30)),
            "2004-12--T-:30:-",
        ),
        ("incompleteDatetime", "2004-12-01T01:01:01Z", None, "2004-12-01T01:01:01Z"),
        ("durationDatetime", "PT4H35M", Duration(hours=4, minutes=35), "PT4H35M"),
        ("durationDatetime", "PT36H", Duration(hours=36), "PT36H"),
        ("durationDatetime", "P2W", Duration(weeks=2), "P2W"),
        ("durationDatetime", "-P1Y2M", Duration(years=1, months=2, negative=True), "-P1Y2M"),
        ("durationDatetime", "PT1.50S", Duration(seconds=Decimal("1.50")), "PT1.5S"),
        ("durationDatetime", "P0D", Duration(), "PT0S"),
        ("durationDatetime", "-PT0S", Duration(), "PT0S"),
        ("durationDatetime", "-P0W", Duration(), "PT0S"),
        (
            "intervalDatetime",
            "2019-01-01/2019-03-31",
            Interval(
                start=PartialDatetime(PartialDate(2019, 1, 1)),
                end=PartialDatetime(PartialDate(2019, 3, 31)),
            ),
            "2019-01-01/2019-03-31",
        ),
        (
            "intervalDatetime",
            "2019-01-01T08:00/PT4H",
            Interval(
                start=PartialDatetime(PartialDate(2019, 1, 1), PartialTime(8, 0)),
                duration=Duration(hours=4),
            ),
            "2019-01-01T08:00/PT4H",
        ),
        (
            "intervalDatetime",
            "P1D/2019-01",
            Interval(end=PartialDatetime(PartialDate(2019, 1)), duration=Duration(days=1)),
            "P1D/2019-01",
        ),
        ("hexBinary", "0fa3", b"\x0f\xa3", "0FA3"),
        ("hexFloat", "3FF0000000000000", bytes.fromhex("3FF0000000000000"), None),
        ("base64Binary", "SGVs bG8=", b"Hello", "SGVsbG8="),
        ("base64Float", "P/AAAAAAAAA=", bytes.fromhex("3FF0000000000000"), None),
        ("URI", " https://example.org/a%20b?x=1#top ", "https://example.org/a%20b?x=1#top", None),
        ("URI", "../forms/ae.xml", "../forms/ae.xml", None),
    ],
)
def test_valid_values(data_type: str, text: str, value: object, canonical: str | None) -> None:
    result = ok(data_type, text)
    if value is not None:
        assert result.value == value
        assert type(result.value) is type(value)
    assert result.canonical == (canonical if canonical is not None else text.strip())


def test_nan_is_a_double() -> None:
    result = ok("double", "NaN")
    assert isinstance(result.value, Decimal)
    assert result.value.is_nan()
    assert result.canonical == "NaN"


DATE = "Write YYYY-MM-DD, e.g. 2019-12-01."
TIME = "Write hh:mm:ss with an optional time zone, e.g. 14:30:00+01:00."
DATETIME = "Write YYYY-MM-DDThh:mm:ss with an optional time zone, e.g. 2019-12-01T14:30:00."
PARTIAL_DATE = "Write YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2019-12."
NUMBER = "Write digits with an optional sign, decimal point and exponent, e.g. 3.14 or 1.2E3."
DURATION = (
    "Write PnYnMnDTnHnMnS or PnW, e.g. P1Y2M10D, PT4H35M or P2W; only the seconds may have "
    "decimals."
)
INTERVAL = (
    "Write start/end, start/duration or duration/end, e.g. 2019-01-01/2019-03-31 or "
    "2019-01-01T08:00/PT4H."
)
BOOLEAN = "Write true or false (1 and 0 are accepted too)."
HEX = "Write pairs of digits 0-9 and A-F, e.g. 0FA3."
BASE64 = "Write base64 characters padded with = to a multiple of 4, e.g. SGVsbG8=."


@pytest.mark.parametrize(
    ("data_type", "text", "message"),
    [
        ("date", "2019-13-01", f"'2019-13-01' is not a date: month 13 does not exist. {DATE}"),
        ("date", "2019-00-01", f"'2019-00-01' is not a date: month 00 does not exist. {DATE}"),
        (
            "date",
            "2019-02-29",
            f"'2019-02-29' is not a date: 2019 is not a leap year, so February has 28 days. {DATE}",
        ),
        (
            "date",
            "1900-02-29",
            f"'1900-02-29' is not a date: 1900 is not a leap year, so February has 28 days. {DATE}",
        ),
        ("date", "2019-04-31", f"'2019-04-31' is not a date: April has 30 days. {DATE}"),
        ("date", "2019-03", f"'2019-03' is not a date: the day is missing. {DATE}"),
        ("date", "15.03.2019", f"'15.03.2019' is not a date. {DATE}"),
        ("date", "2019-3-5", f"'2019-3-5' is not a date. {DATE}"),
        ("date", "٢٠١٩-03-15", f"'٢٠١٩-03-15' is not a date. {DATE}"),
        (
            "time",
            "24:00:00",
            "'24:00:00' is not a time: hour 24 does not exist; midnight is 00:00:00 of the next "
            f"day. {TIME}",
        ),
        ("time", "14:60:00", f"'14:60:00' is not a time: minute 60 does not exist. {TIME}"),
        ("time", "14:30", f"'14:30' is not a time: the seconds are missing. {TIME}"),
        ("time", "14", f"'14' is not a time: the minutes are missing. {TIME}"),
        (
            "time",
            "14:30:00+14:30",
            f"'14:30:00+14:30' is not a time: time zone offset +14:30 is beyond ±14:00. {TIME}",
        ),
        (
            "time",
            "14:30:00+01:75",
            f"'14:30:00+01:75' is not a time: time zone minute 75 does not exist. {TIME}",
        ),
        ("time", "2:30:00 PM", f"'2:30:00 PM' is not a time. {TIME}"),
        (
            "datetime",
            "2019-03-15",
            f"'2019-03-15' is not a datetime: the time is missing. {DATETIME}",
        ),
        (
            "datetime",
            "2019-03-15T24:00:00",
            "'2019-03-15T24:00:00' is not a datetime: hour 24 does not exist; midnight is "
            f"00:00:00 of the next day. {DATETIME}",
        ),
        ("datetime", "2019-03-15 10:00:00", f"'2019-03-15 10:00:00' is not a datetime. {DATETIME}"),
        (
            "partialDate",
            "2004---15",
            "'2004---15' is not a partial date: '-' for an unknown part is allowed only in "
            f"incomplete dates. {PARTIAL_DATE}",
        ),
        (
            "partialDate",
            "0000",
            f"'0000' is not a partial date: year 0000 is outside 0001 to 9999. {PARTIAL_DATE}",
        ),
        (
            "partialDatetime",
            "2019-03T10",
            "'2019-03T10' is not a partial datetime: a time may follow only a complete date "
            "(YYYY-MM-DD). Write YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD followed by T and hh, "
            "hh:mm or hh:mm:ss, e.g. 2019-12-01T14:30.",
        ),
        (
            "incompleteDate",
            "--02-30",
            "'--02-30' is not an incomplete date: February has at most 29 days. Write "
            "YYYY-MM-DD with a single '-' for each unknown part, e.g. 2019---15 or --12-15.",
        ),
        (
            "incompleteDatetime",
            "2019-03T10",
            "'2019-03T10' is not an incomplete datetime: before a time, write every date part "
            "with '-' for unknown ones, e.g. 2019-03--T14:30. Write YYYY-MM-DDThh:mm:ss with a "
            "single '-' for each unknown part, e.g. 2019---15T14:-:-.",
        ),
        (
            "partialTime",
            "-:30:-",
            "'-:30:-' is not a partial time: '-' for an unknown part is allowed only in "
            "incomplete times. Write hh, hh:mm or hh:mm:ss, e.g. 14:30.",
        ),
        (
            "integer",
            "1.5",
            "'1.5' is not an integer: it is not a whole number. Write digits with an optional "
            "sign, e.g. 42 or -7.",
        ),
        (
            "integer",
            "INF",
            "'INF' is not an integer. Write digits with an optional sign, e.g. 42 or -7.",
        ),
        (
            "float",
            "1,5",
            f"'1,5' is not a number: write the decimal separator as a point, not a comma. {NUMBER}",
        ),
        ("float", "inf", f"'inf' is not a number: write INF, -INF or NaN exactly so. {NUMBER}"),
        ("float", "1.2.3", f"'1.2.3' is not a number. {NUMBER}"),
        (
            "double",
            "1E999",
            f"'1E999' is not a number: it is out of range (1E-400 to 1E+400). {NUMBER}",
        ),
        (
            "boolean",
            "Yes",
            "'Yes' is not a boolean: Yes/No answers belong in a CodeList, not a boolean. "
            + BOOLEAN,
        ),
        ("boolean", "TRUE", f"'TRUE' is not a boolean: write it in lower case. {BOOLEAN}"),
        ("boolean", "2", f"'2' is not a boolean. {BOOLEAN}"),
        ("durationDatetime", "PT1.5H", f"'PT1.5H' is not a duration. {DURATION}"),
        ("durationDatetime", "P1W2D", f"'P1W2D' is not a duration. {DURATION}"),
        (
            "durationDatetime",
            "P1DT",
            "'P1DT' is not a duration: T must be followed by hours, minutes or seconds. "
            + DURATION,
        ),
        ("durationDatetime", "P", f"'P' is not a duration: it has no components. {DURATION}"),
        (
            "durationDatetime",
            "P1234567890D",
            f"'P1234567890D' is not a duration: a component has more than 9 digits. {DURATION}",
        ),
        (
            "durationDatetime",
            "P" + "9" * 5000 + "W",
            f"'P{'9' * 38}…' is not a duration. {DURATION}",
        ),
        (
            "intervalDatetime",
            "2019-03-31/2019-01-01",
            f"'2019-03-31/2019-01-01' is not an interval: the end is before the start. {INTERVAL}",
        ),
        (
            "intervalDatetime",
            "P1D/P2D",
            f"'P1D/P2D' is not an interval: only one of its parts may be a duration. {INTERVAL}",
        ),
        (
            "intervalDatetime",
            "2019-01-01",
            "'2019-01-01' is not an interval: it needs exactly one '/' between its two parts. "
            f"{INTERVAL}",
        ),
        (
            "intervalDatetime",
            "2019-01-01/-P1D",
            "'2019-01-01/-P1D' is not an interval: the duration of an interval cannot be "
            f"negative. {INTERVAL}",
        ),
        (
            "hexBinary",
            "0FA",
            f"'0FA' is not hexadecimal binary: it has an odd number of digits; each byte takes "
            f"two. {HEX}",
        ),
        ("hexFloat", "0G", f"'0G' is not a hexadecimal float. {HEX}"),
        (
            "base64Binary",
            "SGVsbG8",
            f"'SGVsbG8' is not base64 binary: its length is not a multiple of 4; pad it with =. "
            f"{BASE64}",
        ),
        (
            "base64Binary",
            "SGVsbG9=",
            "'SGVsbG9=' is not base64 binary: its last character before the padding carries "
            f"stray bits. {BASE64}",
        ),
        (
            "URI",
            "http://example.org/a b",
            "'http://example.org/a b' is not a URI: it contains a space; write a space as %20. "
            "Write a URI without spaces, e.g. https://example.org/a%20b.",
        ),
        (
            "text",
            "a\x00b",
            "The value contains the character U+0000, which XML cannot carry. Remove it.",
        ),
        ("text", "", "The value is empty; text is expected. Enter at least one character."),
        (
            "string",
            "a\x1bb",
            "The value contains the character U+001B, which XML cannot carry. Remove it.",
        ),
        (
            "incompleteTime",
            "14:-",
            "'14:-' is not an incomplete time. Write hh:mm:ss with a single '-' for each unknown "
            "part, e.g. 14:-:- or -:30:-.",
        ),
        (
            "base64Float",
            "P/AA AAA",
            "'P/AA AAA' is not a base64 float: its length is not a multiple of 4; pad it with =. "
            + BASE64,
        ),
        ("date", "  ", f"The value is empty; a date is expected. {DATE}"),
    ],
)
def test_invalid_values(data_type: str, text: str, message: str) -> None:
    assert problem(data_type, text) == message


def test_integer_with_too_many_digits_for_python() -> None:
    assert problem("integer", "9" * 4001).endswith(
        "is not an integer: it has more than 4000 digits. Write digits with an optional sign, "
        "e.g. 42 or -7."
    )


@pytest.mark.parametrize(
    ("data_type", "text", "limits", "message"),
    [
        (
            "text",
            "abcdef",
            {"length": 4},
            "The value is 6 characters long; at most 4 are allowed (Length=4). Shorten it.",
        ),
        (
            "integer",
            "-12345",
            {"length": 4},
            "'-12345' has 5 digits; at most 4 are allowed (Length=4). Check the value; if it is "
            "right, the ItemDef's Length is too small.",
        ),
        (
            "float",
            "1.235",
            {"length": 5, "significant_digits": 2},
            "'1.235' has 3 digits after the decimal point; at most 2 are allowed "
            "(SignificantDigits=2). Round it, e.g. to 1.24.",
        ),
        (
            "float",
            "9.999",
            {"significant_digits": 0},
            "'9.999' has 3 digits after the decimal point; at most 0 are allowed "
            "(SignificantDigits=0). Round it, e.g. to 10.",
        ),
        (
            "float",
            "12345.6",
            {"length": 5, "significant_digits": 1},
            "'12345.6' has 6 digits; at most 5 are allowed (Length=5). Check the value; if it is "
            "right, the ItemDef's Length is too small.",
        ),
        (
            "integer",
            "1" * 60,
            {"length": 59},
            f"'{'1' * 39}…' has 60 digits; at most 59 are allowed (Length=59). Check the value; "
            "if it is right, the ItemDef's Length is too small.",
        ),
        (
            "hexBinary",
            "0FA3",
            {"length": 2},
            "The value is 4 characters long; at most 2 are allowed (Length=2). Shorten it.",
        ),
    ],
)
def test_length_and_significant_digits(
    data_type: str, text: str, limits: dict[str, int], message: str
) -> None:
    assert problem(data_type, text, **limits) == message


@pytest.mark.parametrize(
    ("data_type", "text", "limits"),
    [
        ("text", "abcd", {"length": 4}),
        ("text", "äöüß", {"length": 4}),
        ("integer", "-1234", {"length": 4}),
        ("integer", "0001234", {"length": 4}),
        ("float", "0.5", {"length": 1, "significant_digits": 1}),
        ("float", "123.45", {"length": 5, "significant_digits": 2}),
        ("float", "1.2E2", {"length": 3, "significant_digits": 0}),
        ("float", "1.20", {"length": 3, "significant_digits": 2}),
        ("double", "INF", {"length": 1, "significant_digits": 0}),
        ("date", "2019-03-15", {"length": 8}),  # Length does not apply to dates
    ],
)
def test_within_limits(data_type: str, text: str, limits: dict[str, int]) -> None:
    ok(data_type, text, **limits)


def test_unknown_data_type_is_a_fault_not_a_problem() -> None:
    with pytest.raises(ValueError, match=r"'decimal' is not an ODM 1\.3\.2 DataType"):
        parse_value("decimal", "1")
    with pytest.raises(ValueError, match=r"'Date' is not an ODM 1\.3\.2 DataType"):
        python_kind("Date")


def test_format_value_checks_the_python_type() -> None:
    with pytest.raises(TypeError, match="a integer value must be int, not bool"):
        format_value("integer", True)
    with pytest.raises(TypeError, match="a date value must be date, not datetime"):
        format_value("date", dt.datetime(2019, 1, 1))
    with pytest.raises(ValueError, match="2019---15 has an unknown part before a known one"):
        format_value("partialDate", PartialDate(2019, None, 15))
    assert format_value("incompleteDate", PartialDate(2019, None, 15)) == "2019---15"
    assert format_value("partialDate", dt.date(2019, 3, 15)) == "2019-03-15"
    assert format_value("float", 0.1) == "0.1"
    berlin = dt.datetime(2019, 7, 1, 10, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    assert format_value("datetime", berlin) == "2019-07-01T10:00:00+02:00"
    assert format_value("double", 12) == "12"


def test_partial_values_validate_on_construction() -> None:
    with pytest.raises(ValueError, match="2019 is not a leap year"):
        PartialDate(2019, 2, 29)
    with pytest.raises(ValueError, match="hour 24 does not exist"):
        PartialTime(24)
    with pytest.raises(ValueError, match="a fraction of a second needs the seconds"):
        PartialTime(10, 30, None, 5)
    with pytest.raises(ValueError, match="Duration components are not negative"):
        Duration(days=-1)
    with pytest.raises(ValueError, match="exactly two of start, end and duration"):
        Interval(duration=Duration(days=1))


def test_partial_date_bounds() -> None:
    assert PartialDate(2019).earliest() == dt.date(2019, 1, 1)
    assert PartialDate(2019).latest() == dt.date(2019, 12, 31)
    assert PartialDate(2020, 2).latest() == dt.date(2020, 2, 29)
    assert PartialDate(2019, None, 31).earliest() == dt.date(2019, 1, 31)
    assert PartialDate(2019, None, 31).latest() == dt.date(2019, 12, 31)
    assert PartialDate(None, 2, 29).earliest() == dt.date(4, 2, 29)
    assert PartialDate(None, 2, 29).latest() == dt.date(9996, 2, 29)
    assert PartialDate(2019, 3).is_complete() is False
    assert PartialDate(2019, 3, 1).is_complete() is True


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (PartialDate(2019, 3), dt.date(2019, 3, 15), None),
        (PartialDate(2019, 3), dt.date(2019, 4, 1), -1),
        (PartialDate(2019, 3), dt.date(2019, 2, 28), 1),
        (PartialDate(2019), PartialDate(2019), None),
        (PartialDate(2019, 3, 15), PartialDate(2019, 3, 15), 0),
        (PartialDate(2019, 3, 15), dt.date(2019, 3, 15), 0),
        (PartialDate(2019, None, 15), PartialDate(2019, 6, 20), None),
        (PartialDate(None, 3, 15), PartialDate(None, 3, 16), None),
        (PartialDate(2018), PartialDate(2019), -1),
    ],
)
def test_partial_date_compare(
    a: PartialDate, b: PartialDate | dt.date, expected: int | None
) -> None:
    assert a.compare(b) == expected
    assert compare_values("partialDate", a, b) == expected


@pytest.mark.parametrize(
    ("data_type", "a", "b", "expected"),
    [
        ("integer", "10", "9", 1),
        ("float", "1.50", "1.5", 0),
        ("double", "NaN", "1", None),
        ("double", "-INF", "-1E300", -1),
        ("time", "10:00:00+01:00", "09:00:00Z", 0),
        ("time", "10:00:00+01:00", "09:30:00Z", -1),
        ("time", "10:00:00", "09:00:00Z", None),  # local time vs UTC: ±14:00 apart at most
        ("time", "23:00:00", "09:00:00Z", None),  # 23:00+14:00 is 09:00Z
        ("time", "23:30:00", "09:00:00Z", 1),
        ("datetime", "2019-03-15T10:00:00-05:00", "2019-03-15T15:00:00Z", 0),
        ("datetime", "2019-03-15T10:00:00", "2019-03-15T10:00:01", -1),
        ("partialTime", "10", "10:30", None),
        ("partialTime", "10", "11:00", -1),
        ("partialDatetime", "2019-03-15T10", "2019-03-15", None),
        ("partialDatetime", "2019-03-15T10", "2019-03-16", -1),
        ("incompleteDatetime", "2019---15T10:-:-", "2020-01-01T00:00:00", -1),
        ("incompleteTime", "-:30:-", "10:15:00", None),
        ("durationDatetime", "P1M", "P30D", None),
        ("durationDatetime", "P1M", "P32D", -1),
        ("durationDatetime", "PT36H", "P1DT12H", 0),
        ("durationDatetime", "P1Y", "P365D", None),
        ("durationDatetime", "-P1D", "PT0S", -1),
        ("durationDatetime", "P2W", "P13D", 1),
    ],
)
def test_compare_values(data_type: str, a: str, b: str, expected: int | None) -> None:
    assert compare_values(data_type, ok(data_type, a).value, ok(data_type, b).value) == expected


def test_compare_values_across_date_kinds_and_errors() -> None:
    assert compare_values("date", dt.date(2019, 3, 15), PartialDate(2019, 3)) is None
    assert compare_values("datetime", dt.datetime(2019, 3, 15, 10), dt.date(2019, 3, 15)) is None
    assert compare_values("datetime", dt.datetime(2019, 3, 16, 10), dt.date(2019, 3, 15)) == 1
    with pytest.raises(TypeError, match="a time of day cannot be compared"):
        compare_values("date", dt.time(10), dt.date(2019, 3, 15))
    with pytest.raises(ValueError, match="values of DataType text have no order"):
        compare_values("text", "a", "b")


def test_kinds_and_order() -> None:
    kinds = {data_type: python_kind(data_type) for data_type in sorted(DATA_TYPES)}
    assert kinds == {
        "URI": "uri",
        "base64Binary": "binary",
        "base64Float": "binary",
        "boolean": "boolean",
        "date": "date",
        "datetime": "datetime",
        "double": "number",
        "durationDatetime": "duration",
        "float": "number",
        "hexBinary": "binary",
        "hexFloat": "binary",
        "incompleteDate": "date",
        "incompleteDatetime": "datetime",
        "incompleteTime": "time",
        "integer": "integer",
        "intervalDatetime": "interval",
        "partialDate": "date",
        "partialDatetime": "datetime",
        "partialTime": "time",
        "string": "text",
        "text": "text",
        "time": "time",
    }
    orderable = {data_type for data_type in DATA_TYPES if is_orderable(data_type)}
    assert orderable == {
        "integer",
        "float",
        "double",
        "date",
        "time",
        "datetime",
        "partialDate",
        "partialTime",
        "partialDatetime",
        "incompleteDate",
        "incompleteTime",
        "incompleteDatetime",
        "durationDatetime",
    }


# --- properties -----------------------------------------------------------------------------

LIMIT = st.none() | st.integers(min_value=0, max_value=30)

LEXICAL_LIKE = {
    "integer": r"[+-]?[0-9]{1,25}",
    "float": r"[+-]?[0-9]{0,8}(\.[0-9]{0,8})?([eE][+-]?[0-9]{1,3})?",
    "double": r"[+-]?[0-9]{0,8}(\.[0-9]{0,8})?([eE][+-]?[0-9]{1,3})?|[+-]?INF|NaN",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "time": r"[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\.[0-9]{1,9})?(Z|[+-]1?[0-9]:[0-9]{2})?",
    "datetime": r"[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](Z|[+-]0[0-9]:00)?",
    "partialDate": r"[0-9]{4}(-[01][0-9](-[0-3][0-9])?)?",
    "partialTime": r"[0-2][0-9](:[0-6][0-9](:[0-6][0-9](\.[0-9]{1,3})?)?)?(Z|[+-]0[0-9]:[0-5]0)?",
    "partialDatetime": r"[0-9]{4}(-[01][0-9](-[0-3][0-9](T[0-2][0-9](:[0-5][0-9])?)?)?)?",
    "incompleteDate": r"([0-9]{4}|-)-([01][0-9]|-)-([0-3][0-9]|-)",
    "incompleteTime": r"([0-2][0-9]|-):([0-5][0-9]|-):([0-5][0-9](\.[0-9]{1,3})?|-)Z?",
    "incompleteDatetime": r"([0-9]{4}|-)-([01][0-9]|-)-([0-3][0-9]|-)"
    r"(T([0-2][0-9]|-):([0-5][0-9]|-):([0-5][0-9]|-))?",
    "durationDatetime": r"-?P([0-9]{1,3}Y)?([0-9]{1,3}M)?([0-9]{1,3}D)?"
    r"(T([0-9]{1,3}H)?([0-9]{1,3}M)?([0-9]{1,3}(\.[0-9]{1,3})?S)?)?|-?P[0-9]{1,2}W",
    "intervalDatetime": r"[0-9]{4}(-[01][0-9](-[0-3][0-9])?)?/([0-9]{4}(-[01][0-9])?"
    r"|P[0-9]{1,2}[DMY])|P[0-9]{1,3}D/[0-9]{4}",
    "hexBinary": r"[0-9A-Fa-f]{0,12}",
    "base64Binary": r"([A-Za-z0-9+/]{4}){0,3}([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?",
    "boolean": r"true|false|1|0|True|yes",
    "URI": r"[a-z]{1,5}:[!-~]{0,20}",
}


def check_round_trip(data_type: str, text: str, length: int | None, digits: int | None) -> None:
    result = parse_value(data_type, text, length=length, significant_digits=digits)
    assert isinstance(result, Parsed | DataTypeProblem)
    if isinstance(result, Parsed):
        assert format_value(data_type, result.value) == result.canonical
        again = parse_value(data_type, result.canonical)
        assert isinstance(again, Parsed), again
        assert again.canonical == result.canonical
    else:
        assert result.message.endswith(".")


@pytest.mark.parametrize("data_type", sorted(DATA_TYPES))
@given(text=st.text(), length=LIMIT, digits=LIMIT)
def test_any_text_never_raises(
    data_type: str, text: str, length: int | None, digits: int | None
) -> None:
    check_round_trip(data_type, text, length, digits)


@pytest.mark.parametrize("data_type", sorted(LEXICAL_LIKE))
@given(data=st.data(), length=LIMIT, digits=LIMIT)
def test_lexical_like_text_round_trips(
    data_type: str, data: st.DataObject, length: int | None, digits: int | None
) -> None:
    text = data.draw(st.from_regex(LEXICAL_LIKE[data_type], fullmatch=True))
    check_round_trip(data_type, text, length, digits)


@pytest.mark.parametrize("data_type", ["hexBinary", "hexFloat", "base64Binary", "base64Float"])
@given(value=st.binary(min_size=1))
def test_binary_round_trips(data_type: str, value: bytes) -> None:
    assert ok(data_type, format_value(data_type, value)).value == value


@st.composite
def partial_dates(draw: st.DrawFn, *, incomplete: bool = False) -> PartialDate:
    day = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
    if incomplete:
        keep = draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    else:
        known = draw(st.integers(min_value=1, max_value=3))
        keep = (True, known >= 2, known >= 3)
    year, month, dom = (
        part if kept else None
        for part, kept in zip((day.year, day.month, day.day), keep, strict=True)
    )
    return PartialDate(year, month, dom)


@given(st.dates(), st.dates())
def test_complete_dates_compare_like_dates(a: dt.date, b: dt.date) -> None:
    expected = (a > b) - (a < b)
    assert PartialDate.from_date(a).compare(PartialDate.from_date(b)) == expected
    assert PartialDate.from_date(a).compare(b) == expected


@given(partial_dates(incomplete=True), partial_dates(incomplete=True))
def test_partial_compare_is_none_exactly_when_bounds_overlap(
    a: PartialDate, b: PartialDate
) -> None:
    result = a.compare(b)
    overlap = not (a.latest() < b.earliest() or a.earliest() > b.latest())
    both_same_day = a.is_complete() and b.is_complete() and a == b
    if both_same_day:
        assert result == 0
    else:
        assert (result is None) == overlap
        if result is not None:
            assert result == (-1 if a.latest() < b.earliest() else 1)
    assert b.compare(a) == (None if result is None else -result)


@given(partial_dates(incomplete=True), st.dates())
def test_partial_compare_is_sound(a: PartialDate, day: dt.date) -> None:
    """A certain answer holds for every date the partial date may be."""
    assert a.earliest() <= a.latest()
    for bound in (a.earliest(), a.latest()):
        for known, part in ((a.year, bound.year), (a.month, bound.month), (a.day, bound.day)):
            assert known in (None, part)
        result = a.compare(day)
        if result is not None:
            assert result == (bound > day) - (bound < day)


@given(partial_dates())
def test_partial_dates_round_trip(value: PartialDate) -> None:
    text = format_value("partialDate", value)
    assert ok("partialDate", text).value == value
    assert ok("incompleteDate", text).value == value


@given(partial_dates(incomplete=True))
def test_incomplete_dates_round_trip(value: PartialDate) -> None:
    text = format_value("incompleteDate", value)
    assert ok("incompleteDate", text).value == value
    assert ok("incompleteDate", value.dashed()).value == value


@given(
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.none() | st.just(UTC) | st.just(PLUS_1) | st.just(MINUS_5),
    ),
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(UTC) | st.just(PLUS_1),
    ),
)
def test_datetimes_round_trip_and_compare(a: dt.datetime, b: dt.datetime) -> None:
    text = format_value("datetime", a)
    assert ok("datetime", text).value == a
    result = compare_values("datetime", a, b)
    if a.tzinfo is not None:
        assert result == (a > b) - (a < b)
    else:  # local time: certain only when more than 14 hours from b
        gap = a - b.astimezone(UTC).replace(tzinfo=None)
        if abs(gap) > dt.timedelta(hours=14):
            assert result == (1 if gap > dt.timedelta(0) else -1)
        else:
            assert result is None


@given(
    st.tuples(*(st.integers(min_value=0, max_value=500) for _ in range(5))),
    st.tuples(*(st.integers(min_value=0, max_value=500) for _ in range(5))),
)
def test_day_time_durations_always_compare(
    a: tuple[int, int, int, int, int], b: tuple[int, int, int, int, int]
) -> None:
    left = Duration(weeks=a[0], days=a[1], hours=a[2], minutes=a[3], seconds=Decimal(a[4]))
    right = Duration(weeks=b[0], days=b[1], hours=b[2], minutes=b[3], seconds=Decimal(b[4]))

    def seconds(d: Duration) -> int:
        return (((d.weeks * 7 + d.days) * 24 + d.hours) * 60 + d.minutes) * 60 + int(d.seconds)

    expected = (seconds(left) > seconds(right)) - (seconds(left) < seconds(right))
    assert left.compare(right) == expected
    assert compare_values("durationDatetime", left, right) == expected


def check_canonical_text(data_type: str, text: str, length: int | None, digits: int | None) -> None:
    """The bulk import's fast canonical_text agrees with parse_value on every text."""
    fast = canonical_text(data_type, text, length=length, significant_digits=digits)
    slow = parse_value(data_type, text, length=length, significant_digits=digits)
    assert fast == (slow.canonical if isinstance(slow, Parsed) else slow)


@pytest.mark.parametrize("data_type", sorted(DATA_TYPES))
@given(text=st.text(), length=LIMIT, digits=LIMIT)
def test_canonical_text_agrees_with_parse_value(
    data_type: str, text: str, length: int | None, digits: int | None
) -> None:
    check_canonical_text(data_type, text, length, digits)


FAST_PATH_LIKE = {
    "text": r"[ -~]{0,40}",
    "string": r"[ -~]{0,40}|[a-z\t]{0,5}",
    "integer": r"[+-]?[0-9]{1,12}|-?0+",
    "float": r"-?[0-9]{1,12}(\.[0-9]{1,12})?|-?0+(\.0*)?",
    "double": r"-?[0-9]{1,12}(\.[0-9]{1,12})?|-?0+(\.0*)?",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[1-9][0-9]{3}-(0[1-9]|1[0-2])-([0-2][0-9]|3[01])",
}


@pytest.mark.parametrize("data_type", sorted(FAST_PATH_LIKE))
@given(data=st.data(), length=LIMIT, digits=LIMIT)
def test_canonical_text_fast_paths_agree_with_parse_value(
    data_type: str, data: st.DataObject, length: int | None, digits: int | None
) -> None:
    text = data.draw(st.from_regex(FAST_PATH_LIKE[data_type], fullmatch=True))
    check_canonical_text(data_type, text, length, digits)


@pytest.mark.parametrize(
    ("data_type", "text"),
    [
        ("integer", "0"), ("integer", "-0"), ("integer", "007"), ("integer", "-12"),
        ("float", "0"), ("float", "-0"), ("float", "-0.0"), ("float", "0.050"),
        ("float", "-0.5"), ("float", "10.25"), ("float", "1" * 301), ("double", "12.5"),
        ("text", "abc"), ("text", "a\x7f"), ("text", "\u00b5mol"), ("string", ""),
        ("date", "2020-02-29"), ("date", "2021-02-29"), ("date", "0999-01-01"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("limits", [(None, None), (0, 0), (1, 1), (2, 1), (3, None)])
def test_canonical_text_edge_cases(
    data_type: str, text: str, limits: tuple[int | None, int | None]
) -> None:
    check_canonical_text(data_type, text, *limits)
