"""Rules for mistakes a study designer makes that stay silent until data entry.

Each rule is a generator over one MetaDataVersion (a :data:`~odm_engine.rule_context.Rule`)
and is listed in ``odm_engine.rules.RULES``. They catch what the XSD and the reference rules
cannot: a coded value the item's Length refuses, an item with no question, texts missing in a
language the study uses elsewhere, two items of one group with the same SAS name, and a
RangeCheck whose expression never looks at its own item.
"""

from __future__ import annotations

from collections.abc import Iterator

from odm_engine import datatypes
from odm_engine import model as m
from odm_engine.expressions.ast import Ref, walk
from odm_engine.expressions.parser import SyntaxProblem, parse
from odm_engine.findings import Finding, Severity, finding
from odm_engine.rule_context import RuleContext

_SHOWN = 3
"""How many OIDs a grouped finding names before it says "..."."""


def _fits(item: m.ItemDef, value: str, length: int | None) -> bool:
    parsed = datatypes.parse_value(item.data_type, value, length=length)
    return not isinstance(parsed, datatypes.DataTypeProblem)


def coded_value_lengths(ctx: RuleContext) -> Iterator[Finding]:
    """A CodedValue longer than its item's Length can never be entered (every entry of it is
    refused as too long): an error in a file written for this engine, so it is found before
    the bedside, and a warning in one written for another system."""
    if ctx.is_define:
        return  # a Define-XML Length is that of the collected data, not a limit on entry
    mdv = ctx.mdv
    severity = None if ctx.for_engine else Severity.WARNING
    for item in mdv.item_defs.values():
        cl = mdv.item_code_list(item)
        if cl is None or item.length is None or item.length < 1:
            continue
        if item.data_type not in datatypes.DATA_TYPES:
            continue
        too_long = [
            v for v in cl.coded_values if _fits(item, v, None) and not _fits(item, v, item.length)
        ]
        if not too_long:
            continue
        longest = max(too_long, key=len)
        needed = next(
            n for n in range(item.length + 1, len(longest) + 2) if _fits(item, longest, n)
        )
        others = len(too_long) - 1
        yield finding(
            "ODM-CL-006",
            path=ctx.path,
            line=item.line,
            oid=item.oid,
            value=longest,
            codelist=cl.oid,
            item=item.oid,
            length=item.length,
            others=f" (and {others} more of its CodedValues)" if others else "",
            needed=needed,
            severity=severity,
        )


def _on_forms(mdv: m.MetaDataVersion) -> dict[str, str]:
    """ItemDef OID -> the first FormDef that shows it (through one of its item groups)."""
    group_form: dict[str, str] = {}
    for fd in mdv.form_defs.values():
        for gr in fd.item_group_refs:
            group_form.setdefault(gr.item_group_oid, fd.oid)
    out: dict[str, str] = {}
    for igd in mdv.item_group_defs.values():
        form = group_form.get(igd.oid)
        if form is None:
            continue
        for ir in igd.item_refs:
            out.setdefault(ir.item_oid, form)
    return out


def questions(ctx: RuleContext) -> Iterator[Finding]:
    """An item on a form without a Question shows its Name to the investigator."""
    if ctx.is_define:
        return  # Define-XML ItemDefs describe dataset columns, not questions
    mdv = ctx.mdv
    for oid, form in _on_forms(mdv).items():
        item = mdv.item_defs.get(oid)
        if item is None or item.question or item.external_question is not None:
            continue
        yield finding(
            "ODM-ITEM-001",
            path=ctx.path,
            line=item.line,
            oid=oid,
            item=oid,
            form=form,
            name=item.name,
        )


