"""The identity of an exported ODM file: one rule for ``edc export odm`` and the web app."""

from __future__ import annotations

import uuid

from renderers.odm.writer import OdmExportOptions


def export_options(study_oid: str, file_type: str, *, since: str | None = None) -> OdmExportOptions:
    """A new FileOID (``<StudyOID>.export.<uuid4>``), the FileType, and a Description that
    names the ``since`` moment of an incremental export as the user wrote it."""
    return OdmExportOptions(
        file_oid=f"{study_oid}.export.{uuid.uuid4()}",
        file_type=file_type,
        description=f"Changes after {since}" if since else None,
    )
