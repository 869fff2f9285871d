"""Lexical forms of the ODM 1.3.2 DataTypes: one reader and one canonical writer per form.

A reader takes stripped text and returns the typed value or raises ``LexicalError`` (whose
reason ``parse_value`` turns into a message); a writer takes a typed value and the DataType's
name (for its messages) and returns canonical ODM text, raising TypeError for a value of the
wrong Python type. The registry (``odm_engine.datatypes.registry``) names, per DataType, which
reader and writer it uses.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

from odm_engine.datatypes.durations import Duration, Interval
from odm_engine.partial_dates import (
    LexicalError,
    PartialDate,
    PartialDatetime,
    PartialTime,
    parse_date,
    parse_datetime,
    parse_time,
)

_INTEGER = re.compile(r"[+-]?([0-9]+)")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?")
_SPECIAL_NUMBERS = {
    "INF": Decimal("Infinity"),
    "+INF": Decimal("Infinity"),
    "-INF": Decimal("-Infinity"),
    "NaN": Decimal("NaN"),
}
MAX_INTEGER_DIGITS = 4000  # CPython refuses to convert longer digit strings to int
_MAX_EXPONENT = 400  # beyond the range of xs:double (about 1E-324 to 1E+308)
_HEX = re.compile(r"[0-9A-Fa-f]*")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_DURATION = re.compile(
    r"(-)?P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)D)?"
    r"(T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?"
)
_DURATION_WEEKS = re.compile(r"(-)?P([0-9]{1,9})W")
_T = TypeVar("_T")


# -- readers ------------------------------------------------------------------------------
def read_text(text: str) -> str:
    return text


def read_uri(text: str) -> str:
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise LexicalError("r_control")
    if re.search(r"\s", text):
        raise LexicalError("r_space")
    return text


def read_integer(text: str) -> int:
    match = _INTEGER.fullmatch(text)
    if match is None:
        raise LexicalError("r_not_whole" if _NUMBER.fullmatch(text) else "")
    if len(match.group(1)) > MAX_INTEGER_DIGITS:
        raise LexicalError("r_digits", most=MAX_INTEGER_DIGITS)
    return int(text)


def read_decimal(text: str) -> Decimal:
    if text in _SPECIAL_NUMBERS:
        return _SPECIAL_NUMBERS[text]
    match = _NUMBER.fullmatch(text)
    if match is None:
        if _NUMBER.fullmatch(text.replace(",", ".", 1)):
            raise LexicalError("r_comma")
        if text.upper().lstrip("+-") in ("INF", "INFINITY", "NAN"):
            raise LexicalError("r_inf")
        raise LexicalError()
    exponent = match.group(1)
    value = Decimal(text) if not exponent or len(exponent.lstrip("+-").lstrip("0")) <= 6 else None
    if value is None or (value and abs(value.adjusted()) > _MAX_EXPONENT):
        raise LexicalError("r_out_of_range", most=_MAX_EXPONENT)
    return value.copy_abs() if value.is_zero() else value


def read_boolean(text: str) -> bool:
    values = {"true": True, "1": True, "false": False, "0": False}
    if text in values:
        return values[text]
    if text.lower() in values:
        raise LexicalError("r_lower")
    if text.lower() in ("yes", "no", "y", "n"):
        raise LexicalError("r_yes_no")
    raise LexicalError()


def read_hex(text: str) -> bytes:
    if not _HEX.fullmatch(text):
        raise LexicalError()
    if len(text) % 2:
        raise LexicalError("r_odd_hex")
    return bytes.fromhex(text)


def read_base64(text: str) -> bytes:
    compact = re.sub(r"[ \t\n\r]", "", text)
    if not _BASE64.fullmatch(compact):
        raise LexicalError()
    if len(compact) % 4:
        raise LexicalError("r_base64_length")
    try:
        value = base64.b64decode(compact, validate=True)
    except binascii.Error:  # pragma: no cover - the pattern and length checks come first
        raise LexicalError() from None
    if base64.b64encode(value).decode("ascii") != compact:
        raise LexicalError("r_base64_bits")
    return value


def read_date(text: str) -> dt.date:
    value = parse_date(text, dashed=False).to_date()
    if value is None:
        raise LexicalError("r_no_day_part")
    return value


def read_time(text: str) -> dt.time:
    value = parse_time(text, dashed=False)
    clock = value.to_time()
    if clock is None:
        raise LexicalError("r_no_minutes" if value.minute is None else "r_no_seconds")
    return clock


def read_datetime(text: str) -> dt.datetime:
    value = parse_datetime(text, dashed=False)
    if value.time is None:
        raise LexicalError("r_no_time")
    moment = value.to_datetime()
    if moment is None:
        raise LexicalError("r_no_seconds")
    return moment


def read_duration(text: str) -> Duration:
    weeks = _DURATION_WEEKS.fullmatch(text)
    if weeks is not None:
        count = int(weeks.group(2))
        return Duration(weeks=count, negative=bool(weeks.group(1)) and count > 0)
    match = _DURATION.fullmatch(text)
    if match is None:
        raise LexicalError()
    sign, years, months, days, time, hours, minutes, seconds = match.groups()
    if time == "T":
        raise LexicalError("r_bare_t")
    if not (years or months or days or time):
        raise LexicalError("r_no_components")
    whole = (years, months, days, hours, minutes, (seconds or "").partition(".")[0])
    if any(len(part or "") > 9 for part in whole):
        raise LexicalError("r_component_digits")
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


def read_interval_part(text: str) -> PartialDatetime | Duration:
    if text.startswith(("P", "-P")):
        return read_duration(text)
    return parse_datetime(text, dashed=False)


def read_interval(text: str) -> Interval:
    left_text, separator, right_text = text.partition("/")
    if not separator or "/" in right_text:
        raise LexicalError("r_one_slash")
    left, right = read_interval_part(left_text), read_interval_part(right_text)
    for part in (left, right):
        if isinstance(part, Duration) and part.negative:
            raise LexicalError("r_negative_duration")
    if isinstance(left, Duration):
        if isinstance(right, Duration):
            raise LexicalError("r_two_durations")
        return Interval(end=right, duration=left)
    if isinstance(right, Duration):
        return Interval(start=left, duration=right)
    if left.compare(right) == 1:
        raise LexicalError("r_end_before_start")
    return Interval(start=left, end=right)


def read_partial_date(text: str) -> PartialDate:
    return parse_date(text, dashed=False)


def read_partial_time(text: str) -> PartialTime:
    return parse_time(text, dashed=False)


def read_partial_datetime(text: str) -> PartialDatetime:
    return parse_datetime(text, dashed=False)


def read_incomplete_date(text: str) -> PartialDate:
    return parse_date(text, dashed=True)


def read_incomplete_time(text: str) -> PartialTime:
    return parse_time(text, dashed=True)


def read_incomplete_datetime(text: str) -> PartialDatetime:
    return parse_datetime(text, dashed=True)


# -- writers ------------------------------------------------------------------------------
def as_decimal(value: object) -> Decimal:
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


def expect(value: object, kind: type[_T], data_type: str) -> _T:
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise TypeError(f"a {data_type} value must be {kind.__name__}, not {type(value).__name__}")
    return value


def _as_partial(
    value: object, kind: str, data_type: str
) -> PartialDate | PartialTime | PartialDatetime:
    if kind == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return PartialDate.from_date(value)
        return expect(value, PartialDate, data_type)
    if kind == "time":
        if isinstance(value, dt.time):
            return PartialTime.from_time(value)
        return expect(value, PartialTime, data_type)
    if isinstance(value, dt.datetime):
        return PartialDatetime.from_datetime(value)
    return expect(value, PartialDatetime, data_type)


def write_text(value: object, data_type: str) -> str:
    return expect(value, str, data_type)


def write_integer(value: object, data_type: str) -> str:
    return str(expect(value, int, data_type))


def write_decimal(value: object, data_type: str) -> str:
    return _decimal_text(as_decimal(value))


def write_boolean(value: object, data_type: str) -> str:
    return "true" if expect(value, bool, data_type) else "false"


def write_hex(value: object, data_type: str) -> str:
    return expect(value, bytes, data_type).hex().upper()


def write_base64(value: object, data_type: str) -> str:
    return base64.b64encode(expect(value, bytes, data_type)).decode("ascii")


def write_duration(value: object, data_type: str) -> str:
    return expect(value, Duration, data_type).canonical()


def write_interval(value: object, data_type: str) -> str:
    return expect(value, Interval, data_type).canonical()


def write_date(value: object, data_type: str) -> str:
    if isinstance(value, dt.datetime):
        raise TypeError("a date value must be date, not datetime")
    return expect(value, dt.date, data_type).isoformat()


def write_time(value: object, data_type: str) -> str:
    return PartialTime.from_time(expect(value, dt.time, data_type)).canonical()


def write_datetime(value: object, data_type: str) -> str:
    return PartialDatetime.from_datetime(expect(value, dt.datetime, data_type)).canonical()


def _truncated(value: PartialDate | PartialTime | PartialDatetime, data_type: str) -> str:
    if not value.is_truncated():
        raise ValueError(
            f"{value.canonical()} has an unknown part before a known one; "
            f"write it as {data_type.replace('partial', 'incomplete')}"
        )
    return value.canonical()


def write_partial_date(value: object, data_type: str) -> str:
    return _truncated(_as_partial(value, "date", data_type), data_type)


def write_partial_time(value: object, data_type: str) -> str:
    return _truncated(_as_partial(value, "time", data_type), data_type)


def write_partial_datetime(value: object, data_type: str) -> str:
    return _truncated(_as_partial(value, "datetime", data_type), data_type)


def write_incomplete_date(value: object, data_type: str) -> str:
    return _as_partial(value, "date", data_type).canonical()


def write_incomplete_time(value: object, data_type: str) -> str:
    return _as_partial(value, "time", data_type).canonical()


def write_incomplete_datetime(value: object, data_type: str) -> str:
    return _as_partial(value, "datetime", data_type).canonical()
