"""Dialect profiles: what each EDC writes that ODM 1.3.2 does not say, and how we read it.

A profile is chosen once per file from the ODM root (SourceSystem, namespace declarations)
and named in a finding (ODM-PROF-001), so a data manager sees which rules were applied. Each
profile is a small declared mapping; the reader applies it, nothing else special-cases a
vendor. Content no profile maps is kept as an extension and reported (ODM-IMP-002/004).

REDCap
    Classic projects put FormData directly under SubjectData: read into the study event
    ``IMPLICIT_STUDY_EVENT_OID`` (ODM-IMP-001). Checkbox fields arrive as one boolean item
    per choice (``field___1``) and import as those items; ``DataType="boolean"`` code lists
    are a metadata matter (ODM-CL-004). ``redcap:`` attributes are kept on their records.
OpenClinica 3
    ``OpenClinica:AuditLogs/AuditLog`` become vendor audit entries (user, time, action, old and
    new value) on the subject; ``OpenClinica:DiscrepancyNotes`` on an item become notes
    (queries) with the item's full key. FormOIDs name CRF versions and are kept as they are.
Medidata Rave
    ``mdsol:`` attributes are kept; ``ODMVersion="1.3"`` is read as 1.3.2; a transactional
    audit stream of many ClinicalData blocks is read block by block, the same subject may
    come many times and later blocks apply over earlier ones.
OpenEDC
    Each save is its own FormData holding only the changed items, with an AuditRecord
    (possibly out of schema order, accepted in any position); the FormData of one form are
    applied in document order, so the last save wins. ``LocationOID="-"`` means no site.
ODM 1.3.2 (generic)
    Everything else, including ODM 1.1 files without a namespace (read as 1.3.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from odm_engine import model as m
from odm_engine.exchange.records import FileHeader
from odm_engine.findings import Finding, Severity, finding

REDCAP_NS = "https://projectredcap.org"
OPENCLINICA_NS = "http://www.openclinica.org/ns/odm_ext_v130/v3.1"
MDSOL_NS = "http://www.mdsol.com/ns/odm/metadata"
IMPLICIT_STUDY_EVENT_OID = "SE.IMPLICIT"
"""The study event of FormData written directly under SubjectData (REDCap classic)."""
NO_LOCATION = frozenset({"-", ""})
"""LocationOID placeholders that mean "no site" (OpenEDC writes ``-``)."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    mapping: str
    """One sentence: what the profile maps, shown in ODM-PROF-001."""
    vendor_namespace: str | None = None
    tolerates: tuple[tuple[str, str, str], ...] = ()
    """(finding code, message pattern, what the engine does instead): schema or rule errors
    that are this vendor's known dialect, handled by the profile when a study is loaded."""

    @property
    def maps_openclinica(self) -> bool:
        return self.vendor_namespace == OPENCLINICA_NS


GENERIC = Profile("ODM 1.3.2", "standard ClinicalData; vendor extensions are kept as they are")
REDCAP = Profile(
    "REDCap",
    "FormData directly under SubjectData is read into study event "
    f"{IMPLICIT_STUDY_EVENT_OID}; checkbox items (field___N) import as one item per choice; "
    "redcap: attributes are kept",
    REDCAP_NS,
    tolerates=(
        (
            "ODM-XSD-001",
            r"Element 'CodeList', attribute 'DataType'.*'boolean'",
            "REDCap's boolean code lists are read as integer code lists (0/1)",
        ),
        (
            "ODM-XSD-001",
            r"Element 'FormData': This element is not expected",
            f"FormData directly under SubjectData is read into study event "
            f"{IMPLICIT_STUDY_EVENT_OID}",
        ),
        (
            "ODM-DATA-001",
            r'ItemGroupData ItemGroupOID=""',
            "an empty ItemGroupOID is resolved from the form's metadata",
        ),
    ),
)
OPENCLINICA = Profile(
    "OpenClinica 3",
    "OpenClinica:AuditLog entries become audit entries and OpenClinica:DiscrepancyNote "
    "elements become queries on their item; FormOIDs of CRF versions are kept",
    OPENCLINICA_NS,
)
RAVE = Profile(
    "Medidata Rave",
    'mdsol: attributes are kept; ODMVersion="1.3" is read as 1.3.2; repeated ClinicalData '
    "blocks apply in order",
    MDSOL_NS,
    tolerates=(
        (
            "ODM-XSD-001",
            r"Duplicate key-sequence .* in unique identity-constraint 'UC-MDV-OID-unique'",
            "Rave gives a FormDef and its ItemGroupDef the same OID; the engine keeps "
            "definitions of different kinds apart",
        ),
    ),
)
OPENEDC = Profile(
    "OpenEDC",
    "one FormData per save with its AuditRecord, applied in document order (the last save "
    'wins); AuditRecord accepted in any position; LocationOID="-" means no site',
)
PROFILES = (REDCAP, OPENCLINICA, RAVE, OPENEDC, GENERIC)


