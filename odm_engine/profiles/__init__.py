"""Dialect profiles: what each EDC writes that ODM 1.3.2 does not say, and how we read it.

A profile is chosen once per file from the ODM root (SourceSystem, namespace declarations)
and named in a finding (ODM-PROF-001), so a data manager sees which rules were applied. Each
profile is one module of this package holding one :class:`~odm_engine.profiles.base.Profile`:
its detection, its tolerations (by finding or condition code), its metadata normaliser and
its element mapping. The reader and the metadata path apply it; nothing else special-cases
a vendor. Content no profile maps is kept as an extension and reported (ODM-IMP-002/004).

``PROFILES`` is the registry, in detection order; the first profile whose detection answers
is chosen, and the generic ODM 1.3.2 profile, last, always answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from odm_engine import model as m
from odm_engine.findings import Finding, Severity, finding
from odm_engine.profiles import generic, openclinica, openedc, rave, redcap
from odm_engine.profiles.base import (
    IMPLICIT_STUDY_EVENT_OID,
    NO_LOCATION,
    AuditLogMap,
    Header,
    NoteMap,
    Profile,
    Toleration,
    unchanged,
)
from odm_engine.profiles.conditions import condition_of

REDCAP = redcap.PROFILE
OPENCLINICA = openclinica.PROFILE
RAVE = rave.PROFILE
OPENEDC = openedc.PROFILE
GENERIC = generic.PROFILE

PROFILES: tuple[Profile, ...] = (REDCAP, OPENCLINICA, RAVE, OPENEDC, GENERIC)
"""Every profile, in detection order; GENERIC last."""


def choose_profile(header: Header) -> tuple[Profile, str]:
    """The profile for a file (its ODM root) and why it was chosen."""
    namespaces = frozenset(uri for _prefix, uri in header.namespaces)
    source = (header.source_system or "").strip()
    for profile in PROFILES:
        why = profile.detect(source, namespaces)
        if why is not None:
            return profile, why
    raise AssertionError("the generic profile always applies")  # pragma: no cover


def profile_for_odm(odm: m.ODM) -> tuple[Profile, str]:
    """The profile of a loaded metadata file (same choice as for ClinicalData)."""
    return choose_profile(odm)


def normalise(odm: m.ODM) -> m.ODM:
    """The metadata as its profile reads it (ODM 1.3.2 files come back unchanged)."""
    profile, _why = choose_profile(odm)
    if profile.normalise is unchanged:
        return odm
    studies = [
        replace(
            study,
            metadata_versions=tuple(profile.normalise(mdv) for mdv in study.metadata_versions),
        )
        for study in odm.studies
    ]
    return replace(odm, studies=tuple(studies))


def tolerate(findings: Iterable[Finding], profile: Profile) -> list[Finding]:
    """Errors the profile declares as its vendor's dialect become located warnings.

    Each keeps its line and OID and says what the engine does instead (ODM-PROF-002);
    every other finding passes through unchanged.
    """
    out: list[Finding] = []
    for f in findings:
        action = None
        if profile.tolerations and f.severity is Severity.ERROR:
            action = profile.action_for(condition_of(f), f.code)
        if action is None:
            out.append(f)
            continue
        out.append(
            finding(
                "ODM-PROF-002",
                path=f.path,
                line=f.line,
                oid=f.oid,
                profile=profile.name,
                action=action,
                original=f.message,
                raw=f.raw,
            )
        )
    return out


__all__ = [
    "GENERIC",
    "IMPLICIT_STUDY_EVENT_OID",
    "NO_LOCATION",
    "OPENCLINICA",
    "OPENEDC",
    "PROFILES",
    "RAVE",
    "REDCAP",
    "AuditLogMap",
    "Header",
    "NoteMap",
    "Profile",
    "Toleration",
    "choose_profile",
    "normalise",
    "profile_for_odm",
    "tolerate",
]
