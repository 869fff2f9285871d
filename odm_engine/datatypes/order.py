"""The orders of the ODM 1.3.2 DataTypes that have one: numbers, dates and times, durations.

Each comparison returns -1, 0 or 1 when the order of two values is certain and None when it
is unknown (NaN; partial values that may overlap; P1M against P30D). The registry names, per
DataType, which comparison applies; a DataType without one has no order.
"""

from __future__ import annotations

import datetime as dt

from odm_engine.datatypes.durations import Duration
from odm_engine.datatypes.lexical import as_decimal, expect
from odm_engine.partial_dates import (
    PartialDate,
    PartialDatetime,
    PartialTime,
    Temporal,
    compare_temporal,
)


def compare_numbers(a: object, b: object, data_type: str) -> int | None:
    left, right = as_decimal(a), as_decimal(b)
    if left.is_nan() or right.is_nan():
        return None
    return (left > right) - (left < right)


def _temporal(value: object) -> Temporal:
    if isinstance(value, PartialDate | PartialTime | PartialDatetime | dt.date | dt.time):
        return value
    raise TypeError(f"expected a date, time or datetime, not {type(value).__name__}")


def compare_temporals(a: object, b: object, data_type: str) -> int | None:
    return compare_temporal(_temporal(a), _temporal(b))


def compare_durations(a: object, b: object, data_type: str) -> int | None:
    return expect(a, Duration, data_type).compare(expect(b, Duration, data_type))
