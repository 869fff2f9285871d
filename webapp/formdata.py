"""Reading ``application/x-www-form-urlencoded`` bodies: werkzeug's result, at a third of
its cost.

A form save posts a field per item (``IG.VS[].IT.SYSBP`` and so on, brackets
percent-encoded by the browser) and werkzeug decodes every name and value through
``urllib.parse.parse_qsl``: on a 20-item form that was about a twentieth of a save's CPU.
The field names of a study's forms are few and repeat on every save, so their decoded form
is remembered (a bounded table); a value is decoded only when it holds a ``%`` or a ``+``.
The result is exactly ``parse_qsl(text, keep_blank_values=True,
errors="werkzeug.url_quote")``, werkzeug's own call (a property test holds the two
together), and the body is still limited by ``MAX_CONTENT_LENGTH`` before it is read.
"""

from __future__ import annotations

import threading
import typing as t
from urllib.parse import unquote

from flask import Request
from werkzeug.formparser import FormDataParser

_NAMES_KEPT = 4096
"""Decoded field names remembered (per process); the table starts over when full."""

_names: dict[str, str] = {}
_names_lock = threading.Lock()


def _decode(raw: str) -> str:
    if "%" not in raw and "+" not in raw:
        return raw
    return unquote(raw.replace("+", " "), errors="werkzeug.url_quote")


def _decode_name(raw: str) -> str:
    found = _names.get(raw)
    if found is None:
        found = _decode(raw)
        with _names_lock:
            if len(_names) >= _NAMES_KEPT:
                _names.clear()
            _names[raw] = found
    return found


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of an urlencoded body, as ``parse_qsl`` with blank values."""
    pairs = []
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((_decode_name(name), _decode(value)))
    return pairs


class _Parser(FormDataParser):
    def _parse_urlencoded(
        self,
        stream: t.IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> tuple[t.IO[bytes], t.Any, t.Any]:
        pairs = parse_pairs(stream.read().decode())
        return stream, self.cls(pairs), self.cls()


class EdcRequest(Request):
    """Flask's request with the urlencoded form reader above."""

    form_data_parser_class = _Parser
