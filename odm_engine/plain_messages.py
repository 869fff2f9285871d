"""libxml2's schema and parser messages said in plain words, naming the element's OID and the fix.

libxml2 says "Element 'RangeCheck': This element is not expected. Expected is one of ( Role,
Alias )" when a designer put CodeListRef before RangeCheck; the designer needs "ItemDef
IT.MH_ANY: CodeListRef must come after RangeCheck". :func:`plain_schema` translates the
common schema messages with the element they are about (its OID, its parent's content
model read from the shipped ODM 1.3.2 schema); :func:`plain_syntax` the common parser
messages. Each returns None for a message it does not know, which is then shown as it is;
the raw text is always kept on the finding (``edc validate --verbose`` prints it).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from functools import cache
from importlib import resources

from lxml import etree

_XS = "{http://www.w3.org/2001/XMLSchema}"
_PREFIX = "ODMcomplexTypeDefinition-"


def _schema_doc(filename: str) -> etree._ElementTree:
    root = resources.files("odmlib").joinpath("schemas", "odm", "1.3.2", filename)
    with resources.as_file(root) as path:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        return etree.parse(str(path), parser=parser)


@cache
def content_models() -> dict[str, tuple[tuple[str, int], ...]]:
    """Element -> its ODM children in schema order, with a rank (alternatives share one)."""
    out: dict[str, tuple[tuple[str, int], ...]] = {}
    for ct in _schema_doc("ODM1-3-2-foundation.xsd").iter(f"{_XS}complexType"):
        name = ct.get("name") or ""
        if not name.startswith(_PREFIX):
            continue
        children: list[tuple[str, int]] = []
        seq = ct.find(f"{_XS}sequence")
        for rank, part in enumerate(seq if seq is not None else ()):
            refs = [part] if part.tag == f"{_XS}element" else part.iter(f"{_XS}element")
            children += [(ref.get("ref") or "", rank) for ref in refs if ref.get("ref")]
        out[name.removeprefix(_PREFIX)] = tuple(children)
    return out


@cache
def unique_constraints() -> dict[str, tuple[str, str]]:
    """xs:unique name -> (the element it selects, the attribute that must be unique)."""
    out: dict[str, tuple[str, str]] = {}
    for unique in _schema_doc("ODM1-3-2-foundation.xsd").iter(f"{_XS}unique"):
        selector = unique.find(f"{_XS}selector")
        field = unique.find(f"{_XS}field")
        if selector is None or field is None:
            continue
        selected = (selector.get("xpath") or "").split("/")[-1].removeprefix("odm:")
        attribute = (field.get("xpath") or "").lstrip("@")
        out[unique.get("name") or ""] = (selected, attribute)
    return out


def _local(el: etree._Element) -> str:
    name: str = etree.QName(el).localname
    return name


def describe(el: etree._Element | None) -> str:
    """``ItemDef IT.A``; an element without an OID is named with its nearest definition:
    ``ItemRef in ItemGroupDef IG.1``."""
    if el is None:
        return "The element"
    oid = el.get("OID")
    if oid:
        return f"{_local(el)} {oid}"
    target = next((el.get(a) for a in _REF_ATTRIBUTES if el.get(a)), None)
    name = f"{_local(el)} {target}" if target else _local(el)
    node = el.getparent()
    while node is not None:
        if node.get("OID"):
            return f"{name} in {_local(node)} {node.get('OID')}"
        node = node.getparent()
    return name


_REF_ATTRIBUTES = (
    "ItemOID",
    "ItemGroupOID",
    "FormOID",
    "StudyEventOID",
    "CodeListOID",
    "SubjectKey",
)


_NOT_EXPECTED = re.compile(
    r"^Element '(?P<el>[^']+)': This element is not expected\."
    r"(?: Expected is (?:one of )?\( (?P<exp>[^)]*) \))?"
)
_MISSING_CHILD = re.compile(
    r"^Element '(?P<el>[^']+)': Missing child element\(s\)\. Expected is (?:one of )?"
    r"\( (?P<exp>[^)]*) \)"
)
_DUPLICATE = re.compile(
    r"^Element '(?P<el>[^']+)': Duplicate key-sequence \['(?P<val>.*)'\] in unique "
    r"identity-constraint '(?P<name>[^']+)'"
)
_ENUMERATION = re.compile(
    r"^Element '(?P<el>[^']+)', attribute '(?P<attr>[^']+)': \[facet 'enumeration'\] The "
    r"value '(?P<val>[^']*)' is not an element of the set \{(?P<set>.*)\}"
)
_REQUIRED = re.compile(
    r"^Element '(?P<el>[^']+)': The attribute '(?P<attr>[^']+)' is required but missing"
)
_NOT_ALLOWED = re.compile(
    r"^Element '(?P<el>[^']+)', attribute '(?P<attr>[^']+)': The attribute '[^']+' is not "
    r"allowed"
)

Plain = tuple[str, str]
"""(the plain message, its cause: equal causes on one line and OID are one finding)."""


def _names(listed: str | None) -> list[str]:
    return [n.strip() for n in (listed or "").split(",") if n.strip()]


def _order(el: etree._Element | None, name: str, expected: list[str]) -> Plain | None:
    parent = el.getparent() if el is not None else None
    if parent is None:
        return None
    model = content_models().get(_local(parent))
    if model is None:
        return None
    ranks = dict(model)
    where = describe(parent)
    if name not in ranks:
        holds = ", ".join(n for n, _r in model) if model else "no child elements"
        return (
            f"{where}: {name} cannot be inside {_local(parent)}, which holds {holds}. "
            f"Move the {name} where it belongs or remove it.",
            f"order:{name}",
        )
    assert el is not None
    before = [_local(s) for s in el.itersiblings(preceding=True) if isinstance(s.tag, str)]
    later = [s for s in before if ranks.get(s, -1) > ranks[name]]
    order = ", ".join(n for n, _r in model)
    if later:
        return (
            f"{where}: {later[0]} must come after {name} (order in {_local(parent)}: "
            f"{order}). Move the {later[0]} below the {name}.",
            f"order:{name}",
        )
    earlier = [e for e in expected if ranks.get(e, 99) < ranks[name]]
    if earlier:
        present = earlier[0] in {_local(c) for c in parent if isinstance(c.tag, str)}
        fix = f"Move the {earlier[0]} above it" if present else f"Add the {earlier[0]} first"
        return (
            f"{where}: {name} must come after {earlier[0]} (order in {_local(parent)}: "
            f"{order}). {fix}.",
            f"order:{name}",
        )
    return None


def _duplicate(el: etree._Element | None, m: re.Match[str]) -> Plain:
    attribute = unique_constraints().get(m["name"], (m["el"], "key"))[1]
    parent = el.getparent() if el is not None else None
    where = describe(parent) if parent is not None else "its parent"
    attr = "xml:lang" if attribute.endswith("lang") else attribute
    cause = "duplicate-oid" if attr == "OID" else f"duplicate:{attr}"
    return (
        f'{m["el"]} {attr}="{m["val"]}" is used twice in {where}. Give each {m["el"]} '
        f"there its own {attr}.",
        cause,
    )


def _enumeration(el: etree._Element | None, m: re.Match[str]) -> Plain:
    allowed = [v.strip().strip("'") for v in m["set"].split(",")]
    near = difflib.get_close_matches(m["val"], allowed, n=1, cutoff=0.6)
    near = near or [a for a in allowed if a.lower() == m["val"].lower()]
    hint = f'; did you mean {near[0]}? Write {m["attr"]}="{near[0]}"' if near else ""
    listed = ", ".join(allowed)
    cause = "datatype" if m["attr"] == "DataType" and m["el"] == "ItemDef" else f"value:{m['attr']}"
    return (
        f'{describe(el)}: {m["attr"]}="{m["val"]}" is not one of {listed}{hint}.',
        cause,
    )


def plain_schema(message: str, el: etree._Element | None) -> Plain | None:
    """The plain wording of a schema ``message`` (namespaces already removed) about ``el``."""
    found = _NOT_EXPECTED.match(message)
    if found:
        return _order(el, found["el"], _names(found["exp"]))
    found = _MISSING_CHILD.match(message)
    if found:
        needed = " or ".join(_names(found["exp"]))
        return (
            f"{describe(el)}: a {needed} is required and missing. Add it.",
            f"missing:{needed}",
        )
    found = _DUPLICATE.match(message)
    if found:
        return _duplicate(el, found)
    found = _ENUMERATION.match(message)
    if found:
        return _enumeration(el, found)
    found = _REQUIRED.match(message)
    if found:
        return (
            f"{describe(el)}: the attribute {found['attr']} is required and missing. Add "
            f'{found["attr"]}="...".',
            f"required:{found['attr']}",
        )
    found = _NOT_ALLOWED.match(message)
    if found:
        return (
            f"{describe(el)}: {found['el']} has no attribute {found['attr']} in ODM 1.3.2. "
            "Remove it or correct its name.",
            f"attribute:{found['attr']}",
        )
    return None


_OWNER = re.compile(rb'<([A-Za-z][\w.-]*)\b[^<>]*?\bOID="([^"]*)"')


def _owner_before(data: bytes, line: int | None) -> str:
    """`` (in ConditionDef C.1)``: the last definition opened before ``line``."""
    if not line:
        return ""
    # the last 64 KiB before the error: enough for the enclosing definition, bounded on a
    # huge one-line file
    head = b"\n".join(data.split(b"\n", line)[:line])[-65536:]
    found = None
    for match in _OWNER.finditer(head):
        found = match
    if found is None:
        return ""
    return f" (in {found[1].decode(errors='replace')} {found[2].decode(errors='replace')})"


_SYNTAX: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
    (
        re.compile(r"^StartTag: invalid element name"),
        lambda where: (
            f'a "<" that starts no element{where}: write "<" as "&lt;" inside '
            "XML, e.g. IT.AGE &lt; 18 in an expression"
        ),
    ),
    (
        re.compile(r"^xmlParseEntityRef: no name"),
        lambda where: (
            f'a "&" that starts no entity{where}: write "&" as "&amp;" inside XML; '
            'in an expression write "and" instead of "&&"'
        ),
    ),
    (
        re.compile(r"^Opening and ending tag mismatch: (\S+) line \d+ and (\S+)"),
        lambda where: (
            f"an element is closed with the wrong end tag{where}: close each "
            "element with its own name, innermost first"
        ),
    ),
    (
        re.compile(r"^AttValue: \" or ' expected"),
        lambda where: f'an attribute value without quotes{where}: write Name="value"',
    ),
)


def plain_syntax(message: str, data: bytes, line: int | None) -> str | None:
    """The plain wording of a parser ``message`` at ``line`` of ``data``, or None."""
    for pattern, say in _SYNTAX:
        if pattern.match(message):
            return say(_owner_before(data, line))
    return None
