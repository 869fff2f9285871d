"""Exchange: the streaming ODM ClinicalData reader, its records and the dialect profiles."""

from odm_engine.exchange.profiles import IMPLICIT_STUDY_EVENT_OID, PROFILES, Profile
from odm_engine.exchange.reader import ClinicalDataReader, read_clinical_data
from odm_engine.exchange.records import (
    Annotation,
    AuditRecord,
    FileHeader,
    Flag,
    FormRecord,
    ItemGroupRecord,
    ItemValue,
    Note,
    Signature,
    StudyEventRecord,
    SubjectRecord,
    VendorAudit,
)

__all__ = [
    "IMPLICIT_STUDY_EVENT_OID",
    "PROFILES",
    "Annotation",
    "AuditRecord",
    "ClinicalDataReader",
    "FileHeader",
    "Flag",
    "FormRecord",
    "ItemGroupRecord",
    "ItemValue",
    "Note",
    "Profile",
    "Signature",
    "StudyEventRecord",
    "SubjectRecord",
    "VendorAudit",
    "read_clinical_data",
]
