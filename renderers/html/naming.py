"""Names of the form fields the renderer writes, and how the web app reads them back.

Every input the renderer produces is named after the ODM key of the value it holds, within
one form (the web app knows the StudyEvent and Form keys from the URL):

=======================================  ==================================================
``IG.OID[KEY].IT.OID``                   the value of ItemOID in the ItemGroupOID row KEY
``IG.OID[KEY].IT.OID:unit``              the MeasurementUnitOID chosen for that value
                                         (only when the ItemDef has several units)
``IG.OID[KEY].IT.OID:checkbox``          ``1``: the boolean checkbox of that value was
                                         answered, so an unchecked box means ``false``
                                         (sent once a value is stored or the user has
                                         touched the box; an untouched, never answered
                                         box sends nothing and stays without a value)
``IG.OID[KEY]:remove``                   ``1``: remove the saved row KEY of a repeating
                                         item group (sent only after the user removes it)
=======================================  ==================================================

KEY is the ItemGroupRepeatKey; it is empty for a non-repeating item group
(``IG.DM[].IT.SEX``). Inside each of the three parts the characters ``% [ ] :`` are written
as ``%25 %5B %5D %3A`` (and nothing else is escaped), so any OID or repeat key round-trips:
``parse_field_name(field_name(g, k, i)) == (g, k, i)`` for all strings.

The row template of a repeating group (the row the "add row" button copies) uses the
placeholder :data:`ROW_PLACEHOLDER` as its KEY; it is not a valid escaped key, so a template
name that reaches the server by mistake is refused by :func:`parse_field_name`. The browser
gives a new row the smallest whole number greater than every whole-number key of the table.

Inputs of items that are not collected (their CollectionExceptionCondition is true) and of
removed rows are ``disabled``, so the browser does not send them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from odm_engine.errors import EdcError

ROW_PLACEHOLDER = "%ROW%"
"""KEY of the template row; replaced by the browser with a fresh repeat key."""

PARTS = ("value", "unit", "checkbox", "remove")

_ESCAPES = {"%": "%25", "[": "%5B", "]": "%5D", ":": "%3A"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}
_PART = r"(?:[^%\[\]:]|%25|%5B|%5D|%3A)*"
_NAME = re.compile(
    rf"(?P<group>{_PART})\[(?P<key>{_PART})\]"
    rf"(?:\.(?P<item>{_PART})(?::(?P<suffix>unit|checkbox))?|:(?P<row>remove))"
)


class FieldNameError(EdcError, ValueError):
    """A name that is not one the renderer writes."""


class FieldRef(NamedTuple):
    """Where one value lives within a form: item group, its repeat key and the item."""

    ig_oid: str
    ig_repeat_key: str
    item_oid: str


class FieldName(NamedTuple):
    """Any field name the renderer writes, classified; ``item_oid`` is "" for ``remove``."""

    ig_oid: str
    ig_repeat_key: str
    item_oid: str
    part: str
    """One of :data:`PARTS`."""


def escape_part(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _unescape(text: str) -> str:
    return re.sub(r"%25|%5B|%5D|%3A", lambda m: _UNESCAPES[m.group()], text)


def row_prefix(ig_oid: str, ig_repeat_key: str) -> str:
    """``IG.OID[KEY]``: the common start of every name of one item group row."""
    return f"{escape_part(ig_oid)}[{escape_part(ig_repeat_key)}]"


def field_name(ig_oid: str, ig_repeat_key: str, item_oid: str, part: str = "value") -> str:
    """The name of one input; ``part`` is ``value``, ``unit`` or ``checkbox``."""
    if part not in ("value", "unit", "checkbox"):
        raise ValueError(f"part must be value, unit or checkbox, not {part!r}")
    base = f"{row_prefix(ig_oid, ig_repeat_key)}.{escape_part(item_oid)}"
    return base if part == "value" else f"{base}:{part}"


def remove_field_name(ig_oid: str, ig_repeat_key: str) -> str:
    return f"{row_prefix(ig_oid, ig_repeat_key)}:remove"


def template_name(ig_oid: str, item_oid: str, part: str = "value") -> str:
    """The name of an input in the row template (KEY is :data:`ROW_PLACEHOLDER`)."""
    name = field_name(ig_oid, "", item_oid, part)
    prefix = row_prefix(ig_oid, "")
    return f"{prefix[:-1]}{ROW_PLACEHOLDER}]{name[len(prefix) :]}"


@lru_cache(maxsize=8192)
def classify_field(name: str) -> FieldName | None:
    """The parts of any name the renderer writes, or None for other names (csrf_token...).

    Remembered: a form posts the same names on every save (the answer is an immutable tuple).
    """
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    group, key = _unescape(match["group"]), _unescape(match["key"])
    if match["row"]:
        return FieldName(group, key, "", "remove")
    return FieldName(group, key, _unescape(match["item"]), match["suffix"] or "value")


def parse_field_name(name: str) -> FieldRef:
    """``(ig_oid, ig_repeat_key, item_oid)`` of a value field name such as ``IG.AE[2].IT.TERM``.

    Raises :class:`FieldNameError` for any other name (unit, checkbox and remove names
    included: use :func:`classify_field` to read those).
    """
    parsed = classify_field(name)
    if parsed is None or parsed.part != "value":
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise FieldNameError(
            f"{shown!r} is not a field name of the form IG.OID[REPEATKEY].IT.OID "
            "(with % [ ] : escaped as %25 %5B %5D %3A)"
        )
    return FieldRef(parsed.ig_oid, parsed.ig_repeat_key, parsed.item_oid)


def element_id(name: str) -> str:
    """An HTML id for the input named ``name`` (ids may not contain whitespace)."""
    return "f-" + re.sub(r"\s", "_", name)
