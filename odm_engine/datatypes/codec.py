"""Read, check, write and order ItemData values of any ODM 1.3.2 DataType, through the registry.

``parse_value`` turns the text of a value into a typed Python value and its canonical ODM text,
or into a ``DataTypeProblem`` whose message says what is wrong and how to write the value; it
never raises for any text. ``format_value`` is its inverse. ``compare_values`` orders two values
three-valuedly: ``None`` when the order is unknown, as for partial dates that may overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal

from odm_engine.datatypes.registry import REGISTRY, spec
from odm_engine.datatypes.results import DataTypeProblem, Parsed
from odm_engine.engine_texts import engine_text
from odm_engine.free_text import NOT_XML
from odm_engine.partial_dates import LexicalError

_XML_SPACE = " \t\n\r"


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"


def parse_value(
    data_type: str,
    text: str,
    *,
    length: int | None = None,
    significant_digits: int | None = None,
    lang: str | None = None,
) -> Parsed | DataTypeProblem:
    """Read the text of a value of ``data_type`` (ItemDef/@DataType), honouring ItemDef/@Length
    and @SignificantDigits.

    Whitespace around the text is dropped except for text and string. Never raises for any
    text; raises ValueError only for a ``data_type`` that ODM 1.3.2 does not define. The
    message is in ``lang`` (``odm_engine.engine_texts``; English when None).
    """
    found = spec(data_type)
    if not found.keeps_space:
        text = text.strip(_XML_SPACE)
    if not text:
        noun, how = _noun_and_how(data_type, lang)
        return DataTypeProblem(engine_text("empty", lang).format(noun=noun, how=how))
    bad = NOT_XML.search(text)
    if bad is not None:
        return DataTypeProblem(engine_text("not_xml", lang).format(code=f"{ord(bad.group()):04X}"))
    try:
        value = found.read(text)
    except LexicalError as error:
        reason = error.reason_in(lang)
        noun, how = _noun_and_how(data_type, lang)
        return DataTypeProblem(
            engine_text("not_of_type", lang).format(
                text=_shown(text), noun=noun, why=f": {reason}" if reason else "", how=how
            )
        )
    problem = _limit_problem(data_type, text, value, (length, significant_digits), lang)
    if problem is not None:
        return problem
    return Parsed(value, found.write(value, data_type))


def _noun_and_how(data_type: str, lang: str | None) -> tuple[str, str]:
    """What a value of ``data_type`` is called and how to write one, in ``lang``."""
    return engine_text(f"noun.{data_type}", lang), engine_text(f"how.{data_type}", lang)


def canonical_text(
    data_type: str,
    text: str,
    *,
    length: int | None = None,
    significant_digits: int | None = None,
    lang: str | None = None,
) -> str | DataTypeProblem:
    """``parse_value(...).canonical`` without the typed value: the canonical ODM text of a
    valid value, or the same DataTypeProblem (see :func:`canonical_checker`)."""
    return canonical_checker(
        data_type, length=length, significant_digits=significant_digits, lang=lang
    )(text)


def canonical_checker(
    data_type: str,
    *,
    length: int | None = None,
    significant_digits: int | None = None,
    lang: str | None = None,
) -> Callable[[str], str | DataTypeProblem]:
    """:func:`canonical_text` for one DataType and its limits: one call per value.

    The bulk import checks a million values with it. Text that is already canonical and
    plainly within the limits is returned as it is by the DataType's fast path
    (``odm_engine.datatypes.fast``); anything else goes through :func:`parse_value`, so both
    always agree (a property test checks it).
    """
    fast = spec(data_type).fast_path

    def slow(text: str) -> str | DataTypeProblem:
        parsed = parse_value(
            data_type, text, length=length, significant_digits=significant_digits, lang=lang
        )
        return parsed.canonical if isinstance(parsed, Parsed) else parsed

    return slow if fast is None else fast(length, significant_digits, slow)


def _limit_problem(
    data_type: str,
    text: str,
    value: object,
    limits: tuple[int | None, int | None],
    lang: str | None,
) -> DataTypeProblem | None:
    """The value breaks ``limits`` (ItemDef/@Length, @SignificantDigits)."""
    length, significant_digits = limits
    if spec(data_type).counts_characters:
        if length is not None and len(text) > length:
            return DataTypeProblem(
                engine_text("too_long", lang).format(count=len(text), length=length)
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
                engine_text("too_many_decimals", lang).format(
                    text=_shown(text),
                    decimals=decimals,
                    most=significant_digits,
                    rounded=format_value(data_type, rounded),
                )
            )
        digits = max(0, len(mantissa) + exponent) + decimals
    else:
        return None
    if length is not None and digits > length:
        return DataTypeProblem(
            engine_text("too_many_digits", lang).format(
                text=_shown(text), digits=digits, length=length
            )
        )
    return None


def format_value(data_type: str, value: object) -> str:
    """Write a typed value (as ``parse_value`` returns it) as canonical ODM text.

    Raises TypeError for a value of the wrong Python type and ValueError for a value the
    DataType cannot hold (a partialDate with an unknown month but a known day).
    """
    return spec(data_type).write(value, data_type)


def compare_values(data_type: str, a: object, b: object) -> int | None:
    """-1, 0 or 1 when the order of two values is certain; None when it is unknown.

    Unknown: NaN; partial or incomplete values whose possible instants overlap; a value without
    a time zone against one with; durations whose order depends on month lengths (P1M, P30D).
    Date, time and datetime values of any of the date-like DataTypes may be mixed (a date is the
    whole day). Raises ValueError for a DataType without an order (see ``is_orderable``) and
    TypeError for values of the wrong Python type.
    """
    compare = spec(data_type).compare
    if compare is None:
        raise ValueError(f"values of DataType {data_type} have no order; compare them for equality")
    return compare(a, b, data_type)


def is_orderable(data_type: str) -> bool:
    """Whether ``compare_values`` (and so LT, LE, GT, GE range checks) applies to the DataType."""
    return spec(data_type).compare is not None


def python_kind(data_type: str) -> str:
    """The Python kind of a value: one of text, integer, number, boolean, date, time,
    datetime, duration, binary, uri, interval."""
    return spec(data_type).kind


def expression_type(data_type: str) -> str:
    """The OEL type of an item of ``data_type``; ``text`` for a DataType ODM does not define
    (the expression checker reads such values as they are)."""
    found = REGISTRY.get(data_type)
    return found.expression_type if found is not None else "text"
