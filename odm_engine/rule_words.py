"""Skip logic in words: a CollectionExceptionCondition's typed tree read out in English or
German, for the instruction printed beside an item, section, form or visit, and for
``edc explain`` (:mod:`odm_engine.explain`). Pure (no renderer): the caller gives the phrase
table (``renderers.i18n`` section ``print``), so the printer and the CLI say a rule the same way.

ODM collects an element unless its condition is true. A condition of the form ``not X``
(the usual way: ``not definitely(IT.IC_REQ = 'Y')``) is printed as "Answer only if X" ("...
only if question 1 is Yes (Y)"); any other condition as "Do not answer if ...". References
to items on the same form read "question N"; others quote the question and name the form.
Code-listed values are shown with their decode. A tree the printer has no words for (an
arithmetic expression, a function other than the logical ones) falls back to the OEL text.
"""

from __future__ import annotations

from collections.abc import Mapping

from odm_engine import model as m
from odm_engine.expressions import Bound
from odm_engine.expressions import values as v
from odm_engine.expressions.typed import TNode

QUESTION_CHARS = 60
"""Quoted questions of other forms are cut to about this many characters."""

_COMPARE = {"=": "is", "!=": "is_not", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


class _NoWords(Exception):
    """The tree holds something the printer cannot say; the OEL text is printed instead."""


class ConditionPrinter:
    """Prints conditions for one MetaDataVersion in one language."""

    def __init__(
        self,
        mdv: m.MetaDataVersion,
        ui: Mapping[str, str],
        lang: str,
        default_lang: str | None,
        *,
        name_oids: bool = False,
    ) -> None:
        """``name_oids``: an item is named by its OID before its question (``edc explain``
        speaks to the designer, the printed CRF to the site)."""
        self.mdv = mdv
        self.ui = ui
        self.lang = lang
        self.default_lang = default_lang
        self.name_oids = name_oids

    def phrase(self, tree: TNode) -> str | None:
        """``tree`` as a clause ("“Sex” is Male (M)"), or None when it has no words."""
        try:
            return self._say(tree, None, {})
        except _NoWords:
            return None

    def instruction(
        self,
        bound: Bound | None,
        scope: str,
        *,
        form_oid: str | None = None,
        numbers: Mapping[str, int] | None = None,
    ) -> str:
        """The sentence for ``bound`` at ``scope`` (item, group, form or event), or ""."""
        if bound is None:
            return ""
        numbers = numbers or {}
        tree = bound.tree
        negated = tree.op == "not"
        target = tree.args[0] if negated else tree
        if not negated and tree.op == "and" and all(a.op == "not" for a in tree.args):
            negated, target = True, TNode("or", "boolean", tuple(a.args[0] for a in tree.args))
        try:
            cond = self._say(target, form_oid, numbers)
        except _NoWords:
            negated = False
            cond = self.ui["oel"].format(oel=bound.text)
        return self.ui[f"{scope}.{'only' if negated else 'skip'}"].format(cond=cond)

    # -- phrases ----------------------------------------------------------------------
    def _say(self, node: TNode, form_oid: str | None, numbers: Mapping[str, int]) -> str:
        op = node.op
        ui = self.ui
        if op in ("and", "or"):
            parts = []
            for arg in node.args:
                text = self._say(arg, form_oid, numbers)
                if arg.op in ("and", "or") and arg.op != op:
                    text = f"({text})"
                parts.append(text)
            return f" {ui[op]} ".join(parts)
        if op == "definitely":
            return self._say(node.args[0], form_oid, numbers)
        if op == "possibly":
            return ui["possibly"].format(a=self._say(node.args[0], form_oid, numbers))
        if op == "not":
            return ui["not"].format(a=self._say(node.args[0], form_oid, numbers))
        if op in ("is_missing", "is_present"):
            key = "unanswered" if op == "is_missing" else "answered"
            return ui[key].format(a=self._operand(node.args[0], None, form_oid, numbers))
        if op in _COMPARE:
            left, right = node.args
            a = self._operand(left, right, form_oid, numbers)
            b = self._operand(right, left, form_oid, numbers)
            return ui[_COMPARE[op]].format(a=a, b=b)
        if op in ("in", "notin"):
            subject, *options = node.args
            said = [self._operand(o, subject, form_oid, numbers) for o in options]
            listed = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} {ui['or']} {said[-1]}"
            return ui[op].format(a=self._operand(subject, None, form_oid, numbers), b=listed)
        raise _NoWords(op)

    def _operand(
        self, node: TNode, other: TNode | None, form_oid: str | None, numbers: Mapping[str, int]
    ) -> str:
        if node.op == "ref" and node.ref is not None:
            return self._ref(node.ref.item_oid, node.ref.form_oid, form_oid, numbers)
        if node.op == "lit":
            return self._literal(node, other)
        raise _NoWords(node.op)

    def _ref(
        self, item_oid: str, ref_form: str, form_oid: str | None, numbers: Mapping[str, int]
    ) -> str:
        if ref_form == form_oid and item_oid in numbers:
            return self.ui["question_no"].format(n=numbers[item_oid])
        item = self.mdv.item_defs.get(item_oid)
        text = (item.question.get(self.lang, self.default_lang) or item.name) if item else item_oid
        if len(text) > QUESTION_CHARS:
            text = text[:QUESTION_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
        quoted = f"{item_oid} (“{text}”)" if self.name_oids and item else f"“{text}”"
        form = self.mdv.form_defs.get(ref_form)
        if form is None or ref_form == form_oid or self.name_oids:
            return quoted
        title = form.description.get(self.lang, self.default_lang) or form.name
        return self.ui["on_form"].format(question=quoted, form=title)

    def _literal(self, node: TNode, other: TNode | None) -> str:
        if node.value is None:
            raise _NoWords("null")
        if isinstance(node.value, bool):
            return self.ui["true" if node.value else "false"]
        text = v.to_text(node.value) or ""
        if other is not None and other.op == "ref" and other.ref is not None:
            item = self.mdv.item_defs.get(other.ref.item_oid)
            code_list = self.mdv.item_code_list(item) if item else None
            for cli in code_list.items if code_list else ():
                if cli.coded_value == text:
                    decode = cli.decode.get(self.lang, self.default_lang)
                    return f"{decode} ({text})" if decode and decode != text else text
        return f"“{text}”" if node.type == "text" else text
