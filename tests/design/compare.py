"""Element-by-element comparison of two ODM files through the engine's model, and a
canonical XML comparison, for the spreadsheet round trips."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from lxml import etree

from odm_engine.loader import load_odm


def plain(value: object) -> object:
    """The model as plain data without source lines (the one thing a round trip moves)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "line"
        }
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return canonical(value)
    return value


def model_differences(a: bytes, b: bytes) -> list[str]:
    """Where the two files' models differ (study, global variables, units, every
    MetaDataVersion definition, admin data), as paths."""
    left, right = load_odm(a).odm, load_odm(b).odm
    assert left is not None and right is not None
    out: list[str] = []
    _diff(plain(left), plain(right), "ODM", out)
    return out


def _diff(a: object, b: object, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a.keys() | b.keys():
            if key not in a or key not in b:
                out.append(f"{path}.{key}: only in {'left' if key in a else 'right'}")
            else:
                _diff(a[key], b[key], f"{path}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {a!r} != {b!r}"[:300])


def canonical(xml: bytes) -> str:
    """The XML without comments, whitespace-only text and namespace declaration placement:
    what two files that mean the same share."""
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True)
    root = etree.fromstring(xml, parser)
    for el in root.iter():
        if isinstance(el.tag, str) and el.text is not None and not el.text.strip() and len(el):
            el.text = None
    return _canonical(root)


def _canonical(el: etree._Element) -> str:
    """Children in document order, except a MetaDataVersion's definitions: ODM gives their
    order no meaning (they are found by OID), so they are sorted by kind and OID."""
    attrs = " ".join(f"{k}={v!r}" for k, v in sorted(el.attrib.items()))
    kids = [c for c in el if isinstance(c.tag, str)]
    if etree.QName(el).localname == "MetaDataVersion":
        kids.sort(key=lambda c: (c.tag, c.get("OID") or ""))
    kids = "".join(_canonical(c) for c in kids)
    return f"<{el.tag} {attrs}>{el.text or ''}{kids}</{el.tag}>"
