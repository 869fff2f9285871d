"""Runtime values of OEL and the operations on them, with null (None) and unknown built in.

Representation by OEL type: text ``str``; integer ``int``; number ``Decimal`` (or ``int``);
boolean ``bool``; date ``datetime.date`` when complete, ``datatypes.PartialDate`` when only
the year or year and month are known; datetime ``datetime``; time ``datetime.time``;
duration :class:`Duration`. ``None`` is null: missing, or unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from odm_engine import datatypes
from odm_engine.datatypes import PartialDate, PartialDatetime, PartialTime
from odm_engine.partial_dates import compare_temporal

_DURATION = re.compile(
    r"P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)W)?(?:([0-9]+)D)?"
    r"(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9.]+)S)?)?"
)
"""The OEL duration literal (``@P6M``, ``@P1W2D``: weeks may be combined with days, as in
ISO 8601 but not in ODM 1.3.2); item values are read by the DataType registry instead."""
DateValue = date | PartialDate


@dataclass(frozen=True, slots=True)
class Duration:
    """An OEL duration: an ISO 8601 duration split into calendar months, days and seconds
    (``static/oel.js`` holds the same three numbers)."""

    months: int = 0
    days: int = 0
    seconds: Decimal = Decimal(0)

    @classmethod
    def of(cls, value: datatypes.Duration) -> Duration | None:
        """The OEL duration of an ODM durationDatetime value; None for a negative one."""
        if value.negative:
            return None
        seconds = value.seconds + 60 * value.minutes + 3600 * value.hours
        return cls(12 * value.years + value.months, 7 * value.weeks + value.days, seconds)

    def canonical(self) -> str:
        years, months = divmod(self.months, 12)
        out = "P" + (f"{years}Y" if years else "") + (f"{months}M" if months else "")
        out += f"{self.days}D" if self.days else ""
        if self.seconds:
            out += f"T{self.seconds}S"
        return out if out != "P" else "P0D"


def oel_type(data_type: str) -> str:
    """The OEL type of an item of ``data_type`` (the registry's expression type)."""
    return datatypes.expression_type(data_type)


def parse_date(text: str) -> DateValue | None:
    """A date or partial date (YYYY, YYYY-MM, YYYY-MM-DD, read as ODM partialDate), or the
    date of a datetime; None when ``text`` is neither."""
    text = text.strip()
    parsed = datatypes.parse_value("partialDate", text) if len(text) <= 10 else None
    if not isinstance(parsed, datatypes.Parsed):
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            return None
    value = parsed.value
    assert isinstance(value, PartialDate)
    return value.to_date() or value


def from_text(kind: str, text: str) -> object:
    """The runtime value of canonical ``text`` read as OEL type ``kind``; None if unreadable."""
    text = text.strip()
    if not text:
        return None
    try:
        if kind == "text":
            return text
        if kind == "integer":
            return int(text)
        if kind == "number":
            value = Decimal(text)
            return value if value.is_finite() else None
        if kind == "boolean":
            lowered = text.lower()
            if lowered in ("true", "1", "yes", "y"):
                return True
            if lowered in ("false", "0", "no", "n"):
                return False
            return None
        if kind == "date":
            return parse_date(text)
        if kind == "datetime":
            return datetime.fromisoformat(text)
        if kind == "time":
            return time.fromisoformat(text.removeprefix("T"))
        if kind == "duration":
            return parse_duration(text)
    except (ValueError, InvalidOperation):
        return None
    return text


def from_item(data_type: str, text: str) -> object:
    """The runtime value of an ItemData value of ``data_type``; None when it is not valid."""
    return read_item(data_type, text, None, None)[0]


@lru_cache(maxsize=65536)
def read_item(
    data_type: str, text: str, length: int | None, significant_digits: int | None
) -> tuple[object, str | None]:
    """(runtime value or None, DataType problem or None) for an ItemData value.

    Cached: a subject's unchanged values are read again on every save of a form.
    """
    kind = oel_type(data_type)
    if data_type not in datatypes.DATA_TYPES:
        return (text if text.strip() else None), None
    parsed = datatypes.parse_value(
        data_type, text, length=length, significant_digits=significant_digits
    )
    if isinstance(parsed, datatypes.DataTypeProblem):
        return None, parsed.message
    if kind == "text":
        return text, None
    if isinstance(parsed.value, datatypes.Duration):
        return Duration.of(parsed.value), None
    return _normal(kind, parsed.value), None


def _normal(kind: str, value: object) -> object:
    if isinstance(value, PartialDate):
        return value.to_date() or value
    if isinstance(value, PartialDatetime):
        return value.to_datetime() or value
    if isinstance(value, PartialTime):
        return value.to_time() or value
    if kind == "number" and isinstance(value, Decimal) and not value.is_finite():
        return None
    return value


def parse_duration(text: str) -> Duration | None:
    """An OEL duration literal (without ``@``); None when malformed."""
    m = _DURATION.fullmatch(text)
    if m is None or text in ("P", "PT"):
        return None
    y, mo, w, d, h, mi, s = m.groups()
    seconds = Decimal(s or 0) + 60 * int(mi or 0) + 3600 * int(h or 0)
    return Duration(12 * int(y or 0) + int(mo or 0), 7 * int(w or 0) + int(d or 0), seconds)


def to_text(value: object) -> str | None:
    """Canonical ODM text of a runtime value (derived items are stored as this)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, PartialDate | PartialDatetime | PartialTime):
        return value.canonical()
    if isinstance(value, Duration):
        return value.canonical()
    return str(value)


def bounds(value: DateValue) -> tuple[date, date]:
    """Earliest and latest day a (partial) date can be."""
    if isinstance(value, PartialDate):
        return value.earliest(), value.latest()
    return value, value


_TEMPORAL = (date, time, PartialDate, PartialDatetime, PartialTime)
_PLAIN = frozenset({int, Decimal, str, float})
"""Types whose values of the same type compare by < and > alone."""


def compare(a: object, b: object) -> int | None:
    """-1, 0 or 1; None when either is null or the order is unknown (partial dates)."""
    if a is None or b is None:
        return None
    if type(a) is type(b) and type(a) in _PLAIN:  # the common case, without the checks below
        return (a > b) - (a < b)  # type: ignore[operator,no-any-return]
    if isinstance(a, _TEMPORAL) and isinstance(b, _TEMPORAL):
        if type(a) is type(b) and isinstance(a, date | time):
            return (a > b) - (a < b)  # type: ignore[operator]
        try:
            return compare_temporal(a, b)
        except TypeError:
            return None
    if isinstance(a, Duration) and isinstance(b, Duration):
        if a == b:
            return 0
        ka = (a.months * 30 + a.days) * 86400 + a.seconds
        kb = (b.months * 30 + b.days) * 86400 + b.seconds
        return (ka > kb) - (ka < kb)
    if isinstance(a, bool) != isinstance(b, bool):
        return None
    try:
        order: int = (a > b) - (a < b)  # type: ignore[operator]
    except TypeError:
        return None
    return order


def add_duration(value: object, duration: Duration, sign: int) -> object:
    """``value`` (a complete date or datetime) moved by ``sign * duration``; else None."""
    if not isinstance(value, date) or isinstance(value, PartialDate):
        return None
    months = value.year * 12 + value.month - 1 + sign * duration.months
    year, month = divmod(months, 12)
    if not 1 <= year <= 9999:
        return None
    day = min(value.day, _month_length(year, month + 1))
    moved = value.replace(year=year, month=month + 1, day=day)
    delta = timedelta(days=sign * duration.days, seconds=sign * float(duration.seconds))
    if not isinstance(moved, datetime):
        delta = timedelta(days=delta.days)
    try:
        return moved + delta
    except OverflowError:
        return None


def _month_length(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - timedelta(days=1)).day


def _days(a: date, b: date) -> int:
    return (b - a).days


def _months(a: date, b: date) -> int:
    months = (b.year - a.year) * 12 + (b.month - a.month)
    if months > 0 and b.day < a.day:
        months -= 1
    elif months < 0 and b.day > a.day:
        months += 1
    return months


def _as_date(value: object) -> DateValue | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, PartialDatetime):
        lo, hi = value.earliest().date(), value.latest().date()
        return lo if lo == hi else PartialDate(lo.year, lo.month if lo.month == hi.month else None)
    if isinstance(value, date | PartialDate):
        return value
    return None


def date_difference(unit: str, a: object, b: object) -> int | None:
    """Whole ``unit`` (days, months, years) from ``a`` to ``b``; None when unknown.

    For partial dates the difference is computed at both extremes; it is known only when
    both give the same answer (``age(@1970, @2020-06-01)`` is unknown: 49 or 50).
    """
    da, db = _as_date(a), _as_date(b)
    if da is None or db is None:
        return None
    (a_lo, a_hi), (b_lo, b_hi) = bounds(da), bounds(db)
    if unit == "days":
        low, high = _days(a_hi, b_lo), _days(a_lo, b_hi)
    else:
        low, high = _months(a_hi, b_lo), _months(a_lo, b_hi)
        if unit == "years":
            low, high = int(low / 12), int(high / 12)
    return low if low == high else None


def impute_date(value: object, rule: object) -> date | None:
    """The complete date a partial date is taken to be: its ``first`` day, its ``middle``
    (the 15th of a known month, 1 July of a known year alone) or its ``last`` day; a complete
    date stays as it is. None for an unknown rule, an unknown year, or a day without a month."""
    d = _as_date(value)
    if d is None or rule not in ("first", "middle", "last"):
        return None
    if not isinstance(d, PartialDate):
        return d
    if d.year is None or (d.month is None and d.day is not None):
        return None
    if rule == "first":
        return d.earliest()
    if rule == "last":
        return d.latest()
    return date(d.year, 7, 1) if d.month is None else date(d.year, d.month, 15)


def date_part(part: str, value: object) -> int | None:
    d = _as_date(value)
    if d is None:
        return None
    if part == "year":
        return d.year
    if part == "month":
        return d.month
    return d.day
