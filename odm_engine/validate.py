"""One generator for every finding about an ODM file: ``iter_findings``.

``check()`` and ``is_valid()`` are built on it. The order is the order of the pipeline:
reading, what the file is, vendor extensions, the XSD, the rules, then the expressions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from odm_engine.compiled_study import CompiledStudy
from odm_engine.findings import Finding, Severity, finding
from odm_engine.language_tags import iter_language_findings
from odm_engine.loader import LoadResult, load_odm
from odm_engine.rules import iter_rule_findings
from odm_engine.xsd import iter_xsd_findings


def iter_findings(
    source: bytes | LoadResult, *, path: str | None = None, xsd: bool = True
) -> Iterator[Finding]:
    """Every finding about ``source`` (raw bytes, or an already loaded file)."""
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
