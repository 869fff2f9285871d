"""ODM 1.3.2 DataTypes: read, check, write and order ItemData values.

``parse_value`` turns the text of a value into a typed Python value and its canonical ODM text,
or into a ``DataTypeProblem`` whose message says what is wrong and how to write the value; it
never raises for any text. ``format_value`` is its inverse. ``compare_values`` orders two values
three-valuedly: ``None`` when the order is unknown, as for partial dates that may overlap.

Typed values by DataType:

==========================================  ============================================
text, string, URI                           ``str``
integer                                     ``int``
float, double                               ``decimal.Decimal`` (exact; NaN and ±Infinity)
boolean                                     ``bool``
date, time, datetime                        ``datetime.date`` / ``.time`` / ``.datetime``
partialDate, incompleteDate                 ``PartialDate``
partialTime, incompleteTime                 ``PartialTime``
partialDatetime, incompleteDatetime         ``PartialDatetime``
durationDatetime                            ``Duration``
intervalDatetime                            ``Interval``
hexBinary, base64Binary, hexFloat,          ``bytes``
base64Float
==========================================  ============================================
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import partial
from typing import TypeVar

from odm_engine.partial_dates import (
    LexicalError,
    PartialDate,
    PartialDatetime,
    PartialTime,
    Temporal,
    compare_temporal,
    parse_date,
    parse_datetime,
    parse_time,
)

__all__ = [
    "DATA_TYPES",
    "DataTypeProblem",
    "Duration",
    "Interval",
    "Parsed",
    "PartialDate",
    "PartialDatetime",
    "PartialTime",
    "canonical_checker",
    "canonical_text",
    "compare_values",
    "format_value",
    "is_orderable",
    "parse_value",
    "python_kind",
]

# DataType -> (coarse kind for the expression type checker, noun phrase, how to write it)
_SPEC: dict[str, tuple[str, str, str]] = {
    "text": ("text", "text", "Enter at least one character."),
    "string": ("text", "text", "Enter at least one character."),
    "integer": ("integer", "an integer", "Write digits with an optional sign, e.g. 42 or -7."),
    "float": (
        "number",
        "a number",
        "Write digits with an optional sign, decimal point and exponent, e.g. 3.14 or 1.2E3.",
    ),
    "double": (
        "number",
        "a number",
        "Write digits with an optional sign, decimal point and exponent, e.g. 3.14 or 1.2E3.",
    ),
    "boolean": ("boolean", "a boolean", "Write true or false (1 and 0 are accepted too)."),
    "date": ("date", "a date", "Write YYYY-MM-DD, e.g. 2019-12-01."),
    "time": ("time", "a time", "Write hh:mm:ss with an optional time zone, e.g. 14:30:00+01:00."),
    "datetime": (
        "datetime",
        "a datetime",
        "Write YYYY-MM-DDThh:mm:ss with an optional time zone, e.g. 2019-12-01T14:30:00.",
    ),
    "partialDate": ("date", "a partial date", "Write YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2019-12."),
    "partialTime": ("time", "a partial time", "Write hh, hh:mm or hh:mm:ss, e.g. 14:30."),
    "partialDatetime": (
        "datetime",
        "a partial datetime",
        "Write YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD followed by T and hh, hh:mm or hh:mm:ss, "
        "e.g. 2019-12-01T14:30.",
    ),
    "incompleteDate": (
        "date",
        "an incomplete date",
        "Write YYYY-MM-DD with a single '-' for each unknown part, e.g. 2019---15 or --12-15.",
    ),
    "incompleteTime": (
        "time",
        "an incomplete time",
        "Write hh:mm:ss with a single '-' for each unknown part, e.g. 14:-:- or -:30:-.",
    ),
    "incompleteDatetime": (
        "datetime",
        "an incomplete datetime",
        "Write YYYY-MM-DDThh:mm:ss with a single '-' for each unknown part, e.g. 2019---15T14:-:-.",
    ),
    "durationDatetime": (
        "duration",
        "a duration",
        "Write PnYnMnDTnHnMnS or PnW, e.g. P1Y2M10D, PT4H35M or P2W; "
        "only the seconds may have decimals.",
    ),
    "intervalDatetime": (
        "interval",
        "an interval",
        "Write start/end, start/duration or duration/end, "
        "e.g. 2019-01-01/2019-03-31 or 2019-01-01T08:00/PT4H.",
    ),
    "hexBinary": ("binary", "hexadecimal binary", "Write pairs of digits 0-9 and A-F, e.g. 0FA3."),
    "hexFloat": ("binary", "a hexadecimal float", "Write pairs of digits 0-9 and A-F, e.g. 0FA3."),
    "base64Binary": (
        "binary",
        "base64 binary",
        "Write base64 characters padded with = to a multiple of 4, e.g. SGVsbG8=.",
    ),
    "base64Float": (
        "binary",
        "a base64 float",
        "Write base64 characters padded with = to a multiple of 4, e.g. SGVsbG8=.",
    ),
    "URI": ("uri", "a URI", "Write a URI without spaces, e.g. https://example.org/a%20b."),
}

DATA_TYPES: frozenset[str] = frozenset(_SPEC)
"""The 22 values of ItemDef/@DataType in ODM 1.3.2."""

_TEXT_TYPES = frozenset({"text", "string"})
_CHARACTER_LENGTH_TYPES = frozenset(
    {"text", "string", "URI", "hexBinary", "hexFloat", "base64Binary", "base64Float"}
)
_ORDERABLE_KINDS = frozenset({"integer", "number", "date", "time", "datetime", "duration"})
_XML_SPACE = " \t\n\r"
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_INTEGER = re.compile(r"[+-]?([0-9]+)")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?")
_SPECIAL_NUMBERS = {
    "INF": Decimal("Infinity"),
    "+INF": Decimal("Infinity"),
    "-INF": Decimal("-Infinity"),
    "NaN": Decimal("NaN"),
}
_MAX_INTEGER_DIGITS = 4000  # CPython refuses to convert longer digit strings to int
_MAX_EXPONENT = 400  # beyond the range of xs:double (about 1E-324 to 1E+308)
_HEX = re.compile(r"[0-9A-Fa-f]*")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_DURATION = re.compile(
    r"(-)?P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)D)?"
    r"(T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?"
)
_DURATION_WEEKS = re.compile(r"(-)?P([0-9]{1,9})W")
_ZERO = Decimal(0)
_T = TypeVar("_T")
# xs:duration order: a duration is less than another when it is so from each of these starts
_DURATION_REFERENCES = ((1696, 9), (1697, 2), (1903, 3), (1903, 7))


@dataclass(frozen=True, slots=True)
class DataTypeProblem:
    """A value that is not of its DataType; the message says what is wrong and how to fix it."""

    message: str


@dataclass(frozen=True, slots=True)
class Parsed:
    """A valid value: typed Python value and canonical ODM text."""

    value: object
    canonical: str


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 0000-03-01 in the proleptic Gregorian calendar, for any year."""
    year -= month <= 2
    era, year_of_era = divmod(year, 400)
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO 8601 duration as written: components are not carried over (PT36H stays)."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: Decimal = _ZERO
    negative: bool = False

    def __post_init__(self) -> None:
        amounts = (self.years, self.months, self.weeks, self.days, self.hours, self.minutes)
        if min(amounts) < 0 or not (self.seconds.is_finite() and self.seconds >= 0):
            raise ValueError("Duration components are not negative; set negative=True instead")

    def _instant_from(self, year: int, month: int) -> Decimal:
        sign = -1 if self.negative else 1
        shifted = year * 12 + month - 1 + sign * (self.years * 12 + self.months)
        days = _days_from_civil(shifted // 12, shifted % 12 + 1, 1)
        clock = ((self.weeks * 7 + self.days) * 24 + self.hours) * 60 + self.minutes
        return Decimal(days * 86_400) + sign * (Decimal(clock * 60) + self.seconds)

    def compare(self, other: Duration) -> int | None:
        """xs:duration order: None when it depends on the month lengths (P1M vs P30D)."""
        signs = set()
        for year, month in _DURATION_REFERENCES:
            difference = self._instant_from(year, month) - other._instant_from(year, month)
            signs.add((difference > 0) - (difference < 0))
        return signs.pop() if len(signs) == 1 else None

    def canonical(self) -> str:
        sign = "-" if self.negative else ""
        if self.weeks and not (self.years or self.months or self.days or self._has_time()):
            return f"{sign}P{self.weeks}W"
        days = self.days + 7 * self.weeks
        date = "".join(
            f"{amount}{unit}"
            for amount, unit in ((self.years, "Y"), (self.months, "M"), (days, "D"))
            if amount
        )
        seconds = format(self.seconds, "f")
        seconds = seconds.rstrip("0").rstrip(".") if "." in seconds else seconds
        time = "".join(
            f"{amount}{unit}"
            for amount, unit in ((self.hours, "H"), (self.minutes, "M"), (seconds, "S"))
            if amount and amount != "0"
        )
        if not date and not time:
            return "PT0S"
        return f"{sign}P{date}{'T' + time if time else ''}"

    def _has_time(self) -> bool:
        return bool(self.hours or self.minutes or self.seconds)


@dataclass(frozen=True, slots=True)
class Interval:
    """ISO 8601 time interval: start/end, start/duration or duration/end (two of the three)."""

    start: PartialDatetime | None = None
    end: PartialDatetime | None = None
    duration: Duration | None = None

    def __post_init__(self) -> None:
        if [self.start, self.end, self.duration].count(None) != 1:
            raise ValueError("an Interval has exactly two of start, end and duration")

    def canonical(self) -> str:
        parts = (self.start or self.duration, self.end or self.duration)
        return "/".join(part.canonical() for part in parts if part is not None)


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"


def _read_text(text: str) -> str:
    return text


def _read_uri(text: str) -> str:
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise LexicalError("it contains a control character")
    if re.search(r"\s", text):
        raise LexicalError("it contains a space; write a space as %20")
    return text


def _read_integer(text: str) -> int:
    match = _INTEGER.fullmatch(text)
    if match is None:
        raise LexicalError("it is not a whole number" if _NUMBER.fullmatch(text) else "")
    if len(match.group(1)) > _MAX_INTEGER_DIGITS:
        raise LexicalError(f"it has more than {_MAX_INTEGER_DIGITS} digits")
    return int(text)


def _read_decimal(text: str) -> Decimal:
    if text in _SPECIAL_NUMBERS:
        return _SPECIAL_NUMBERS[text]
    match = _NUMBER.fullmatch(text)
    if match is None:
        if _NUMBER.fullmatch(text.replace(",", ".", 1)):
            raise LexicalError("write the decimal separator as a point, not a comma")
        if text.upper().lstrip("+-") in ("INF", "INFINITY", "NAN"):
            raise LexicalError("write INF, -INF or NaN exactly so")
        raise LexicalError()
    exponent = match.group(1)
    value = Decimal(text) if not exponent or len(exponent.lstrip("+-").lstrip("0")) <= 6 else None
    if value is None or (value and abs(value.adjusted()) > _MAX_EXPONENT):
        raise LexicalError(f"it is out of range (1E-{_MAX_EXPONENT} to 1E+{_MAX_EXPONENT})")
    return value.copy_abs() if value.is_zero() else value


def _read_boolean(text: str) -> bool:
    values = {"true": True, "1": True, "false": False, "0": False}
    if text in values:
        return values[text]
    if text.lower() in values:
        raise LexicalError("write it in lower case")
    if text.lower() in ("yes", "no", "y", "n"):
        raise LexicalError("Yes/No answers belong in a CodeList, not a boolean")
    raise LexicalError()


def _read_hex(text: str) -> bytes:
    if not _HEX.fullmatch(text):
        raise LexicalError()
    if len(text) % 2:
        raise LexicalError("it has an odd number of digits; each byte takes two")
    return bytes.fromhex(text)


def _read_base64(text: str) -> bytes:
    compact = re.sub(r"[ \t\n\r]", "", text)
    if not _BASE64.fullmatch(compact):
        raise LexicalError()
    if len(compact) % 4:
        raise LexicalError("its length is not a multiple of 4; pad it with =")
    try:
        value = base64.b64decode(compact, validate=True)
    except binascii.Error:  # pragma: no cover - the pattern and length checks come first
        raise LexicalError() from None
    if base64.b64encode(value).decode("ascii") != compact:
        raise LexicalError("its last character before the padding carries stray bits")
    return value


def _read_date(text: str) -> dt.date:
    value = parse_date(text, dashed=False).to_date()
    if value is None:
        raise LexicalError("the day is missing")
    return value


def _read_time(text: str) -> dt.time:
    value = parse_time(text, dashed=False)
    clock = value.to_time()
    if clock is None:
        raise LexicalError(
            "the minutes are missing" if value.minute is None else "the seconds are missing"
        )
    return clock


def _read_datetime(text: str) -> dt.datetime:
    value = parse_datetime(text, dashed=False)
    if value.time is None:
        raise LexicalError("the time is missing")
    moment = value.to_datetime()
    if moment is None:
        raise LexicalError("the seconds are missing")
    return moment


def _read_duration(text: str) -> Duration:
    weeks = _DURATION_WEEKS.fullmatch(text)
    if weeks is not None:
        count = int(weeks.group(2))
        return Duration(weeks=count, negative=bool(weeks.group(1)) and count > 0)
    match = _DURATION.fullmatch(text)
    if match is None:
        raise LexicalError()
    sign, years, months, days, time, hours, minutes, seconds = match.groups()
    if time == "T":
        raise LexicalError("T must be followed by hours, minutes or seconds")
    if not (years or months or days or time):
        raise LexicalError("it has no components")
    whole = (years, months, days, hours, minutes, (seconds or "").partition(".")[0])
    if any(len(part or "") > 9 for part in whole):
        raise LexicalError("a component has more than 9 digits")
    duration = Duration(
        years=int(years or 0),
        months=int(months or 0),
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=Decimal(seconds or 0),
    )
    if sign and duration.canonical() != "PT0S":
        return replace(duration, negative=True)
    return duration


def _read_interval_part(text: str) -> PartialDatetime | Duration:
    if text.startswith(("P", "-P")):
        return _read_duration(text)
    return parse_datetime(text, dashed=False)


def _read_interval(text: str) -> Interval:
    left_text, separator, right_text = text.partition("/")
    if not separator or "/" in right_text:
        raise LexicalError("it needs exactly one '/' between its two parts")
    left, right = _read_interval_part(left_text), _read_interval_part(right_text)
    for part in (left, right):
        if isinstance(part, Duration) and part.negative:
            raise LexicalError("the duration of an interval cannot be negative")
    if isinstance(left, Duration):
        if isinstance(right, Duration):
            raise LexicalError("only one of its parts may be a duration")
        return Interval(end=right, duration=left)
    if isinstance(right, Duration):
        return Interval(start=left, duration=right)
    if left.compare(right) == 1:
        raise LexicalError("the end is before the start")
    return Interval(start=left, end=right)


_READERS: dict[str, Callable[[str], object]] = {
    "text": _read_text,
    "string": _read_text,
    "integer": _read_integer,
    "float": _read_decimal,
    "double": _read_decimal,
    "boolean": _read_boolean,
    "date": _read_date,
    "time": _read_time,
    "datetime": _read_datetime,
    "partialDate": partial(parse_date, dashed=False),
    "partialTime": partial(parse_time, dashed=False),
    "partialDatetime": partial(parse_datetime, dashed=False),
    "incompleteDate": partial(parse_date, dashed=True),
    "incompleteTime": partial(parse_time, dashed=True),
    "incompleteDatetime": partial(parse_datetime, dashed=True),
    "durationDatetime": _read_duration,
    "intervalDatetime": _read_interval,
    "hexBinary": _read_hex,
    "hexFloat": _read_hex,
    "base64Binary": _read_base64,
    "base64Float": _read_base64,
    "URI": _read_uri,
}


def _spec(data_type: str) -> tuple[str, str, str]:
    try:
        return _SPEC[data_type]
    except KeyError:
        raise ValueError(f"{data_type!r} is not an ODM 1.3.2 DataType") from None


def parse_value(
    data_type: str,
    text: str,
    *,
    length: int | None = None,
    significant_digits: int | None = None,
) -> Parsed | DataTypeProblem:
    """Read the text of a value of ``data_type`` (ItemDef/@DataType), honouring ItemDef/@Length
    and @SignificantDigits.

    Whitespace around the text is dropped except for text and string. Never raises for any
    text; raises ValueError only for a ``data_type`` that ODM 1.3.2 does not define.
    """
    _, noun, how = _spec(data_type)
    if data_type not in _TEXT_TYPES:
        text = text.strip(_XML_SPACE)
    if not text:
        return DataTypeProblem(f"The value is empty; {noun} is expected. {how}")
    bad = _NOT_XML_CHAR.search(text)
    if bad is not None:
        return DataTypeProblem(
            f"The value contains the character U+{ord(bad.group()):04X}, which XML cannot "
            "carry. Remove it."
        )
    try:
        value = _READERS[data_type](text)
    except LexicalError as error:
        why = f": {error.reason}" if error.reason else ""
        return DataTypeProblem(f"'{_shown(text)}' is not {noun}{why}. {how}")
    problem = _limit_problem(data_type, text, value, length, significant_digits)
    if problem is not None:
        return problem
    return Parsed(value, format_value(data_type, value))


_CANONICAL_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_FAST_DECIMAL_CHARS = 300  # far inside _MAX_EXPONENT, so no range check is needed
_ZEROS = str.maketrans("", "", "-0.")
_NON_ZERO = frozenset("123456789")


def canonical_text(
    data_type: str,
    text: str,
    *,
    length: int | None = None,
    significant_digits: int | None = None,
) -> str | DataTypeProblem:
    """``parse_value(...).canonical`` without the typed value: the canonical ODM text of a
    valid value, or the same DataTypeProblem (see :func:`canonical_checker`)."""
    return canonical_checker(data_type, length=length, significant_digits=significant_digits)(text)


def canonical_checker(
    data_type: str, *, length: int | None = None, significant_digits: int | None = None
) -> Callable[[str], str | DataTypeProblem]:
    """:func:`canonical_text` for one DataType and its limits: one call per value.

    The bulk import checks a million values with it. Text that is already canonical and
    plainly within the limits (an ASCII string, digits without a leading zero, a decimal
    written as ``format_value`` writes it, a YYYY-MM-DD date) is returned as it is; anything
    else goes through :func:`parse_value`, so both always agree (a property test checks it).
    """
    _spec(data_type)

    def slow(text: str) -> str | DataTypeProblem:
        parsed = parse_value(data_type, text, length=length, significant_digits=significant_digits)
        return parsed.canonical if isinstance(parsed, Parsed) else parsed

    if data_type in _TEXT_TYPES:
        most = sys.maxsize if length is None else length

        def text_value(text: str) -> str | DataTypeProblem:
            if text and text.isascii() and text.isprintable() and len(text) <= most:
                return text
            return slow(text)

        return text_value
    if data_type == "integer":
        most = _MAX_INTEGER_DIGITS if length is None else min(length, _MAX_INTEGER_DIGITS)

        def integer_value(text: str) -> str | DataTypeProblem:
            if text.isdigit() and text.isascii() and len(text) <= most:
                if text[0] != "0" or len(text) == 1:
                    return text
            elif text[:1] == "-":
                digits = text[1:]
                if digits.isdigit() and digits.isascii() and digits[0] != "0":
                    if len(digits) <= most:
                        return text
            return slow(text)

        return integer_value
    if data_type in ("float", "double"):
        match = _CANONICAL_DECIMAL.fullmatch

        def decimal_value(text: str) -> str | DataTypeProblem:
            found = match(text) if len(text) <= _FAST_DECIMAL_CHARS else None
            if found is not None and (text[0] != "-" or text.translate(_ZEROS)):
                whole, fraction = found.groups()
                decimals = len(fraction) if fraction else 0
                if significant_digits is None or decimals <= significant_digits:
                    if length is None:
                        return text
                    if (0 if whole == "0" and decimals else len(whole)) + decimals <= length:
                        return text
            return slow(text)

        return decimal_value
    if data_type == "date":
        make_date = dt.date

        def date_value(text: str) -> str | DataTypeProblem:
            if len(text) == 10 and text[4] == "-" and text[7] == "-" and text[0] in _NON_ZERO:
                year, month, day = text[:4], text[5:7], text[8:]
                if (year + month + day).isdigit() and text.isascii():
                    try:
                        make_date(int(year), int(month), int(day))
                    except ValueError:
                        pass
                    else:
                        return text
            return slow(text)

        return date_value
    return slow


def _limit_problem(
    data_type: str, text: str, value: object, length: int | None, significant_digits: int | None
) -> DataTypeProblem | None:
    if data_type in _CHARACTER_LENGTH_TYPES:
        if length is not None and len(text) > length:
            return DataTypeProblem(
                f"The value is {len(text)} characters long; at most {length} are allowed "
                f"(Length={length}). Shorten it."
            )
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        digits = len(str(abs(value)))
    elif isinstance(value, Decimal) and value.is_finite():
        _, mantissa, exponent = value.as_tuple()
        assert isinstance(exponent, int)  # finite values have an integer exponent
        decimals = max(0, -exponent)
        if significant_digits is not None and decimals > significant_digits:
            rounded = value.quantize(
                Decimal(1).scaleb(-significant_digits),
                rounding=ROUND_HALF_UP,
                context=Context(prec=len(mantissa) + 2),
            )
            return DataTypeProblem(
                f"'{_shown(text)}' has {decimals} digits after the decimal point; at most "
                f"{significant_digits} are allowed (SignificantDigits={significant_digits}). "
                f"Round it, e.g. to {format_value(data_type, rounded)}."
            )
        digits = max(0, len(mantissa) + exponent) + decimals
    else:
        return None
    if length is not None and digits > length:
        return DataTypeProblem(
            f"'{_shown(text)}' has {digits} digits; at most {length} are allowed "
            f"(Length={length}). Check the value; if it is right, the ItemDef's Length is too "
            "small."
        )
    return None


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else Decimal(value)
    raise TypeError(f"expected a number, not {type(value).__name__}")


def _decimal_text(value: Decimal) -> str:
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "-INF" if value.is_signed() else "INF"
    return format(value.copy_abs() if value.is_zero() else value, "f")


def _expect(value: object, kind: type[_T], data_type: str) -> _T:
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise TypeError(f"a {data_type} value must be {kind.__name__}, not {type(value).__name__}")
    return value


def _as_partial(
    value: object, kind: str, data_type: str
) -> PartialDate | PartialTime | PartialDatetime:
    if kind == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return PartialDate.from_date(value)
        return _expect(value, PartialDate, data_type)
    if kind == "time":
        if isinstance(value, dt.time):
            return PartialTime.from_time(value)
        return _expect(value, PartialTime, data_type)
    if isinstance(value, dt.datetime):
        return PartialDatetime.from_datetime(value)
    return _expect(value, PartialDatetime, data_type)


def format_value(data_type: str, value: object) -> str:
    """Write a typed value (as ``parse_value`` returns it) as canonical ODM text.

    Raises TypeError for a value of the wrong Python type and ValueError for a value the
    DataType cannot hold (a partialDate with an unknown month but a known day).
    """
    kind = _spec(data_type)[0]
    if kind in ("text", "uri"):
        return _expect(value, str, data_type)
    if kind == "integer":
        return str(_expect(value, int, data_type))
    if kind == "number":
        return _decimal_text(_as_decimal(value))
    if kind == "boolean":
        return "true" if _expect(value, bool, data_type) else "false"
    if data_type in ("hexBinary", "hexFloat"):
        return _expect(value, bytes, data_type).hex().upper()
    if kind == "binary":
        return base64.b64encode(_expect(value, bytes, data_type)).decode("ascii")
    if kind == "duration":
        return _expect(value, Duration, data_type).canonical()
    if kind == "interval":
        return _expect(value, Interval, data_type).canonical()
    if data_type == "date":
        if isinstance(value, dt.datetime):
            raise TypeError("a date value must be date, not datetime")
        return _expect(value, dt.date, data_type).isoformat()
    if data_type == "time":
        return PartialTime.from_time(_expect(value, dt.time, data_type)).canonical()
    if data_type == "datetime":
        return PartialDatetime.from_datetime(_expect(value, dt.datetime, data_type)).canonical()
    partial = _as_partial(value, kind, data_type)
    if data_type.startswith("partial") and not partial.is_truncated():
        raise ValueError(
            f"{partial.canonical()} has an unknown part before a known one; "
            f"write it as {data_type.replace('partial', 'incomplete')}"
        )
    return partial.canonical()


def _temporal(value: object) -> Temporal:
    if isinstance(value, PartialDate | PartialTime | PartialDatetime | dt.date | dt.time):
        return value
    raise TypeError(f"expected a date, time or datetime, not {type(value).__name__}")


def compare_values(data_type: str, a: object, b: object) -> int | None:
    """-1, 0 or 1 when the order of two values is certain; None when it is unknown.

    Unknown: NaN; partial or incomplete values whose possible instants overlap; a value without
    a time zone against one with; durations whose order depends on month lengths (P1M, P30D).
    Date, time and datetime values of any of the date-like DataTypes may be mixed (a date is the
    whole day). Raises ValueError for a DataType without an order (see ``is_orderable``) and
    TypeError for values of the wrong Python type.
    """
    kind = python_kind(data_type)
    if kind in ("integer", "number"):
        left, right = _as_decimal(a), _as_decimal(b)
        if left.is_nan() or right.is_nan():
            return None
        return (left > right) - (left < right)
    if kind in ("date", "time", "datetime"):
        return compare_temporal(_temporal(a), _temporal(b))
    if kind == "duration":
        return _expect(a, Duration, data_type).compare(_expect(b, Duration, data_type))
    raise ValueError(f"values of DataType {data_type} have no order; compare them for equality")


def is_orderable(data_type: str) -> bool:
    """Whether ``compare_values`` (and so LT, LE, GT, GE range checks) applies to the DataType."""
    return python_kind(data_type) in _ORDERABLE_KINDS


def python_kind(data_type: str) -> str:
    """The coarse kind the expression type checker works with: one of text, integer, number,
    boolean, date, time, datetime, duration, binary, uri, interval."""
    return _spec(data_type)[0]
