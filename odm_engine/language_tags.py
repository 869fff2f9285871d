"""xml:lang values: BCP 47 language tags, as the web app and the renderers match them.

The XSD types xml:lang as ``xs:language``, which takes ``ger`` or ``english``; BCP 47 (RFC
5646) wants the shortest ISO 639 code, so ``ger`` (ISO 639-2/B) must be ``de``. A tag that
is not BCP 47 is never matched by a user's language and its texts silently fall back to
another language, so it is an error (ODM-LANG-001) naming the tag to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from odm_engine.findings import Finding, finding
from odm_engine.model import XML_NS

_LANG = f"{{{XML_NS}}}lang"

_BCP47 = re.compile(
    r"(?P<language>[A-Za-z]{2,3})(-[A-Za-z]{3}){0,3}"  # language, extlang
    r"(-[A-Za-z]{4})?"  # script
    r"(-([A-Za-z]{2}|[0-9]{3}))?"  # region
    r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"  # variants
    r"(-[0-9A-WY-Za-wy-z](-[A-Za-z0-9]{2,8})+)*"  # extensions
    r"(-[Xx](-[A-Za-z0-9]{1,8})+)?"  # private use
)
"""RFC 5646 §2.1 langtag (grandfathered and private-use-only tags are not accepted)."""

ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu "
    "cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi "
    "ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks "
    "ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl "
    "nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl "
    "sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve "
    "vi vo wa wo xh yi yo za zh zu".split()
)
"""Every two-letter ISO 639-1 code."""

SHORTER = {
    **dict.fromkeys(("ger", "deu"), "de"),
    **dict.fromkeys(("fre", "fra"), "fr"),
    **dict.fromkeys(("dut", "nld"), "nl"),
    **dict.fromkeys(("cze", "ces"), "cs"),
    **dict.fromkeys(("chi", "zho"), "zh"),
    **dict.fromkeys(("gre", "ell"), "el"),
    **dict.fromkeys(("rum", "ron"), "ro"),
    **dict.fromkeys(("slo", "slk"), "sk"),
    **dict.fromkeys(("ice", "isl"), "is"),
    **dict.fromkeys(("per", "fas"), "fa"),
    **dict.fromkeys(("alb", "sqi"), "sq"),
    **dict.fromkeys(("arm", "hye"), "hy"),
    **dict.fromkeys(("baq", "eus"), "eu"),
    **dict.fromkeys(("bur", "mya"), "my"),
    **dict.fromkeys(("geo", "kat"), "ka"),
    **dict.fromkeys(("mac", "mkd"), "mk"),
    **dict.fromkeys(("mao", "mri"), "mi"),
    **dict.fromkeys(("may", "msa"), "ms"),
    **dict.fromkeys(("tib", "bod"), "bo"),
    **dict.fromkeys(("wel", "cym"), "cy"),
    "eng": "en",
    "spa": "es",
    "ita": "it",
    "pol": "pl",
    "por": "pt",
    "rus": "ru",
    "jpn": "ja",
    "kor": "ko",
    "ara": "ar",
    "heb": "he",
    "hin": "hi",
    "tur": "tr",
    "swe": "sv",
    "dan": "da",
    "nor": "no",
    "nob": "nb",
    "nno": "nn",
    "fin": "fi",
    "hun": "hu",
    "ukr": "uk",
    "bul": "bg",
    "hrv": "hr",
    "srp": "sr",
    "slv": "sl",
    "est": "et",
    "lav": "lv",
    "lit": "lt",
    "cat": "ca",
    "glg": "gl",
    "gle": "ga",
    "tha": "th",
    "vie": "vi",
    "ind": "id",
    "ben": "bn",
    "urd": "ur",
    "tam": "ta",
    "afr": "af",
    "swa": "sw",
    "lat": "la",
}
"""ISO 639-2 (B and T) codes of languages that have a two-letter code, which BCP 47 requires."""


def problem(tag: str) -> tuple[str, str] | None:
    """(what is wrong, the fix) for an xml:lang value that is not BCP 47, else None."""
    match = _BCP47.fullmatch(tag)
    head = tag.split("-", 1)[0].lower()
    rest = tag[len(head) :]
    if head in SHORTER:
        better = SHORTER[head] + rest
        return (
            f'"{head}" is an ISO 639-2 code and BCP 47 requires the two-letter code '
            f'"{SHORTER[head]}"',
            f'xml:lang="{better}"',
        )
    if match is None:
        return (
            "a tag is a language code optionally followed by -Script and -REGION",
            'a tag such as xml:lang="en", "de" or "pt-BR"',
        )
    if len(head) == 2 and head not in ISO_639_1:
        return (
            f'"{head}" is not an ISO 639-1 language code',
            'the language\'s ISO 639-1 code, such as xml:lang="en", "de" or "fr"',
        )
    return None


def _owner(el: etree._Element) -> str:
    """`` (ItemDef IT.X)``: the nearest ancestor definition, for the message."""
    node = el.getparent()
    while node is not None:
        oid = node.get("OID")
        if oid:
            return f" ({etree.QName(node).localname} {oid})"
        node = node.getparent()
    return ""


def iter_language_findings(root: etree._Element, *, path: str | None) -> Iterator[Finding]:
    """One ODM-LANG-001 per element whose xml:lang is not a BCP 47 tag."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.get(_LANG)
        if not tag:
            continue  # absent, or "" (no language), which XML allows
        found = problem(tag)
        if found is None:
            continue
        why, fix = found
        owner = _owner(el)
        yield finding(
            "ODM-LANG-001",
            path=path,
            line=el.sourceline,
            oid=owner.split(" ")[-1].rstrip(")") if owner else None,
            lang=tag,
            element=etree.QName(el).localname,
            owner=owner,
            why=why,
            fix=fix,
        )
