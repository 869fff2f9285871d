"""The one place XML parsers are made: no entities, no DTDs, no network, no file access.

Every XML input of the engine goes through :func:`make_parser` or :func:`parse_bytes`. Input
is passed as bytes or a file object, never as a path (lxml silently decompresses ``.gz``
paths). A DOCTYPE is refused before parsing; libxml2's default size limits stay on (no
``huge_tree``), which stops billion-laughs, 10 MB text nodes and deep nesting.
"""

from __future__ import annotations

import os
import re
from typing import Any

from lxml import etree

from odm_engine.findings import Finding, finding
from odm_engine.plain_messages import plain_syntax

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_XINCLUDE_NS = "http://www.w3.org/2001/XInclude"


def max_xml_bytes() -> int:
    """The size limit, from EDC_MAX_XML_BYTES or the default (256 MiB)."""
    raw = os.environ.get("EDC_MAX_XML_BYTES", "")
    return int(raw) if raw.isdigit() else DEFAULT_MAX_BYTES


class RefuseAllResolver(etree.Resolver):  # type: ignore[misc]
    """Refuses every external resource: a DTD, an entity or an XInclude target."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        raise OSError(f"external resource refused: {system_url!r}")


def make_parser(**overrides: Any) -> etree.XMLParser:
    """A hardened lxml parser. Options are spelled out even where they are defaults."""
    options: dict[str, Any] = {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "dtd_validation": False,
        "huge_tree": False,
        "remove_blank_text": False,
        "collect_ids": False,
    }
    options.update(overrides)
    parser = etree.XMLParser(**options)
    parser.resolvers.add(RefuseAllResolver())
    return parser


def iterparse_options() -> dict[str, Any]:
    """Keyword arguments for ``etree.iterparse`` with the same hardening."""
    return {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "huge_tree": False,
    }


def sniff(head: bytes, *, path: str | None = None, size: int | None = None) -> Finding | None:
    """Refuse what must never reach the parser: compressed files, DOCTYPEs, oversize input."""
    limit = max_xml_bytes()
    if size is not None and size > limit:
        return finding("ODM-XML-003", path=path, size=size, limit=limit)
    if not head.strip():
        return finding("ODM-XML-006", path=path)
    if head.startswith(b"\x1f\x8b"):
        return finding("ODM-XML-004", path=path, what="gzip-compressed")
    if head.startswith(b"PK\x03\x04"):
        return finding("ODM-XML-004", path=path, what="a ZIP archive")
    prolog = _ascii_view(head[:65536])
    match = _DOCTYPE.search(prolog)
    if match is not None:
        line = prolog.count(b"\n", 0, match.start()) + 1
        return finding("ODM-XML-002", path=path, line=line)
    return None


def _ascii_view(data: bytes) -> bytes:
    """UTF-16 input viewed as bytes with the zero bytes removed, so markup can be searched."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 1 and b"\x00" in data[:4]):
        return data.replace(b"\x00", b"")
    return data


def parse_bytes(data: bytes, *, path: str | None = None) -> etree._ElementTree | Finding:
    """Parse ``data`` safely; a Finding (never an exception) when it cannot be read."""
    problem = sniff(data, path=path, size=len(data))
    if problem is not None:
        return problem
    try:
        root = etree.fromstring(data, parser=make_parser())
    except etree.XMLSyntaxError as exc:
        raw = _syntax_detail(exc)
        plain = plain_syntax(raw, data, exc.lineno)
        return finding(
            "ODM-XML-001",
            path=path,
            line=exc.lineno or None,
            detail=plain or raw,
            raw=raw if plain else None,
        )
    except (ValueError, OSError) as exc:
        return finding("ODM-XML-001", path=path, detail=str(exc))
    tree = root.getroottree()
    if tree.docinfo.doctype:
        return finding("ODM-XML-002", path=path, line=1)
    for el in root.iter(f"{{{_XINCLUDE_NS}}}*"):
        return finding("ODM-XML-005", path=path, line=el.sourceline)
    return tree


def _syntax_detail(exc: etree.XMLSyntaxError) -> str:
    message = str(exc.msg or exc).strip()
    message = re.sub(r",? line \d+, column \d+$", "", message)
    return message.rstrip(".")