def _form_texts(mdv: m.MetaDataVersion, fd: m.FormDef) -> Iterator[tuple[str, int | None, m.Text]]:
    """Every text a user of form ``fd`` reads: (what it is, line, text)."""
    yield f"FormDef {fd.oid} Description", fd.line, fd.description
    seen: set[str] = set()
    for gr in fd.item_group_refs:
        igd = mdv.item_group_defs.get(gr.item_group_oid)
        for ir in igd.item_refs if igd is not None else ():
            item = mdv.item_defs.get(ir.item_oid)
            if item is None or item.oid in seen:
                continue
            seen.add(item.oid)
            yield f"ItemDef {item.oid} Question", item.line, item.question
            for n, rc in enumerate(item.range_checks, start=1):
                yield f"ItemDef {item.oid} RangeCheck {n}", rc.line, rc.error_message
            cl = mdv.item_code_list(item)
            if cl is not None:
                for cli in cl.items:
                    yield f'CodeList {cl.oid} "{cli.coded_value}"', cli.line, cli.decode


def _tagged(text: m.Text) -> set[str]:
    return {lang.lower() for lang in text.languages}


def translations(ctx: RuleContext) -> Iterator[Finding]:
    """A form with texts in a language but some of its texts missing in it: one finding per
    language, counting the texts and naming the first few.

    A user of that language sees the form mixed, the missing texts in another language. A
    form with no text in a language is shown wholly in the study's default language, which
    is consistent (a study may translate only the forms participants read). Texts with only
    untagged translations are meant for every language and are not counted.
    """
    missing: dict[str, dict[tuple[str, int | None], None]] = {}  # an ordered set per language
    counted: dict[str, set[str]] = {}
    for fd in ctx.mdv.form_defs.values():
        texts = [(w, line, _tagged(t)) for w, line, t in _form_texts(ctx.mdv, fd) if t.languages]
        # The form's languages are those of its own words (description, questions); a code
        # list shared with a translated form does not make this one translated.
        own = [langs for w, _l, langs in texts if w.startswith("FormDef") or w.endswith("Question")]
        used = set().union(*own) if own else set()
        for lang in used:
            counted.setdefault(lang, set()).update(w for w, _l, _langs in texts)
            gaps = missing.setdefault(lang, {})
            gaps.update(((w, line), None) for w, line, langs in texts if lang not in langs)
    for lang in sorted(missing):
        missed = list(missing[lang])
        if not missed:
            continue
        shown = ", ".join(what for what, _line in missed[:_SHOWN])
        yield finding(
            "ODM-LANG-002",
            path=ctx.path,
            line=missed[0][1],
            lang=lang,
            count=len(missed),
            total=len(counted[lang]),
            first=shown + (", ..." if len(missed) > _SHOWN else ""),
        )


def sas_field_names(ctx: RuleContext) -> Iterator[Finding]:
    """Two items of one ItemGroupDef with one SASFieldName would be one column of the export."""
    mdv = ctx.mdv
    for igd in mdv.item_group_defs.values():
        seen: dict[str, str] = {}
        for ir in igd.item_refs:
            item = mdv.item_defs.get(ir.item_oid)
            if item is None or not item.sas_field_name:
                continue
            key = item.sas_field_name.upper()
            if key in seen and seen[key] != item.oid:
                yield finding(
                    "ODM-SAS-001",
                    path=ctx.path,
                    line=ir.line,
                    oid=item.oid,
                    group=igd.oid,
                    first=seen[key],
                    item=item.oid,
                    name=item.sas_field_name,
                )
            else:
                seen.setdefault(key, item.oid)


def range_check_subjects(ctx: RuleContext) -> Iterator[Finding]:
    """A RangeCheck expression that never names its own item judges other values only: it
    fires (or not) whatever is entered in the item it stands in."""
    for item in ctx.mdv.item_defs.values():
        for rc in item.range_checks:
            for fe in rc.formal_expressions:
                if fe.context.strip().upper() != "OEL":
                    continue
                tree = parse(fe.text)
                if isinstance(tree, SyntaxProblem):
                    break  # the compiler reports the syntax error
                if not any(isinstance(n, Ref) and n.item_oid == item.oid for n in walk(tree)):
                    yield finding(
                        "ODM-RC-004",
                        path=ctx.path,
                        line=fe.line or rc.line,
                        oid=item.oid,
                        item=item.oid,
                    )
                break
