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

from dataclasses import dataclass

from odm_engine.exchange.records import FileHeader

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
