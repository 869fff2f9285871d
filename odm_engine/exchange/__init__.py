"""Exchange: the streaming ClinicalData reader and its records (dialects: odm_engine.profiles)."""

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
    "Annotation",
    "AuditRecord",
    "ClinicalDataReader",
    "FileHeader",
    "Flag",
    "FormRecord",
    "ItemGroupRecord",
    "ItemValue",
    "Note",
    "Signature",
    "StudyEventRecord",
    "SubjectRecord",
    "VendorAudit",
    "read_clinical_data",
]
