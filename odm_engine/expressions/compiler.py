"""compile_study: every RangeCheck, ConditionDef and MethodDef of a MetaDataVersion, once.

Expressions are parsed once per definition and type-checked once per place of use (a form
and item group), because a bare OID resolves from where it is used. Foreign dialects are
translated to OEL first. Every problem is a located finding; nothing raises.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from odm_engine import model as m
from odm_engine.expressions import foreign, units, values
from odm_engine.expressions.ast import Expr
from odm_engine.expressions.checker import Checker
from odm_engine.expressions.evaluator import compile_node
from odm_engine.expressions.parser import SyntaxProblem, parse
from odm_engine.expressions.plan import Bound, CheckPlan, RangeRule
from odm_engine.expressions.resolver import Context, StudyIndex
from odm_engine.findings import CATALOGUE, Finding, finding
from odm_engine.profiles.redcap import NAMESPACE as REDCAP_NS
from odm_engine.rule_context import uses_oel

OEL = "OEL"
_EFFECT = {
    "condition": " and the item simply shows",
    "method": " and the item is not derived",
    "range": "",
}
"""What an expression that is not evaluated means, by the kind of definition."""


def _meant_oel(context: str) -> str | None:
    """Why a Context that is not OEL was surely meant as OEL: missing, or a misspelling."""
    word = context.strip().upper()
    if not word:
        return "an expression without a Context is evaluated by no system"
    if sorted(word) == sorted(OEL) or difflib.get_close_matches(word, [OEL], cutoff=0.6):
        return 'did you mean "OEL"?'
    return None


@dataclass(slots=True)
class CompileResult:
    plan: CheckPlan
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Source:
    id: str
    kind: str
    owner: str
    text: str
    line: int | None
    expr: Expr


class _Compiler:
    def __init__(
        self, mdv: m.MetaDataVersion, path: str | None, units: Mapping[str, m.MeasurementUnit]
    ) -> None:
        self.mdv = mdv
        self.path = path
        self.units = units
        self.index = StudyIndex(mdv)
        self.uses_oel = uses_oel(mdv)
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str, int | None]] = set()
        self._sources: dict[str, _Source | None] = {}
        self._bound: dict[tuple[str, Context], Bound | None] = {}

    # -- findings -------------------------------------------------------------------
    def report(self, code: str, *, line: int | None, oid: str | None, **fields: object) -> None:
        self._add(
            finding(
                code,
                path=self.path,
                line=line or None,
                oid=oid,
                severity=None,
                raw=None,
                cause=None,
                **fields,
            )
        )

    # -- sources --------------------------------------------------------------------
    def _parsed(
        self, id_: str, kind: str, owner: str, text: str, line: int | None
    ) -> _Source | None:
        tree = parse(text)
        if isinstance(tree, SyntaxProblem):
            where = (line + tree.line - 1) if line else None
            self.report("ODM-EXPR-101", line=where, oid=id_, owner=owner, detail=tree.message)
            return None
        return _Source(id_, kind, owner, text, line, tree)

    def source_of(
        self,
        id_: str,
        *,
        kind: str,
        owner: str,
        expressions: Iterable[m.FormalExpression],
        owner_element: str,
        target_item: str | None = None,
    ) -> _Source | None:
        if id_ in self._sources:
            return self._sources[id_]
        chosen: _Source | None = None
        pending: list[tuple[m.FormalExpression, str | None]] = []
        fes = list(expressions)
        for fe in fes:
            if fe.context.strip().upper() == OEL:
                chosen = self._parsed(id_, kind, owner, fe.text, fe.line)
                break
        else:
            for fe in fes:
                result = foreign.translate(fe.context, fe.text, self.mdv, kind=kind)
                if isinstance(result, foreign.Untranslatable):
                    pending.append((fe, result.reason if result.dialect else None))
                    continue
                self.report(
                    "ODM-EXPR-112",
                    line=fe.line,
                    oid=id_,
                    owner=owner,
                    dialect=result.dialect,
                    expression=_quote(fe.text),
                    context=fe.context,
                    oel=result.text,
                )
                chosen = self._parsed(id_, kind, owner, result.text, fe.line)
                break
            else:
                for fe, reason in pending:
                    self._unusable(
                        id_, kind=kind, owner=owner, element=owner_element, fe=fe, reason=reason
                    )
        self._sources[id_] = chosen
        return chosen

    def _unusable(
        self,
        id_: str,
        *,
        kind: str,
        owner: str,
        element: str,
        fe: m.FormalExpression,
        reason: str | None,
    ) -> None:
        if reason is None:
            self.unknown_context(id_, element, fe, kind)
            return
        effect = _EFFECT[kind]
        self.report(
            "ODM-EXPR-111",
            line=fe.line,
            oid=id_,
            owner=owner,
            dialect=foreign.dialect_name(fe.context),
            expression=_quote(fe.text),
            context=fe.context,
            reason=reason,
            effect=effect,
        )

    def unknown_context(self, id_: str, element: str, fe: m.FormalExpression, kind: str) -> None:
        """A Context no dialect answers: a warning in a foreign file (its expression is kept),
        an error (ODM-EXPR-002) when the file is written for this engine - it uses OEL
        elsewhere, or the Context is missing or a misspelling of OEL - since the check would
        silently never run."""
        meant = _meant_oel(fe.context)
        if meant is None and self.uses_oel:
            meant = "the other expressions of this file are OEL"
        if meant is None:
            severity, template = CATALOGUE["ODM-EXPR-001"]
            message = template.format(owner=element, oid=id_, context=fe.context)
            self._add(Finding("ODM-EXPR-001", severity, message, self.path, fe.line or None, id_))
            return
        problem = (
            f'FormalExpression Context="{fe.context}" is not a language this engine knows'
            if fe.context.strip()
            else "FormalExpression has no Context"
        )
        self.report(
            "ODM-EXPR-002",
            line=fe.line,
            oid=id_,
            owner=element,
            problem=f"{problem} ({meant})",
            effect=_EFFECT[kind] or " and the check never fires",
        )

    def _add(self, found: Finding) -> None:
        key = (found.code, found.message, found.line)
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append(found)

    # -- binding --------------------------------------------------------------------
    def bind(
        self, source: _Source | None, ctx: Context, *, want: str | None, use: str
    ) -> Bound | None:
        if source is None:
            return None
        key = (source.id, ctx)
        if key in self._bound:
            return self._bound[key]
        checker = Checker(self.index, ctx)
        tree = checker.check(source.expr, want=want, use=use)
        bound = None
        if checker.problems:
            for problem in checker.problems:
                line = source.line
                if line:
                    line += source.text.count("\n", 0, problem.pos)
                self.report(
                    problem.code,
                    line=line,
                    oid=source.id,
                    owner=source.owner,
                    detail=problem.message,
                )
        else:
            bound = Bound(source.id, source.kind, source.text, tree, compile_node(tree))
        self._bound[key] = bound
        return bound

    # -- definitions ----------------------------------------------------------------
    def condition(self, oid: str | None, ctx: Context) -> Bound | None:
        cond = self.mdv.condition_defs.get(oid) if oid else None
        if cond is None:
            return None
        source = self.source_of(
            cond.oid,
            kind="condition",
            owner=f"CONDITION {cond.oid}",
            expressions=cond.formal_expressions,
            owner_element="ConditionDef",
        )
        return self.bind(source, ctx, want="boolean", use="a condition")

    def method(self, oid: str | None, ctx: Context, item: m.ItemDef) -> Bound | None:
        method = self.mdv.method_defs.get(oid) if oid else None
        if method is None:
            return None
        source = self.source_of(
            method.oid,
            kind="method",
            owner=f"METHOD {method.oid}",
            expressions=method.formal_expressions,
            owner_element="MethodDef",
        )
        return self.bind(source, ctx, want=values.oel_type(item.data_type), use="the derivation")

    def redcap(self, attribute: str, ref: m.ItemRef, item: m.ItemDef, ctx: Context) -> Bound | None:
        text = ref.ext_attribute(REDCAP_NS, attribute) or item.ext_attribute(REDCAP_NS, attribute)
        if not text:
            return None
        kind = "condition" if attribute == "BranchingLogic" else "method"
        id_ = f"{item.oid}#redcap:{attribute}"
        owner = f"{'BRANCHING' if kind == 'condition' else 'CALCULATION'} {item.oid}"
        context = f"redcap:{attribute}"
        fe = m.FormalExpression(context=context, text=text, line=ref.line or item.line)
        source = self.source_of(
            id_, kind=kind, owner=owner, expressions=[fe], owner_element="ItemDef"
        )
        want = "boolean" if kind == "condition" else values.oel_type(item.data_type)
        return self.bind(
            source,
            ctx,
            want=want,
            use="the branching logic" if kind == "condition" else "the calculation",
        )

    def range_rules(self, item: m.ItemDef, ctx: Context) -> tuple[RangeRule, ...]:
        rules = []
        default_unit = (
            item.measurement_unit_oids[0] if len(item.measurement_unit_oids) == 1 else None
        )
        for n, rc in enumerate(item.range_checks, start=1):
            check_id = f"{item.oid}#RC{n}"
            if rc.comparator:
                parsed = [values.from_item(item.data_type, v) for v in rc.check_values]
                kept = tuple(
                    (v, t) for v, t in zip(parsed, rc.check_values, strict=True) if v is not None
                )
                if not kept:
                    continue
                unit = rc.measurement_unit_oid
                if unit and default_unit and units.factor(default_unit, unit, self.units) is None:
                    self.report(
                        "ODM-EXPR-113",
                        line=rc.line,
                        oid=item.oid,
                        check=check_id,
                        item=item.oid,
                        check_unit=unit,
                        entered_unit=default_unit,
                    )
                rules.append(
                    RangeRule(
                        check_id,
                        rc.is_soft,
                        rc.error_message,
                        rc.comparator,
                        tuple(v for v, _ in kept),
                        tuple(t for _, t in kept),
                        unit,
                    )
                )
            elif rc.formal_expressions:
                source = self.source_of(
                    check_id,
                    kind="range",
                    owner=f"RANGECHECK {check_id}",
                    expressions=rc.formal_expressions,
                    owner_element="RangeCheck",
                )
                bound = self.bind(source, ctx, want="boolean", use="a RangeCheck")
                if bound is not None:
                    rules.append(
                        RangeRule(check_id, rc.is_soft, rc.error_message, expression=bound)
                    )
        return tuple(rules)


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return f"'{flat[:200]}{'...' if len(flat) > 200 else ''}'"
