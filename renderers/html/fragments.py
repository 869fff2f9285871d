"""The HTML of each field, rendered once per MetaDataVersion with holes for what pages change.

A field's HTML (``_field.html``) is a pure function of its :class:`FieldView` and the
interface language. Nearly all of it comes from the metadata: label, help, names, ids,
widget, marks. What differs between pages is the value and the history link, and for text,
number and date inputs, text areas and derived items the template writes these only as
escaped text and never tests them. So such a field is rendered once with markers in place of
its value and its link; each later page copies that text and fills the holes with its own
escaped value and link. Fields with messages and choice widgets (radio buttons, selects and
checkboxes, whose value decides what is checked) are rendered in full every time.

The templates keep that contract: ``_widget.html`` outputs ``field.value`` of an ``input``,
``textarea`` or ``derived`` widget as ``{{ field.value }}`` only, and ``_field.html`` tests
``field.history_url`` for presence only (presence is part of the cache key). A shell whose
holes are not where the contract puts them is never used (the field is rendered in full).

The reference is :meth:`FieldFragments._render`, a full Jinja2 render (autoescaped) of the
field, which the shell path falls back to; ``tests/renderers/test_fragments.py`` holds the
two equal on generated hostile values, links and labels (markup, quotes, NUL and the hole
markers themselves). Bench figure (issue 15, the ``bench web`` study served in-process): a
form page shown after a save, its body not yet remembered, took 1.89 ms of CPU against
2.79 ms with every field rendered in full (+48% without it); the 20-item form's body alone
0.41 ms against 1.14 ms (docs/architecture.md, speed tricks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from jinja2 import Environment
from markupsafe import Markup, escape

from renderers.html.view import FieldView

_VALUE = "\x00edc-value\x00"
_LINK = "\x00edc-link\x00"
_HOLE = re.compile("\x00edc-(value|link)\x00")
WITH_HOLES = frozenset({"input", "textarea", "derived"})
"""Widgets whose value is written as escaped text only."""
_KEY_FIELDS = tuple(f.name for f in fields(FieldView) if f.name not in ("value", "history_url"))
LIMIT = 20_000
"""Shells kept per renderer (fields x rows x languages x states); the cache restarts beyond."""

Shell = tuple[str, ...]
"""Text, hole name, text, ..., text: ``value`` and ``link`` holes at odd positions."""


@dataclass(frozen=True, slots=True)
class _Frame:
    """What ``_field.html`` reads of the form: only its interface text."""

    ui: Mapping[str, str]


class FieldFragments:
    """Field HTML for one FormRenderer (one MetaDataVersion): shells made on first use."""

    def __init__(self, env: Environment, limit: int = LIMIT) -> None:
        self._template = env.get_template("_field.html")
        self._shells: dict[tuple[object, ...], Shell | None] = {}
        self._limit = limit

    def html(self, field: FieldView, compact: bool, ui: Mapping[str, str], lang: str) -> Markup:
        """The field's HTML, exactly as ``_field.html`` renders it."""
        if field.messages or field.widget not in WITH_HOLES:
            return self._render(field, compact, ui)
        key = (lang, compact, bool(field.history_url), *[getattr(field, n) for n in _KEY_FIELDS])
        try:
            shell = self._shells[key]
        except KeyError:
            shell = self._shell(field, compact, ui)
            if len(self._shells) >= self._limit:
                self._shells.clear()
            self._shells[key] = shell
        if shell is None:
            return self._render(field, compact, ui)
        out = list(shell)
        for i in range(1, len(out), 2):
            out[i] = escape(field.value if out[i] == "value" else field.history_url)
        return Markup("".join(out))  # noqa: S704 (our template's output, holes escaped)

    def _render(self, field: FieldView, compact: bool, ui: Mapping[str, str]) -> Markup:
        html = self._template.render(field=field, compact=compact, form=_Frame(ui))
        return Markup(html)  # noqa: S704 (autoescaped template output)

    def _shell(self, field: FieldView, compact: bool, ui: Mapping[str, str]) -> Shell | None:
        marked = replace(field, value=_VALUE, history_url=_LINK if field.history_url else "")
        parts = tuple(
            _HOLE.split(self._template.render(field=marked, compact=compact, form=_Frame(ui)))
        )
        holes = parts[1::2]
        if holes.count("value") != 1 or holes.count("link") != bool(field.history_url):
            return None
        return parts
