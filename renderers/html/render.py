"""Render FormDefs as HTML: the form body for the web app, a standalone preview for designers.

The pipeline: ``FormBuilder(study).build(form_oid, state, lang=...)`` makes a typed
``FormView``; one Jinja2 environment (autoescape, StrictUndefined) renders it. Every ODM text
is data and is escaped; the page carries no inline script or event handler except the
preview, which inlines the static files so it works when opened from disk.

Contract with the browser (``static/form.js``, ``static/oel.js``, ``static/dates.js``,
``static/numbers.js``):

* The body is ``<div class="edc-form" data-form=FORM_OID data-plan=ID>``; the page wraps it
  in its own ``<form method="post" novalidate>`` (with its CSRF token and buttons: the
  browser must not block a save, the server checks) and loads the three scripts listed by
  :data:`SCRIPTS`, in that order, from :data:`STATIC_DIR`; :data:`STYLESHEET` styles it.
  Posted names follow ``renderers.html.naming``; run each value through
  ``renderers.html.normalise_entry`` (dates typed as ``UN-MAR-2019``, ``14:30``) before
  ``odm_engine.datatypes.parse_value``.
* ``<script type="application/json" id=ID class="edc-plan">`` holds the client data:
  ``{"version": 1, "form": OID, "lang": "de", "conditions": [RULE], "derivations": [RULE],
  "outside": [OUTSIDE], "messages": {"date.syntax": "...", ...}}`` where
  ``RULE = {"id": ConditionDef/MethodDef OID, "group": IG OID, "item": IT OID or null (a
  condition on the whole item group), "oel": text, "expr": TREE}`` (``CheckPlan.
  to_client_json``; derivations are listed dependencies first), TREE is the typed tree of
  ``odm_engine.expressions.typed.to_json`` and ``OUTSIDE = {"event", "form", "group",
  "item", "level", "values": [text or null, ...]}`` gives the values of references at level
  ``event`` or ``study`` (other forms), which the page cannot read itself.
* Each field is ``<div class="field" data-field=NAME data-group data-item data-key
  data-datatype data-widget [data-condition] [data-method] [hidden data-not-collected]>``;
  item groups are ``<fieldset class="item-group" data-group [data-condition]>``; rows of
  repeating groups are ``<tr class="row" data-key data-saved>`` and the row to copy is in
  ``<template class="row-template">``. Field names follow ``renderers.html.naming``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from odm_engine import model as m
from odm_engine.expressions import CheckPlan
from renderers.html.build import FormBuilder
from renderers.html.fragments import FieldFragments
from renderers.html.view import FieldView, FormState, FormView

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
SCRIPTS = ("oel.js", "dates.js", "numbers.js", "form.js")
"""Static scripts of the form, in load order (files in STATIC_DIR)."""
STYLESHEET = "form.css"
MEMO_SIZE = 128
"""Form bodies a renderer keeps, by everything they are made of (see :func:`state_key`)."""


@cache
def environment() -> Environment:
    """The one Jinja2 environment of the renderer: autoescape on, undefined names are errors.

    The templates ship with the package, so they are compiled once per process and never
    re-checked on disk (``auto_reload`` would stat every template on every include).
    """
    return Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,
    )


def _inline(name: str, closing: str) -> Markup:
    """A static file's text for a <script>/<style> element of the standalone preview."""
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    if closing in text.lower() or "<!--" in text:
        raise ValueError(f"{name} contains {closing} or <!--; it cannot be inlined")
    return Markup(text)  # noqa: S704 (our own static file, checked above)


class _PreviewPage:
    """Context of the standalone preview: inlined stylesheet and scripts."""

    __slots__ = ("css", "script")

    def __init__(self) -> None:
        self.css = _inline(STYLESHEET, "</style")
        self.script = Markup("\n").join(_inline(name, "</script") for name in SCRIPTS)


