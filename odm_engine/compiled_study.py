"""CompiledStudy: one MetaDataVersion of a Study with its check plan, compiled once.

``compile_study`` (``odm_engine.expressions``) turns every RangeCheck, ConditionDef,
MethodDef and REDCap expression of a MetaDataVersion into a CheckPlan; it is the costliest
step of reading a study. :meth:`CompiledStudy.of` is the one place that calls it, with the
study's measurement units, and the result is passed to everything that evaluates or shows
checks (entry validation, the form renderer, ``edc check``, ``edc validate``). The web keeps
one per stored metadata version (by SHA-256, ``webapp.studyview``), so a metadata version is
compiled once per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from odm_engine import model as m
from odm_engine.errors import MetadataError
from odm_engine.expressions import CheckPlan, compile_study
from odm_engine.findings import Finding

_NO_UNITS: Mapping[str, m.MeasurementUnit] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CompiledStudy:
    study: m.Study | None
    """None for a bare MetaDataVersion (no measurement units then)."""
    mdv: m.MetaDataVersion
    plan: CheckPlan
    findings: tuple[Finding, ...]
    """The compile findings (ODM-EXPR-*, located in ``path``)."""

    @classmethod
    def of(
        cls, study: m.Study, mdv: m.MetaDataVersion | None = None, *, path: str | None = None
    ) -> CompiledStudy:
        """Compile ``mdv`` (default: the study's newest MetaDataVersion) of ``study``."""
        version = mdv if mdv is not None else study.metadata_version()
        if version is None:
            raise MetadataError(f"Study {study.oid} has no MetaDataVersion")
        return cls._compile(study, version, path)

    @classmethod
    def of_version(cls, mdv: m.MetaDataVersion, *, path: str | None = None) -> CompiledStudy:
        """Compile a MetaDataVersion with no Study around it (no measurement units)."""
        return cls._compile(None, mdv, path)

    @classmethod
    def _compile(
        cls, study: m.Study | None, mdv: m.MetaDataVersion, path: str | None
    ) -> CompiledStudy:
        units = study.basic_definitions.measurement_units if study is not None else _NO_UNITS
        result = compile_study(mdv, path=path, units=units)
        return cls(study, mdv, result.plan, tuple(result.findings))
