"""ODM 1.3.2 (generic): everything else, including ODM 1.1 files without a namespace."""

from __future__ import annotations

from odm_engine.profiles.base import Profile


def _always(_source_system: str, _namespaces: frozenset[str]) -> str:
    return "no vendor SourceSystem or namespace"


PROFILE = Profile(
    "ODM 1.3.2", "standard ClinicalData; vendor extensions are kept as they are", _always
)
