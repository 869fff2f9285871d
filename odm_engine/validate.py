"""One generator for every finding about an ODM file: ``iter_findings``.

``check()`` and ``is_valid()`` are built on it. The order is the order of the pipeline:
reading, what the file is, vendor extensions, the XSD, the rules, then the expressions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from odm_engine.compiled_study import CompiledStudy
from odm_engine.findings import Finding, Severity, finding
from odm_engine.language_tags import iter_language_findings
from odm_engine.loader import LoadResult, load_odm
from odm_engine.rules import iter_rule_findings
from odm_engine.xsd import iter_xsd_findings


def iter_findings(
    source: bytes | LoadResult, *, path: str | None = None, xsd: bool = True
) -> Iterator[Finding]:
    """Every finding about ``source`` (raw bytes, or an already loaded file), sorted by line.

    One root cause gives one finding: findings of one line, OID and cause (the schema and
    the engine both seeing a duplicate OID or a wrong DataType) are one, the engine's kept;
    findings that only follow from an item's unknown DataType are counted on its finding.
    """
    found = _follow_ons(_one_per_cause(list(_pipeline(source, path=path, xsd=xsd))))
    yield from sorted(found, key=lambda f: f.line or 0)


def _one_per_cause(findings: list[Finding]) -> list[Finding]:
    """The first finding of each (line, OID, cause), an engine finding before a schema one."""
    chosen: dict[tuple[int | None, str | None, str], Finding] = {}
    for f in findings:
        if f.cause is None:
            continue
        key = (f.line, f.oid, f.cause)
        if key not in chosen or (
            chosen[key].code.startswith("ODM-XSD") and not f.code.startswith("ODM-XSD")
        ):
            chosen[key] = f
    return [f for f in findings if f.cause is None or chosen[f.line, f.oid, f.cause] is f]


def _follow_ons(findings: list[Finding]) -> list[Finding]:
    """Findings about an item whose DataType is unknown (it is read as text, so expressions
    using it fail to type-check) are left out and counted on the DataType finding; so is
    "never referenced" for the definition a misspelt reference meant (it names it)."""
    causes = [f.cause or "" for f in findings]
    meant = {c.removeprefix("misspelt:") for c in causes if c.startswith("misspelt:")}
    findings = [f for f in findings if not (f.code == "ODM-UNUSED-001" and f.oid in meant)]
    roots = {f.oid: f for f in findings if f.code == "ODM-DT-001" and f.oid}
    if not roots:
        return findings
    hidden: dict[str, int] = {}
    kept: list[Finding] = []
    for f in findings:
        item = next((o for o in roots if f is not roots[o] and _about(f, o)), None)
        if item is None:
            kept.append(f)
        else:
            hidden[item] = hidden.get(item, 0) + 1
    return [
        replace(
            f,
            message=f"{f.message} {hidden[f.oid]} finding(s) that follow from it are not "
            "shown; they go once the DataType is right.",
        )
        if f.code == "ODM-DT-001" and f.oid in hidden
        else f
        for f in kept
    ]


def _about(f: Finding, item: str) -> bool:
    """Whether ``f`` only follows from ``item``'s DataType: an expression finding naming the
    item, or a code list or range check finding on it."""
    if f.code.startswith("ODM-EXPR-1"):  # 'IT.X', or a path to it: '[SE.V/F.A/IT.X]'
        return f"'{item}'" in f.message or f"/{item}]'" in f.message
    return f.oid == item and f.code in ("ODM-CL-001", "ODM-CL-005", "ODM-RC-001")


def _pipeline(
    source: bytes | LoadResult, *, path: str | None = None, xsd: bool = True
) -> Iterator[Finding]:
    """The findings in pipeline order (see the module docstring), before noise is removed."""
    owned = not isinstance(source, LoadResult)
    result = load_odm(source, path=path) if isinstance(source, bytes) else source
    path = result.path or path
    yield from result.findings
    if result.odm is None or result.tree is None:
        return
    if result.define_version:
        yield finding(
            "ODM-DEF-001",
            path=path,
            line=result.odm.line or None,
            version=result.define_version,
        )
    yield from iter_language_findings(result.tree.getroot(), path=path)
    if xsd:
        yield from iter_xsd_findings(
            result.tree,
            path=path,
            odm_ns=result.namespace,
            define_version=result.define_version,
            in_place=owned,
        )
    yield from iter_rule_findings(
        result.odm,
        path=path,
        is_define=result.define_version is not None,
        data_refs=result.data_refs,
    )
    for study in result.odm.studies:
        for mdv in study.metadata_versions:
            yield from CompiledStudy.of(study, mdv, path=path).findings


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]


def check(source: bytes | LoadResult, *, path: str | None = None, xsd: bool = True) -> Report:
    return Report(list(iter_findings(source, path=path, xsd=xsd)))


def is_valid(source: bytes | LoadResult, *, path: str | None = None, xsd: bool = True) -> bool:
    return not any(f.severity is Severity.ERROR for f in iter_findings(source, path=path, xsd=xsd))
