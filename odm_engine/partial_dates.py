"""Partial and incomplete dates, times and datetimes (ODM 1.3.2 Data Formats).

ODM writes a *partial* value by leaving out its least significant parts (``2019-03``,
``14:30``) and an *incomplete* one by writing every delimiter with a single ``-`` for each
unknown part (``2019---15``, ``--12-15``, ``14:-:-``). Both read into the same frozen dataclasses,
whose ``None`` fields are the unknown parts.

A value stands for the set of instants it may denote; ``earliest()`` and ``latest()`` bound that
set. Comparisons are three-valued: -1, 0 or 1 when the order is certain (0 only between two
complete values that are the same instant), ``None`` when the bounds overlap. A value without a
time zone compared with one that has a time zone may lie anywhere within ±14:00 of it, as in
XML Schema; two values without time zones are compared as written.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from odm_engine.engine_texts import Words, reason_text

__all__ = [
    "REFERENCE_DAY",
    "LexicalError",
    "PartialDate",
    "PartialDatetime",
    "PartialTime",
    "Temporal",
    "compare_temporal",
    "date_problem",
    "date_reason",
    "parse_date",
    "parse_datetime",
    "parse_time",
    "time_problem",
    "time_reason",
]

REFERENCE_DAY = dt.date(1972, 12, 31)
"""Times of day are placed on this day to be compared (XML Schema 1.0 §3.2.8)."""

_MAX_OFFSET = dt.timedelta(hours=14)
_MICROS_PER_DAY = 86_400_000_000

_TZ = r"(Z|[+-][0-9]{2}:[0-9]{2})?"
_DATE_TRUNCATED = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_DATE_DASHED = re.compile(r"([0-9]{4}|-)-([0-9]{2}|-)-([0-9]{2}|-)")
_TIME_TRUNCATED = re.compile(r"([0-9]{2})(?::([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?)?" + _TZ)
_TIME_DASHED = re.compile(r"([0-9]{2}|-):([0-9]{2}|-):(?:([0-9]{2})(?:\.([0-9]+))?|-)" + _TZ)
_OFFSET = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")


class LexicalError(ValueError):
    """Text that breaks a lexical rule; ``key`` (possibly empty) names the reason in the
    engine's texts (``odm_engine.engine_texts``) and ``fields`` fills it in.

    Raised by the readers here and turned into a ``DataTypeProblem`` by
    ``odm_engine.datatypes.parse_value``, which adds what was expected, in the language asked
    for; ``reason`` is the English text.
    """

    def __init__(self, key: str = "", **fields: object) -> None:
        self.key, self.fields = key, fields
        self.reason = reason_text(key, fields, None) if key else ""
        super().__init__(self.reason)

    def reason_in(self, lang: str | None) -> str:
        """The reason in ``lang`` (English when the engine has no table for it)."""
        return reason_text(self.key, self.fields, lang) if self.key else ""


Reason = tuple[str, dict[str, object]]
"""A key of the engine's texts and its fields."""


def date_problem(year: int | None, month: int | None, day: int | None) -> str | None:
    """Why these (possibly unknown) parts cannot form a calendar date, or None (English)."""
    found = date_reason(year, month, day)
    return reason_text(*found, None) if found else None


def date_reason(year: int | None, month: int | None, day: int | None) -> Reason | None:
    """:func:`date_problem` as a key of the engine's texts and its fields."""
    if year is not None and not 1 <= year <= 9999:
        return "r_year_range", {"year": f"{year:04d}"}
    if month is not None and not 1 <= month <= 12:
        return "r_no_month", {"month": f"{month:02d}"}
    if day is None:
        return None
    if not 1 <= day <= 31:
        return "r_no_day", {"day": f"{day:02d}"}
    if month is None:
        return None
    if month == 2 and day == 29 and year is not None and not calendar.isleap(year):
        return "r_not_leap", {"year": year}
    if month == 2 and day > 29:
        return "r_february", {}
    longest = 29 if month == 2 else calendar.monthrange(2001, month)[1]
    if day > longest:
        return "r_month_days", {"month": Words(f"month_{month}"), "days": longest}
    return None


def time_problem(
    hour: int | None,
    minute: int | None,
    second: int | None,
    microsecond: int = 0,
    tzinfo: dt.timezone | None = None,
) -> str | None:
    """Why these (possibly unknown) parts cannot form a time of day, or None (English)."""
    found = time_reason(hour, minute, second, microsecond, tzinfo)
    return reason_text(*found, None) if found else None


