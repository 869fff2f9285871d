"""What a dialect profile is: detection, tolerations, metadata normaliser, element mapping.

A :class:`Profile` is plain data plus two small functions. The streaming reader
(``odm_engine.exchange``) and the metadata loader path (``storage.studies``) apply whichever
profile :func:`odm_engine.profiles.choose_profile` picked; no other module special-cases a
vendor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from odm_engine import model as m

IMPLICIT_STUDY_EVENT_OID = "SE.IMPLICIT"
"""The study event of FormData written directly under SubjectData (REDCap classic)."""
NO_LOCATION = frozenset({"-", ""})
"""LocationOID placeholders that mean "no site" (OpenEDC writes ``-``)."""


class Header(Protocol):
    """The ODM root attributes detection reads (``FileHeader`` and ``model.ODM`` both have them)."""

    @property
    def source_system(self) -> str | None: ...

    @property
    def namespaces(self) -> tuple[tuple[str | None, str], ...]: ...


Detect = Callable[[str, frozenset[str]], "str | None"]
"""(SourceSystem, declared namespace URIs) -> why this profile applies, or None."""
Normalise = Callable[[m.MetaDataVersion], m.MetaDataVersion]
"""One MetaDataVersion as the profile reads it."""


def unchanged(mdv: m.MetaDataVersion) -> m.MetaDataVersion:
    """The normaliser of a profile whose metadata is read as ODM 1.3.2 says."""
    return mdv


def detect_vendor(*, source: Callable[[str], bool], namespace: str | None = None) -> Detect:
    """Detection by SourceSystem (``source`` gets it lower-cased) or a declared namespace.

    The reason names the SourceSystem when the file has one, else the namespace.
    """

    def detect(source_system: str, namespaces: frozenset[str]) -> str | None:
        if source(source_system.lower()) or (namespace is not None and namespace in namespaces):
            return f'SourceSystem="{source_system}"' if source_system else f"namespace {namespace}"
        return None

    return detect


@dataclass(frozen=True, slots=True)
class Toleration:
    """A defect that is this vendor's known dialect: ``condition`` (a finding code, or a
    condition code from :mod:`odm_engine.profiles.conditions`) and what the engine does
    instead, said in ODM-PROF-002."""

    condition: str
    action: str


FOREIGN_CONTEXT = Toleration(
    "ODM-EXPR-002",
    "an expression whose Context this engine does not know is kept but not evaluated, as in "
    "any file written for another system",
)
"""Every vendor profile's handling of an unknown or missing FormalExpression Context."""


@dataclass(frozen=True, slots=True)
class AuditLogMap:
    """A vendor element ``element`` whose ``entry`` children become vendor audit entries
    (``VendorAudit``); the other fields name the attributes read."""

    element: str
    entry: str
    entity: str
    user: str
    date_time_stamp: str
    action: str
    old_value: str
    new_value: str


@dataclass(frozen=True, slots=True)
class NoteMap:
    """A vendor element ``element`` whose ``note`` descendants become notes (queries) on the
    item they sit under; the text is the whitespace-normalised ``text`` elements, else the
    ``fallback`` attribute, else ``default_text``."""

    element: str
    note: str
    text: tuple[str, ...]
    fallback: str
    default_text: str
    status: str
    date_time_stamp: str
    source: str


ElementMap = AuditLogMap | NoteMap


@dataclass(frozen=True, slots=True)
class Profile:
    """One EDC's dialect of ODM 1.3.2."""

    name: str
    mapping: str
    """One sentence: what the profile maps, shown in ODM-PROF-001."""
    detect: Detect
    vendor_namespace: str | None = None
    tolerations: tuple[Toleration, ...] = ()
    """Schema or rule errors that are this vendor's known dialect, made warnings on load."""
    normalise: Normalise = unchanged
    element_maps: tuple[ElementMap, ...] = field(default=())
    """Vendor elements (in ``vendor_namespace``) the ClinicalData reader maps to records."""

    def action_for(self, condition: str, code: str) -> str | None:
        """What the engine does instead for a finding of ``condition``/``code``; None when
        the profile does not tolerate it."""
        for toleration in self.tolerations:
            if toleration.condition in (condition, code):
                return toleration.action
        return None
