"""Lay out a :class:`DocumentView` with WeasyPrint: HTML, PDF, bookmarks and the page map.

``render_html`` fills the Jinja2 templates (one environment, autoescape on, StrictUndefined:
ODM text is data). ``render_pdf`` lays the HTML out once and reads the page of every item,
form and domain box from the layout (each is an element with an id, which WeasyPrint
records as an anchor of the page it starts on), so the page map is the layout's own answer.
PDF bookmarks come from CSS (``bookmark-level``: visits, forms and, on an aCRF, domain boxes);
on an aCRF the domain entries are then gathered into a second tree, "SDTM domains", each
domain listing the forms it is collected on, as reviewers navigate by domain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from renderers.print.pagemap import PageMap
from renderers.print.view import DocumentView, FormView, ItemView

TEMPLATES = Path(__file__).parent / "templates"
Bookmark = tuple[str, tuple[int, float, float], list[Any], str]
"""WeasyPrint's bookmark subtree: (label, (page index, x, y), children, state)."""


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _css() -> Markup:
    return Markup((TEMPLATES / "print.css").read_text(encoding="utf-8"))  # noqa: S704 (our file)


def render_html(doc: DocumentView) -> str:
    """The printable HTML of ``doc`` (open it in a browser to look at the layout)."""
    return environment().get_template("crf.html").render(doc=doc, ui=doc.ui, css=_css())


@dataclass(frozen=True, slots=True)
class PrintedDocument:
    pdf: bytes
    page_map: PageMap
    page_count: int


def _forms(doc: DocumentView) -> Iterator[FormView]:
    for event in doc.events:
        yield from event.forms


def _items(form: FormView) -> Iterator[ItemView]:
    for group in form.groups:
        for entry in group.entries:
            yield from entry.items


def page_map_of(doc: DocumentView, anchors: dict[str, int], page_count: int) -> PageMap:
    """The page map from ``anchors`` (element id -> 1-based page) of the laid-out ``doc``."""
    items: dict[str, set[int]] = {}
    forms: dict[str, set[int]] = {}
    domains: dict[str, set[int]] = {}
    starts = sorted(
        [anchors[f.anchor] for f in _forms(doc) if f.anchor in anchors]
        + [anchors[t.anchor] for t in doc.appendices if t.anchor in anchors]
        + [page_count + 1]
    )
    for form in _forms(doc):
        first = anchors.get(form.anchor)
        if first is None:
            continue
        following = next((s for s in starts if s > first), first + 1)
        forms.setdefault(form.oid, set()).update(range(first, max(following, first + 1)))
        for box in form.domains:
            if box.anchor in anchors:
                domains.setdefault(box.code, set()).add(anchors[box.anchor])
        for item in _items(form):
            page = anchors.get(item.anchor)
            if page is None:
                continue
            items.setdefault(item.item_oid, set()).add(page)
            for a in item.annotations:
                if a.domain:
                    domains.setdefault(a.domain, set()).add(page)

    def frozen(d: dict[str, set[int]]) -> dict[str, tuple[int, ...]]:
        return {k: tuple(sorted(v)) for k, v in d.items()}

    return PageMap(
        kind=doc.kind,
        study_oid=doc.study_oid,
        metadata_version_oid=doc.mdv_oid,
        page_count=page_count,
        items=frozen(items),
        forms=frozen(forms),
        domains=frozen(domains),
    )


def domain_tree(tree: list[Bookmark], title: str) -> list[Bookmark]:
    """Move the domain bookmarks (children of forms) into one "SDTM domains" tree:
    domain -> the forms it is collected on, in document order."""
    by_domain: dict[str, list[Bookmark]] = {}
    for _event_label, _target, forms, _state in tree:
        for form_label, _form_target, children, _ in forms:
            for label, target, _, _ in children:
                by_domain.setdefault(label, []).append((form_label, target, [], "closed"))
            children.clear()
    if not by_domain:
        return tree
    domains: list[Bookmark] = [
        (label, entries[0][1], entries, "closed") for label, entries in sorted(by_domain.items())
    ]
    first = min((d[1] for d in domains), key=lambda t: (t[0], -t[2]))
    return [*tree, (title, first, domains, "open")]


def render_pdf(doc: DocumentView) -> PrintedDocument:
    """Lay ``doc`` out and write the PDF; the page map is read from the same layout."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # noqa: PLC0415 (heavy)

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    layout = HTML(string=render_html(doc), base_url=str(TEMPLATES)).render()
    anchors: dict[str, int] = {}
    for index, page in enumerate(layout.pages):
        for name in page.anchors:
            anchors.setdefault(name, index + 1)
    page_map = page_map_of(doc, anchors, len(layout.pages))
    if doc.annotated:
        original: Callable[..., list[Bookmark]] = layout.make_bookmark_tree

        def make_bookmark_tree(*args: Any, **kwargs: Any) -> list[Bookmark]:
            return domain_tree(original(*args, **kwargs), doc.ui["domains"])

        layout.make_bookmark_tree = make_bookmark_tree
    pdf = layout.write_pdf()
    assert pdf is not None
    return PrintedDocument(pdf, page_map, len(layout.pages))
