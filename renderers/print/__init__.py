"""Printable CRFs from ODM metadata: blank CRF, SDTM-annotated CRF (aCRF) and casebook PDFs.

Pipeline: ``DocumentBuilder(study).blank() / .annotated() / .casebook(data)`` (metadata ->
typed :class:`DocumentView`) -> ``render_html`` (Jinja2 print templates) -> ``render_pdf``
(WeasyPrint layout: PDF bytes, bookmarks and the :class:`PageMap`). The one-call helpers
:func:`print_blank`, :func:`print_acrf` and :func:`print_casebook` do all three.

Casebook data (values, audit trail, queries, signatures) comes in as plain records
(:mod:`renderers.print.data`); renderers never import storage. The aCRF's page map (item OID
-> pages) is written beside the PDF by :func:`write_page_map` and read back by
:func:`load_page_map` for Define-XML's ``def:PDFPageRef``. See docs/printing.md.
"""

from __future__ import annotations

from odm_engine import model as m
from renderers.print.build import DocumentBuilder, UnknownMetaDataVersionError
from renderers.print.data import (
    AuditRow,
    CasebookData,
    QueryMessageRow,
    QueryRow,
    SignatureRow,
)
from renderers.print.pagemap import (
    PageMap,
    PageMapError,
    load_page_map,
    page_map_path,
    write_page_map,
)
from renderers.print.pdf import PrintedDocument, render_html, render_pdf
from renderers.print.view import DocumentView


def print_blank(
    study: m.Study, *, lang: str | None = None, mdv_oid: str | None = None
) -> PrintedDocument:
    """The blank CRF of ``study``: every event and form in Protocol order."""
    return render_pdf(DocumentBuilder(study, lang=lang, mdv_oid=mdv_oid).blank())


def print_acrf(
    study: m.Study, *, lang: str | None = None, mdv_oid: str | None = None
) -> PrintedDocument:
    """The SDTM-annotated CRF of ``study``, with its page map."""
    return render_pdf(DocumentBuilder(study, lang=lang, mdv_oid=mdv_oid).annotated())


def print_casebook(
    study: m.Study, data: CasebookData, *, lang: str | None = None, mdv_oid: str | None = None
) -> PrintedDocument:
    """One subject's casebook: the CRF pages with the entered data, then the appendices."""
    return render_pdf(DocumentBuilder(study, lang=lang, mdv_oid=mdv_oid).casebook(data))


__all__ = [
    "AuditRow",
    "CasebookData",
    "DocumentBuilder",
    "DocumentView",
    "PageMap",
    "PageMapError",
    "PrintedDocument",
    "QueryMessageRow",
    "QueryRow",
    "SignatureRow",
    "UnknownMetaDataVersionError",
    "load_page_map",
    "page_map_path",
    "print_acrf",
    "print_blank",
    "print_casebook",
    "render_html",
    "render_pdf",
    "write_page_map",
]
