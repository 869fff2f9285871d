"""Comparisons of the parts definitions share: plain attributes, texts in each language,
Aliases, FormalExpressions, RangeChecks and the codes of a code list.

Each function appends to a :class:`~odm_engine.diff.changes.ChangeLog` and never compares the
model's ``line`` (two versions of a file differ in lines wherever anything above them moved).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from odm_engine import model as m
from odm_engine.diff.changes import ChangeLog, Kind, quoted, show

Attributes = tuple[tuple[str, str], ...]
"""(ODM attribute name, model field) pairs a definition is compared on."""

RENAMING = frozenset({"Name", "Question"})
"""The attributes whose new value is a renaming (same OID, new name or question)."""


@dataclass(frozen=True, slots=True)
class Owner:
    """The element a part belongs to: ``ItemDef IT.AGE``, ``CodeListItem 'F' in CL.SEX``."""

    element: str
    oid: str
    parent: str | None = None

    def __str__(self) -> str:
        return f"{self.element} {self.oid}" + (f" in {self.parent}" if self.parent else "")


def attributes(log: ChangeLog, owner: Owner, old: object, new: object, names: Attributes) -> None:
    """Each attribute in ``names`` whose value differs; Name is reported as a renaming."""
    for odm_name, field in names:
        before, after = show(getattr(old, field)), show(getattr(new, field))
        if before != after:
            kind: Kind = "renamed" if odm_name in RENAMING else "changed"
            log.value(
                owner.element, owner.oid, odm_name, before, after, kind=kind, parent=owner.parent
            )


def _by_language(text: m.Text) -> dict[str, str]:
    return {tt.lang or "": tt.text for tt in text.translations}


def _lang(lang: str) -> str:
    return f"[{lang or 'no xml:lang'}]"


def texts(log: ChangeLog, owner: Owner, attribute: str, old: m.Text, new: m.Text) -> None:
    """A text per language: a new language is a translation added (one removed, removed); a
    changed text in a language both have is a change (a renaming for Question)."""
    before, after = _by_language(old), _by_language(new)
    if before == after:
        return
    element, oid, parent = owner.element, owner.oid, owner.parent
    if not before or not after:
        log.value(element, oid, attribute, old.get() or None, new.get() or None, parent=parent)
        return
    kind: Kind = "renamed" if attribute in RENAMING else "changed"
    for lang, text in after.items():
        where = f"{attribute} {_lang(lang)}"
        if lang not in before:
            log.value(
                "Translation",
                oid,
                where,
                None,
                text,
                parent=parent,
                kind="added",
                message=f"{owner}: {where} translation added: {quoted(text)}",
            )
        elif before[lang] != text:
            log.value(element, oid, where, before[lang], text, parent=parent, kind=kind)
    for lang, text in before.items():
        where = f"{attribute} {_lang(lang)}"
        if lang not in after:
            log.value(
                "Translation",
                oid,
                where,
                text,
                None,
                parent=parent,
                kind="removed",
                message=f"{owner}: {where} translation removed (was {quoted(text)})",
            )


def _alias_names(aliases: Sequence[m.Alias]) -> dict[str, str]:
    names: dict[str, list[str]] = {}
    for alias in aliases:
        names.setdefault(alias.context, []).append(alias.name)
    return {context: ", ".join(values) for context, values in names.items()}


def aliases(log: ChangeLog, owner: Owner, old: Sequence[m.Alias], new: Sequence[m.Alias]) -> None:
    """Aliases per Context (SDTM, CDASH, ...): added, removed or renamed."""
    if not old and not new:
        return
    before, after = _alias_names(old), _alias_names(new)
    if before == after:
        return
    for context in (*after, *(c for c in before if c not in after)):
        was, now = before.get(context), after.get(context)
        if was == now:
            continue
        kind: Kind = "added" if was is None else "removed" if now is None else "changed"
        log.value(
            "Alias",
            owner.oid,
            f"Alias {context}",
            was,
            now,
            parent=owner.parent,
            kind=kind,
            message=f"{owner}: Alias {context} {quoted(was)} -> {quoted(now)}",
        )


def _expressions(expressions: Sequence[m.FormalExpression]) -> dict[str, str]:
    texts: dict[str, list[str]] = {}
    for expression in expressions:
        texts.setdefault(expression.context, []).append(expression.text.strip())
    return {context: " ; ".join(values) for context, values in texts.items()}


def expressions(
    log: ChangeLog,
    owner: Owner,
    old: Sequence[m.FormalExpression],
    new: Sequence[m.FormalExpression],
) -> None:
    """FormalExpressions per Context: the expression text changed, added or removed."""
    before, after = _expressions(old), _expressions(new)
    for context in (*after, *(c for c in before if c not in after)):
        if before.get(context) != after.get(context):
            log.value(
                owner.element,
                owner.oid,
                f"FormalExpression {context}",
                before.get(context),
                after.get(context),
                parent=owner.parent,
            )


def _check_text(check: m.RangeCheck) -> str:
    """A RangeCheck as a designer reads it: ``Hard GE 18``, ``Soft IN 1 2``, an expression."""
    if check.comparator is not None:
        body = " ".join((check.comparator, *check.check_values))
    else:
        body = " ; ".join(e.text.strip() for e in check.formal_expressions)
    unit = f" [{check.measurement_unit_oid}]" if check.measurement_unit_oid else ""
    return f"{check.soft_hard} {body}{unit}"


def _check_key(check: m.RangeCheck) -> tuple[str | None, str | None, tuple[str, ...]]:
    """What pairs a check of the old version with one of the new: comparator, unit, contexts."""
    contexts = tuple(e.context for e in check.formal_expressions)
    return check.comparator, check.measurement_unit_oid, contexts


def range_checks(
    log: ChangeLog, oid: str, old: Sequence[m.RangeCheck], new: Sequence[m.RangeCheck]
) -> None:
    """RangeChecks of one ItemDef. Checks have no OID: an unchanged check (same text) pairs
    with itself, the others pair in order by comparator, unit and expression contexts, and a
    pair that differs is a change (hard <-> soft, values, expression, message); the rest are
    added or removed."""
    if not old and not new:
        return
    owner, left = Owner("RangeCheck", oid), list(old)
    unmatched: list[m.RangeCheck] = []
    for check in new:
        same = next((c for c in left if _check_text(c) == _check_text(check)), None)
        if same is None:
            unmatched.append(check)
        else:
            left.remove(same)
            texts(log, owner, "ErrorMessage", same.error_message, check.error_message)
    for check in unmatched:
        pair = next((c for c in left if _check_key(c) == _check_key(check)), None)
        text = _check_text(check)
        if pair is None:
            log.value(
                "RangeCheck",
                oid,
                "RangeCheck",
                None,
                text,
                kind="added",
                message=f"ItemDef {oid}: RangeCheck {text} added",
            )
            continue
        left.remove(pair)
        was = _check_text(pair)
        if pair.soft_hard != check.soft_hard:
            log.value(
                "RangeCheck",
                oid,
                "SoftHard",
                pair.soft_hard,
                check.soft_hard,
                message=f"ItemDef {oid}: RangeCheck {was} is now {check.soft_hard}",
            )
        if was.split(" ", 1)[1:] != text.split(" ", 1)[1:]:
            log.value(
                "RangeCheck",
                oid,
                "RangeCheck",
                was,
                text,
                message=f"ItemDef {oid}: RangeCheck {was} -> {text}",
            )
        texts(log, owner, "ErrorMessage", pair.error_message, check.error_message)
    for check in left:
        was = _check_text(check)
        log.value(
            "RangeCheck",
            oid,
            "RangeCheck",
            was,
            None,
            kind="removed",
            message=f"ItemDef {oid}: RangeCheck {was} removed",
        )


CODE_ATTRIBUTES: Attributes = (("Rank", "rank"), ("OrderNumber", "order_number"))


def codes(log: ChangeLog, old: m.CodeList, new: m.CodeList) -> None:
    """The codes of a code list: added, removed, decode changed (per language), rank/order."""
    before = {item.coded_value: item for item in old.items}
    after = {item.coded_value: item for item in new.items}
    for value, item in after.items():
        was = before.get(value)
        if was is None:
            decode = f" ({item.decode.get()})" if item.decode else ""
            log.presence("added", "CodeListItem", value, decode, new.oid, attribute="CodedValue")
            continue
        owner = Owner("CodeListItem", value, new.oid)
        texts(log, owner, "Decode", was.decode, item.decode)
        attributes(log, owner, was, item, CODE_ATTRIBUTES)
        aliases(log, owner, was.aliases, item.aliases)
    for value, item in before.items():
        if value not in after:
            decode = f" ({item.decode.get()})" if item.decode else ""
            log.presence("removed", "CodeListItem", value, decode, old.oid, attribute="CodedValue")
