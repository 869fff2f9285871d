"""Render FormDefs as HTML: the form body for the web app, a standalone preview for designers.

The pipeline: ``FormBuilder(study).build(form_oid, state, lang=...)`` makes a typed
``FormView``; one Jinja2 environment (autoescape, StrictUndefined) renders it. Every ODM text
is data and is escaped; the page carries no inline script or event handler except the
preview, which inlines the static files so it works when opened from disk.

Contract with the browser (``static/form.js``, ``static/oel.js``, ``static/dates.js``):

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

from collections.abc import Callable
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
SCRIPTS = ("oel.js", "dates.js", "form.js")
"""Static scripts of the form, in load order (files in STATIC_DIR)."""
STYLESHEET = "form.css"


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

    def view(
        self, form_oid: str, state: FormState | None = None, *, lang: str | None = None
    ) -> FormView:
        return self.builder.build(form_oid, state, lang=lang)

    def form_html(
        self, form_oid: str, state: FormState | None = None, *, lang: str | None = None
    ) -> Markup:
        """The form body (safe markup to embed in a page layout)."""
        form = self.view(form_oid, state, lang=lang)
        html = environment().get_template("form.html").render(form=form, **self._helpers(form))
        return Markup(html)  # noqa: S704 (autoescaped template output)

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
