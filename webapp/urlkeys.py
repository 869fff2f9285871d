"""Keys from the data in URL path segments: SubjectKeys, site OIDs and repeat keys.

ODM keys are free text. A SubjectKey imported from another EDC may hold a ``/``, a repeat
key may be empty, and a key of dots would be collapsed by the browser (``..`` is a path
step), so a key is written into its one path segment with ``~`` as escape character:

=========  ==========
key        segment
=========  ==========
``""``     ``~``
``~``      ``~~``
``/``      ``~s``
``.``      ``~d`` (only in a key made of dots only)
=========  ==========

Everything else is percent-encoded as usual. Werkzeug decodes the percent-encoding
before routing, so ``%2F`` cannot carry a slash; the escape can. A segment that is not a
well-formed escape (``~x``) matches no key: 404, and so does a segment holding a character
XML cannot carry (NUL included: no stored key holds one).
"""

from __future__ import annotations

from flask import url_for
from werkzeug.routing import BaseConverter, ValidationError

from odm_engine.clinical import FormKey
from odm_engine.free_text import NOT_XML

_ESCAPES = {"~": "~", "s": "/", "d": "."}


def encode_key(key: str) -> str:
    """The path segment of ``key``, before percent-encoding."""
    if not key:
        return "~"
    text = key.replace("~", "~~").replace("/", "~s")
    if text.strip(".") == "":
        text = "~d" * len(text)
    return text


def decode_key(segment: str) -> str:
    """The key of a path segment made by :func:`encode_key`; ValueError if none is."""
    if segment == "~":
        return ""
    if "~" not in segment:
        if segment.strip(".") == "":
            raise ValueError(f"{segment!r} is a path step, not a key")
        return segment
    out = []
    chars = iter(segment)
    for ch in chars:
        if ch != "~":
            out.append(ch)
            continue
        escaped = _ESCAPES.get(next(chars, ""))
        if escaped is None:
            raise ValueError(f"{segment!r}: '~' must be followed by '~', 's' or 'd'")
        out.append(escaped)
    return "".join(out)


class KeyConverter(BaseConverter):
    """``<key:name>``: one path segment holding any key (see the module's table)."""

    def to_python(self, value: str) -> str:
        if NOT_XML.search(value):  # issue 14: no stored key holds one; NUL broke PostgreSQL
            raise ValidationError("a key holds a control character")
        try:
            return decode_key(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def to_url(self, value: object) -> str:
        return super().to_url(encode_key(str(value)))


def form_url(endpoint: str, subject_key: str, key: FormKey) -> str:
    """``url_for`` of a form instance's page (``entry.form``) or of one of its actions."""
    return url_for(
        endpoint,
        subject_key=subject_key,
        event_oid=key.study_event_oid,
        event_repeat=key.study_event_repeat_key,
        form_oid=key.form_oid,
        form_repeat=key.form_repeat_key,
    )