class FormRenderer:
    """Renders the forms of one Study. Build once per MetaDataVersion and reuse it.

    ``plan`` is the compiled check plan (compiled here when None); ``default_lang`` overrides
    the study's default language (the first language its questions are written in).
    """

    def __init__(
        self,
        study: m.Study,
        *,
        mdv_oid: str | None = None,
        plan: CheckPlan | None = None,
        default_lang: str | None = None,
    ) -> None:
        self.builder = FormBuilder(
            study,
            mdv_oid=mdv_oid,
            plan=plan,
            default_lang=default_lang,
        )
        self.fields = FieldFragments(environment())
        self._memo: OrderedDict[Hashable, Markup] = OrderedDict()
        self._memo_lock = threading.Lock()

    def view(
        self, form_oid: str, state: FormState | None = None, *, lang: str | None = None
    ) -> FormView:
        return self.builder.build(form_oid, state, lang=lang)

    def form_html(
        self, form_oid: str, state: FormState | None = None, *, lang: str | None = None
    ) -> Markup:
        """The form body (safe markup to embed in a page layout).

        A body is a pure function of the form, the language and the state, so the last
        :data:`MEMO_SIZE` bodies are kept by :func:`state_key`: a page shown again with the
        same values, messages and links (a casebook reviewed, a form re-opened) is not
        rendered again. Any difference in the state is a different key.
        """
        key = (form_oid, lang, state_key(state))
        with self._memo_lock:
            found = self._memo.get(key)
            if found is not None:
                self._memo.move_to_end(key)
                return found
        form = self.view(form_oid, state, lang=lang)
        html = environment().get_template("form.html").render(form=form, **self._helpers(form))
        body = Markup(html)  # noqa: S704 (autoescaped template output)
        with self._memo_lock:
            self._memo[key] = body
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return body

    def preview_html(
        self, form_oid: str, state: FormState | None = None, *, lang: str | None = None
    ) -> str:
        """A complete HTML page with the form, its stylesheet and scripts inlined."""
        form = self.view(form_oid, state, lang=lang)
        return (
            environment()
            .get_template("preview.html")
            .render(form=form, page=_PreviewPage(), **self._helpers(form))
        )

    def _helpers(self, form: FormView) -> dict[str, Callable[..., Markup]]:
        """Callables the templates use: ``field_html(field, compact)`` (see fragments.py)."""

        def field_html(field: FieldView, compact: bool) -> Markup:
            return self.fields.html(field, compact, form.ui, form.lang)

        return {"field_html": field_html}


def state_key(state: FormState | None) -> Hashable:
    """Everything of ``state`` that the form body is made of, as one hashable value.

    Keep it in step with :class:`FormState`: a field the builder reads and this key leaves
    out would let a page show another state's body (``tests/renderers`` checks each field).
    """
    if state is None:
        return None
    subject = state.subject
    return (
        frozenset(state.values.items()),
        frozenset(state.units.items()),
        tuple((r.severity, r.item_key, r.message) for r in state.check_results),
        state.form_key,
        None
        if subject is None
        else (
            subject.subject_key,
            subject.site_oid,
            frozenset(subject.values.items()),
            frozenset(subject.null_reasons.items()),
        ),
        state.not_collected,
        frozenset((k, tuple(v)) for k, v in state.repeat_keys.items()),
        frozenset(state.history_urls.items()),
    )


def render_form(
    study: m.Study,
    form_oid: str,
    state: FormState | None = None,
    *,
    lang: str | None = None,
    plan: CheckPlan | None = None,
) -> Markup:
    """The HTML body of FormDef ``form_oid`` (one-off; reuse a FormRenderer for many pages)."""
    return FormRenderer(study, plan=plan).form_html(form_oid, state, lang=lang)


def render_preview(
    study: m.Study,
    form_oid: str,
    state: FormState | None = None,
    *,
    lang: str | None = None,
    plan: CheckPlan | None = None,
) -> str:
    """A standalone preview page of FormDef ``form_oid`` that works opened from disk."""
    return FormRenderer(study, plan=plan).preview_html(form_oid, state, lang=lang)