def time_reason(
    hour: int | None,
    minute: int | None,
    second: int | None,
    microsecond: int = 0,
    tzinfo: dt.timezone | None = None,
) -> Reason | None:
    """:func:`time_problem` as a key of the engine's texts and its fields."""
    if hour == 24:
        return "r_hour_24", {}
    for key, part in (("r_no_hour", hour), ("r_no_minute", minute)):
        if part is not None and not 0 <= part <= (23 if key == "r_no_hour" else 59):
            return key, {"part": f"{part:02d}"}
    if second is not None and not 0 <= second <= 59:
        return "r_no_second", {"part": f"{second:02d}"}
    if not 0 <= microsecond <= 999_999:
        return "r_microsecond", {"part": microsecond}
    if microsecond and second is None:
        return "r_fraction", {}
    if tzinfo is not None:
        offset = tzinfo.utcoffset(None)
        if abs(offset) > _MAX_OFFSET or offset % dt.timedelta(minutes=1):
            return "r_offset_minutes", {"offset": _offset_text(tzinfo)}
    return None


def _text(part: int | None, width: int) -> str:
    return "-" if part is None else f"{part:0{width}d}"


def _offset_text(tzinfo: dt.timezone | None) -> str:
    if tzinfo is None:
        return ""
    offset = tzinfo.utcoffset(None)
    if not offset:
        return "Z"
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(offset) // dt.timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A calendar date whose year, month or day may be unknown (None)."""

    year: int | None
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        problem = date_problem(self.year, self.month, self.day)
        if problem:
            raise ValueError(problem)

    @classmethod
    def from_date(cls, value: dt.date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    def is_complete(self) -> bool:
        return None not in (self.year, self.month, self.day)

    def is_truncated(self) -> bool:
        """True when only the least significant parts are unknown (an ODM partialDate)."""
        return self.year is not None and (self.month is not None or self.day is None)

    def to_date(self) -> dt.date | None:
        if self.year is None or self.month is None or self.day is None:
            return None
        return dt.date(self.year, self.month, self.day)

    def _leap_day(self) -> bool:
        return self.year is None and self.month == 2 and self.day == 29

    def earliest(self) -> dt.date:
        year = self.year if self.year is not None else (4 if self._leap_day() else 1)
        month = self.month if self.month is not None else 1
        return dt.date(year, month, self.day if self.day is not None else 1)

    def latest(self) -> dt.date:
        year = self.year if self.year is not None else (9996 if self._leap_day() else 9999)
        month = self.month if self.month is not None else 12
        day = self.day if self.day is not None else calendar.monthrange(year, month)[1]
        return dt.date(year, month, day)

    def compare(self, other: PartialDate | dt.date) -> int | None:
        """-1, 0 or 1 when the order is certain; None when the dates may overlap."""
        return compare_temporal(self, other)

    def dashed(self) -> str:
        """Every delimiter written, '-' for each unknown part: ``2019---15``."""
        return f"{_text(self.year, 4)}-{_text(self.month, 2)}-{_text(self.day, 2)}"

    def canonical(self) -> str:
        """``2019``, ``2019-03``, ``2019-03-15``; the dashed form when a gap forces it."""
        if not self.is_truncated():
            return self.dashed()
        parts = ((self.year, 4), (self.month, 2), (self.day, 2))
        return "-".join(f"{part:0{width}d}" for part, width in parts if part is not None)


@dataclass(frozen=True, slots=True)
class PartialTime:
    """A time of day whose hour, minute or second may be unknown (None).

    ``microsecond`` counts only when ``second`` is known; ``tzinfo`` None means local time.
    """

    hour: int | None
    minute: int | None = None
    second: int | None = None
    microsecond: int = 0
    tzinfo: dt.timezone | None = None

    def __post_init__(self) -> None:
        problem = time_problem(self.hour, self.minute, self.second, self.microsecond, self.tzinfo)
        if problem:
            raise ValueError(problem)

    @classmethod
    def from_time(cls, value: dt.time) -> PartialTime:
        offset = value.utcoffset()
        tzinfo = None if offset is None else dt.timezone(offset)
        return cls(value.hour, value.minute, value.second, value.microsecond, tzinfo)

    def is_complete(self) -> bool:
        return None not in (self.hour, self.minute, self.second)

    def is_truncated(self) -> bool:
        """True when only the least significant parts are unknown (an ODM partialTime)."""
        return self.hour is not None and (self.minute is not None or self.second is None)

    def to_time(self) -> dt.time | None:
        if self.hour is None or self.minute is None or self.second is None:
            return None
        return dt.time(self.hour, self.minute, self.second, self.microsecond, self.tzinfo)

    def earliest(self) -> dt.time:
        return dt.time(
            self.hour or 0, self.minute or 0, self.second or 0, self.microsecond, self.tzinfo
        )

    def latest(self) -> dt.time:
        return dt.time(
            23 if self.hour is None else self.hour,
            59 if self.minute is None else self.minute,
            59 if self.second is None else self.second,
            999_999 if self.second is None else self.microsecond,
            self.tzinfo,
        )

    def compare(self, other: PartialTime | dt.time) -> int | None:
        """-1, 0 or 1 when the order is certain; None when the times may overlap."""
        return compare_temporal(self, other)

    def _seconds_text(self) -> str:
        if self.second is None:
            return "-"
        fraction = f".{self.microsecond:06d}".rstrip("0") if self.microsecond else ""
        return f"{self.second:02d}{fraction}"

    def dashed(self) -> str:
        """Every delimiter written, '-' for each unknown part: ``14:-:-``."""
        clock = f"{_text(self.hour, 2)}:{_text(self.minute, 2)}:{self._seconds_text()}"
        return clock + _offset_text(self.tzinfo)

    def canonical(self) -> str:
        """``14``, ``14:30``, ``14:30:05.5+01:00``; the dashed form when a gap forces it."""
        if not self.is_truncated():
            return self.dashed()
        clock = f"{self.hour:02d}"
        if self.minute is not None:
            clock += f":{self.minute:02d}"
            if self.second is not None:
                clock += f":{self._seconds_text()}"
        return clock + _offset_text(self.tzinfo)


@dataclass(frozen=True, slots=True)
class PartialDatetime:
    """A PartialDate, optionally followed by a PartialTime."""

    date: PartialDate
    time: PartialTime | None = None

    @classmethod
    def from_datetime(cls, value: dt.datetime) -> PartialDatetime:
        offset = value.utcoffset()  # resolved on the date, so zoneinfo zones work too
        clock = value.time() if offset is None else value.time().replace(tzinfo=dt.timezone(offset))
        return cls(PartialDate.from_date(value), PartialTime.from_time(clock))

    def is_complete(self) -> bool:
        return self.date.is_complete() and self.time is not None and self.time.is_complete()

    def is_truncated(self) -> bool:
        """True when only the least significant parts are unknown (an ODM partialDatetime)."""
        if self.time is None:
            return self.date.is_truncated()
        return self.date.is_complete() and self.time.is_truncated()

    def to_datetime(self) -> dt.datetime | None:
        day = self.date.to_date()
        clock = None if self.time is None else self.time.to_time()
        return None if day is None or clock is None else dt.datetime.combine(day, clock)

    def earliest(self) -> dt.datetime:
        clock = dt.time(0) if self.time is None else self.time.earliest()
        return dt.datetime.combine(self.date.earliest(), clock)

    def latest(self) -> dt.datetime:
        clock = dt.time.max if self.time is None else self.time.latest()
        return dt.datetime.combine(self.date.latest(), clock)

    def compare(self, other: PartialDatetime | PartialDate | dt.date) -> int | None:
        """-1, 0 or 1 when the order is certain; None when the values may overlap."""
        return compare_temporal(self, other)

    def canonical(self) -> str:
        """``2019-03``, ``2019-03-15T14:30``; after an incomplete date ``2019---15T14:-:-``."""
        if self.time is None:
            return self.date.canonical()
        if self.date.is_complete():
            return f"{self.date.canonical()}T{self.time.canonical()}"
        return f"{self.date.dashed()}T{self.time.dashed()}"


Temporal = PartialDate | PartialTime | PartialDatetime | dt.date | dt.time
"""Anything ``compare_temporal`` orders (``datetime.datetime`` is a ``datetime.date``)."""


def _micros(value: dt.datetime) -> tuple[int, bool]:
    """Microseconds since 0001-01-01 (UTC when aware), and whether the value was aware."""
    local = (
        (value.toordinal() * 86_400 + value.hour * 3600 + value.minute * 60 + value.second)
        * 1_000_000
    ) + value.microsecond
    offset = value.utcoffset()
    if offset is None:
        return local, False
    return local - offset // dt.timedelta(microseconds=1), True


def _bounds(value: Temporal) -> tuple[dt.datetime, dt.datetime]:
    if isinstance(value, dt.datetime):
        return value, value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0)), dt.datetime.combine(value, dt.time.max)
    if isinstance(value, dt.time):
        moment = dt.datetime.combine(REFERENCE_DAY, value)
        return moment, moment
    if isinstance(value, PartialTime):
        return (
            dt.datetime.combine(REFERENCE_DAY, value.earliest()),
            dt.datetime.combine(REFERENCE_DAY, value.latest()),
        )
    if isinstance(value, PartialDate):
        return (
            dt.datetime.combine(value.earliest(), dt.time(0)),
            dt.datetime.combine(value.latest(), dt.time.max),
        )
    return value.earliest(), value.latest()


