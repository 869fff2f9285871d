"""Reading an ODM element into cells, and setting aside what has no cell.

Every attribute and child element of an element the sheets show is either taken into a
column (:meth:`Walk.take`) or, at the end, kept verbatim in odm_extra (:meth:`Walk.rest`):
nothing is dropped silently. A child element is taken only when the cells hold all of it
(:func:`text_of`, :func:`aliases_of`, :func:`plain`); otherwise it is kept whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lxml import etree

from odm_engine.design_sheets.model import CELL_LIMIT

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def local(el: etree._Element) -> str:
    return str(etree.QName(el).localname)


def children(el: etree._Element) -> list[etree._Element]:
    """Element children only (no comments or processing instructions)."""
    return [c for c in el if isinstance(c.tag, str)]


def plain(el: etree._Element, attrs: Iterable[str] = (), text: bool = False) -> bool:
    """``el`` has no child elements and no attributes but ``attrs``; with ``text``, a text
    on one line that is not empty."""
    if children(el) or not set(el.attrib) <= set(attrs):
        return False
    if text:
        value = el.text or ""
        return bool(value) and "\n" not in value and value == value.strip()
    return not (el.text or "").strip()


def row_like(el: etree._Element, attrs: Iterable[str]) -> bool:
    """A Ref or code whose ODM attributes are all in ``attrs`` and has no child elements;
    vendor attributes (``{namespace}name``) are allowed: :meth:`Walk.rest` keeps them under
    the row's own owner, so the row keeps its place among its siblings."""
    odm_attrs = {a for a in el.attrib if not a.startswith("{")}
    return not children(el) and odm_attrs <= set(attrs) and not (el.text or "").strip()


def text_of(el: etree._Element) -> dict[str | None, str] | None:
    """TranslatedText per language, or None when the cells could not hold it all (an empty
    text, a language twice, other attributes or children)."""
    if el.attrib or not children(el):
        return None
    texts: dict[str | None, str] = {}
    for tt in children(el):
        lang = tt.get(XML_LANG)
        if local(tt) != "TranslatedText" or children(tt) or set(tt.attrib) - {XML_LANG}:
            return None
        if lang in texts or not tt.text:
            return None
        texts[lang] = tt.text
    return texts


def alias_pairs(els: Sequence[etree._Element]) -> list[tuple[str, str]] | None:
    """(Context, Name) of the Alias elements, or None when a cell cannot hold one."""
    pairs = []
    for el in els:
        if not plain(el, ("Context", "Name")):
            return None
        context, name = el.get("Context"), el.get("Name")
        if context is None or name is None or "=" in context or "\n" in context + name:
            return None
        pairs.append((context, name))
    return pairs


def text_column(field: str, lang: str | None) -> str:
    return field if lang is None else f"{field}[{lang}]"


class Walk:
    """The export's bookkeeping: languages seen and the odm_extra rows."""

    def __init__(self, odm_ns: str) -> None:
        self.odm_ns = odm_ns
        self.langs: list[str | None] = []
        self.extra: list[list[str]] = []
        self.kinds: dict[str, int] = {}
        self.checks = 0
        """The most RangeChecks one item has in cells: the items sheet's Check columns."""
        self._taken: dict[int, etree._Element] = {}
        """By id; the element is held so lxml keeps its proxy (and so its id) alive."""
        self._taken_attrs: dict[int, set[str]] = {}

    def is_odm(self, el: etree._Element) -> bool:
        return bool(etree.QName(el).namespace == self.odm_ns)

    def take(self, el: etree._Element, attrs: Iterable[str] = ()) -> None:
        """Mark ``el`` (a child shown in cells) and its ``attrs`` as held by the sheets."""
        self._taken[id(el)] = el
        self._taken_attrs.setdefault(id(el), set()).update(attrs)

    def attrs(
        self, el: etree._Element, spec: Iterable[tuple[str, str]], row: dict[str, str]
    ) -> None:
        """Copy the attributes of ``spec`` (column, attribute) into ``row``."""
        for column, attr in spec:
            value = el.get(attr)
            if value is not None:
                row[column] = value
                self.take(el, (attr,))

    def texts(self, el: etree._Element | None, field: str, row: dict[str, str]) -> bool:
        """Put a Description/Question/... into its language columns; False if kept aside."""
        if el is None:
            return True
        texts = text_of(el)
        if texts is None:
            return False
        seen = self.langs + [lang for lang in texts if lang not in self.langs]
        where = [seen.index(lang) for lang in texts]
        if where != sorted(where):
            return False  # the language columns would reorder the translations
        for lang, value in texts.items():
            if lang not in self.langs:
                self.langs.append(lang)
            row[text_column(field, lang)] = value
        self.take(el)
        return True

    def aliases(self, els: Sequence[etree._Element], row: dict[str, str], column: str) -> None:
        pairs = alias_pairs(els)
        if pairs is None:
            return
        row[column] = "\n".join(f"{context}={name}" for context, name in pairs)
        for el in els:
            self.take(el)

    def rest(self, el: etree._Element, owner: str) -> None:
        """Keep what of ``el`` no column took: its attributes and child elements."""
        taken = self._taken_attrs.get(id(el), set())
        for name, value in el.attrib.items():
            if name not in taken:
                self._add(owner, "attribute", name, "", value)
        previous = ""
        for child in children(el):
            if id(child) not in self._taken:
                xml = etree.tostring(child, encoding="unicode", with_tail=False)
                self._add(owner, "element", local(child), previous, xml)
            if self.is_odm(child):
                previous = local(child)

    def _add(self, owner: str, kind: str, name: str, after: str, value: str) -> None:
        key = name if kind == "element" else f"@{etree.QName(name).localname}"
        self.kinds[key] = self.kinds.get(key, 0) + 1
        parts = [value[i : i + CELL_LIMIT] for i in range(0, len(value), CELL_LIMIT)] or [""]
        for n, part in enumerate(parts, 1):
            self.extra.append([owner, kind, name, after, str(n), part])


def first(el: etree._Element, name: str, walk: Walk) -> etree._Element | None:
    for child in children(el):
        if local(child) == name and walk.is_odm(child):
            return child
    return None


def all_of(el: etree._Element, name: str, walk: Walk) -> list[etree._Element]:
    return [c for c in children(el) if local(c) == name and walk.is_odm(c)]
