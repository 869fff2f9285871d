"""OpenClinica 3: vendor audit logs and discrepancy notes.

``OpenClinica:AuditLogs/AuditLog`` become vendor audit entries (user, time, action, old and
new value) on the subject; ``OpenClinica:DiscrepancyNotes`` on an item become notes (queries)
with the item's full key. FormOIDs name CRF versions and are kept as they are.
"""

from __future__ import annotations

from odm_engine.profiles.base import FOREIGN_CONTEXT, AuditLogMap, NoteMap, Profile, detect_vendor

NAMESPACE = "http://www.openclinica.org/ns/odm_ext_v130/v3.1"
RULES_NAMESPACES = (
    "http://www.openclinica.org/ns/rules/v3.1",
    "http://www.openclinica.org/ns/rules_test/v3.1",
)
"""OpenClinica's rule designer namespaces: kept as extensions, no profile of their own."""

PROFILE = Profile(
    "OpenClinica 3",
    "OpenClinica:AuditLog entries become audit entries and OpenClinica:DiscrepancyNote "
    "elements become queries on their item; FormOIDs of CRF versions are kept",
    detect_vendor(source=lambda s: "openclinica" in s, namespace=NAMESPACE),
    NAMESPACE,
    tolerations=(FOREIGN_CONTEXT,),
    element_maps=(
        AuditLogMap(
            element="AuditLogs",
            entry="AuditLog",
            entity="EntityID",
            user="UserID",
            date_time_stamp="DateTimeStamp",
            action="Type",
            old_value="OldValue",
            new_value="NewValue",
        ),
        NoteMap(
            element="DiscrepancyNotes",
            note="DiscrepancyNote",
            text=("Description", "DetailedNote"),
            fallback="NoteType",
            default_text="discrepancy note",
            status="Status",
            date_time_stamp="DateUpdated",
            source="OpenClinica:DiscrepancyNote",
        ),
    ),
)