def _order(a: tuple[int, int], b: tuple[int, int]) -> int | None:
    if a[1] < b[0]:
        return -1
    if a[0] > b[1]:
        return 1
    if a[0] == a[1] == b[0] == b[1]:
        return 0
    return None


def _day_bounds(value: Temporal) -> tuple[int, int] | None:
    """First and last day (ordinals) of a value without a time of day, else None."""
    if isinstance(value, PartialDatetime) and value.time is None:
        value = value.date
    if isinstance(value, dt.datetime | dt.time | PartialTime | PartialDatetime):
        return None
    if isinstance(value, dt.date):
        return value.toordinal(), value.toordinal()
    return value.earliest().toordinal(), value.latest().toordinal()


def compare_temporal(a: Temporal, b: Temporal) -> int | None:
    """Three-valued order of two dates, times or datetimes, complete or not.

    Two dates compare by day; a date against a datetime stands for its whole day. Raises
    TypeError when one is a time of day and the other a date or datetime.
    """
    if isinstance(a, dt.time | PartialTime) != isinstance(b, dt.time | PartialTime):
        raise TypeError("a time of day cannot be compared with a date or datetime")
    a_days, b_days = _day_bounds(a), _day_bounds(b)
    if a_days is not None and b_days is not None:
        return _order(a_days, b_days)
    (a_lo, a_aware), (a_hi, _) = (_micros(moment) for moment in _bounds(a))
    (b_lo, b_aware), (b_hi, _) = (_micros(moment) for moment in _bounds(b))
    widen = _MAX_OFFSET // dt.timedelta(microseconds=1)
    if a_aware and not b_aware:
        b_lo, b_hi = b_lo - widen, b_hi + widen
    elif b_aware and not a_aware:
        a_lo, a_hi = a_lo - widen, a_hi + widen
    return _order((a_lo, a_hi), (b_lo, b_hi))


