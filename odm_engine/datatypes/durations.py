"""ODM 1.3.2 durationDatetime and intervalDatetime values (ISO 8601 durations and intervals)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from odm_engine.partial_dates import PartialDatetime

__all__ = ["Duration", "Interval"]

_ZERO = Decimal(0)
# xs:duration order: a duration is less than another when it is so from each of these starts
_DURATION_REFERENCES = ((1696, 9), (1697, 2), (1903, 3), (1903, 7))


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
