"""The typed view model the print templates read: every decision is made in Python.

``build.DocumentBuilder`` turns ODM metadata (and, for a casebook, a subject's data) into a
:class:`DocumentView`; the Jinja2 templates only lay it out. ODM text in these objects is
plain text: the templates escape it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AnnotationView:
    """One SDTM annotation box beside an item (aCRF only)."""

    text: str
    domain: str
    """The SDTM domain (colour of the box); empty for ``[NOT SUBMITTED]``."""
    colour: int
    """Index of the domain's colour on this form (0-3); -1 for not submitted."""


@dataclass(frozen=True, slots=True)
class DomainView:
    """A domain box at the top of a form: ``DS = Disposition``."""

    code: str
    label: str
    colour: int
    anchor: str


@dataclass(frozen=True, slots=True)
class ChoiceView:
    code: str
    decode: str
    ticked: bool = False


@dataclass(frozen=True, slots=True)
class ItemView:
    anchor: str
    """Element id; the page map records the page of this element."""
    item_oid: str
    number: int
    question: str
    help: str
    instruction: str
    """Skip logic in words, e.g. "Answer only if question 1 is Yes (Y)."."""
    kind: str
    """``choices``, ``checkbox``, ``boxes``, ``number``, ``date``, ``time``, ``datetime``,
    ``lines`` or ``derived``."""
    mandatory: bool
    boxes: int = 0
    """``boxes``: character boxes; ``number``: digits before the decimal point."""
    decimals: int = 0
    lines: int = 1
    hint: str = ""
    unit: str = ""
    units: tuple[str, ...] = ()
    choices: tuple[ChoiceView, ...] = ()
    vertical: bool = False
    value: str | None = None
    """Casebook: the entered value (None on a blank CRF)."""
    note: str = ""
    """Casebook: why there is no value (null reason, skip logic)."""
    annotations: tuple[AnnotationView, ...] = ()


@dataclass(frozen=True, slots=True)
class EntryView:
    """A non-repeating group's items, or one row (repeat) of a repeating group."""

    label: str
    items: tuple[ItemView, ...]


@dataclass(frozen=True, slots=True)
class GroupView:
    oid: str
    title: str
    instruction: str
    repeating: bool
    entries: tuple[EntryView, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class FormView:
    anchor: str
    oid: str
    title: str
    event_title: str
    instruction: str
    domains: tuple[DomainView, ...]
    groups: tuple[GroupView, ...]
    status: str = ""
    empty_note: str = ""


@dataclass(frozen=True, slots=True)
class EventView:
    anchor: str
    oid: str
    title: str
    instruction: str
    forms: tuple[FormView, ...]


@dataclass(frozen=True, slots=True)
class TableView:
    """An appendix table: head cells and rows of text cells."""

    anchor: str
    title: str
    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str
    widths: tuple[int, ...] = ()
    """Column widths in per cent of the page width."""


@dataclass(frozen=True, slots=True)
class DocumentView:
    kind: str
    """``blank``, ``acrf`` or ``casebook``."""
    lang: str
    ui: Mapping[str, str]
    title: str
    study_name: str
    protocol_name: str
    study_oid: str
    mdv_oid: str
    mdv_name: str
    site: str
    """Casebook: the site OID and name; blank: empty (a box to fill in)."""
    subject: str
    printed_at: str
    events: tuple[EventView, ...]
    appendices: tuple[TableView, ...] = ()

    @property
    def annotated(self) -> bool:
        return self.kind == "acrf"
