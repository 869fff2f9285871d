"""Reading ODM elements: local names in the file's ODM namespace, and what every node carries.

An element is ODM when it is in the file's ODM namespace, or in no namespace (files without
one, or an ``xmlns=""`` reset); anything in another namespace is a vendor extension, kept
verbatim on the node it belongs to (``ElementReader.base``). Repeated or missing OIDs become
findings (``ElementReader.index``); the reader never raises on bad content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypedDict, TypeVar

from lxml import etree

from odm_engine import model as m
from odm_engine.findings import Finding, finding

T = TypeVar("T")

_XML_PREFIX = f"{{{m.XML_NS}}}"


class NodeArgs(TypedDict):
    """The keyword arguments every model node takes: its line and its vendor extensions."""

    line: int
    ext_attributes: tuple[tuple[str, str], ...]
    extensions: tuple[m.Extension, ...]


def yes_no(value: str | None) -> bool:
    """An ODM ``Yes``/``No`` attribute; anything but ``Yes`` (or absent) is False."""
    return value == "Yes"


def integer(value: str | None) -> int | None:
    """An integer attribute, or None when absent or not an integer (the rules report it)."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


class ElementReader:
    """Element helpers shared by the builders, collecting duplicate-OID findings."""

    def __init__(self, ns: str, path: str | None) -> None:
        self.ns = ns
        self.path = path
        self.findings: list[Finding] = []
        self._prefix = f"{{{ns}}}" if ns else "\0"
        self._tag_cache: dict[str, tuple[str, ...]] = {}

    def _tags(self, name: str) -> tuple[str, ...]:
        """Tag names ``name`` may have: in the ODM namespace, or in none (xmlns="" reset)."""
        tags = self._tag_cache.get(name)
        if tags is None:
            tags = (f"{{{self.ns}}}{name}", name) if self.ns else (name,)
            self._tag_cache[name] = tags
        return tags

    def is_odm(self, el: etree._Element) -> bool:
        """True when ``el`` is an element in the ODM namespace (or in none)."""
        tag = el.tag
        if not isinstance(tag, str):
            return False
        return not tag.startswith("{") or tag.startswith(self._prefix)

    def local(self, el: etree._Element) -> str:
        """The local name of ``el``'s tag."""
        tag: str = el.tag
        return tag.rsplit("}", 1)[-1]

    def children(self, el: etree._Element, name: str) -> Iterator[etree._Element]:
        return el.iterchildren(*self._tags(name))  # type: ignore[no-any-return]

    def child(self, el: etree._Element, name: str) -> etree._Element | None:
        return next(el.iterchildren(*self._tags(name)), None)

    def base(self, el: etree._Element) -> NodeArgs:
        """line, vendor attributes and vendor child elements of ``el``."""
        ext_attrs = tuple(
            (k, v) for k, v in el.attrib.items() if k[0] == "{" and not k.startswith(_XML_PREFIX)
        )
        exts = tuple(
            m.Extension(
                namespace=etree.QName(child).namespace or "",
                tag=etree.QName(child).localname,
                xml=etree.tostring(child, with_tail=False),
                line=child.sourceline or 0,
            )
            for child in el.iterchildren(etree.Element)
            if not self.is_odm(child)
        )
        return NodeArgs(line=el.sourceline or 0, ext_attributes=ext_attrs, extensions=exts)

    def text(self, el: etree._Element | None) -> m.Text:
        if el is None:
            return m.EMPTY_TEXT
        return m.Text(
            translations=tuple(
                m.TranslatedText(lang=tt.get(f"{{{m.XML_NS}}}lang"), text=(tt.text or "").strip())
                for tt in self.children(el, "TranslatedText")
            )
        )

    def aliases(self, el: etree._Element) -> tuple[m.Alias, ...]:
        return tuple(
            m.Alias(context=a.get("Context", ""), name=a.get("Name", ""), **self.base(a))
            for a in self.children(el, "Alias")
        )

    def expressions(self, el: etree._Element) -> tuple[m.FormalExpression, ...]:
        return tuple(
            m.FormalExpression(
                context=fe.get("Context", ""), text=(fe.text or "").strip(), **self.base(fe)
            )
            for fe in self.children(el, "FormalExpression")
        )

    def index(
        self,
        parent: etree._Element,
        name: str,
        build: Callable[[etree._Element], T],
    ) -> dict[str, T]:
        """OID -> definition; a repeated OID is a finding and the first one is kept."""
        out: dict[str, T] = {}
        first_line: dict[str, int] = {}
        for el in self.children(parent, name):
            oid = el.get("OID")
            if oid is None:
                self.findings.append(
                    finding("ODM-OID-002", path=self.path, line=el.sourceline, element=name)
                )
                continue
            if oid in out:
                self.findings.append(
                    finding(
                        "ODM-OID-001",
                        path=self.path,
                        line=el.sourceline,
                        oid=oid,
                        element=name,
                        first_line=first_line[oid],
                        cause="duplicate-oid",
                    )
                )
                continue
            out[oid] = build(el)
            first_line[oid] = el.sourceline or 0
        return out
