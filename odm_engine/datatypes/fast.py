"""Fast paths of ``canonical_checker``: text that is plainly canonical is returned as it is.

The bulk import checks a million values: an ASCII string, digits without a leading zero, a
decimal written as ``format_value`` writes it or a YYYY-MM-DD date is returned without being
parsed; anything else goes to ``slow`` (``parse_value``), so both always agree
(``tests/test_datatypes.py`` holds them equal with a property test). The registry names the
fast path of each DataType that has one; the figure it buys is the ``import`` row of
``python -m bench``.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable

from odm_engine.datatypes.lexical import MAX_INTEGER_DIGITS
from odm_engine.datatypes.results import DataTypeProblem

Checker = Callable[[str], str | DataTypeProblem]
FastPath = Callable[[int | None, int | None, Checker], Checker]
"""(Length, SignificantDigits, the slow checker) -> a checker for one DataType."""

_CANONICAL_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_FAST_DECIMAL_CHARS = 300  # far inside the exponent limit, so no range check is needed
_ZEROS = str.maketrans("", "", "-0.")
_NON_ZERO = frozenset("123456789")


def fast_text(length: int | None, significant_digits: int | None, slow: Checker) -> Checker:
    most = sys.maxsize if length is None else length

    def text_value(text: str) -> str | DataTypeProblem:
        if text and text.isascii() and text.isprintable() and len(text) <= most:
            return text
        return slow(text)

    return text_value


def fast_integer(length: int | None, significant_digits: int | None, slow: Checker) -> Checker:
    most = MAX_INTEGER_DIGITS if length is None else min(length, MAX_INTEGER_DIGITS)

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


def fast_decimal(length: int | None, significant_digits: int | None, slow: Checker) -> Checker:
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


def fast_date(length: int | None, significant_digits: int | None, slow: Checker) -> Checker:
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
