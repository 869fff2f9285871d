"""The aCRF page map: item OID -> the PDF pages where the item's annotation stands.

Written next to the PDF (``acrf.pdf`` -> ``acrf.pages.json``) by ``edc print acrf`` and read
by ``edc export define`` for the ``def:PDFPageRef`` of each ItemDef's Origin. Format
(version 1; page numbers are physical, 1-based: PDF page index + 1, which is also the number
printed in the page footer)::

    {
      "format": "odm-edc/crf-page-map",
      "version": 1,
      "kind": "acrf",
      "document": "acrf.pdf",
      "study_oid": "ST.BTZ_RETREAT",
      "metadata_version_oid": "MDV.BTZ_RETREAT.1",
      "page_count": 31,
      "items": {"IT.IC_DAT": [4], ...},
      "forms": {"F.IC": [4], ...},
      "domains": {"DS": [4, 30], ...}
    }

``items`` lists, for each ItemOID, the pages of every place it is printed (an item used on
several forms has several pages), sorted and without repeats. ``forms`` lists the pages each
FormDef covers; ``domains`` the pages carrying a domain box or an annotation of that domain.
:func:`load_page_map` reads this format, and also a plain ``{"IT.X": [3]}`` object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from odm_engine.errors import EdcError

FORMAT = "odm-edc/crf-page-map"
VERSION = 1
SUFFIX = ".pages.json"


class PageMapError(EdcError, ValueError):
    """A page map file cannot be read or does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class PageMap:
    kind: str
    study_oid: str
    metadata_version_oid: str
    page_count: int
    items: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    forms: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    domains: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def as_dict(self, document: str = "") -> dict[str, object]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "document": document,
            "study_oid": self.study_oid,
            "metadata_version_oid": self.metadata_version_oid,
            "page_count": self.page_count,
            "items": {k: list(v) for k, v in self.items.items()},
            "forms": {k: list(v) for k, v in self.forms.items()},
            "domains": {k: list(v) for k, v in self.domains.items()},
        }


def page_map_path(pdf: str | Path) -> Path:
    """``acrf.pdf`` -> ``acrf.pages.json`` (beside the PDF)."""
    path = Path(pdf)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(stem + SUFFIX)


def write_page_map(page_map: PageMap, path: str | Path, *, document: str = "") -> Path:
    """Write ``page_map`` as JSON, one OID per line."""
    target = Path(path)
    lines = []
    for key, value in page_map.as_dict(document).items():
        if isinstance(value, dict):
            body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
            lines.append(
                f" {json.dumps(key)}: {{\n{body}\n }}" if body else f" {json.dumps(key)}: {{}}"
            )
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    target.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    return target


def _pages(where: str, oid: str, raw: object) -> list[int]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in raw
    ):
        raise PageMapError(
            f"{where}: the pages of {oid!r} must be a list of page numbers from 1, "
            f"found {json.dumps(raw)}. Write the map again with `edc print acrf`."
        )
    return sorted(set(raw))


def load_page_map(path: str | Path) -> dict[str, list[int]]:
    """Item OID -> sorted page numbers, from a page map file (or a plain JSON object)."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PageMapError(f"{where}: cannot read the page map: {exc.strerror}") from exc
    except ValueError as exc:
        raise PageMapError(f"{where}: not JSON ({exc}). Expected a page map.") from exc
    if not isinstance(data, dict):
        raise PageMapError(f"{where}: expected a JSON object of item OID -> pages.")
    if "format" in data:
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise PageMapError(
                f"{where}: format {data.get('format')!r} version {data.get('version')!r} is "
                f"not {FORMAT!r} version {VERSION}."
            )
        items = data.get("items")
        if not isinstance(items, dict):
            raise PageMapError(f"{where}: 'items' must be an object of item OID -> pages.")
        data = items
    return {str(oid): _pages(where, str(oid), raw) for oid, raw in data.items()}
