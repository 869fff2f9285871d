"""Render a tiny inline study and query the HTML with XPath."""

from __future__ import annotations

from lxml import html as lxml_html

from odm_engine import model as m
from odm_engine.loader import load_odm
from renderers.html import FormRenderer, FormState
from tests.conftest import odm, one_item_study

__all__ = ["load_study", "odm", "one_item_study", "render", "render_item"]


def load_study(body: str, *, units: str = "") -> m.Study:
    result = load_odm(odm(body, units=units), path="inline.xml")
    assert result.study is not None, result.findings
    return result.study


def render(
    body: str,
    form_oid: str = "F.1",
    state: FormState | None = None,
    *,
    lang: str | None = None,
    units: str = "",
) -> lxml_html.HtmlElement:
    """The form body of ``form_oid`` in a study made of ``body``, parsed for XPath."""
    markup = FormRenderer(load_study(body, units=units)).form_html(form_oid, state, lang=lang)
    return lxml_html.fragment_fromstring(str(markup))


def render_item(
    item: str, *, item_ref: str | None = None, extra: str = "", units: str = "", **kw: object
) -> lxml_html.HtmlElement:
    """The form of ``one_item_study`` with the given ItemDef (and ItemRef)."""
    body = (
        one_item_study(item, extra=extra)
        if item_ref is None
        else one_item_study(item, item_ref=item_ref, extra=extra)
    )
    return render(body, units=units, **kw)  # type: ignore[arg-type]