def _number(group: str | None) -> int | None:
    return None if group is None or group == "-" else int(group)


def _timezone(text: str | None) -> dt.timezone | None:
    if text is None:
        return None
    if text == "Z":
        return dt.UTC
    match = _OFFSET.fullmatch(text)
    if match is None:  # pragma: no cover - the callers' patterns admit only Z or ±hh:mm
        raise LexicalError()
    sign, hours, minutes = match.groups()
    if int(minutes) > 59:
        raise LexicalError("r_zone_minute", minutes=minutes)
    offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
    if offset > _MAX_OFFSET:
        raise LexicalError("r_zone_beyond", offset=text)
    return dt.timezone(-offset if sign == "-" else offset) if offset else dt.UTC


def parse_date(text: str, *, dashed: bool) -> PartialDate:
    """Read ``YYYY[-MM[-DD]]``; with ``dashed`` also ``[YYYY|-]-[MM|-]-[DD|-]``."""
    match = _DATE_TRUNCATED.fullmatch(text)
    if match is None and dashed:
        match = _DATE_DASHED.fullmatch(text)
    if match is None:
        if _DATE_DASHED.fullmatch(text):
            raise LexicalError("r_dash_date")
        raise LexicalError()
    year, month, day = (_number(group) for group in match.groups())
    problem = date_reason(year, month, day)
    if problem:
        raise LexicalError(problem[0], **problem[1])
    return PartialDate(year, month, day)


def parse_time(text: str, *, dashed: bool) -> PartialTime:
    """Read ``hh[:mm[:ss[.n+]]][zone]``; with ``dashed`` also ``[hh|-]:[mm|-]:[ss|-][zone]``.

    Fractions of a second beyond microseconds are cut off.
    """
    match = _TIME_TRUNCATED.fullmatch(text)
    if match is None and dashed:
        match = _TIME_DASHED.fullmatch(text)
    if match is None:
        if _TIME_DASHED.fullmatch(text):
            raise LexicalError("r_dash_time")
        raise LexicalError()
    hour, minute, second, fraction, zone = match.groups()
    microsecond = int(fraction[:6].ljust(6, "0")) if fraction else 0
    parts = (_number(hour), _number(minute), _number(second), microsecond)
    problem = time_reason(*parts)
    if problem:
        raise LexicalError(problem[0], **problem[1])
    return PartialTime(*parts, tzinfo=_timezone(zone))


def parse_datetime(text: str, *, dashed: bool) -> PartialDatetime:
    """Read a date optionally followed by ``T`` and a time (see parse_date, parse_time)."""
    date_text, separator, time_text = text.partition("T")
    date = parse_date(date_text, dashed=dashed)
    if not separator:
        return PartialDatetime(date)
    if not date.is_complete():
        if not dashed:
            raise LexicalError("r_time_after_partial")
        if not _DATE_DASHED.fullmatch(date_text):
            raise LexicalError("r_dashes_before_time")
    return PartialDatetime(date, parse_time(time_text, dashed=dashed))