def choose_profile(header: FileHeader) -> tuple[Profile, str]:
    """The profile for a file and why it was chosen."""
    namespaces = {uri for _prefix, uri in header.namespaces}
    source = (header.source_system or "").strip()
    lowered = source.lower()
    if lowered.startswith("redcap") or REDCAP_NS in namespaces:
        why = f'SourceSystem="{source}"' if source else f"namespace {REDCAP_NS}"
        return REDCAP, why
    if "openclinica" in lowered or OPENCLINICA_NS in namespaces:
        why = f'SourceSystem="{source}"' if source else f"namespace {OPENCLINICA_NS}"
        return OPENCLINICA, why
    if lowered.startswith(("medidata", "rave")) or MDSOL_NS in namespaces:
        why = f'SourceSystem="{source}"' if source else f"namespace {MDSOL_NS}"
        return RAVE, why
    if lowered == "openedc":
        return OPENEDC, f'SourceSystem="{source}"'
    return GENERIC, "no vendor SourceSystem or namespace"


def normalise(odm: m.ODM) -> m.ODM:
    """The metadata as its profile reads it (ODM 1.3.2 files come back unchanged).

    REDCap: ``DataType="boolean"`` code lists become integer code lists (their codes are 0
    and 1), and file-upload fields (``redcap:FieldType="file"``) lose their Length, which
    REDCap sets for the file name while its exports carry the file content.
    """
    profile, _why = profile_for_odm(odm)
    if profile is not REDCAP:
        return odm
    studies = []
    for study in odm.studies:
        versions = []
        for mdv in study.metadata_versions:
            code_lists = {
                oid: replace(cl, data_type="integer") if cl.data_type == "boolean" else cl
                for oid, cl in mdv.code_lists.items()
            }
            items = {
                oid: replace(item, length=None)
                if item.ext_attribute(REDCAP_NS, "FieldType") == "file"
                else item
                for oid, item in mdv.item_defs.items()
            }
            versions.append(replace(mdv, code_lists=code_lists, item_defs=items))
        studies.append(replace(study, metadata_versions=tuple(versions)))
    return replace(odm, studies=tuple(studies))


def profile_for_odm(odm: m.ODM) -> tuple[Profile, str]:
    """The profile of a loaded metadata file (same choice as for ClinicalData)."""
    header = FileHeader(
        file_oid=odm.file_oid,
        file_type=odm.file_type,
        odm_version=odm.odm_version,
        source_system=odm.source_system,
        namespace=odm.namespace,
        namespaces=odm.namespaces,
    )
    return choose_profile(header)


def tolerate(findings: Iterable[Finding], profile: Profile) -> list[Finding]:
    """Errors the profile declares as its vendor's dialect become located warnings.

    Each keeps its line and OID and says what the engine does instead (ODM-PROF-002);
    every other finding passes through unchanged.
    """
    rules = [(code, re.compile(pattern), action) for code, pattern, action in profile.tolerates]
    out: list[Finding] = []
    for f in findings:
        action = next((a for code, rx, a in rules if f.code == code and rx.search(f.message)), None)
        if action is None or f.severity is not Severity.ERROR:
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
            )
        )
    return out
